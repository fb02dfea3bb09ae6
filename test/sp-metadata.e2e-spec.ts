import { DOMParser, Element } from '@xmldom/xmldom';
import { X509Certificate } from 'node:crypto';
import * as samlify from 'samlify';
import { signingKeySecretContext } from '@app/auth';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { SpKeyService } from '@app/saml';
import { selfSignedCertificate } from '../libs/identity-providers/src/__fixtures__/self-signed';
import { dbQuery, E2E_DB, expectStatus, freshDatabase, startTestServerOn, TestServer } from './support/server';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const PUBLIC_URL = 'https://id.example.test';
const ENV = { PUBLIC_URL };

function parse(xml: string) {
  const doc = new DOMParser({ onError: (level, msg) => { throw new Error(`${level}: ${msg}`); } }).parseFromString(xml, 'text/xml');
  const sp = doc.getElementsByTagNameNS(MD, 'SPSSODescriptor')[0];
  const one = (name: string): Element => {
    const found = sp.getElementsByTagNameNS(MD, name);
    expect(found).toHaveLength(1);
    return found[0];
  };
  return { doc, sp, one };
}

/** The certificate the metadata publishes: one key, for signing and for encryption. */
function servedCertificate(xml: string): string {
  const certs = Array.from(parse(xml).sp.getElementsByTagNameNS(DS, 'X509Certificate')).map((c) => (c.textContent ?? '').replace(/\s+/g, ''));
  expect(certs).toHaveLength(2);
  expect(certs[1]).toBe(certs[0]);
  return certs[0];
}

async function metadata(server: TestServer): Promise<string> {
  const res = await server.raw('GET', '/fed/v1/metadata');
  expectStatus(res, 200);
  return res.text;
}

describe(`GET /fed/v1/metadata (${E2E_DB})`, () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await TestServer.start(ENV);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('should answer without a token with the SAML metadata of our service provider', async () => {
    const res = await server.raw('GET', '/fed/v1/metadata');

    expectStatus(res, 200);
    expect(res.headers.get('content-type')).toMatch(/^application\/samlmetadata\+xml\b/);
    const { doc, sp, one } = parse(res.text);
    expect(doc.documentElement!.namespaceURI).toBe(MD);
    expect(doc.documentElement!.localName).toBe('EntityDescriptor');
    expect(doc.documentElement!.getAttribute('entityID')).toBe(`${PUBLIC_URL}/fed`);
    expect(sp.getAttribute('protocolSupportEnumeration')).toBe('urn:oasis:names:tc:SAML:2.0:protocol');
    expect(sp.getAttribute('AuthnRequestsSigned')).toBe('true');
    expect(sp.getAttribute('WantAssertionsSigned')).toBe('true');
    expect(one('AssertionConsumerService').getAttribute('Binding')).toBe(POST);
    expect(one('AssertionConsumerService').getAttribute('Location')).toBe(`${PUBLIC_URL}/fed/v1/sp/sso`);
    // One SLO endpoint, for both bindings.
    expect(Array.from(sp.getElementsByTagNameNS(MD, 'SingleLogoutService')).map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')])).toEqual([
      [REDIRECT, `${PUBLIC_URL}/fed/v1/sp/slo`],
      [POST, `${PUBLIC_URL}/fed/v1/sp/slo`],
    ]);
    expect(Array.from(sp.getElementsByTagNameNS(MD, 'KeyDescriptor')).map((k) => k.getAttribute('use'))).toEqual(['signing', 'encryption']);
    expect(Array.from(sp.getElementsByTagNameNS(MD, 'NameIDFormat')).map((e) => e.textContent)).toEqual([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    ]);
  });

  it('should publish the certificate stored in signing_keys, issued to the PUBLIC_URL host, and no private key', async () => {
    const xml = await metadata(server);

    const [row] = await dbQuery<{ kid: string; purpose: string; secret: string }>(server, 'SELECT kid, purpose, secret FROM signing_keys WHERE purpose = $1', ['saml-sp']);
    expect(row.kid).toBe('saml-sp-1');
    // Stored encrypted (SECRETS_KEK): read it as the server does.
    const stored = JSON.parse(secretBoxFor(server.app.get<AppConfig>(APP_CONFIG).secrets).open(row.secret, signingKeySecretContext(row.kid), row.kid));
    const cert = new X509Certificate(stored.certificatePem);
    expect(servedCertificate(xml)).toBe(cert.raw.toString('base64'));
    expect(cert.subject).toBe('CN=id.example.test');
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 9 * 365 * 86400_000);
    expect(xml).not.toMatch(/PRIVATE KEY/);
  });

  it('should be loaded by samlify as SP metadata with the same entityID and assertion consumer service', async () => {
    const xml = await metadata(server);

    const sp = samlify.ServiceProvider({ metadata: xml });

    expect(sp.entityMeta.getEntityID()).toBe(`${PUBLIC_URL}/fed`);
    expect(sp.entityMeta.getAssertionConsumerService('post')).toBe(`${PUBLIC_URL}/fed/v1/sp/sso`);
    expect(sp.entityMeta.getSingleLogoutService('redirect')).toBe(`${PUBLIC_URL}/fed/v1/sp/slo`);
    expect(sp.entityMeta.isAuthnRequestSigned()).toBe(true);
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(true);
    expect(sp.entityMeta.getX509Certificate('signing')).toBe(servedCertificate(xml));
  });

  it("should let a samlify IdP verify an AuthnRequest signed with the server's key against the published certificate", async () => {
    // The schema check is samlify's optional plug-in (not installed); the signature check is what this test is about.
    samlify.setSchemaValidator({ validate: async () => 'skipped' });
    const xml = await metadata(server);
    const credentials = await server.app.get(SpKeyService).credentials();
    const idpCert = await selfSignedCertificate('CN=idp.example.test');
    const idp = samlify.IdentityProvider({
      entityID: 'https://idp.example.test',
      signingCert: idpCert.pem,
      wantAuthnRequestsSigned: true,
      singleSignOnService: [{ Binding: POST, Location: 'https://idp.example.test/sso' }],
      singleLogoutService: [{ Binding: REDIRECT, Location: 'https://idp.example.test/slo' }],
    });
    const signer = samlify.ServiceProvider({ metadata: xml, privateKey: credentials.privateKeyPem(), requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' });
    const verifier = samlify.ServiceProvider({ metadata: xml });

    const request = signer.createLoginRequest(idp, 'post') as { context: string };
    const parsed = await idp.parseLoginRequest(verifier, 'post', { body: { SAMLRequest: request.context } } as never);

    const signed = Buffer.from(request.context, 'base64').toString('utf8');
    expect(signed).toContain('SignatureValue');
    expect(parsed.extract.issuer).toBe(`${PUBLIC_URL}/fed`);
    const tampered = Buffer.from(signed.replace(/ID="[^"]+"/, 'ID="_tampered"').replace(/URI="#[^"]+"/, 'URI="#_tampered"')).toString('base64');
    await expect(idp.parseLoginRequest(verifier, 'post', { body: { SAMLRequest: tampered } } as never)).rejects.toThrow('FAILED_TO_VERIFY_SIGNATURE');
  });

  it('should document the route in the OpenAPI description under the SAML tag, without a security requirement', async () => {
    const res = await server.raw('GET', '/api-docs/openapi.json');

    expectStatus(res, 200);
    const op = res.body.paths['/fed/v1/metadata'].get;
    expect(op.tags).toEqual(['SAML']);
    expect(op.summary).toEqual(expect.any(String));
    expect(op.responses['200'].description).toEqual(expect.any(String));
    expect(op.responses['200'].content['application/samlmetadata+xml'].example).toContain('EntityDescriptor');
    expect(op.security ?? []).toEqual([]);
  });
});

describe(`SP signing certificate across restarts and instances (${E2E_DB})`, () => {
  it('should serve the same metadata after a restart on the same database', async () => {
    const db = await freshDatabase();
    try {
      const first = await startTestServerOn(db.url, ENV);
      const before = await metadata(first).finally(() => first.stop());

      const second = await startTestServerOn(db.url, ENV);
      const after = await metadata(second).finally(() => second.stop());

      expect(after).toBe(before);
    } finally {
      await db.drop();
    }
  });

  it('should serve one certificate from instances that start together on an empty database', async () => {
    const db = await freshDatabase();
    const servers: TestServer[] = [];
    try {
      // Sequential start-up: concurrent migrations are a separate concern; the race under test is the first request.
      for (let i = 0; i < 3; i++) servers.push(await startTestServerOn(db.url, ENV));

      const served = await Promise.all(servers.map(async (s) => servedCertificate(await metadata(s))));

      expect(new Set(served).size).toBe(1);
      expect(await dbQuery(servers[0], 'SELECT kid FROM signing_keys WHERE purpose = $1', ['saml-sp'])).toEqual([{ kid: 'saml-sp-1' }]);
    } finally {
      for (const s of servers) await s.stop();
      await db.drop();
    }
  });
});
