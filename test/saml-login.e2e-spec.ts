import { DOMParser } from '@xmldom/xmldom';
import { X509Certificate } from 'node:crypto';
import * as samlify from 'samlify';
import { DataSource, Logger as QueryLogger } from 'typeorm';
import { SignedXml } from 'xml-crypto';
import { SsoReason } from '@app/saml';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { createJitIdentityProvider, groupsFromAssertion, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { IDP_ENTITY_ID, ResponseTags, TestIdp } from './support/saml-idp';
import { ApiResponse, dbQuery, E2E_DB, expectStatus, GROUP_SCHEMA, patch, TestServer } from './support/server';

const HOUR = 3600_000;

// Successful sign-ins go through JitLoginService (libs/jit, written concurrently). Until '@app/jit' exports it, the
// cases that need a sign-in to succeed are skipped, visibly, rather than faked with a stand-in.

describe(`SAML sign-in through /fed/v1/sp (${E2E_DB})`, () => {
  let s: TestServer;
  let idpKeys: TestKeyPair;
  let otherKeys: TestKeyPair;
  let idp: TestIdp;
  let idpId: string;
  let acsUrl: string;
  let entityId: string;

  const ATTRS = { firstName: ['Jit'], familyName: ['User'], email: ['jit.user@example.com'], groups: ['Admins'] };

  /** A base64 SAMLResponse whose assertion is signed by `keys` (the IdP's unless a case says otherwise). */
  async function signedResponse(tags: ResponseTags = {}, opts: { keys?: TestKeyPair; attrs?: Record<string, string[]> } = {}): Promise<string> {
    return idp.signedResponse(tags, opts.attrs ?? ATTRS, opts.keys);
  }

  /** Posts to the ACS like the browser's auto-submitted form (in the browser that started the sign-in), without following the redirect. */
  async function post(samlResponse: string, relayState?: string): Promise<ApiResponse> {
    const res = await postSamlResponse(s.baseUrl, samlResponse, { relayState });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text, text };
  }

  /** Starts an SP-initiated sign-in and returns the AuthnRequest id the IdP would answer. */
  async function initiate(relayState?: string): Promise<{ id: string; location: URL }> {
    const started = await startSamlSignIn(s.baseUrl, idpId, { relayState });
    expect(started.status).toBe(302);
    return { id: started.requestId, location: started.location! };
  }

  const userCount = async () => (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults as number;

  async function auditReason(res: ApiResponse): Promise<string | undefined> {
    const correlation = /id="correlation-id">([^<]+)</.exec(res.text)?.[1];
    expect(correlation).toBeTruthy();
    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
    return events.body.Resources?.[0]?.reason;
  }

  /** Posts a response that must be refused: generic page, reason only in the audit trail, no user written. */
  async function expectRefused(samlResponse: string, reason: string): Promise<void> {
    const before = await userCount();
    const res = await post(samlResponse);
    expect([401, 403]).toContain(res.status);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.text).toContain('Sign-in failed');
    expect(res.text).not.toContain(reason);
    expect(await auditReason(res)).toBe(reason);
    expect(await userCount()).toBe(before);
  }

  async function setIdp(values: Record<string, unknown>): Promise<void> {
    const ops = Object.entries(values).map(([path, value]) => ({ op: 'replace', path, value }));
    expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch(...ops)), 200);
  }

  beforeAll(async () => {
    [idpKeys, otherKeys] = await Promise.all([makeKeyPair('samlify-idp'), makeKeyPair('attacker')]);
    s = await TestServer.start();
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    entityId = `${s.publicUrl}/fed`;
    acsUrl = `${s.publicUrl}/fed/v1/sp/sso`;
    idp = new TestIdp(metadata.text, { entityId, acsUrl }, idpKeys);
    const admins = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OCI Admins' });
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'samlify',
      partnerProviderId: IDP_ENTITY_ID,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: idpKeys.certificateB64,
      settings: {
        nameIdFormat: 'saml-emailaddress',
        authnRequestBinding: 'Redirect',
        ...groupsFromAssertion([{ idpGroup: 'Admins', value: admins.body.id }]),
        jitUserProvGroupMappingMode: 'explicit',
        jitUserProvGroupAssignmentMethod: 'Merge',
      },
    }));
  });

  afterAll(async () => {
    await s?.stop();
  });

  describe('GET /fed/v1/sp/initiatesso with the HTTP-POST binding', () => {
    beforeAll(() => setIdp({ authnRequestBinding: 'Post' }));
    afterAll(() => setIdp({ authnRequestBinding: 'Redirect' }));

    /** The page, its form's action and fields, and its Content-Security-Policy. */
    async function postPage(relayState?: string) {
      const { response: res, html, action, fields } = await startSamlSignIn(s.baseUrl, idpId, { relayState });
      return { res, html: html!, action, fields: fields!, csp: res.headers.get('content-security-policy') ?? '' };
    }

    it('should answer a page that posts a signed AuthnRequest to the IdP, allowed by its CSP to do only that', async () => {
      const { res, html, action, fields, csp } = await postPage('/myprofile');

      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(action).toBe('https://idp.samlify.test/sso');
      expect(fields.RelayState).toBe('/myprofile');
      const nonce = /<script nonce="([^"]+)">/.exec(html)![1];
      expect(csp).toBe(`default-src 'none'; script-src 'nonce-${nonce}'; form-action https://idp.samlify.test; frame-ancestors 'none'`);

      // The AuthnRequest carries an enveloped XML signature by our SP key (the HTTP-POST binding has no SigAlg).
      const xml = Buffer.from(fields.SAMLRequest, 'base64').toString('utf8');
      const doc = new DOMParser().parseFromString(xml, 'text/xml');
      const signature = doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
      expect(signature).toBeDefined();
      const spCert = new X509Certificate(Buffer.from(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec((await s.raw('GET', '/fed/v1/metadata')).text)![1], 'base64')).toString();
      const verifies = (candidate: string): boolean => {
        const verifier = new SignedXml({ publicCert: spCert });
        verifier.loadSignature(signature as unknown as Node);
        try {
          return verifier.checkSignature(candidate);
        } catch {
          return false;
        }
      };
      expect(verifies(xml)).toBe(true);
      expect(xml).toContain(`>${entityId}</saml:Issuer>`);
      expect(verifies(xml.replace(`>${entityId}</saml:Issuer>`, '>https://evil.example/fed</saml:Issuer>'))).toBe(false);
    });

    it('should store the request id, so that its answer signs the user in once', async () => {
      const { fields } = await postPage();
      const xml = Buffer.from(fields.SAMLRequest, 'base64').toString('utf8');
      const id = /<samlp:AuthnRequest[^>]* ID="([^"]+)"/.exec(xml)![1];
      expect(await dbQuery(s, 'SELECT idp_id FROM saml_request_ids WHERE id = $1', [id])).toEqual([{ idp_id: idpId }]);

      expect((await post(await signedResponse({ InResponseTo: id, NameID: 'post.binding@example.com' }))).status).toBe(303);
      await expectRefused(await signedResponse({ InResponseTo: id, NameID: 'post.binding@example.com' }), SsoReason.InResponseToUnknown);
    });
  });

  describe('GET /fed/v1/sp/initiatesso', () => {
    it('should redirect to the IdP with a signed AuthnRequest whose id is stored in the database', async () => {
      const { id, location } = await initiate('/myprofile');

      expect(`${location.origin}${location.pathname}`).toBe('https://idp.samlify.test/sso');
      expect(location.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
      expect(location.searchParams.get('Signature')).toBeTruthy();
      expect(location.searchParams.get('RelayState')).toBe('/myprofile');
      const rows = await dbQuery(s, 'SELECT idp_id FROM saml_request_ids WHERE id = $1', [id]);
      expect(rows).toEqual([{ idp_id: idpId }]);
    });

    it.each(['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/\t/evil.example'])('should not pass on the RelayState %j', async (relay) => {
      const { location } = await initiate(relay);

      expect(location.searchParams.get('RelayState')).toBeNull();
    });
  });

  describe('POST /fed/v1/sp/sso', () => {
    it('should sign in a new user SP-initiated: 303 to /myprofile with a session cookie, then /myprofile and /admin/v1/Me show the user', async () => {
      const { id } = await initiate();
      const before = await userCount();

      const res = await post(await signedResponse({ InResponseTo: id }));

      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/myprofile');
      const setCookie = res.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^idd_session=[A-Za-z0-9_-]{43};/);
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Lax/);
      expect(setCookie).toMatch(/Path=\//);
      expect(setCookie).not.toMatch(/Secure/); // PUBLIC_URL is http here
      expect(await userCount()).toBe(before + 1);
      expect(await dbQuery(s, 'SELECT id FROM saml_request_ids WHERE id = $1', [id])).toEqual([]);
      const cookie = setCookie.split(';')[0];

      const profile = await s.raw('GET', '/myprofile', { headers: { cookie } });
      expectStatus(profile, 200);
      expect(profile.text).toContain('<td id="userName">jit.user@example.com</td>');
      expect(profile.text).toContain('<td id="givenName">Jit</td>');
      expect(profile.text).toContain('<td id="familyName">User</td>');
      expect(profile.text).toContain('<li>OCI Admins</li>');

      const me = await s.api('GET', '/admin/v1/Me', undefined, { token: null, headers: { cookie } });
      expectStatus(me, 200);
      expect(me.body).toMatchObject({ userName: 'jit.user@example.com', name: { givenName: 'Jit', familyName: 'User' } });

      // Sign-out is the form's POST with its CSRF token (a GET only shows the form: test/saml-logout.e2e-spec.ts).
      const csrf = /name="csrf" value="([^"]+)"/.exec(profile.text)![1];
      const logout = await fetch(`${s.baseUrl}/fed/v1/sp/slo`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf }).toString(),
        redirect: 'manual',
      });
      expect(logout.status).toBe(200);
      expect(await logout.text()).toContain('You are signed out');
      expect(logout.headers.get('set-cookie')).toMatch(/^idd_session=;.*Expires=Thu, 01 Jan 1970/);
      expect((await s.raw('GET', '/myprofile', { headers: { cookie } })).status).toBe(401);
      expect((await s.api('GET', '/admin/v1/Me', undefined, { token: null, headers: { cookie } })).status).toBe(401);
    });

    it('should follow a RelayState that is a path on our origin, and ignore one that is not', async () => {
      const ok = await post(await signedResponse({ InResponseTo: (await initiate()).id }), '/myprofile?tab=groups');
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toBe('/myprofile?tab=groups');

      const open = await post(await signedResponse({ InResponseTo: (await initiate()).id }), 'https://evil.example/phish');
      expect(open.status).toBe(303);
      expect(open.headers.get('location')).toBe('/myprofile');

      // Characters a Location header cannot carry as they are arrive percent-encoded, not as a 500.
      const unicode = await post(await signedResponse({ InResponseTo: (await initiate()).id }), '/myprofile?team=Ingénierie&budget=€5');
      expect(unicode.status).toBe(303);
      expect(unicode.headers.get('location')).toBe('/myprofile?team=Ing%C3%A9nierie&budget=%E2%82%AC5');
    });

    it('should refuse an unsolicited response from an IdP that does not allow them', async () => {
      await expectRefused(await signedResponse({ InResponseTo: undefined }), SsoReason.UnsolicitedNotAllowed);
    });

    it('should accept an unsolicited response from an IdP that allows them', async () => {
      await setIdp({ allowUnsolicitedResponses: true });
      try {
        const res = await post(await signedResponse({ InResponseTo: undefined }));
        expect(res.status).toBe(303);
      } finally {
        await setIdp({ allowUnsolicitedResponses: false });
      }
    });

    it('should refuse a replayed assertion', async () => {
      const response = await signedResponse({ InResponseTo: undefined });
      await setIdp({ allowUnsolicitedResponses: true });
      try {
        expect((await post(response)).status).toBe(303);
        await expectRefused(response, SsoReason.AssertionReplayed);
      } finally {
        await setIdp({ allowUnsolicitedResponses: false });
      }
    });

    it('should refuse a second response to the same AuthnRequest', async () => {
      const { id } = await initiate();
      expect((await post(await signedResponse({ InResponseTo: id }))).status).toBe(303);

      await expectRefused(await signedResponse({ InResponseTo: id }), SsoReason.InResponseToUnknown);
    });

    it('should let exactly one of two racing responses to the same AuthnRequest through', async () => {
      const { id } = await initiate();
      const [a, b] = await Promise.all([signedResponse({ InResponseTo: id }), signedResponse({ InResponseTo: id })]);

      const statuses = (await Promise.all([post(a), post(b)])).map((r) => r.status).sort();

      expect(statuses).toEqual([303, 401]);
    });

    const now = Date.now();
    const cases: [string, () => Promise<string>, string][] = [
      ['an unknown InResponseTo', () => signedResponse({ InResponseTo: '_never-sent' }), SsoReason.InResponseToUnknown],
      ['an InResponseTo altered from one we sent', async () => signedResponse({ InResponseTo: `${(await initiate()).id}x` }), SsoReason.InResponseToUnknown],
      ['a wrong assertion issuer', async () => signedResponse({ InResponseTo: (await initiate()).id, AssertionIssuer: 'https://other-idp.test' }), SsoReason.IssuerMismatch],
      ['an unknown issuer', async () => signedResponse({ InResponseTo: (await initiate()).id, Issuer: 'https://unknown-idp.test' }), SsoReason.UnknownIssuer],
      ['a wrong audience', async () => signedResponse({ InResponseTo: (await initiate()).id, Audience: 'https://other-sp.test/fed' }), SsoReason.AudienceMismatch],
      ['a wrong recipient', async () => signedResponse({ InResponseTo: (await initiate()).id, SubjectRecipient: 'https://other-sp.test/acs' }), SsoReason.RecipientMismatch],
      ['a wrong destination', async () => signedResponse({ InResponseTo: (await initiate()).id, Destination: 'https://other-sp.test/acs' }), SsoReason.DestinationMismatch],
      [
        'an expired assertion',
        async () =>
          signedResponse({
            InResponseTo: (await initiate()).id,
            IssueInstant: new Date(now - 2 * HOUR).toISOString(),
            ConditionsNotBefore: new Date(now - 2 * HOUR).toISOString(),
            ConditionsNotOnOrAfter: new Date(now - HOUR).toISOString(),
            SubjectConfirmationDataNotOnOrAfter: new Date(now - HOUR).toISOString(),
          }),
        SsoReason.ConfirmationExpired,
      ],
      [
        'an assertion whose Conditions expired',
        async () =>
          signedResponse({
            InResponseTo: (await initiate()).id,
            ConditionsNotBefore: new Date(now - 2 * HOUR).toISOString(),
            ConditionsNotOnOrAfter: new Date(now - HOUR).toISOString(),
          }),
        SsoReason.Expired,
      ],
      [
        'an assertion not yet valid',
        async () =>
          signedResponse({
            InResponseTo: (await initiate()).id,
            ConditionsNotBefore: new Date(now + HOUR).toISOString(),
            ConditionsNotOnOrAfter: new Date(now + 2 * HOUR).toISOString(),
          }),
        SsoReason.NotYetValid,
      ],
      ['an assertion without an ID', async () => signedResponse({ InResponseTo: (await initiate()).id, AssertionID: undefined }), SsoReason.AssertionIdMissing],
      ['a non-Success status', async () => signedResponse({ InResponseTo: (await initiate()).id, StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }), SsoReason.StatusNotSuccess],
      ['an unsigned response', async () => Buffer.from(idp.responseXml({ InResponseTo: (await initiate()).id }, ATTRS)).toString('base64'), SsoReason.InvalidSignature],
      ['a response signed with another key', async () => signedResponse({ InResponseTo: (await initiate()).id }, { keys: otherKeys }), SsoReason.InvalidSignature],
      [
        'a DOCTYPE',
        async () => {
          const xml = Buffer.from(await signedResponse({ InResponseTo: (await initiate()).id }), 'base64').toString('utf8');
          return Buffer.from(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]>${xml}`).toString('base64');
        },
        SsoReason.Doctype,
      ],
      ['a SAMLResponse that is not base64', async () => '%%%not base64%%%', SsoReason.ResponseMalformed],
    ];

    it.each(cases)('should refuse %s, write nothing and tell the browser only that sign-in failed', async (_case, build, reason) => {
      await expectRefused(await build(), reason);
    });

    it('should refuse a response from a disabled IdP', async () => {
      const { id } = await initiate();
      await setIdp({ enabled: false });
      try {
        await expectRefused(await signedResponse({ InResponseTo: id }), SsoReason.IdpDisabled);
      } finally {
        await setIdp({ enabled: true });
      }
    });

    it('should refuse a plain assertion from an IdP that must encrypt', async () => {
      const { id } = await initiate();
      await setIdp({ requiresEncryptedAssertion: true });
      try {
        await expectRefused(await signedResponse({ InResponseTo: id }), SsoReason.AssertionNotEncrypted);
      } finally {
        await setIdp({ requiresEncryptedAssertion: false });
      }
    });

    describe('encrypted assertions', () => {
      const XENC = 'http://www.w3.org/2001/04/xmlenc#';
      const XENC11 = 'http://www.w3.org/2009/xmlenc11#';
      const OAEP = `${XENC}rsa-oaep-mgf1p`;
      let n = 0;

      beforeAll(() => setIdp({ requiresEncryptedAssertion: true }));
      afterAll(() => setIdp({ requiresEncryptedAssertion: false }));

      it.each([`${XENC11}aes256-gcm`, `${XENC11}aes128-gcm`, `${XENC}aes256-cbc`, `${XENC}aes128-cbc`])(
        'should sign in with an assertion signed, then encrypted to our metadata key with %s and RSA-OAEP',
        async (dataEncryptionAlgorithm) => {
          const nameId = `encrypted.${++n}@example.com`;
          const response = await idp.encryptedResponse({ InResponseTo: (await initiate()).id, NameID: nameId }, { ...ATTRS, email: [nameId], firstName: ['Sealed'] }, { dataEncryptionAlgorithm, keyEncryptionAlgorithm: OAEP });
          const xml = Buffer.from(response, 'base64').toString('utf8');
          expect(xml).toContain('EncryptedAssertion');
          expect(xml).not.toContain(nameId); // nothing of the assertion in the clear

          const res = await post(response);

          expect(res.status).toBe(303);
          expect(res.headers.get('location')).toBe('/myprofile');
          const found = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${nameId}"`)}`);
          expect(found.body.totalResults).toBe(1);
          expect(found.body.Resources[0].name).toMatchObject({ givenName: 'Sealed', familyName: 'User' });
        },
      );

      it('should refuse an assertion encrypted to a key that is not ours', async () => {
        const metadata = (await s.raw('GET', '/fed/v1/metadata')).text;
        const ours = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata)![1];
        const elsewhere = metadata.split(ours).join(otherKeys.certificateB64);
        const response = await idp.encryptedResponse({ InResponseTo: (await initiate()).id, NameID: 'misdirected@example.com' }, ATTRS, {
          dataEncryptionAlgorithm: `${XENC}aes256-cbc`,
          keyEncryptionAlgorithm: OAEP,
          spMetadata: elsewhere,
        });
        await expectRefused(response, SsoReason.ValidationFailed);
      });

      it.each([
        ['RSA PKCS#1 v1.5 key transport', `${XENC}aes256-cbc`, `${XENC}rsa-1_5`],
        ['3DES data encryption', `${XENC}tripledes-cbc`, OAEP],
      ])('should refuse %s before decrypting anything', async (_title, dataEncryptionAlgorithm, keyEncryptionAlgorithm) => {
        const response = await idp.encryptedResponse({ InResponseTo: (await initiate()).id, NameID: 'weak.crypto@example.com' }, ATTRS, { dataEncryptionAlgorithm, keyEncryptionAlgorithm });
        await expectRefused(response, SsoReason.EncryptionNotAllowed);
      });
    });

    it('should refuse a body over the size cap with the generic page', async () => {
      const before = await userCount();

      const res = await post('A'.repeat(300 * 1024));

      expect(res.status).toBe(413);
      expect(res.text).toContain('Sign-in failed');
      expect(await userCount()).toBe(before);
    });
  });

  describe('GET /myprofile', () => {
    it('should answer 401 with a sign-in hint without a session', async () => {
      const res = await s.raw('GET', '/myprofile', { headers: { cookie: 'idd_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });

      expect(res.status).toBe(401);
      expect(res.text).toContain('not signed in');
    });
  });

  describe('GET /admin/v1/Me', () => {
    it('should answer 401 without a session, even with an admin token', async () => {
      expect((await s.api('GET', '/admin/v1/Me')).status).toBe(401);
      expect((await s.api('GET', '/admin/v1/Me', undefined, { token: null })).status).toBe(401);
    });
  });

  describe('JIT at sign-in (the OCI + Okta tutorial, seeds/000)', () => {
    let ociAdministrators: string;
    let ociAdmins: string;

    beforeAll(async () => {
      ociAdministrators = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OCI Administrators' })).body.id;
      ociAdmins = (await s.api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('displayName eq "OCI Admins"')}`)).body.Resources[0].id;
    });

    afterEach(async () => {
      await setIdp({ jitUserProvCreateUserEnabled: true, jitUserProvAttributeUpdateEnabled: true, jitUserProvGroupMappings: [{ idpGroup: 'Admins', value: ociAdmins }] });
    });

    async function signIn(nameId: string, attrs: Record<string, string[]>): Promise<ApiResponse> {
      return post(await signedResponse({ NameID: nameId, InResponseTo: (await initiate()).id }, { attrs }));
    }

    async function userNamed(userName: string): Promise<Record<string, any> | undefined> {
      const res = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributes=userName,name,emails,groups,urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:isFederatedUser,urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:creationMechanism`);
      return res.body.Resources[0];
    }

    it('should create the new user with its properties and mapped groups, then update changed attributes at the next sign-in', async () => {
      await setIdp({ jitUserProvGroupMappings: [{ idpGroup: 'Administrators', value: ociAdministrators }, { idpGroup: 'Admins', value: ociAdmins }], jitUserProvIgnoreErrorOnAbsentGroups: true });
      const first = await signIn('tutorial.user@example.com', { firstName: ['Tutorial'], familyName: ['User'], email: ['tutorial.user@example.com'], groups: ['Administrators, Admins'] });
      expect(first.status).toBe(303);
      const created = await userNamed('tutorial.user@example.com');
      expect(created).toMatchObject({
        name: { givenName: 'Tutorial', familyName: 'User' },
        emails: [{ value: 'tutorial.user@example.com', type: 'work', primary: true }],
        'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User': { isFederatedUser: true, creationMechanism: 'samljit' },
      });
      expect(created!.groups.map((g: { display: string }) => g.display).sort()).toEqual(['OCI Administrators', 'OCI Admins']);

      const second = await signIn('tutorial.user@example.com', { firstName: ['Tutorial-Renamed'], familyName: ['Person'], email: ['tutorial.person@example.com'], groups: ['Admins'] });
      expect(second.status).toBe(303);
      const updated = await userNamed('tutorial.user@example.com');
      expect(updated).toMatchObject({ id: created!.id, name: { givenName: 'Tutorial-Renamed', familyName: 'Person' }, emails: [{ value: 'tutorial.person@example.com', primary: true }] });
      // Merge keeps other memberships, but explicitly mapped groups follow the assertion.
      expect(updated!.groups.map((g: { display: string }) => g.display)).toEqual(['OCI Admins']);
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "sso.login" and actorId eq "${created!.id}"`)}&sortBy=timestamp`);
      const update = events.body.Resources.at(-1);
      // Each change names the source of the value it replaced (attribute ownership): here JIT, through this IdP.
      expect(update.changes).toEqual(
        expect.arrayContaining([{ attribute: 'name.givenName', oldValue: '"Tutorial"', newValue: '"Tutorial-Renamed"', replacedSource: expect.stringContaining('"sourceType":"jit"') }]),
      );
      expect(JSON.parse(update.details)).toMatchObject({ jit: 'userUpdated', groupsLeft: [{ id: ociAdministrators, displayName: 'OCI Administrators' }] });
    });

    it('should sign an existing user in unchanged when attribute update is off', async () => {
      await signIn('unchanged.user@example.com', { firstName: ['Before'], familyName: ['User'], email: ['unchanged.user@example.com'], groups: [] });
      const before = await userNamed('unchanged.user@example.com');
      await setIdp({ jitUserProvAttributeUpdateEnabled: false });
      const res = await signIn('unchanged.user@example.com', { firstName: ['After'], familyName: ['User'], email: ['unchanged.user@example.com'], groups: ['Admins'] });
      expect(res.status).toBe(303);
      const after = await userNamed('unchanged.user@example.com');
      expect(after).toEqual(before);
    });

    it('should refuse an unknown user when JIT creation is off, and write nothing', async () => {
      await setIdp({ jitUserProvCreateUserEnabled: false });
      const before = await userCount();
      const res = await signIn('nobody.yet@example.com', { firstName: ['No'], familyName: ['Body'], email: ['nobody.yet@example.com'] });
      expect(res.status).toBe(403);
      expect(res.text).not.toContain('user_not_found');
      expect(await auditReason(res)).toBe('user_not_found');
      expect(await userCount()).toBe(before);
    });

    it('should fail the whole sign-in on an absent group when told to, writing nothing', async () => {
      await setIdp({ jitUserProvIgnoreErrorOnAbsentGroups: false });
      const before = await userCount();
      const res = await signIn('absent.group@example.com', { firstName: ['A'], familyName: ['G'], email: ['absent.group@example.com'], groups: ['Admins', 'NoSuchGroup'] });
      expect(res.status).toBe(403);
      expect(await auditReason(res)).toBe('absent_group');
      expect(await userCount()).toBe(before);
      await setIdp({ jitUserProvIgnoreErrorOnAbsentGroups: true });
    });

    it('should produce exactly one user from simultaneous first sign-ins of the same new user', async () => {
      const requests = await Promise.all(Array.from({ length: 6 }, () => initiate()));
      const responses = await Promise.all(
        requests.map((r) => signedResponse({ NameID: 'racing.user@example.com', InResponseTo: r.id }, { attrs: { firstName: ['Race'], familyName: ['User'], email: ['racing.user@example.com'], groups: ['Admins'] } })),
      );
      const results = await Promise.all(responses.map((r) => post(r)));
      expect(results.map((r) => r.status)).toEqual(results.map(() => 303));
      const found = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "racing.user@example.com"')}&attributes=groups`);
      expect(found.body.totalResults).toBe(1);
      expect(found.body.Resources[0].groups.map((g: { value: string }) => g.value)).toEqual([ociAdmins]);
    });

    /**
     * A response the IdP signed, whose assertion holds what the JIT preview and the login once read differently:
     * a NameID wrapped in whitespace (trimmed by one, not the other) and an Advice carrying another assertion with
     * its own attributes (read as the subject's by one); plus what both must keep reading alike: attributes with
     * a NameFormat and a FriendlyName (keyed by Name), several values, one Name in two Attribute elements, and
     * whitespace inside a value.
     */
    async function unusualResponse(nameId: string, inResponseTo: string): Promise<string> {
      const statements =
        `<saml:Advice><saml:Assertion ID="_advice-${inResponseTo}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${IDP_ENTITY_ID}</saml:Issuer>` +
        `<saml:AttributeStatement><saml:Attribute Name="firstName"><saml:AttributeValue>Advised</saml:AttributeValue></saml:Attribute>` +
        `<saml:Attribute Name="groups"><saml:AttributeValue>Administrators</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
        `</saml:Assertion></saml:Advice>` +
        `<saml:AttributeStatement>` +
        `<saml:Attribute Name="firstName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" FriendlyName="givenName"><saml:AttributeValue>Agreed</saml:AttributeValue></saml:Attribute>` +
        `<saml:Attribute Name="familyName" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"><saml:AttributeValue>Van  Der Berg</saml:AttributeValue></saml:Attribute>` +
        `<saml:Attribute Name="email"><saml:AttributeValue>${nameId}</saml:AttributeValue><saml:AttributeValue>second.${nameId}</saml:AttributeValue></saml:Attribute>` +
        `<saml:Attribute Name="groups"><saml:AttributeValue>Admins</saml:AttributeValue></saml:Attribute>` +
        `<saml:Attribute Name="groups"><saml:AttributeValue>Unmapped</saml:AttributeValue></saml:Attribute>` +
        `</saml:AttributeStatement>`;
      const xml = idp.responseXml({ NameID: `\n    ${nameId}\n  `, InResponseTo: inResponseTo }, {}).replace('<saml:AttributeStatement></saml:AttributeStatement>', statements);
      expect(xml).toContain('<saml:Advice>');
      const sp = samlify.ServiceProvider({ metadata: (await s.raw('GET', '/fed/v1/metadata')).text });
      const { context } = await idp.entity().createLoginResponse(sp, { extract: {} } as never, 'post', {}, () => ({ id: 'unused', context: xml }));
      return context;
    }

    it('should create the user the JIT preview showed for the same assertion', async () => {
      await setIdp({ jitUserProvGroupMappings: [{ idpGroup: 'Administrators', value: ociAdministrators }, { idpGroup: 'Admins', value: ociAdmins }], jitUserProvIgnoreErrorOnAbsentGroups: true });
      const response = await unusualResponse('agreed.user@example.com', (await initiate()).id);

      const preview = await s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, { assertion: Buffer.from(response, 'base64').toString('utf8') });
      const signIn = await post(response);

      expectStatus(preview, 200);
      expect(signIn.status).toBe(303);
      expect(preview.body).toMatchObject({ outcome: 'create', newUser: { userName: 'agreed.user@example.com', name: { givenName: 'Agreed' } } });
      const created = await userNamed('agreed.user@example.com');
      expect(created).toBeDefined();
      expect({ userName: created!.userName, name: created!.name, emails: created!.emails }).toEqual({
        userName: preview.body.newUser.userName,
        name: preview.body.newUser.name,
        emails: preview.body.newUser.emails,
      });
      expect(created!.groups.map((g: { value: string }) => g.value)).toEqual(preview.body.groupsJoined.map((g: { value: string }) => g.value));
      expect(preview.body.groupsJoined).toEqual([{ value: ociAdmins, display: 'OCI Admins' }]);
      expect(preview.body.groupsSkipped).toEqual([expect.objectContaining({ value: 'Unmapped', source: 'assertion' })]);
    });

    /** The SELECTs on identity_providers made while `run` runs, seen by TypeORM's logger, through which both dialects run every query. */
    async function identityProviderReads(run: () => Promise<unknown>): Promise<string[]> {
      const ds = s.app.get(DataSource);
      const logger = ds.logger;
      const reads: string[] = [];
      const counting: QueryLogger = Object.assign(Object.create(logger) as QueryLogger, {
        logQuery: (query: string, parameters?: unknown[], runner?: Parameters<QueryLogger['logQuery']>[2]) => {
          if (/^\s*SELECT\b/i.test(query) && /\bidentity_providers\b/.test(query)) reads.push(query);
          return logger.logQuery(query, parameters, runner);
        },
      });
      (ds as unknown as { logger: QueryLogger }).logger = counting;
      try {
        await run();
      } finally {
        (ds as unknown as { logger: QueryLogger }).logger = logger;
      }
      return reads;
    }

    it('should read the identity provider once per sign-in, whether JIT creates or updates the user', async () => {
      const first = await signedResponse({ NameID: 'read.once@example.com', InResponseTo: (await initiate()).id }, { attrs: { firstName: ['Read'], familyName: ['Once'], email: ['read.once@example.com'] } });
      const second = await signedResponse({ NameID: 'read.once@example.com', InResponseTo: (await initiate()).id }, { attrs: { firstName: ['Read'], familyName: ['Twice'], email: ['read.once@example.com'] } });

      for (const response of [first, second]) {
        let status = 0;
        const reads = await identityProviderReads(async () => {
          status = (await post(response)).status;
        });
        expect(status).toBe(303);
        expect(reads).toHaveLength(1);
      }
      expect((await userNamed('read.once@example.com'))!.name).toEqual({ givenName: 'Read', familyName: 'Twice' });
    });
  });
});
