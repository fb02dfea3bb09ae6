import { Logger } from '@nestjs/common';
import { createPublicKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createJitIdentityProvider, IDENTITY_PROVIDER_SCHEMA_ID, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { parseIdpMetadata, TRUST_EXTENSION_SCHEMA_ID as TRUST } from '@app/identity-providers';
import { SsoReason } from '@app/saml';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { ApiResponse, E2E_DB, expectScimError, expectStatus, patch, TestServer } from './support/server';

/**
 * Importing the SAML metadata that IdP products really publish (libs/identity-providers/src/__fixtures__/metadata,
 * SOURCES.md says where each came from), and signing in through IdPs configured from documents of the same shapes
 * whose keys are ours: we hold no vendor's private key, so the vendors' certificates are swapped for our own.
 */

const FIXTURES = join(__dirname, '..', 'libs', 'identity-providers', 'src', '__fixtures__', 'metadata');
const published = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

const DAY = 86_400_000;
const ATTRS = { firstName: ['Meta'], familyName: ['Data'], email: ['meta.data@example.com'] };

/** The document with every occurrence of each `from` certificate replaced by `to` (base64 DER, as documents carry them). */
function withCertificates(xml: string, swaps: [from: string, to: TestKeyPair][]): string {
  let out = xml;
  for (const [from, to] of swaps) {
    if (!out.includes(from)) throw new Error('certificate to swap not found verbatim in the document');
    out = out.split(from).join(to.certificateB64);
  }
  return out;
}

/** An IdP entity of a real document, moved to an entity ID of our own so that each test has its own IdP. */
function renamed(xml: string, entityId: string, to: string): string {
  return xml.split(entityId).join(to);
}

describe(`Importing published IdP metadata (${E2E_DB})`, () => {
  let s: TestServer;
  let spMetadata: string;
  let acsUrl: string;
  let spEntityId: string;
  const warn = jest.spyOn(Logger.prototype, 'warn');

  beforeAll(async () => {
    s = await TestServer.start();
    spMetadata = (await s.raw('GET', '/fed/v1/metadata')).text;
    spEntityId = `${s.publicUrl}/fed`;
    acsUrl = `${s.publicUrl}/fed/v1/sp/sso`;
  });

  afterAll(async () => {
    warn.mockRestore();
    await s?.stop();
  });

  const count = async (path: string) => (await s.api('GET', `${path}?count=0`)).body.totalResults as number;

  function create(partnerName: string, metadata: string, extra: Record<string, unknown> = {}): Promise<ApiResponse> {
    return s.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName, enabled: true, metadata, ...extra });
  }

  describe('POST /admin/v1/IdentityProviders with a real document', () => {
    it('should import an Entra ID document (18 KB, byte-order mark, signature, RoleDescriptors) and keep both of its certificates, showing the expired one', async () => {
      const xml = published('entra-id.tenant-81c1df79.xml');
      expect(xml.length).toBeGreaterThan(8192);
      warn.mockClear();

      const res = await create('Entra ID', xml);

      expectStatus(res, 201);
      expect(res.body).toMatchObject({
        partnerProviderId: 'https://sts.windows.net/81c1df79-e153-4f9d-a101-8dcf04af6c2c/',
        idpSsoUrl: 'https://login.microsoftonline.com/81c1df79-e153-4f9d-a101-8dcf04af6c2c/saml2',
        metadata: xml,
      });
      expect(res.body.schemas).toEqual([IDENTITY_PROVIDER_SCHEMA_ID, TRUST]);
      const trust = res.body[TRUST];
      const [first, second] = trust.signingCertificates;
      // IDCS's signingCertificate keeps its meaning: the first certificate of the document.
      expect(res.body.signingCertificate).toBe(first.value);
      expect(trust.signingCertificates).toHaveLength(2);
      expect(first).toMatchObject({ type: 'X509Certificate', subject: 'CN=Microsoft Azure Federated SSO Certificate', expired: true, fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) });
      expect(second).toMatchObject({ expired: false, notAfter: expect.stringMatching(/^2027-/) });
      expect(trust.warnings).toEqual([expect.stringContaining(`(SHA-256 ${first.fingerprint}) expired on ${first.notAfter}`)]);
      expect(trust.refuseExpiredSigningKeys).toBeUndefined();

      // The warning also goes to the log and to the audit event of the creation.
      expect(warn.mock.calls.map(([m]) => String(m))).toContainEqual(expect.stringMatching(new RegExp(`identity provider ${res.body.id} "Entra ID": signing certificate .* expired on`)));
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`adminResourceId eq "${res.body.id}"`)}`);
      expect(events.body.Resources).toEqual([expect.objectContaining({ eventId: 'admin.IdentityProvider.create', message: expect.stringContaining(`expired on ${first.notAfter}`) })]);

      // What a GET returns can be PUT back unchanged: the read-only key list is recomputed, not refused.
      const put = await s.api('PUT', `/admin/v1/IdentityProviders/${res.body.id}`, (await s.api('GET', `/admin/v1/IdentityProviders/${res.body.id}`)).body);
      expectStatus(put, 200);
      expect(put.body.meta.version).toBe(res.body.meta.version);
    });

    it.each<[string, string, Record<string, unknown>]>([
      ['an AD FS document (71 KB)', 'adfs.ucar.xml', { partnerProviderId: 'https://sts.ucar.edu/adfs/services/trust', idpSsoUrl: 'https://sts.ucar.edu/adfs/ls/' }],
      ['a JumpCloud document whose entity ID is no URI', 'jumpcloud.ssoready.xml', { partnerProviderId: 'IdP Entity ID', idpSsoUrl: 'https://sso.jumpcloud.com/saml2/ucariontest' }],
      ['a ZITADEL document with an enveloped signature and an expired certificate', 'zitadel.xml', { partnerProviderId: 'http://localhot:8090/metadata' }],
    ])('should import %s', async (_case, file, expected) => {
      const res = await create(`Real ${file}`, published(file));

      expectStatus(res, 201);
      expect(res.body).toMatchObject(expected);
      expect(res.body[TRUST].signingCertificates).toHaveLength(1);
    });

    it('should refuse a federation aggregate without partnerProviderId, listing its identity providers, and write nothing', async () => {
      const before = [await count('/admin/v1/IdentityProviders'), await count('/admin/v1/MappedAttributes')];

      const res = await create('SWAMID', published('swamid.aggregate-trimmed.xml'));

      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toBe(
        'metadata: metadata describes 3 identity providers; set partnerProviderId to the entityID of the one to import: ' +
          '"https://login.liu.se/idp/shibboleth", "https://idp.nordu.net/idp/shibboleth", "https://idp.it.gu.se/idp/shibboleth"',
      );
      expect([await count('/admin/v1/IdentityProviders'), await count('/admin/v1/MappedAttributes')]).toEqual(before);
    });

    it('should import the identity provider of an aggregate that partnerProviderId names', async () => {
      const res = await create('NORDUnet', published('swamid.aggregate-trimmed.xml'), { partnerProviderId: 'https://idp.nordu.net/idp/shibboleth' });

      expectStatus(res, 201);
      expect(res.body).toMatchObject({ partnerProviderId: 'https://idp.nordu.net/idp/shibboleth', idpSsoUrl: 'https://idp.nordu.net/idp/profile/SAML2/Redirect/SSO' });

      // A later PATCH of the metadata alone picks the same IdP: the stored partnerProviderId names it.
      const again = await s.api('PATCH', `/admin/v1/IdentityProviders/${res.body.id}`, patch({ op: 'replace', path: 'metadata', value: `${published('swamid.aggregate-trimmed.xml')}\n` }));
      expectStatus(again, 200);
      expect(again.body.partnerProviderId).toBe('https://idp.nordu.net/idp/shibboleth');
    });

    it('should refuse WS-Federation-only metadata with the reason', async () => {
      const res = await create('Office 365 WS-Fed', published('azure-ad.ws-federation-only.xml'));

      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/^metadata: metadata has no IDPSSODescriptor/);
    });

    it('should give metadata, and only metadata, more than 8,192 characters', async () => {
      const big = published('adfs.melco-resorts.xml');
      expect(big.length).toBeGreaterThan(65_536);

      expectStatus(await create('Big metadata', big, { enabled: false }), 201);
      const description = await create('Long description', big, { enabled: false, description: 'd'.repeat(8193) });
      expectScimError(description, 400, 'invalidValue');
      expect(description.body.detail).toMatch(/^"description" must be at most 8192 characters long/);
    });

    it('should describe the trust extension under /Schemas and list it among the IdentityProvider extensions', async () => {
      const schema = await s.api('GET', `/admin/v1/Schemas/${TRUST}`);
      expectStatus(schema, 200);
      expect(schema.body.attributes.map((a: { name: string; mutability: string }) => `${a.name}:${a.mutability}`)).toEqual([
        'signingCertificates:readOnly',
        'refuseExpiredSigningKeys:readWrite',
        'warnings:readOnly',
        // Metadata refresh (test/idp-metadata-refresh.e2e-spec.ts).
        'metadataUrl:readWrite',
        'metadataRefreshIntervalMinutes:readWrite',
        'metadataSigningCertificate:readWrite',
        'metadataAllowPrivateNetwork:readWrite',
        'metadataLastRefreshed:readOnly',
        'metadataLastError:readOnly',
      ]);
      expect(schema.body.attributes[0].subAttributes.map((a: { name: string }) => a.name)).toEqual(['value', 'type', 'fingerprint', 'subject', 'notBefore', 'notAfter', 'expired']);
      const rt = await s.api('GET', '/admin/v1/ResourceTypes/IdentityProvider');
      expect(rt.body.schemaExtensions).toContainEqual({ schema: TRUST, required: false });
    });
  });

  describe('sign-in through an IdP configured from metadata', () => {
    /** Starts an SP-initiated sign-in at the IdP and returns the id of the AuthnRequest. */
    async function initiate(idpId: string): Promise<string> {
      const started = await startSamlSignIn(s.baseUrl, idpId);
      expect(started.status).toBe(302);
      return started.requestId;
    }

    /** Posts to the ACS from the browser that started the sign-in the response answers. */
    async function post(samlResponse: string): Promise<ApiResponse> {
      const res = await postSamlResponse(s.baseUrl, samlResponse);
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text, text };
    }

    /** A response to a fresh SP-initiated request, signed by `keys` as the IdP `entityId`. */
    async function signedBy(idpId: string, entityId: string, keys: TestKeyPair, nameId: string): Promise<string> {
      const idp = new TestIdp(spMetadata, { entityId: spEntityId, acsUrl }, keys, entityId);
      return idp.signedResponse({ InResponseTo: await initiate(idpId), NameID: nameId }, { ...ATTRS, email: [nameId] });
    }

    async function expectSignedIn(samlResponse: string): Promise<void> {
      const res = await post(samlResponse);
      expect([res.status, res.headers.get('location')]).toEqual([303, '/myprofile']);
      expect(res.headers.get('set-cookie')).toMatch(/^idd_session=/);
    }

    /** The generic page, the reason in the audit trail and the log only, and no user written. */
    async function expectRefused(samlResponse: string, reason: string, detail?: RegExp): Promise<void> {
      const users = await count('/admin/v1/Users');
      warn.mockClear();
      const res = await post(samlResponse);
      expect([401, 403]).toContain(res.status);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(res.text).toContain('Sign-in failed');
      expect(res.text).not.toContain(reason);
      const correlation = /id="correlation-id">([^<]+)</.exec(res.text)![1];
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
      expect(events.body.Resources[0]).toMatchObject({ eventId: 'sso.login', outcome: 'failure', reason });
      const logged = warn.mock.calls.map(([m]) => String(m)).find((m) => m.includes(`correlation=${correlation}`));
      expect(logged).toContain(`reason=${reason}`);
      if (detail) expect(logged).toMatch(detail);
      expect(await count('/admin/v1/Users')).toBe(users);
    }

    describe('an Entra ID document carrying two signing certificates, the first expired', () => {
      let expired: TestKeyPair;
      let current: TestKeyPair;
      let stranger: TestKeyPair;
      let idpId: string;
      const entityId = `https://sts.windows.net/${randomUUID()}/`;

      beforeAll(async () => {
        [expired, current, stranger] = await Promise.all([
          makeKeyPair('expired-entra', new Date(Date.now() - 800 * DAY), new Date(Date.now() - 30 * DAY)),
          makeKeyPair('current-entra'),
          makeKeyPair('stranger'),
        ]);
        const xml = published('entra-id.tenant-81c1df79.xml');
        const [first, second] = parseIdpMetadata(xml).signingCertificates;
        const metadata = renamed(withCertificates(xml, [[first, expired], [second, current]]), 'https://sts.windows.net/81c1df79-e153-4f9d-a101-8dcf04af6c2c/', entityId);
        ({ idpId } = await createJitIdentityProvider(s, { partnerName: 'Entra rollover', metadata, settings: { nameIdFormat: 'saml-emailaddress' } }));
      });

      it('should verify a response signed with the second certificate', async () => {
        await expectSignedIn(await signedBy(idpId, entityId, current, 'second.cert@example.com'));
      });

      it('should verify a response signed with the expired first certificate while expired keys are not refused', async () => {
        await expectSignedIn(await signedBy(idpId, entityId, expired, 'expired.cert@example.com'));
      });

      it('should refuse a response signed with a key the metadata does not hold', async () => {
        await expectRefused(await signedBy(idpId, entityId, stranger, 'stranger@example.com'), SsoReason.InvalidSignature);
      });

      it('should refuse the expired certificate, and only it, once refuseExpiredSigningKeys is set', async () => {
        const res = await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: `${TRUST}:refuseExpiredSigningKeys`, value: true }));
        expectStatus(res, 200);
        expect(res.body[TRUST]).toMatchObject({ refuseExpiredSigningKeys: true, warnings: [expect.stringContaining('sign-in refuses responses signed with it')] });
        expect(res.body[TRUST].signingCertificates).toHaveLength(2);

        await expectRefused(await signedBy(idpId, entityId, expired, 'refused.expired@example.com'), SsoReason.InvalidSignature, /not tried, expired and refused by refuseExpiredSigningKeys/);
        await expectSignedIn(await signedBy(idpId, entityId, current, 'still.current@example.com'));
      });
    });

    describe('an AD FS document whose only signing certificate has expired', () => {
      let expired: TestKeyPair;
      let idpId: string;
      const entityId = `http://adfs-${randomUUID()}.example.org/adfs/services/trust`;

      beforeAll(async () => {
        expired = await makeKeyPair('expired-adfs', new Date(Date.now() - 800 * DAY), new Date(Date.now() - DAY));
        const xml = published('adfs.ucar.xml');
        const metadata = renamed(withCertificates(xml, [[parseIdpMetadata(xml).signingCertificates[0], expired]]), 'https://sts.ucar.edu/adfs/services/trust', entityId);
        const created = await createJitIdentityProvider(s, { partnerName: 'AD FS expired', metadata, settings: { nameIdFormat: 'saml-emailaddress' } });
        idpId = created.idpId;
      });

      it('should sign in with the expired key by default (the key in metadata is the trust anchor)', async () => {
        await expectSignedIn(await signedBy(idpId, entityId, expired, 'adfs.expired@example.com'));
      });

      it('should refuse every sign-in, with its own reason, once expired keys are refused', async () => {
        expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: `${TRUST}:refuseExpiredSigningKeys`, value: true })), 200);
        const shown = (await s.api('GET', `/admin/v1/IdentityProviders/${idpId}`)).body[TRUST];
        expect(shown.warnings).toContainEqual(expect.stringMatching(/^every signing key has expired and refuseExpiredSigningKeys is on/));

        // SP-initiated sign-in cannot start either: the generic page, not a redirect to the IdP.
        const start = await fetch(`${s.baseUrl}/fed/v1/sp/initiatesso?idp=${idpId}`, { redirect: 'manual' });
        expect(start.status).not.toBe(302);

        // The keys are settled before anything else about the response: even one answering no request of ours gets this reason.
        const idp = new TestIdp(spMetadata, { entityId: spEntityId, acsUrl }, expired, entityId);
        await expectRefused(await idp.signedResponse({ InResponseTo: `_${randomUUID()}`, NameID: 'adfs.refused@example.com' }, ATTRS), SsoReason.SigningKeyExpired, /every signing key of the identity provider has expired/);
      });

      it('should sign in again once the setting is turned off', async () => {
        expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: `${TRUST}:refuseExpiredSigningKeys`, value: false })), 200);

        await expectSignedIn(await signedBy(idpId, entityId, expired, 'adfs.again@example.com'));
      });
    });

    describe('a Shibboleth document whose key is given as RSAKeyValue, without certificate', () => {
      let keys: TestKeyPair;
      let stranger: TestKeyPair;
      let idpId: string;
      const entityId = `https://idp-${randomUUID()}.example.org/idp/shibboleth`;

      beforeAll(async () => {
        [keys, stranger] = await Promise.all([makeKeyPair('rsa-key-value'), makeKeyPair('stranger')]);
        const jwk = createPublicKey(keys.certificatePem).export({ format: 'jwk' });
        const b64 = (v: string) => Buffer.from(v, 'base64url').toString('base64');
        const keyValue = `<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>${b64(jwk.n!)}</ds:Modulus><ds:Exponent>${b64(jwk.e!)}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>`;
        const xml = published('shibboleth.testshib-idp.xml');
        const metadata = renamed(xml.replace(/<ds:X509Data>[\s\S]*?<\/ds:X509Data>/g, keyValue), 'https://idp.testshib.org/idp/shibboleth', entityId);
        expect(metadata).not.toContain('X509Certificate');
        const created = await s.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName: 'Shibboleth RSAKeyValue', enabled: false, metadata });
        expectStatus(created, 201);
        // No certificate, so no IDCS signingCertificate; the key is in the trust extension, undated.
        expect(created.body.signingCertificate).toBeUndefined();
        expect(created.body[TRUST].signingCertificates).toEqual([{ value: createPublicKey(keys.certificatePem).export({ type: 'spki', format: 'der' }).toString('base64'), type: 'RSAKeyValue', fingerprint: expect.any(String) }]);
        await s.api('DELETE', `/admin/v1/IdentityProviders/${created.body.id}`);
        ({ idpId } = await createJitIdentityProvider(s, { partnerName: 'Shibboleth RSAKeyValue', metadata, settings: { nameIdFormat: 'saml-emailaddress', authnRequestBinding: 'Redirect' } }));
      });

      it('should verify a response signed with that key', async () => {
        await expectSignedIn(await signedBy(idpId, entityId, keys, 'rsa.key.value@example.com'));
      });

      it('should refuse a response signed with another key', async () => {
        await expectRefused(await signedBy(idpId, entityId, stranger, 'rsa.stranger@example.com'), SsoReason.InvalidSignature);
      });
    });
  });
});
