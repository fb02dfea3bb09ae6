import { DOMParser } from '@xmldom/xmldom';
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { createJitIdentityProvider, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { buildSpMetadata, spEndpoints, SsoReason } from '@app/saml';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { dbQuery, E2E_DB, expectScimError, expectStatus, startTestServerOn, TestServer } from './support/server';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const XENC = 'http://www.w3.org/2001/04/xmlenc#';
// Both instances answer as the same public URL, as behind a load balancer.
const PUBLIC_URL = 'https://id.rollover.test';
const ENV = { PUBLIC_URL };

/** The certificates our metadata publishes, per use, in order. */
function published(xml: string): { signing: string[]; encryption: string[] } {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const out = { signing: [] as string[], encryption: [] as string[] };
  for (const kd of Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor'))) {
    const der = (kd.getElementsByTagNameNS(DS, 'X509Certificate')[0].textContent ?? '').replace(/\s+/g, '');
    out[kd.getAttribute('use') as 'signing' | 'encryption'].push(der);
  }
  return out;
}

/**
 * Rolling our SAML SP keys over with /admin/v1/SpKeys while IdPs keep signing in: a login before, during and after
 * each step, with real signed (and encrypted) responses from samlify, on two instances sharing one database.
 */
describe(`SAML SP key rollover (${E2E_DB})`, () => {
  let a: TestServer;
  let b: TestServer;
  let idpKeys: TestKeyPair;
  let idp: TestIdp;
  let idpId: string;
  let n = 0;
  const endpoints = spEndpoints(PUBLIC_URL);

  /** Our metadata as an IdP would hold it if it encrypted to `der` (one certificate of ours). */
  const encryptingTo = (der: string) => buildSpMetadata({ ...endpoints, signingCertificateDer: der, encryptionCertificateDers: [der] });

  /** An SP-initiated sign-in through `server`, the assertion signed by the IdP and, when `encryptTo` is given, encrypted to that certificate. */
  async function signIn(server: TestServer, encryptTo?: string): Promise<{ status: number; text: string; session?: string; nameId: string }> {
    const nameId = `rollover.${++n}@example.com`;
    const started = await startSamlSignIn(server.baseUrl, idpId);
    const tags = { InResponseTo: started.requestId, NameID: nameId };
    const attrs = { firstName: ['Roll'], familyName: ['Over'], email: [nameId] };
    const samlResponse = encryptTo
      ? await idp.encryptedResponse(tags, attrs, { dataEncryptionAlgorithm: `${XENC}aes256-cbc`, keyEncryptionAlgorithm: `${XENC}rsa-oaep-mgf1p`, spMetadata: encryptingTo(encryptTo) })
      : await idp.signedResponse(tags, attrs);
    if (encryptTo) expect(Buffer.from(samlResponse, 'base64').toString('utf8')).toContain('EncryptedAssertion');
    const res = await postSamlResponse(server.baseUrl, samlResponse);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('idd_session='));
    return { status: res.status, text: await res.text(), session, nameId };
  }

  async function expectSignedIn(server: TestServer, encryptTo?: string): Promise<void> {
    const res = await signIn(server, encryptTo);
    expect([res.status, !!res.session]).toEqual([303, true]);
  }

  /** Refused with the generic page; the reason only in the audit trail; no user written. */
  async function expectRefused(server: TestServer, encryptTo: string, reason: string): Promise<void> {
    const res = await signIn(server, encryptTo);
    expect([401, 403]).toContain(res.status);
    expect(res.session).toBeUndefined();
    const correlation = /id="correlation-id">([^<]+)</.exec(res.text)![1];
    const events = await a.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
    expect(events.body.Resources[0]).toMatchObject({ eventId: 'sso.login', outcome: 'failure', reason });
    const users = await a.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${res.nameId}"`)}`);
    expect(users.body.totalResults).toBe(0);
  }

  /** The certificate that verifies the signature of an HTTP-Redirect AuthnRequest (SAML Bindings §3.4.4.1), among `candidates`. */
  async function authnRequestSigner(server: TestServer, candidates: string[]): Promise<string | undefined> {
    const started = await startSamlSignIn(server.baseUrl, idpId);
    const query = started.location!.search.slice(1).split('&');
    const raw = (name: string) => query.find((p) => p.startsWith(`${name}=`));
    const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map(raw).filter(Boolean).join('&');
    const signature = Buffer.from(decodeURIComponent(raw('Signature')!.slice('Signature='.length)), 'base64');
    return candidates.find((der) => verify('sha256', Buffer.from(signed), createPublicKey(new X509Certificate(Buffer.from(der, 'base64')).publicKey.export({ type: 'spki', format: 'pem' })), signature));
  }

  const metadata = async (server: TestServer) => published((await server.raw('GET', '/fed/v1/metadata')).text);
  const keys = async () => {
    const res = await a.api('GET', '/admin/v1/SpKeys');
    expectStatus(res, 200);
    return res.body as { id: string; certificate: string; uses: { use: string; status: string }[] }[];
  };
  const usesOf = async (id: string) => (await keys()).find((k) => k.id === id)?.uses.map((u) => `${u.use}:${u.status}`).sort();

  let first: string; // saml-sp-1's certificate, base64 DER
  let nextEncryption: { id: string; certificate: string };
  let nextSigning: { id: string; certificate: string };

  // samlify warns on every IdP entity it builds that the test IdP has no SingleLogoutService.
  const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);

  beforeAll(async () => {
    idpKeys = await makeKeyPair('rollover-idp');
    a = await TestServer.start(ENV);
    b = await startTestServerOn(a.databaseUrl, ENV);
    first = published((await a.raw('GET', '/fed/v1/metadata')).text).signing[0];
    idp = new TestIdp(encryptingTo(first), { entityId: endpoints.entityId, acsUrl: endpoints.acsUrl }, idpKeys, IDP_ENTITY_ID);
    ({ idpId } = await createJitIdentityProvider(a, {
      partnerName: 'rollover',
      partnerProviderId: IDP_ENTITY_ID,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: idpKeys.certificateB64,
      settings: { nameIdFormat: 'saml-emailaddress', authnRequestBinding: 'Redirect' },
    }));
  });

  afterAll(async () => {
    quiet.mockRestore();
    await b?.stop();
    await a?.stop();
  });

  it('should start with one key, saml-sp-1, active for signing and for encryption, and sign in with it on both instances', async () => {
    expect(await keys()).toEqual([expect.objectContaining({ id: 'saml-sp-1', certificate: first })]);
    expect(await usesOf('saml-sp-1')).toEqual(['encryption:active', 'signing:active']);
    expect(await metadata(a)).toEqual({ signing: [first], encryption: [first] });

    await expectSignedIn(a);
    await expectSignedIn(a, first);
    await expectSignedIn(b, first); // b caches its configuration with this key set
    expect(await authnRequestSigner(a, [first])).toBe(first);
  });

  it('should stage a next encryption key: published after the active one, private key never returned, audited', async () => {
    const res = await a.api('POST', '/admin/v1/SpKeys', { use: 'encryption' });

    expectStatus(res, 201);
    expect(res.body).toMatchObject({ id: expect.stringMatching(/^saml-sp-enc-/), uses: [{ use: 'encryption', status: 'next' }], expired: false });
    expect(res.text).not.toMatch(/PRIVATE KEY|privateKey/);
    nextEncryption = res.body;
    // Every instance publishes it before it is used: IdPs learn it first.
    expect(await metadata(a)).toEqual({ signing: [first], encryption: [first, nextEncryption.certificate] });
    expect(await metadata(b)).toEqual({ signing: [first], encryption: [first, nextEncryption.certificate] });
    const events = await a.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "admin.SpKey.stage"')}`);
    expect(events.body.Resources).toEqual([expect.objectContaining({ adminResourceId: nextEncryption.id, outcome: 'success' })]);
    expect(JSON.stringify(events.body)).not.toMatch(/PRIVATE KEY/);
    const [stored] = await dbQuery<{ secret: string }>(a, 'SELECT secret FROM signing_keys WHERE kid = $1', [nextEncryption.id]);
    expect(stored.secret).toMatch(/^kek:v1:/); // sealed at rest like the first key
  });

  it('should refuse a second next key for the same use, and bad input', async () => {
    expectScimError(await a.api('POST', '/admin/v1/SpKeys', { use: 'encryption' }), 409);
    expect((await a.api('POST', '/admin/v1/SpKeys', { use: 'both' })).status).toBe(400);
    expectScimError(await a.api('POST', '/admin/v1/SpKeys/saml-sp-1/activate'), 409); // active already, not staged
    expectScimError(await a.api('POST', '/admin/v1/SpKeys/saml-sp-none/activate'), 404);
  });

  it('should still sign in with the active key while a key is staged, and with the staged one an IdP may already use', async () => {
    await expectSignedIn(a, first);
    await expectSignedIn(b, first);
    await expectSignedIn(b, nextEncryption.certificate);
  });

  it('should activate the staged key on every instance, and still decrypt what IdPs encrypt to the previous key', async () => {
    const res = await a.api('POST', `/admin/v1/SpKeys/${nextEncryption.id}/activate`);

    expectStatus(res, 200);
    expect(res.body.uses).toEqual([expect.objectContaining({ use: 'encryption', status: 'active' })]);
    expect(await usesOf('saml-sp-1')).toEqual(['encryption:previous', 'signing:active']);
    expect(await metadata(b)).toEqual({ signing: [first], encryption: [nextEncryption.certificate] });
    // During the rollover: an IdP that has not reread our metadata still encrypts to the old key.
    await expectSignedIn(b, first);
    await expectSignedIn(a, first);
    await expectSignedIn(b, nextEncryption.certificate);
    await expectSignedIn(b);
  });

  it('should refuse to retire a key that is still active for a use', async () => {
    const res = await a.api('DELETE', '/admin/v1/SpKeys/saml-sp-1');

    expectScimError(res, 409);
    expect(res.body.detail).toContain('active signing key');
  });

  it('should roll the signing key over: published before use, then AuthnRequests signed with it', async () => {
    const staged = await a.api('POST', '/admin/v1/SpKeys', { use: 'signing' });
    expectStatus(staged, 201);
    nextSigning = staged.body;
    expect(await metadata(b)).toEqual({ signing: [first, nextSigning.certificate], encryption: [nextEncryption.certificate] });
    expect(await authnRequestSigner(b, [first, nextSigning.certificate])).toBe(first);

    expectStatus(await a.api('POST', `/admin/v1/SpKeys/${nextSigning.id}/activate`), 200);

    expect(await authnRequestSigner(b, [first, nextSigning.certificate])).toBe(nextSigning.certificate);
    expect(await authnRequestSigner(a, [first, nextSigning.certificate])).toBe(nextSigning.certificate);
    expect(await usesOf('saml-sp-1')).toEqual(['encryption:previous', 'signing:previous']);
    expect(await metadata(a)).toEqual({ signing: [nextSigning.certificate], encryption: [nextEncryption.certificate] });
    await expectSignedIn(b, first); // still decrypts until retired
  });

  it('should retire the old key on every instance: its private key is deleted, and assertions encrypted to it are refused', async () => {
    const res = await a.api('DELETE', '/admin/v1/SpKeys/saml-sp-1');

    expectStatus(res, 204);
    expect(await dbQuery(a, 'SELECT kid FROM signing_keys WHERE kid = $1', ['saml-sp-1'])).toEqual([]);
    expect((await keys()).map((k) => k.id).sort()).toEqual([nextEncryption.id, nextSigning.id].sort());
    for (const server of [a, b]) {
      const shown = await metadata(server);
      expect([...shown.signing, ...shown.encryption]).not.toContain(first);
      await expectRefused(server, first, SsoReason.ValidationFailed);
    }
    // After the rollover: signing in goes on with the new keys.
    await expectSignedIn(b, nextEncryption.certificate);
    await expectSignedIn(a);
    expectScimError(await a.api('GET', '/admin/v1/SpKeys/saml-sp-1'), 404);
  });

  it('should have audited each step', async () => {
    const events = await a.api('GET', `/admin/v1/AuditEvents?count=50&filter=${encodeURIComponent('eventId sw "admin.SpKey."')}`);

    expect(events.body.Resources.map((e: { eventId: string; adminResourceId: string }) => `${e.eventId} ${e.adminResourceId}`).sort()).toEqual(
      [`admin.SpKey.stage ${nextEncryption.id}`, `admin.SpKey.activate ${nextEncryption.id}`, `admin.SpKey.stage ${nextSigning.id}`, `admin.SpKey.activate ${nextSigning.id}`, 'admin.SpKey.retire saml-sp-1'].sort(),
    );
  });

  it('should let an Auditor read the keys but not change them', async () => {
    const token = await a.tokenWithRoles('Auditor');

    expectStatus(await a.api('GET', '/admin/v1/SpKeys', undefined, { token }), 200);
    expect((await a.api('POST', '/admin/v1/SpKeys', { use: 'signing' }, { token })).status).toBe(403);
    expect((await a.api('DELETE', `/admin/v1/SpKeys/${nextSigning.id}`, undefined, { token })).status).toBe(403);
  });
});
