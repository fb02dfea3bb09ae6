import type { Browser, BrowserContext } from 'playwright-core';
import { DemoIdp, DemoRegistration, initiateSsoUrl, registerDemoIdp, startDemoIdp } from '../apps/demo-idp/src';
import { createJitIdentityProvider, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { SsoReason } from '@app/saml';
import { launchChromium } from './support/browser';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { ADMIN_ID, ADMIN_SECRET, ApiResponse, dbQuery, E2E_DB, expectStatus, freshDatabase, patch, startTestServerOn, TestServer, USER_SCHEMA } from './support/server';

const USER_STATE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
const attrs = (nameId: string) => ({ firstName: ['Bound'], familyName: ['User'], email: [nameId] });

/** An IdP (samlify, real keys) registered on `s` with JIT on. */
async function samlIdp(s: TestServer, keys: TestKeyPair, settings: Record<string, unknown> = {}): Promise<{ idp: TestIdp; idpId: string }> {
  const metadata = await s.raw('GET', '/fed/v1/metadata');
  const publicUrl = metadata.text.match(/entityID="([^"]+)\/fed"/)![1];
  const idp = new TestIdp(metadata.text, { entityId: `${publicUrl}/fed`, acsUrl: `${publicUrl}/fed/v1/sp/sso` }, keys);
  const { idpId } = await createJitIdentityProvider(s, {
    partnerName: `bound-${Math.random().toString(36).slice(2, 8)}`,
    partnerProviderId: IDP_ENTITY_ID,
    idpSsoUrl: 'https://idp.samlify.test/sso',
    signingCertificate: keys.certificateB64,
    settings: { nameIdFormat: 'saml-emailaddress', authnRequestBinding: 'Redirect', ...settings },
  });
  return { idp, idpId };
}

/** The answer to a post, with its body read. */
async function answer(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text, text };
}

const sessionCookieOf = (res: ApiResponse) =>
  res.headers
    .getSetCookie()
    .find((c) => c.startsWith('idd_session='))
    ?.split(';')[0];

/** What /myprofile and /admin/v1/Me answer the browser holding `cookie`. */
async function sessionStatuses(s: TestServer, cookie: string): Promise<[number, number]> {
  const profile = await s.raw('GET', '/myprofile', { headers: { cookie } });
  const me = await s.api('GET', '/admin/v1/Me', undefined, { token: null, headers: { cookie } });
  return [profile.status, me.status];
}

describe(`Sessions end with their user; sign-in bound to its browser (${E2E_DB})`, () => {
  let s: TestServer;
  let keys: TestKeyPair;
  let idp: TestIdp;
  let idpId: string;

  beforeAll(async () => {
    keys = await makeKeyPair('binding-idp');
    s = await TestServer.start();
    ({ idp, idpId } = await samlIdp(s, keys));
  });

  afterAll(async () => {
    await s?.stop();
  });

  /** An SP-initiated sign-in of `nameId` in a browser of its own; the session cookie and the user's id. */
  async function signIn(nameId: string, server = s): Promise<{ cookie: string; userId: string }> {
    const started = await startSamlSignIn(server.baseUrl, idpId);
    const res = await answer(await postSamlResponse(server.baseUrl, await idp.signedResponse({ InResponseTo: started.requestId, NameID: nameId }, attrs(nameId))));
    expectStatus(res, 303);
    const found = await server.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${nameId}"`)}`);
    return { cookie: sessionCookieOf(res)!, userId: found.body.Resources[0].id };
  }

  const sessionsOf = async (userId: string) => (await dbQuery<{ n: number | string }>(s, 'SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1', [userId]))[0].n;
  const count = async (table: string) => Number((await dbQuery<{ n: number | string }>(s, `SELECT COUNT(*) AS n FROM ${table}`))[0].n);
  const userCount = async () => (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults as number;

  async function auditReason(res: ApiResponse): Promise<string | undefined> {
    const correlation = /id="correlation-id">([^<]+)</.exec(res.text)?.[1];
    expect(correlation).toBeTruthy();
    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
    return events.body.Resources?.[0]?.reason;
  }

  describe('SessionsService.find: a session ends when its user can no longer sign in', () => {
    const cases: [string, (userId: string) => Promise<void>][] = [
      ['deactivated by PATCH', async (id) => expectStatus(await s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'active', value: false })), 200)],
      [
        'deactivated by PUT',
        async (id) => {
          const current = (await s.api('GET', `/admin/v1/Users/${id}`)).body;
          expectStatus(await s.api('PUT', `/admin/v1/Users/${id}`, { schemas: [USER_SCHEMA], userName: current.userName, name: current.name, emails: current.emails, active: false }), 200);
        },
      ],
      ['locked (userState locked.on)', async (id) => expectStatus(await s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: `${USER_STATE}:locked`, value: { on: true } })), 200)],
      ['deleted', async (id) => expectStatus(await s.api('DELETE', `/admin/v1/Users/${id}`), 204)],
    ];

    it.each(cases)('should refuse the next request of a user %s, and delete its sessions', async (title, change) => {
      const nameId = `${title.split(' ')[0]}.${Date.now()}@example.com`;
      const { cookie, userId } = await signIn(nameId);
      const bystander = await signIn(`bystander.${Date.now()}@example.com`);
      expect(await sessionStatuses(s, cookie)).toEqual([200, 200]);

      await change(userId);

      expect(await sessionStatuses(s, cookie)).toEqual([401, 401]);
      expect(Number(await sessionsOf(userId))).toBe(0);
      // Another user's session is untouched.
      expect(await sessionStatuses(s, bystander.cookie)).toEqual([200, 200]);
    });

    it('should refuse a session whose user was deactivated in the database directly (the join, not the hook)', async () => {
      const { cookie, userId } = await signIn(`sql.${Date.now()}@example.com`);

      await dbQuery(s, `UPDATE users SET active = ${E2E_DB === 'postgres' ? 'false' : '0'} WHERE id = $1`, [userId]);

      expect(Number(await sessionsOf(userId))).toBe(1);
      expect(await sessionStatuses(s, cookie)).toEqual([401, 401]);
      // Reactivated the same way, the session (not expired, not deleted) is served again: the join reads the user as it is now.
      await dbQuery(s, `UPDATE users SET active = ${E2E_DB === 'postgres' ? 'true' : '1'} WHERE id = $1`, [userId]);
      expect(await sessionStatuses(s, cookie)).toEqual([200, 200]);
    });

    it('should keep sessions through a change that leaves the user able to sign in', async () => {
      const { cookie, userId } = await signIn(`renamed.${Date.now()}@example.com`);

      expectStatus(await s.api('PATCH', `/admin/v1/Users/${userId}`, patch({ op: 'replace', path: 'name.givenName', value: 'Renamed' })), 200);

      expect(await sessionStatuses(s, cookie)).toEqual([200, 200]);
    });

    it('should not bring a session back when the user is reactivated', async () => {
      const { cookie, userId } = await signIn(`reactivated.${Date.now()}@example.com`);
      expectStatus(await s.api('PATCH', `/admin/v1/Users/${userId}`, patch({ op: 'replace', path: 'active', value: false })), 200);

      expectStatus(await s.api('PATCH', `/admin/v1/Users/${userId}`, patch({ op: 'replace', path: 'active', value: true })), 200);

      expect(await sessionStatuses(s, cookie)).toEqual([401, 401]);
    });
  });

  describe('GET /fed/v1/sp/initiatesso: the request is bound to the browser', () => {
    it('should set an HttpOnly cookie for the ACS only, sent with the IdP\'s cross-site POST (SameSite=None; Secure), and keep only its hash', async () => {
      const started = await startSamlSignIn(s.baseUrl, idpId);

      const setCookie = started.response.headers.getSetCookie();
      expect(setCookie).toHaveLength(1);
      expect(setCookie[0]).toMatch(/^idd_saml_[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}; /);
      expect(setCookie[0]).toMatch(/; Max-Age=900;/);
      expect(setCookie[0]).toMatch(/; Path=\/fed\/v1\/sp\/sso;/);
      expect(setCookie[0]).toMatch(/; HttpOnly/);
      expect(setCookie[0]).toMatch(/; Secure/);
      expect(setCookie[0]).toMatch(/; SameSite=None$/);
      const secret = started.cookie.split('=')[1];
      const rows = await dbQuery<{ browser_binding: string }>(s, 'SELECT browser_binding FROM saml_request_ids WHERE id = $1', [started.requestId]);
      expect(rows).toHaveLength(1);
      expect(rows[0].browser_binding).toHaveLength(43);
      expect(rows[0].browser_binding).not.toContain(secret);
    });
  });

  describe('POST /fed/v1/sp/sso: the response must come back to the browser that started the request', () => {
    it('should refuse a response carried into another browser, writing nothing but the audit event, then accept it from the right one', async () => {
      const nameId = `carried.${Date.now()}@example.com`;
      const attackers = await startSamlSignIn(s.baseUrl, idpId);
      const victims = await startSamlSignIn(s.baseUrl, idpId);
      const response = await idp.signedResponse({ InResponseTo: attackers.requestId, NameID: nameId }, attrs(nameId));
      const forged = `${attackers.cookie.split('=')[0]}=${'A'.repeat(43)}`;
      const before = { users: await userCount(), sessions: await count('sessions'), assertions: await count('saml_assertion_ids') };

      for (const cookie of [null, victims.cookie, forged, `${victims.cookie}; ${forged}`]) {
        const res = await answer(await postSamlResponse(s.baseUrl, response, { cookie }));
        expect(res.status).toBe(401);
        expect(res.text).toContain('Sign-in failed');
        expect(res.text).not.toContain(SsoReason.BrowserMismatch);
        expect(res.headers.get('set-cookie')).toBeNull();
        expect(await auditReason(res)).toBe(SsoReason.BrowserMismatch);
      }

      expect({ users: await userCount(), sessions: await count('sessions'), assertions: await count('saml_assertion_ids') }).toEqual(before);
      expect(await dbQuery(s, 'SELECT id FROM saml_request_ids WHERE id = $1', [attackers.requestId])).toHaveLength(1);
      // Nothing was consumed: the browser that started the request signs in with the very same response.
      const own = await answer(await postSamlResponse(s.baseUrl, response, { cookie: attackers.cookie }));
      expect(own.status).toBe(303);
      expect(sessionCookieOf(own)).toBeDefined();
      expect(await userCount()).toBe(before.users + 1);
    });

    it('should accept the response in the browser that started it among the cookies of its other sign-ins', async () => {
      const nameId = `two.tabs.${Date.now()}@example.com`;
      const first = await startSamlSignIn(s.baseUrl, idpId);
      const second = await startSamlSignIn(s.baseUrl, idpId);
      const response = await idp.signedResponse({ InResponseTo: first.requestId, NameID: nameId }, attrs(nameId));

      const res = await answer(await postSamlResponse(s.baseUrl, response, { cookie: `${second.cookie}; ${first.cookie}` }));

      expect(res.status).toBe(303);
    });
  });

  describe('unsolicited (IdP-initiated) responses', () => {
    async function setUnsolicited(value: boolean): Promise<void> {
      expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: 'allowUnsolicitedResponses', value })), 200);
    }

    it('should refuse one from an IdP that does not allow them, writing nothing', async () => {
      const before = await userCount();
      const res = await answer(await postSamlResponse(s.baseUrl, await idp.signedResponse({ InResponseTo: undefined, NameID: 'unsolicited.refused@example.com' }, attrs('unsolicited.refused@example.com'))));

      expect(res.status).toBe(401);
      expect(await auditReason(res)).toBe(SsoReason.UnsolicitedNotAllowed);
      expect(await userCount()).toBe(before);
    });

    it('should accept one from an IdP that allows them, once: its assertion id is kept until its expiry', async () => {
      await setUnsolicited(true);
      try {
        const notOnOrAfter = new Date(Date.now() + 4 * 60_000);
        const assertionId = `_unsolicited-${Date.now()}`;
        const response = await idp.signedResponse(
          { InResponseTo: undefined, AssertionID: assertionId, NameID: 'unsolicited.once@example.com', ConditionsNotOnOrAfter: notOnOrAfter.toISOString(), SubjectConfirmationDataNotOnOrAfter: notOnOrAfter.toISOString() },
          attrs('unsolicited.once@example.com'),
        );

        // No browser binding is possible without a request: any browser may post it (hence opt-in).
        expect((await postSamlResponse(s.baseUrl, response, { cookie: null })).status).toBe(303);
        const again = await answer(await postSamlResponse(s.baseUrl, response, { cookie: null }));

        expect(again.status).toBe(401);
        expect(await auditReason(again)).toBe(SsoReason.AssertionReplayed);
        const kept = await dbQuery<{ expires_at: string }>(s, 'SELECT expires_at FROM saml_assertion_ids WHERE idp_id = $1 AND assertion_id = $2', [idpId, assertionId]);
        // Until NotOnOrAfter plus the tolerated clock skew (CLOCK_SKEW_MS, one minute).
        expect(kept.map((r) => r.expires_at)).toEqual([new Date(notOnOrAfter.getTime() + 60_000).toISOString()]);
      } finally {
        await setUnsolicited(false);
      }
    });
  });

  describe('a plain-http PUBLIC_URL other than localhost', () => {
    it('should send the binding cookie SameSite=Lax without Secure (browsers refuse the other combination there)', async () => {
      const db = await freshDatabase();
      const plain = await startTestServerOn(db.url, { PUBLIC_URL: 'http://sso.example.test:8080' });
      try {
        const { idpId: plainIdp } = await samlIdp(plain, keys);
        const started = await startSamlSignIn(plain.baseUrl, plainIdp);
        const setCookie = started.response.headers.getSetCookie()[0];
        expect(setCookie).toMatch(/; SameSite=Lax$/);
        expect(setCookie).not.toMatch(/Secure/);
      } finally {
        await plain.stop();
        await db.drop();
      }
    });
  });
});

// Two instances on one SQLite file is not a supported deployment; PostgreSQL is where instances share a database.
(E2E_DB === 'postgres' ? describe : describe.skip)('Sessions and sign-ins across two instances on one database (PostgreSQL)', () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;
  let idp: TestIdp;
  let idpId: string;

  beforeAll(async () => {
    const keys = await makeKeyPair('binding-idp-2');
    const db = await freshDatabase('postgres');
    drop = db.drop;
    // One public URL, as behind a load balancer.
    const env = { PUBLIC_URL: 'http://localhost:7999' };
    a = await startTestServerOn(db.url, env);
    b = await startTestServerOn(db.url, env);
    ({ idp, idpId } = await samlIdp(b, keys));
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await drop?.();
  });

  /** Starts the sign-in on `start`, posts the answer to `acs` from the same browser; the session cookie and user id. */
  async function signIn(nameId: string, start: TestServer, acs: TestServer): Promise<{ cookie: string; userId: string }> {
    const started = await startSamlSignIn(start.baseUrl, idpId);
    const res = await answer(await postSamlResponse(acs.baseUrl, await idp.signedResponse({ InResponseTo: started.requestId, NameID: nameId }, attrs(nameId))));
    expectStatus(res, 303);
    const found = await b.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${nameId}"`)}`);
    return { cookie: sessionCookieOf(res)!, userId: found.body.Resources[0].id };
  }

  it('should bind a request started on one instance to its browser on the other', async () => {
    const started = await startSamlSignIn(a.baseUrl, idpId);
    const response = await idp.signedResponse({ InResponseTo: started.requestId, NameID: 'across@example.com' }, attrs('across@example.com'));

    expect((await postSamlResponse(b.baseUrl, response, { cookie: null })).status).toBe(401);
    expect((await postSamlResponse(b.baseUrl, response)).status).toBe(303);
  });

  it.each([
    ['deactivated', (id: string) => b.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'active', value: false }))],
    ['locked', (id: string) => b.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: `${USER_STATE}:locked`, value: { on: true } }))],
    ['deleted', (id: string) => b.api('DELETE', `/admin/v1/Users/${id}`)],
  ])('should refuse on instance A the next request of a user %s through instance B', async (title, change) => {
    const { cookie, userId } = await signIn(`${title}.across@example.com`, a, a);
    expect(await sessionStatuses(a, cookie)).toEqual([200, 200]);

    expect([200, 204]).toContain((await change(userId)).status);

    expect(await sessionStatuses(a, cookie)).toEqual([401, 401]);
    expect(await sessionStatuses(b, cookie)).toEqual([401, 401]);
  });
});

/**
 * Login CSRF in a real browser (Debian chromium): a response the demo IdP issued to one browser, posted to our ACS
 * from a page of no origin of ours (a cross-site POST, as an attacker's page would make it), signs nobody into a
 * second browser, and signs the first one in: its binding cookie (SameSite=None; Secure, on http://localhost)
 * follows the cross-site POST.
 */
describe(`Sign-in bound to the browser, in Chromium with the demo IdP (${E2E_DB})`, () => {
  let s: TestServer;
  let idp: DemoIdp;
  let registration: DemoRegistration;
  let browser: Browser;

  beforeAll(async () => {
    s = await TestServer.start();
    idp = await startDemoIdp({ spMetadataUrl: `${s.baseUrl}/fed/v1/metadata`, port: 0, host: '127.0.0.1' });
    registration = await registerDemoIdp({ apiUrl: s.baseUrl, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, idpMetadataUrl: idp.metadataUrl });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await idp?.close();
    await s?.stop();
  });

  /** Signs in at the demo IdP in `context`, and returns the form the IdP's page would post to our ACS, unposted. */
  async function responseFromIdp(context: BrowserContext, email: string, password: string): Promise<Record<string, string>> {
    const page = await context.newPage();
    let posted: string | undefined;
    await page.route('**/fed/v1/sp/sso', async (route) => {
      posted = route.request().postData() ?? '';
      await route.abort();
    });
    await page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName));
    await page.getByLabel('User name').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForEvent('requestfailed'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.close();
    expect(posted).toBeDefined();
    return Object.fromEntries(new URLSearchParams(posted));
  }

  /** Posts `fields` to our ACS from a page of no origin of ours (cross-site), in `context`; the page's heading after. */
  async function crossSitePost(context: BrowserContext, fields: Record<string, string>): Promise<{ heading: string; url: string; html: string }> {
    const page = await context.newPage();
    const inputs = Object.entries(fields)
      .map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}">`)
      .join('');
    await page.setContent(`<form id="f" method="post" action="${s.publicUrl}/fed/v1/sp/sso">${inputs}</form>`);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(s.publicUrl)), page.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit())]);
    const heading = await page.locator('h1').innerText();
    const url = page.url();
    const html = await page.content();
    await page.close();
    return { heading, url, html };
  }

  it("should refuse a response carried into a victim's browser, and sign in the browser that started the sign-in", async () => {
    const bob = idp.users.find((u) => u.email === 'bob@example.com')!;
    const attacker = await browser.newContext();
    const victim = await browser.newContext();
    try {
      const fields = await responseFromIdp(attacker, bob.email, bob.password);
      const users = (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults;

      const carried = await crossSitePost(victim, fields);

      expect(carried.heading).toBe('Sign-in failed');
      const correlation = /id="correlation-id">([^<]+)</.exec(carried.html)![1];
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
      expect(events.body.Resources.map((e: { reason: string }) => e.reason)).toEqual([SsoReason.BrowserMismatch]);
      expect((await victim.cookies()).map((c) => c.name)).not.toContain('idd_session');
      expect((await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults).toBe(users);

      const own = await crossSitePost(attacker, fields);

      expect(own.url).toBe(`${s.publicUrl}/myprofile`);
      expect(own.heading).toBe('My profile');
    } finally {
      await attacker.close();
      await victim.close();
    }
  });
});
