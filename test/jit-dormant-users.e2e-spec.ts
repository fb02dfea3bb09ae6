import { createJitIdentityProvider, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { DormantUsersJob } from '@app/identity-providers';
import { JIT_POLICY_EXTENSION_ID } from '@app/jit';
import { makeKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { dbQuery, E2E_DB, expectStatus, freshDatabase, patch, startTestServerOn, TestServer } from './support/server';

const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
const USER_STATE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
const LAST_LOGIN = `${USER_STATE}:lastSuccessfulLoginDate`;
const DAY = 86_400_000;
const daysAgo = (d: number, from = Date.now()) => new Date(from - d * DAY).toISOString();

/** The test servers look for due work only when told to (the job's own timer is off). */
const NO_TIMER = { JIT_DORMANT_USERS_INTERVAL_SECONDS: '0' };

/** A JIT SAML IdP on `s` with the given dormant-user policy, and a way to sign users in through it with real signed responses. */
async function dormantIdp(s: TestServer, name: string, policy: Record<string, unknown>) {
  const keys = await makeKeyPair(name);
  const entityId = `https://${name}.idp.test/metadata`;
  const metadata = await s.raw('GET', '/fed/v1/metadata');
  const saml = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys, entityId);
  const { idpId } = await createJitIdentityProvider(s, {
    partnerName: name,
    partnerProviderId: entityId,
    idpSsoUrl: `https://${name}.idp.test/sso`,
    signingCertificate: keys.certificateB64,
    settings: { schemas: [IDP_SCHEMA, JIT_POLICY_EXTENSION_ID], [JIT_POLICY_EXTENSION_ID]: policy },
  });
  const signIn = async (nameId: string, firstName = 'Dora'): Promise<void> => {
    const started = await startSamlSignIn(s.baseUrl, idpId);
    const response = await saml.signedResponse({ NameID: nameId, InResponseTo: started.requestId }, { firstName: [firstName], familyName: ['Mant'], email: [nameId] });
    const res = await postSamlResponse(s.baseUrl, response);
    if (res.status !== 303) throw new Error(`sign-in of ${nameId} failed: ${res.status} ${await res.text()}`);
  };
  return { idpId, signIn };
}

const userByName = async (s: TestServer, userName: string) => (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributeSets=all`)).body.Resources[0];

/** Moves a user's last sign-in (and, for one who "never signed in", its creation) into the past. */
async function age(s: TestServer, userId: string, days: number, opts: { neverSignedIn?: boolean; from?: number } = {}): Promise<void> {
  if (opts.neverSignedIn) {
    await dbQuery(s, 'DELETE FROM user_sign_ins WHERE user_id = $1', [userId]);
    await dbQuery(s, 'UPDATE users SET created = $1 WHERE id = $2', [daysAgo(days, opts.from), userId]);
  } else {
    await dbQuery(s, 'UPDATE user_sign_ins SET last_sign_in_at = $1 WHERE user_id = $2', [daysAgo(days, opts.from), userId]);
  }
}

const auditEvents = (s: TestServer, eventId: string) =>
  dbQuery<{ resource_id: string; data: string }>(s, 'SELECT resource_id, data FROM audit_events WHERE event_id = $1 ORDER BY resource_id', [eventId]);

/**
 * Dormant JIT users (issue 16 item 3), with users created by real signed SAML sign-ins: the last sign-in on the user
 * resource, the dry run, the job deactivating exactly the users of the IdP's JIT whose last sign-in is old enough,
 * then deleting them M days later, one audit event per user.
 */
describe(`Dormant JIT users (${E2E_DB})`, () => {
  let s: TestServer;
  let idp: Awaited<ReturnType<typeof dormantIdp>>;
  const id: Record<string, string> = {};

  beforeAll(async () => {
    s = await TestServer.start(NO_TIMER);
    idp = await dormantIdp(s, 'dormant', { dormantUserDeactivateAfterDays: 90, dormantUserDeleteAfterDays: 30 });
    for (const who of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await idp.signIn(`${who}@dormant.test`);
      id[who] = (await userByName(s, `${who}@dormant.test`)).id;
    }
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('should show the last sign-in on request, as IDCS does, without a new version of the user', async () => {
    const before = await s.api('GET', `/admin/v1/Users/${id.erin}?attributes=${encodeURIComponent(LAST_LOGIN)}`);
    expectStatus(before, 200);
    const first = before.body[USER_STATE].lastSuccessfulLoginDate;
    expect(Date.now() - Date.parse(first)).toBeLessThan(120_000);
    expect(before.body.schemas).toContain(USER_STATE);
    // Not returned by default (IDCS: returned "request").
    expect((await s.api('GET', `/admin/v1/Users/${id.erin}`)).body[USER_STATE]?.lastSuccessfulLoginDate).toBeUndefined();

    await new Promise((r) => setTimeout(r, 5));
    await idp.signIn('erin@dormant.test');
    const after = await s.api('GET', `/admin/v1/Users/${id.erin}?attributes=${encodeURIComponent(LAST_LOGIN)}`);
    expect(after.body[USER_STATE].lastSuccessfulLoginDate > first).toBe(true);
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
    // The administrator's If-Match from before the sign-in still holds: erin now belongs to the administrator.
    const changed = await s.api('PATCH', `/admin/v1/Users/${id.erin}`, patch({ op: 'replace', path: 'title', value: 'Contractor' }), { headers: { 'if-match': before.headers.get('etag')! } });
    expectStatus(changed, 200);
    // Projected like any attribute (in lists too), filterable and sortable.
    expect((await s.api('GET', `/admin/v1/Users/${id.erin}?attributes=userName`)).body[USER_STATE]).toBeUndefined();
    const listed = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName sw "erin@"')}&attributes=${encodeURIComponent(LAST_LOGIN)}`);
    expect(listed.body.Resources[0][USER_STATE].lastSuccessfulLoginDate).toBe(after.body[USER_STATE].lastSuccessfulLoginDate);
    const filtered = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`${LAST_LOGIN} gt "${first}"`)}&attributes=userName`);
    expectStatus(filtered, 200);
    expect(filtered.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(['erin@dormant.test']);
    const sorted = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`${LAST_LOGIN} pr`)}&sortBy=${encodeURIComponent(LAST_LOGIN)}&sortOrder=descending&attributes=userName`);
    expect(sorted.body.Resources[0].userName).toBe('erin@dormant.test');
  });

  it('should list in a dry run exactly the JIT users not seen for N days, and change nothing', async () => {
    await age(s, id.alice, 200);
    await age(s, id.bob, 91);
    await age(s, id.carol, 300, { neverSignedIn: true });
    await age(s, id.dave, 30);
    await age(s, id.erin, 200); // last changed by an administrator: not the IdP's to deactivate
    const audits = await dbQuery(s, 'SELECT count(*) AS n FROM audit_events');

    const dry = await s.api('GET', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers`);
    expectStatus(dry, 200);
    expect(dry.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], dryRun: true, totalResults: 3, itemsPerPage: 3 });
    const listed = Object.fromEntries(dry.body.Resources.map((r: any) => [r.userName, r]));
    expect(Object.keys(listed).sort()).toEqual(['alice@dormant.test', 'bob@dormant.test', 'carol@dormant.test']);
    expect(listed['alice@dormant.test']).toMatchObject({ id: id.alice, action: 'deactivate', inactiveDays: 200 });
    expect(listed['alice@dormant.test'].lastSuccessfulLoginDate).toBeDefined();
    expect(listed['carol@dormant.test'].lastSuccessfulLoginDate).toBeUndefined();
    // POST without dryRun: still a dry run. Paging.
    const page = await s.api('POST', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers?startIndex=2&count=1`, {});
    expect(page.body).toMatchObject({ dryRun: true, totalResults: 3, startIndex: 2, itemsPerPage: 1 });

    expect(await dbQuery(s, 'SELECT count(*) AS n FROM audit_events')).toEqual(audits);
    for (const who of ['alice', 'bob', 'carol']) expect((await s.api('GET', `/admin/v1/Users/${id[who]}`)).body.active).toBe(true);
  });

  it('should deactivate exactly those users through the users\' write path, one audit event each, once per interval', async () => {
    const job = s.app.get(DormantUsersJob);
    const aliceBefore = await s.api('GET', `/admin/v1/Users/${id.alice}`);
    expect(Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM sessions WHERE user_id = $1', [id.alice]))[0].n)).toBeGreaterThan(0);

    const reports = await job.runIfLeased(new Date());
    expect(reports?.map((r) => r.totalResults)).toEqual([3]);
    // Within the interval the lease is held: nothing runs again.
    expect(await job.runIfLeased(new Date(Date.now() + 30_000))).toBeUndefined();

    const active = async (who: string) => (await s.api('GET', `/admin/v1/Users/${id[who]}`)).body.active;
    expect(Object.fromEntries(await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin'].map(async (w) => [w, await active(w)])))).toEqual({ alice: false, bob: false, carol: false, dave: true, erin: true });

    const alice = await s.api('GET', `/admin/v1/Users/${id.alice}`);
    expect(alice.headers.get('etag')).not.toBe(aliceBefore.headers.get('etag'));
    expect(alice.body.idcsLastModifiedBy).toMatchObject({ value: idp.idpId, display: 'dormant' });
    // Sessions end with the deactivation (the users' own hook).
    expect(await dbQuery(s, 'SELECT id FROM sessions WHERE user_id = $1', [id.alice])).toEqual([]);

    const events = await auditEvents(s, 'jit.dormantUser.deactivated');
    expect(events.map((e) => e.resource_id).sort()).toEqual([id.alice, id.bob, id.carol].sort());
    const aliceEvent = JSON.parse(events.find((e) => e.resource_id === id.alice)!.data);
    expect(aliceEvent).toMatchObject({ outcome: 'success', reason: 'dormant', adminResourceType: 'User', adminResourceName: 'alice@dormant.test', actorId: 'jit-dormant-users' });
    expect(aliceEvent.message).toMatch(/No successful sign-in for 200 days .* deactivates its users after 90 days/);
    expect(JSON.parse(aliceEvent.details)).toMatchObject({ identityProviderId: idp.idpId, inactiveDays: 200 });
    expect(JSON.parse(events.find((e) => e.resource_id === id.carol)!.data).message).toMatch(/never signed in; created/);

    // A deactivated user cannot sign in again until an administrator reactivates it.
    expect((await s.api('GET', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers`)).body.totalResults).toBe(0);
  });

  it('should delete the users it deactivated M days later, unless someone changed them since', async () => {
    const job = s.app.get(DormantUsersJob);
    // An administrator reactivates bob: he is the administrator's now.
    expectStatus(await s.api('PATCH', `/admin/v1/Users/${id.bob}`, patch({ op: 'replace', path: 'active', value: true })), 200);

    const soon = new Date(Date.now() + 29 * DAY);
    expect((await job.runFor(idp.idpId, { dryRun: true, startIndex: 1, count: 10 }, {}, soon)).totalResults).toBe(0);
    const later = new Date(Date.now() + 31 * DAY);
    const dry = await job.runFor(idp.idpId, { dryRun: true, startIndex: 1, count: 10 }, {}, later);
    expect(dry.Resources.map((r) => [r.userName, r.action]).sort()).toEqual([
      ['alice@dormant.test', 'delete'],
      ['carol@dormant.test', 'delete'],
    ]);

    const reports = await job.runIfLeased(later);
    expect(reports?.map((r) => r.totalResults)).toEqual([2]);
    expect((await s.api('GET', `/admin/v1/Users/${id.alice}`)).status).toBe(404);
    expect((await s.api('GET', `/admin/v1/Users/${id.carol}`)).status).toBe(404);
    expect((await s.api('GET', `/admin/v1/Users/${id.bob}`)).body.active).toBe(true);
    const deleted = await auditEvents(s, 'jit.dormantUser.deleted');
    expect(deleted.map((e) => e.resource_id).sort()).toEqual([id.alice, id.carol].sort());
    expect(JSON.parse(deleted[0].data)).toMatchObject({ reason: 'dormantDeactivated', adminResourceType: 'User' });
    // What the policy kept of them went with them.
    expect(await dbQuery(s, 'SELECT user_id FROM user_sign_ins WHERE user_id IN ($1, $2)', [id.alice, id.carol])).toEqual([]);
    expect(await dbQuery(s, 'SELECT user_id FROM dormant_user_deactivations WHERE user_id IN ($1, $2)', [id.alice, id.carol])).toEqual([]);
  });

  it('should include users other sources changed only when the policy says so, and act on request as the administrator', async () => {
    expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idp.idpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:dormantUserScope`, value: 'includeOtherSources' })), 200);
    const dry = await s.api('GET', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers`);
    // erin (changed by an administrator, last seen 200 days ago); bob was reactivated just now by an administrator,
    // but his last sign-in is 91 days old: the wider scope takes him too.
    expect(dry.body.Resources.map((r: any) => r.userName).sort()).toEqual(['bob@dormant.test', 'erin@dormant.test']);

    const run = await s.api('POST', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers`, { dryRun: false });
    expectStatus(run, 200);
    expect(run.body).toMatchObject({ dryRun: false, totalResults: 2 });
    const erinEvent = (await auditEvents(s, 'jit.dormantUser.deactivated')).find((e) => e.resource_id === id.erin)!;
    expect(JSON.parse(erinEvent.data).actorId).toBe('e2e-admin');
    expect((await s.api('GET', `/admin/v1/Users/${id.dave}`)).body.active).toBe(true);
  });

  it('should refuse a policy it cannot apply, saying what to send, and describe it under /Schemas', async () => {
    const bad = await s.api('PATCH', `/admin/v1/IdentityProviders/${idp.idpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:dormantUserDeactivateAfterDays`, value: 0 }));
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe('invalidValue');
    expect(bad.body.detail).toContain('dormantUserDeactivateAfterDays must be a whole number of days from 1 to 3650');
    const orphan = await s.api('PATCH', `/admin/v1/IdentityProviders/${idp.idpId}`, patch({ op: 'remove', path: `${JIT_POLICY_EXTENSION_ID}:dormantUserDeactivateAfterDays` }));
    expect(orphan.status).toBe(400);
    expect(orphan.body.detail).toContain('dormantUserDeleteAfterDays counts from the deactivation');

    const schema = await s.api('GET', `/admin/v1/Schemas/${JIT_POLICY_EXTENSION_ID}`);
    expect(schema.body.attributes.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['dormantUserDeactivateAfterDays', 'dormantUserDeleteAfterDays', 'dormantUserScope']));
    const userState = await s.api('GET', `/admin/v1/Schemas/${USER_STATE}`);
    expect(userState.body.attributes.find((a: { name: string }) => a.name === 'lastSuccessfulLoginDate')).toMatchObject({ type: 'dateTime', mutability: 'readOnly', returned: 'request' });

    // An IdP without a policy has nothing to list.
    const { idpId: other } = await dormantIdp(s, 'nopolicy', {});
    expect((await s.api('GET', `/admin/v1/IdentityProviders/${other}/dormantUsers`)).status).toBe(409);
  });
});

// Two instances on one SQLite file is not a supported deployment; PostgreSQL is where instances share a database.
(E2E_DB === 'postgres' ? describe : describe.skip)('Dormant JIT users across instances (PostgreSQL)', () => {
  let a: TestServer;
  let b: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabase('postgres');
    drop = db.drop;
    a = await startTestServerOn(db.url, NO_TIMER);
    b = await startTestServerOn(db.url, NO_TIMER);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await drop?.();
  });

  it('should run the job on one instance per interval, acting on each user once', async () => {
    const idp = await dormantIdp(a, 'shared', { dormantUserDeactivateAfterDays: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      await idp.signIn(`user${i}@shared.test`);
      const u = await userByName(a, `user${i}@shared.test`);
      ids.push(u.id);
      await age(a, u.id, 20);
    }

    // Both instances at the same moment: one of them runs it.
    const at = new Date();
    const [fromA, fromB] = await Promise.all([a.app.get(DormantUsersJob).runIfLeased(at), b.app.get(DormantUsersJob).runIfLeased(at)]);
    expect([fromA, fromB].filter((r) => r !== undefined)).toHaveLength(1);
    expect((fromA ?? fromB)!.map((r) => r.totalResults)).toEqual([6]);
    expect((await auditEvents(a, 'jit.dormantUser.deactivated')).map((e) => e.resource_id).sort()).toEqual([...ids].sort());

    // Two runs asked for at once on both instances (an administrator on each, beside the schedule): each user is
    // still acted on once, as each action is conditional on the version read.
    for (const u of ids) expectStatus(await a.api('PATCH', `/admin/v1/Users/${u}`, patch({ op: 'replace', path: 'active', value: true })), 200);
    await a.api('PATCH', `/admin/v1/IdentityProviders/${idp.idpId}`, patch({ op: 'replace', path: `${JIT_POLICY_EXTENSION_ID}:dormantUserScope`, value: 'includeOtherSources' }));
    const runs = await Promise.all([a, b, a, b].map((server) => server.api('POST', `/admin/v1/IdentityProviders/${idp.idpId}/dormantUsers`, { dryRun: false })));
    runs.forEach((r) => expectStatus(r, 200));
    expect(runs.reduce((n, r) => n + r.body.totalResults, 0)).toBe(6);
    expect(await auditEvents(a, 'jit.dormantUser.deactivated')).toHaveLength(12);
  });
});
