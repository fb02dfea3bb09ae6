import { DOMParser } from '@xmldom/xmldom';
import type { Browser, Page } from 'playwright-core';
import { Profile, SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing';
import { validateSignature } from '@node-saml/node-saml/lib/xml';
import { inflateRawSync } from 'node:zlib';
import { createJitIdentityProvider } from '@app/fixtures';
import { LogoutReason } from '@app/saml';
import { DemoIdp, DemoRegistration, initiateSsoUrl, registerDemoIdp, startDemoIdp } from '../apps/demo-idp/src';
import { launchChromium } from './support/browser';
import { makeKeyPair, TestKeyPair } from './support/certs';
import * as samlify from 'samlify';
import { EMAIL_FORMAT, IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { ADMIN_ID, ADMIN_SECRET, dbQuery, E2E_DB, expectStatus, patch, TestServer } from './support/server';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const IDP_SLO_REQUEST_URL = 'https://idp.samlify.test/slo';
const IDP_SLO_RESPONSE_URL = 'https://idp.samlify.test/slo/response';
const rootXpath = (name: string) => `/*[local-name(.)="${name}" and namespace-uri(.)="${SAMLP}"]`;

/**
 * SAML Single Logout at /fed/v1/sp/slo with real signed messages. Our side signs with the SP key; the IdP's side is
 * node-saml, configured as an IdP would be (its key signs, our published certificate verifies), so that neither
 * side checks itself.
 */
describe(`SAML single logout and sign-out through /fed/v1/sp/slo (${E2E_DB})`, () => {
  let s: TestServer;
  let idpKeys: TestKeyPair;
  let otherKeys: TestKeyPair;
  let idp: TestIdp;
  let idpId: string;
  let sloUrl: string;
  /** The IdP's end of single logout: signs its messages with the IdP key and verifies ours with our certificate. */
  let idpSlo: SAML;
  let spCertPem: string;
  let spEntity: ReturnType<typeof samlify.ServiceProvider>;

  const attrs = (email: string) => ({ firstName: ['Slo'], familyName: ['User'], email: [email] });
  const authnStatement = (sessionIndex: string) =>
    `<saml:AuthnStatement AuthnInstant="${new Date().toISOString()}" SessionIndex="${sessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;

  /** An SP-initiated sign-in of `nameId` whose AuthnStatement carries `sessionIndex`; the session cookie ("idd_session=…"). */
  async function signIn(nameId: string, sessionIndex: string): Promise<string> {
    const init = await fetch(`${s.baseUrl}/fed/v1/sp/initiatesso?idp=${idpId}`, { redirect: 'manual' });
    expect(init.status).toBe(302);
    const xml = inflateRawSync(Buffer.from(new URL(init.headers.get('location')!).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const requestId = /<samlp:AuthnRequest[^>]* ID="([^"]+)"/.exec(xml)![1];
    // Whatever the start of the sign-in set (the browser binding of the AuthnRequest) goes back with the answer.
    const cookies = init.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    // samlify escapes template values: the AuthnStatement (with its SessionIndex) goes in before signing.
    const xml2 = idp.responseXml({ InResponseTo: requestId, NameID: nameId }, attrs(nameId)).replace('</saml:Conditions>', `</saml:Conditions>${authnStatement(sessionIndex)}`);
    const { context: samlResponse } = await idp.entity().createLoginResponse(spEntity, { extract: {} } as never, 'post', {}, () => ({ id: 'unused', context: xml2 }));
    const res = await fetch(`${s.baseUrl}/fed/v1/sp/sso`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookies ? { cookie: cookies } : {}) },
      body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
    });
    expect(res.status).toBe(303);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('idd_session='));
    expect(session).toBeTruthy();
    return session!.split(';')[0];
  }

  const signedIn = async (cookie: string) => (await s.raw('GET', '/myprofile', { headers: { cookie } })).status === 200;

  /** The CSRF token of the sign-out form on a page. */
  const csrfOf = (html: string) => /<input type="hidden" name="csrf" value="([^"]+)">/.exec(html)?.[1];

  async function postForm(path: string, fields: Record<string, string>, cookie?: string): Promise<Response> {
    return fetch(`${s.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(fields).toString(),
    });
  }

  /** Presses the sign-out button of the page GET /fed/v1/sp/slo shows. */
  async function pressSignOut(cookie: string): Promise<Response> {
    const page = await fetch(`${s.baseUrl}/fed/v1/sp/slo`, { headers: { cookie } });
    const csrf = csrfOf(await page.text());
    expect(csrf).toBeTruthy();
    return postForm('/fed/v1/sp/slo', { csrf: csrf! }, cookie);
  }

  /** The form fields of an auto-submitting page, and where it posts them. */
  function autoPost(html: string): { action?: string; fields: Record<string, string> } {
    const fields = Object.fromEntries([...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2].replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&')]));
    return { action: /<form id="saml-post" method="post" action="([^"]+)">/.exec(html)?.[1]?.replace(/&amp;/g, '&'), fields };
  }

  const logoutEvents = async (correlationId: string) =>
    (await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "sso.logout" and correlationId eq "${correlationId}"`)}`)).body.Resources ?? [];

  async function setIdp(values: Record<string, unknown>): Promise<void> {
    const ops = Object.entries(values).map(([path, value]) => ({ op: 'replace', path, value }));
    expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch(...ops)), 200);
  }

  /** A URL of our server as the test reaches it (the messages name PUBLIC_URL, which is localhost). */
  const local = (url: string) => {
    const u = new URL(url);
    return `${s.baseUrl}${u.pathname}${u.search}`;
  };

  /** The IdP's LogoutRequest for a NameID (and SessionIndex), signed over the redirect binding: the URL to our SLO. */
  const idpRedirectRequest = (nameID: string, sessionIndex?: string, relayState = '') =>
    idpSlo.getLogoutUrlAsync({ issuer: IDP_ENTITY_ID, nameID, nameIDFormat: EMAIL_FORMAT, ...(sessionIndex ? { sessionIndex } : {}) } as Profile, relayState, {});

  /** The IdP's LogoutRequest, signed (enveloped) for the POST binding: its XML before base64. */
  async function idpPostRequestXml(nameID: string, sessionIndex?: string, keys: TestKeyPair = idpKeys): Promise<string> {
    const xml = await idpSlo._generateLogoutRequest({ issuer: IDP_ENTITY_ID, nameID, nameIDFormat: EMAIL_FORMAT, ...(sessionIndex ? { sessionIndex } : {}) } as Profile);
    return signSamlPost(xml, rootXpath('LogoutRequest'), { privateKey: keys.privateKeyPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
  }

  /** Checks our LogoutResponse delivered over the redirect binding as the IdP does; its XML. */
  async function verifiedRedirectResponse(location: string, expected: { inResponseTo: string }): Promise<Document> {
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(IDP_SLO_RESPONSE_URL);
    expect(url.searchParams.get('Signature')).toBeTruthy();
    expect(url.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    // node-saml, as the IdP: the query signature against our certificate, the Issuer (our entity id), InResponseTo and status.
    await idpSlo.validateRedirectAsync(Object.fromEntries(url.searchParams), url.search.slice(1));
    const doc = new DOMParser().parseFromString(inflateRawSync(Buffer.from(url.searchParams.get('SAMLResponse')!, 'base64')).toString('utf8'), 'text/xml') as unknown as Document;
    const root = doc.documentElement;
    expect(root.localName).toBe('LogoutResponse');
    expect(root.getAttribute('InResponseTo')).toBe(expected.inResponseTo);
    expect(root.getAttribute('Destination')).toBe(IDP_SLO_RESPONSE_URL);
    expect(doc.getElementsByTagNameNS(SAMLP, 'StatusCode')[0].getAttribute('Value')).toBe(SUCCESS);
    return doc;
  }

  const idOf = (xml: string) => /^<[^>]* ID="([^"]+)"/.exec(xml.replace(/^<\?xml[^>]*>\s*/, ''))![1];

  beforeAll(async () => {
    [idpKeys, otherKeys] = await Promise.all([makeKeyPair('samlify-idp'), makeKeyPair('attacker')]);
    s = await TestServer.start();
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    const entityId = `${s.publicUrl}/fed`;
    sloUrl = `${s.publicUrl}/fed/v1/sp/slo`;
    spCertPem = `-----BEGIN CERTIFICATE-----\n${/<ds:X509Certificate>([^<]+)</.exec(metadata.text)![1]}\n-----END CERTIFICATE-----\n`;
    spEntity = samlify.ServiceProvider({ metadata: metadata.text });
    idp = new TestIdp(metadata.text, { entityId, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, idpKeys);
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'samlify-slo',
      partnerProviderId: IDP_ENTITY_ID,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: idpKeys.certificateB64,
      settings: {
        nameIdFormat: 'saml-emailaddress',
        authnRequestBinding: 'Redirect',
        logoutEnabled: true,
        logoutBinding: 'Redirect',
        logoutRequestUrl: IDP_SLO_REQUEST_URL,
        logoutResponseUrl: IDP_SLO_RESPONSE_URL,
      },
    }));
    idpSlo = new SAML({
      issuer: IDP_ENTITY_ID,
      callbackUrl: 'https://idp.samlify.test/unused',
      entryPoint: sloUrl,
      logoutUrl: sloUrl,
      idpIssuer: entityId,
      idpCert: spCertPem,
      privateKey: idpKeys.privateKeyPem,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      // The LogoutRequests this IdP sends are remembered (in memory), so the InResponseTo of our answers is checked.
      validateInResponseTo: ValidateInResponseTo.always,
      wantAuthnResponseSigned: false,
    });
  });

  afterAll(async () => {
    await s?.stop();
  });

  describe('sign-out (GET shows a form, POST with its CSRF token signs out)', () => {
    beforeAll(() => setIdp({ logoutEnabled: false }));
    afterAll(() => setIdp({ logoutEnabled: true }));

    it('should not sign out on a GET: it shows a sign-out form carrying a CSRF token, and /myprofile shows the same form', async () => {
      const cookie = await signIn('csrf.get@example.com', '_s-get');

      const page = await s.raw('GET', '/fed/v1/sp/slo', { headers: { cookie } });

      expectStatus(page, 200);
      expect(page.text).toContain('<form id="sign-out" method="post" action="/fed/v1/sp/slo">');
      expect(page.headers.get('set-cookie')).toBeNull();
      expect(await signedIn(cookie)).toBe(true);
      const profile = await s.raw('GET', '/myprofile', { headers: { cookie } });
      expect(csrfOf(profile.text)).toBe(csrfOf(page.text));
      expect(profile.text).not.toContain('<a href="/fed/v1/sp/slo">');
    });

    it.each([
      ['no CSRF token', () => ({})],
      ['an empty CSRF token', () => ({ csrf: '' })],
      ['a made-up CSRF token', () => ({ csrf: 'A'.repeat(43) })],
    ])('should refuse a sign-out POST with %s (403) and leave the session alive', async (_case, fields) => {
      const cookie = await signIn('csrf.none@example.com', '_s-none');

      const res = await postForm('/fed/v1/sp/slo', fields() as Record<string, string>, cookie);

      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await signedIn(cookie)).toBe(true);
    });

    it("should refuse a sign-out POST carrying another session's CSRF token", async () => {
      const victim = await signIn('csrf.victim@example.com', '_s-victim');
      const attacker = await signIn('csrf.attacker@example.com', '_s-attacker');
      const attackerToken = csrfOf((await s.raw('GET', '/fed/v1/sp/slo', { headers: { cookie: attacker } })).text)!;

      const res = await postForm('/fed/v1/sp/slo', { csrf: attackerToken }, victim);

      expect(res.status).toBe(403);
      expect(await signedIn(victim)).toBe(true);
      expect(await signedIn(attacker)).toBe(true);
    });

    it('should sign out locally on a POST with the right token when the IdP does not do single logout', async () => {
      const cookie = await signIn('csrf.ok@example.com', '_s-ok');

      const res = await pressSignOut(cookie);

      expect(res.status).toBe(200);
      expect(await res.text()).toContain('You are signed out');
      expect(res.headers.get('set-cookie')).toMatch(/^idd_session=;.*Expires=Thu, 01 Jan 1970/);
      expect(await signedIn(cookie)).toBe(false);
      expect((await s.api('GET', '/admin/v1/Me', undefined, { token: null, headers: { cookie } })).status).toBe(401);
    });
  });

  describe('SP-initiated single logout', () => {
    it('should store the NameID and SessionIndex of a SAML session', async () => {
      await signIn('stored@example.com', '_s-stored');

      const rows = await dbQuery(s, 'SELECT name_id, name_id_format, session_index FROM sessions WHERE name_id = $1', ['stored@example.com']);

      expect(rows).toEqual([{ name_id: 'stored@example.com', name_id_format: EMAIL_FORMAT, session_index: '_s-stored' }]);
    });

    it.each(['Redirect', 'Post'] as const)(
      'should end the session, send a signed LogoutRequest over the %s binding, and accept the IdP\'s signed LogoutResponse once',
      async (binding) => {
        await setIdp({ logoutBinding: binding });
        const nameId = `sp.${binding.toLowerCase()}@example.com`;
        const cookie = await signIn(nameId, `_s-sp-${binding}`);

        const res = await pressSignOut(cookie);

        // The local session is gone before the IdP is asked.
        expect(await signedIn(cookie)).toBe(false);
        let profile: Profile;
        if (binding === 'Redirect') {
          expect(res.status).toBe(303);
          const url = new URL(res.headers.get('location')!);
          expect(`${url.origin}${url.pathname}`).toBe(IDP_SLO_REQUEST_URL);
          expect(url.searchParams.get('Signature')).toBeTruthy();
          ({ profile } = (await idpSlo.validateRedirectAsync(Object.fromEntries(url.searchParams), url.search.slice(1))) as { profile: Profile });
        } else {
          expect(res.status).toBe(200);
          const form = autoPost(await res.text());
          expect(form.action).toBe(IDP_SLO_REQUEST_URL);
          expect(res.headers.get('content-security-policy')).toContain('form-action https://idp.samlify.test');
          const xml = Buffer.from(form.fields.SAMLRequest, 'base64').toString('utf8');
          expect(validateSignature(xml, new DOMParser().parseFromString(xml, 'text/xml').documentElement as unknown as Element, [spCertPem])).toBe(true);
          ({ profile } = await idpSlo.validatePostRequestAsync(form.fields));
        }
        expect(profile).toMatchObject({ issuer: `${s.publicUrl}/fed`, nameID: nameId, nameIDFormat: EMAIL_FORMAT, sessionIndex: `_s-sp-${binding}` });
        expect(await dbQuery(s, 'SELECT id FROM saml_logout_requests WHERE id = $1', [profile.ID])).toHaveLength(1);

        // The IdP answers, signed, over the same binding.
        const answer = async () => {
          if (binding === 'Redirect') return fetch(local(await idpSlo.getLogoutResponseUrlAsync(profile, '', {}, true)), { redirect: 'manual' });
          const xml = signSamlPost(idpSlo._generateLogoutResponse(profile, true), rootXpath('LogoutResponse'), { privateKey: idpKeys.privateKeyPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
          return postForm('/fed/v1/sp/slo', { SAMLResponse: Buffer.from(xml).toString('base64') });
        };
        const done = await answer();
        expect(done.status).toBe(200);
        expect(await done.text()).toContain('You are signed out');
        expect(await logoutEvents(done.headers.get('opc-request-id')!)).toEqual([expect.objectContaining({ outcome: 'success' })]);
        expect(await dbQuery(s, 'SELECT id FROM saml_logout_requests WHERE id = $1', [profile.ID])).toEqual([]);

        // The same answer again: its InResponseTo was consumed.
        const again = await answer();
        expect(again.status).toBe(400);
        expect(await logoutEvents(again.headers.get('opc-request-id')!)).toEqual([expect.objectContaining({ outcome: 'failure', reason: LogoutReason.InResponseToUnknown })]);
        await setIdp({ logoutBinding: 'Redirect' });
      },
    );

    it('should record a LogoutResponse that is not Success, and still show the browser it is signed out', async () => {
      const cookie = await signIn('sp.partial@example.com', '_s-partial');
      const url = new URL((await pressSignOut(cookie)).headers.get('location')!);
      const { profile } = (await idpSlo.validateRedirectAsync(Object.fromEntries(url.searchParams), url.search.slice(1))) as { profile: Profile };

      const done = await fetch(local(await idpSlo.getLogoutResponseUrlAsync(profile, '', {}, false)), { redirect: 'manual' });

      expect(done.status).toBe(200);
      expect(await done.text()).toContain('You are signed out');
      expect(await logoutEvents(done.headers.get('opc-request-id')!)).toEqual([expect.objectContaining({ outcome: 'failure', reason: LogoutReason.StatusNotSuccess })]);
      expect(await signedIn(cookie)).toBe(false);
    });
  });

  describe('IdP-initiated single logout', () => {
    it('should end the session a signed redirect-binding LogoutRequest designates, only that one, and answer with a signed Success', async () => {
      const a = await signIn('idp.redirect@example.com', '_s-a');
      const b = await signIn('idp.redirect@example.com', '_s-b');
      const url = await idpRedirectRequest('idp.redirect@example.com', '_s-a', 'relay-7');
      const requestId = idOf(inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'));

      const res = await fetch(local(url), { redirect: 'manual' });

      expect(res.status).toBe(302);
      await verifiedRedirectResponse(res.headers.get('location')!, { inResponseTo: requestId });
      expect(new URL(res.headers.get('location')!).searchParams.get('RelayState')).toBe('relay-7');
      expect(await signedIn(a)).toBe(false);
      expect(await signedIn(b)).toBe(true);
      expect(await logoutEvents(res.headers.get('opc-request-id')!)).toEqual([expect.objectContaining({ outcome: 'success' })]);
    });

    it('should end every session of the NameID when the LogoutRequest names no SessionIndex', async () => {
      const a = await signIn('idp.all@example.com', '_s-all-a');
      const b = await signIn('idp.all@example.com', '_s-all-b');
      const other = await signIn('idp.other@example.com', '_s-other');

      const res = await fetch(local(await idpRedirectRequest('idp.all@example.com')), { redirect: 'manual' });

      expect(res.status).toBe(302);
      expect([await signedIn(a), await signedIn(b), await signedIn(other)]).toEqual([false, false, true]);
    });

    it('should answer a valid signed Success to a LogoutRequest for a session that does not exist', async () => {
      const url = await idpRedirectRequest('nobody@example.com', '_s-none');
      const requestId = idOf(inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'));

      const res = await fetch(local(url), { redirect: 'manual' });

      expect(res.status).toBe(302);
      await verifiedRedirectResponse(res.headers.get('location')!, { inResponseTo: requestId });
    });

    it('should end the designated session on a signed POST-binding LogoutRequest and answer with a signed LogoutResponse by POST', async () => {
      await setIdp({ logoutBinding: 'Post' });
      const cookie = await signIn('idp.post@example.com', '_s-post');
      const xml = await idpPostRequestXml('idp.post@example.com', '_s-post');

      const res = await postForm('/fed/v1/sp/slo', { SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: 'r-post' });

      expect(res.status).toBe(200);
      const form = autoPost(await res.text());
      expect(form.action).toBe(IDP_SLO_RESPONSE_URL);
      expect(form.fields.RelayState).toBe('r-post');
      const response = Buffer.from(form.fields.SAMLResponse, 'base64').toString('utf8');
      const doc = new DOMParser().parseFromString(response, 'text/xml');
      expect(validateSignature(response, doc.documentElement as unknown as Element, [spCertPem])).toBe(true);
      expect(validateSignature(response, doc.documentElement as unknown as Element, [idpKeys.certificatePem])).toBe(false);
      expect(doc.documentElement!.getAttribute('InResponseTo')).toBe(idOf(xml));
      expect(doc.getElementsByTagNameNS(SAMLP, 'StatusCode')[0].getAttribute('Value')).toBe(SUCCESS);
      expect(await signedIn(cookie)).toBe(false);

      // A LogoutRequest for nobody gets a Success all the same.
      const none = await postForm('/fed/v1/sp/slo', { SAMLRequest: Buffer.from(await idpPostRequestXml('nobody@example.com')).toString('base64') });
      expect(none.status).toBe(200);
      const noneXml = Buffer.from(autoPost(await none.text()).fields.SAMLResponse, 'base64').toString('utf8');
      expect(validateSignature(noneXml, new DOMParser().parseFromString(noneXml, 'text/xml').documentElement as unknown as Element, [spCertPem])).toBe(true);
      expect(noneXml).toContain(SUCCESS);
      await setIdp({ logoutBinding: 'Redirect' });
    });

    /** Sends a refused message; the session of `victim` must survive, and the refusal be audited with `reason`. */
    async function expectRefused(send: () => Promise<Response>, victim: string, reason: string): Promise<void> {
      const res = await send();
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain('Sign-out failed');
      expect(html).not.toContain(reason);
      expect(res.headers.get('location')).toBeNull();
      expect(await signedIn(victim)).toBe(true);
      expect(await logoutEvents(res.headers.get('opc-request-id')!)).toEqual([expect.objectContaining({ outcome: 'failure', reason })]);
    }

    const redirectCases: [string, (url: URL) => string, string][] = [
      ['without Signature and SigAlg', (u) => (u.searchParams.delete('Signature'), u.searchParams.delete('SigAlg'), u.toString()), LogoutReason.SignatureMissing],
      ['with a Signature that does not match', (u) => (u.searchParams.set('Signature', Buffer.alloc(256, 7).toString('base64')), u.toString()), LogoutReason.InvalidSignature],
      ['with a RelayState added after signing', (u) => (u.searchParams.set('RelayState', 'added'), u.toString()), LogoutReason.InvalidSignature],
      ['with an RSA-SHA1 SigAlg', (u) => (u.searchParams.set('SigAlg', 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'), u.toString()), LogoutReason.AlgorithmNotAllowed],
    ];
    it.each(redirectCases)('should refuse a redirect-binding LogoutRequest %s, ending nothing', async (_case, tamper, reason) => {
      const victim = await signIn('idp.victim@example.com', '_s-victim-r');
      const url = new URL(await idpRedirectRequest('idp.victim@example.com'));
      await expectRefused(() => fetch(local(tamper(url)), { redirect: 'manual' }), victim, reason);
    });

    it('should refuse a redirect-binding LogoutRequest signed by another key, or naming another Destination', async () => {
      const victim = await signIn('idp.victim2@example.com', '_s-victim-k');
      const forger = new SAML({ ...idpSlo.options, privateKey: otherKeys.privateKeyPem });
      await expectRefused(async () => fetch(local(await forger.getLogoutUrlAsync({ issuer: IDP_ENTITY_ID, nameID: 'idp.victim2@example.com', nameIDFormat: EMAIL_FORMAT } as Profile, '', {})), { redirect: 'manual' }), victim, LogoutReason.InvalidSignature);
      const elsewhere = new SAML({ ...idpSlo.options, logoutUrl: 'https://other-sp.example/slo', entryPoint: 'https://other-sp.example/slo' });
      const url = new URL(await elsewhere.getLogoutUrlAsync({ issuer: IDP_ENTITY_ID, nameID: 'idp.victim2@example.com', nameIDFormat: EMAIL_FORMAT } as Profile, '', {}));
      await expectRefused(() => fetch(`${s.baseUrl}/fed/v1/sp/slo${url.search}`, { redirect: 'manual' }), victim, LogoutReason.DestinationMismatch);
    });

    const postCases: [string, () => Promise<string>, string][] = [
      ['unsigned', async () => idpSlo._generateLogoutRequest({ issuer: IDP_ENTITY_ID, nameID: 'idp.victim3@example.com', nameIDFormat: EMAIL_FORMAT } as Profile), LogoutReason.SignatureMissing],
      ['whose NameID was changed after signing', async () => (await idpPostRequestXml('someone.else@example.com')).replace('someone.else@example.com', 'idp.victim3@example.com'), LogoutReason.InvalidSignature],
      ['signed by another key', () => idpPostRequestXml('idp.victim3@example.com', undefined, otherKeys), LogoutReason.InvalidSignature],
      ['with a DOCTYPE', async () => `<!DOCTYPE x [<!ENTITY e "x">]>${await idpPostRequestXml('idp.victim3@example.com')}`, LogoutReason.Doctype],
    ];
    it.each(postCases)('should refuse a POST-binding LogoutRequest %s, ending nothing', async (_case, make, reason) => {
      const victim = await signIn('idp.victim3@example.com', '_s-victim-p');
      const xml = await make();
      await expectRefused(() => postForm('/fed/v1/sp/slo', { SAMLRequest: Buffer.from(xml).toString('base64') }), victim, reason);
    });

    it('should refuse LogoutRequests from an IdP whose logoutEnabled is off', async () => {
      const victim = await signIn('idp.disabled@example.com', '_s-disabled');
      await setIdp({ logoutEnabled: false });
      try {
        await expectRefused(async () => fetch(local(await idpRedirectRequest('idp.disabled@example.com')), { redirect: 'manual' }), victim, LogoutReason.LogoutDisabled);
      } finally {
        await setIdp({ logoutEnabled: true });
      }
    });
  });
});

/**
 * Single logout in a real browser (Debian chromium) with the demo IdP, which registers itself with logoutEnabled:
 * signed in at both, signed out from our side, then from the IdP's side, and both sessions gone each time.
 */
describe(`SAML single logout in a browser with the demo IdP (${E2E_DB})`, () => {
  let s: TestServer;
  let demo: DemoIdp;
  let registration: DemoRegistration;
  let browser: Browser;

  beforeAll(async () => {
    s = await TestServer.start();
    demo = await startDemoIdp({ spMetadataUrl: `${s.baseUrl}/fed/v1/metadata`, port: 0, host: '127.0.0.1' });
    registration = await registerDemoIdp({ apiUrl: s.baseUrl, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, idpMetadataUrl: demo.metadataUrl });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    await s?.stop();
  });

  async function signInAt(page: Page, email: string): Promise<void> {
    await page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName));
    await page.getByLabel('User name').fill(email);
    await page.getByLabel('Password').fill(demo.users.find((u) => u.email === email)!.password);
    await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.goto(demo.url);
    await expect(page.locator('#idp-session').innerText()).resolves.toBe(`Signed in here as ${email}.`);
  }

  async function expectSignedOutAtBoth(page: Page): Promise<void> {
    await page.goto(`${s.publicUrl}/myprofile`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Not signed in');
    await page.goto(demo.url);
    await expect(page.locator('#idp-session').innerText()).resolves.toBe('Nobody is signed in here.');
  }

  it('should sign out at the IdP too when the user signs out here (SP-initiated, HTTP-Redirect)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAt(page, 'carol@example.com');
    await page.goto(`${s.publicUrl}/myprofile`);

    // Our sign-out → the IdP's SLO endpoint (our LogoutRequest) → back to ours (its LogoutResponse).
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${s.publicUrl}/fed/v1/sp/slo?SAMLResponse=`)), page.getByRole('button', { name: 'Sign out' }).click()]);

    await expect(page.locator('h1').innerText()).resolves.toBe('Signed out');
    await expectSignedOutAtBoth(page);
    await context.close();
  });

  it('should sign out here when the user signs out at the IdP (IdP-initiated, HTTP-Redirect)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAt(page, 'alice@example.com');

    // The IdP's LogoutRequest → our SLO endpoint → the IdP (our LogoutResponse), which confirms.
    await Promise.all([page.waitForURL((u) => u.href.startsWith(`${demo.url}/slo?SAMLResponse=`)), page.getByRole('button', { name: 'Sign out everywhere' }).click()]);

    await expect(page.locator('#signed-out').innerText()).resolves.toContain('The service provider confirmed the sign-out');
    await expectSignedOutAtBoth(page);
    await context.close();
  });
});
