import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { CREDENTIAL_LEASE_MS } from '@app/auth';
import { ApiResponse, E2E_DB, expectScimError, expectStatus, freePort, freshDatabase, startTestServerOn, TestServer, user } from './support/server';
import { ServerProcess, startServerProcess } from './support/server-process';

/**
 * Credentials stop working, or lose a role, on the very next request after an administrator changes them, on every
 * instance sharing the database: an access token proves only which client it was issued to, and the client's state
 * is checked per request (read under a lease that the administrator's change waits out). Each case first uses the
 * token successfully, so that both the verified token and the client's state sit in the verifying instance's
 * memory: the revocation must beat those, not just a first verification.
 */

type Client = { id: string; clientId: string; token: string };

async function newClient(s: TestServer, name: string, roles: string[]): Promise<Client> {
  const created = await s.api('POST', '/admin/v1/AdminClients', { name, roles });
  expectStatus(created, 201);
  return { id: created.body.id, clientId: created.body.clientId, token: await s.token(created.body.clientId, created.body.clientSecret) };
}

/** Replaces a client's roles through the admin API (as the default administrator). */
async function setRoles(s: TestServer, clientRowId: string, roles: string[]): Promise<void> {
  const res = await s.api('PATCH', `/admin/v1/AdminClients/${clientRowId}`, { roles });
  expectStatus(res, 200);
  expect(res.body.roles).toEqual(roles);
  expect(res.body.clientSecret).toBeUndefined();
}

/**
 * Sets a client's roles in the database behind the server's back (an operator's SQL, a restore): no request waits
 * out the lease, so such a change applies once the lease ends, within CREDENTIAL_LEASE_MS.
 */
async function setRolesInDatabase(s: TestServer, clientRowId: string, roles: string[]): Promise<void> {
  const ds = s.app.get(DataSource);
  const sql = 'UPDATE oauth_clients SET roles = $1 WHERE id = $2';
  await ds.query(ds.options.type === 'postgres' ? sql : sql.replace(/\$\d+/g, '?'), [JSON.stringify(roles), clientRowId]);
}

function expectRevoked(res: ApiResponse, detail: RegExp): void {
  expectScimError(res, 401);
  expect(res.body.detail).toMatch(detail);
  expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
}

async function clientNames(s: TestServer): Promise<string[]> {
  const list = await s.api('GET', '/admin/v1/AdminClients');
  expectStatus(list, 200);
  return list.body.map((c: { name: string }) => c.name);
}

describe('AdminAuthGuard revocation', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  it('should refuse an access token on the next request once its client is deleted (disabled), and let it create nothing', async () => {
    const doomed = await newClient(s, 'doomed administrator', ['IdentityDomainAdministrator']);
    const as = { token: doomed.token };
    expectStatus(await s.api('POST', '/admin/v1/AdminClients', { name: 'made while enabled', roles: ['Auditor'] }, as), 201);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, as), 200);

    expectStatus(await s.api('DELETE', `/admin/v1/AdminClients/${doomed.id}`), 204);

    expectRevoked(await s.api('POST', '/admin/v1/AdminClients', { name: 'made after deletion', roles: ['IdentityDomainAdministrator'] }, as), /revoked/);
    expectRevoked(await s.api('GET', '/admin/v1/Users', undefined, as), /revoked/);
    expectRevoked(await s.api('POST', '/admin/v1/Users', user('after.client.deletion'), as), /revoked/);
    // Even discovery, which needs no role, needs a live client.
    expectRevoked(await s.api('GET', '/admin/v1/ServiceProviderConfig', undefined, as), /revoked/);

    const names = await clientNames(s);
    expect(names).toContain('made while enabled');
    expect(names).not.toContain('made after deletion');
    const users = await s.api('GET', '/admin/v1/Users?filter=userName%20eq%20%22after.client.deletion%22');
    expect(users.body.totalResults).toBe(0);
  });

  it('should refuse only the deleted client\'s token and leave other clients\' tokens working', async () => {
    const kept = await newClient(s, 'kept', ['UserAdministrator']);
    const doomed = await newClient(s, 'deleted beside it', ['UserAdministrator']);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, { token: kept.token }), 200);
    expectStatus(await s.api('DELETE', `/admin/v1/AdminClients/${doomed.id}`), 204);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, { token: kept.token }), 200);
    expectRevoked(await s.api('GET', '/admin/v1/Users', undefined, { token: doomed.token }), /revoked/);
  });

  it('should take a removed role away from an existing token on the next request, and keep the others', async () => {
    const c = await newClient(s, 'narrowed', ['UserAdministrator', 'SecurityAdministrator']);
    const as = { token: c.token };
    expectStatus(await s.api('GET', '/admin/v1/IdentityProviders', undefined, as), 200);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, as), 200);

    await setRoles(s, c.id, ['UserAdministrator']);

    const refused = await s.api('GET', '/admin/v1/IdentityProviders', undefined, as);
    expectScimError(refused, 403);
    expect(refused.body.detail).toMatch(/the caller has UserAdministrator$/);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, as), 200);
    expectStatus(await s.api('POST', '/admin/v1/Users', user('made.by.narrowed.client'), as), 201);
  });

  it('should give an existing token a role granted after it was issued, on the next request', async () => {
    const c = await newClient(s, 'widened', ['Auditor']);
    const as = { token: c.token };
    expectScimError(await s.api('POST', '/admin/v1/AdminClients', { name: 'before the grant', roles: ['Auditor'] }, as), 403);

    await setRoles(s, c.id, ['Auditor', 'IdentityDomainAdministrator']);

    expectStatus(await s.api('POST', '/admin/v1/AdminClients', { name: 'after the grant', roles: ['Auditor'] }, as), 201);
    expect(await clientNames(s)).not.toContain('before the grant');
  });

  it('should apply a role change made directly in the database once the lease ends', async () => {
    const c = await newClient(s, 'changed by SQL', ['UserAdministrator', 'SecurityAdministrator']);
    const as = { token: c.token };
    expectStatus(await s.api('GET', '/admin/v1/IdentityProviders', undefined, as), 200);
    await setRolesInDatabase(s, c.id, ['UserAdministrator']);
    await sleep(CREDENTIAL_LEASE_MS + 50);
    expectScimError(await s.api('GET', '/admin/v1/IdentityProviders', undefined, as), 403);
  });

  it('should audit a role change with the roles before and after, and refuse bad role changes', async () => {
    const c = await newClient(s, 'audited roles', ['Auditor']);
    await setRoles(s, c.id, ['Auditor', 'UserAdministrator']);
    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "admin.AdminClient.update" and adminResourceId eq "${c.id}"`)}`);
    expectStatus(events, 200);
    expect(events.body.Resources).toHaveLength(1);
    expect(events.body.Resources[0]).toMatchObject({ actorType: 'Client', adminResourceName: 'audited roles' });
    expect(JSON.parse(events.body.Resources[0].details)).toEqual({ clientId: c.clientId, roles: { from: ['Auditor'], to: ['Auditor', 'UserAdministrator'] } });

    expectScimError(await s.api('PATCH', `/admin/v1/AdminClients/${c.id}`, { roles: [] }), 400);
    expectScimError(await s.api('PATCH', `/admin/v1/AdminClients/${c.id}`, { roles: ['NoSuchRole'] }), 400);
    expectScimError(await s.api('PATCH', '/admin/v1/AdminClients/0000000000000000000000000000beef', { roles: ['Auditor'] }), 404);
    expectScimError(await s.api('PATCH', '/admin/v1/AdminClients/bad%20id', { roles: ['Auditor'] }), 404);
    // Only an IdentityDomainAdministrator changes roles, and never its own.
    expectScimError(await s.api('PATCH', `/admin/v1/AdminClients/${c.id}`, { roles: ['IdentityDomainAdministrator'] }, { token: c.token }), 403);
    const admin = await newClient(s, 'self-changer', ['IdentityDomainAdministrator']);
    const self = await s.api('PATCH', `/admin/v1/AdminClients/${admin.id}`, { roles: ['Auditor'] }, { token: admin.token });
    expectScimError(self, 400);
    expect(self.body.detail).toMatch(/own roles/);
    expectStatus(await s.api('GET', '/admin/v1/AdminClients', undefined, { token: admin.token }), 200);
  });

  it('should refuse a provisioning token on the next request once it is revoked', async () => {
    const created = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'soon revoked' });
    expectStatus(created, 201);
    const as = { token: created.body.token };
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, as), 200);
    expectStatus(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
    expectRevoked(await s.api('GET', '/admin/v1/Users', undefined, as), /revoked/);
    expectRevoked(await s.api('POST', '/admin/v1/Users', user('after.token.revocation'), as), /revoked/);
  });
});

// Two instances on one SQLite file is not a supported deployment; PostgreSQL is where instances share a database.
(E2E_DB === 'postgres' ? describe : describe.skip)('AdminAuthGuard revocation across instances (PostgreSQL, two server processes)', () => {
  /** Instance A: a server process of its own, with its own caches, as a second instance behind a load balancer is. */
  let a: ServerProcess;
  let aUrl: string;
  /** Instance B: where the administrator makes the changes. */
  let b: TestServer;
  let drop: () => Promise<void>;

  /** A call to instance A with `token`, answered as TestServer.api answers. */
  async function onA(method: string, path: string, token: string, body?: unknown): Promise<ApiResponse> {
    const res = await fetch(aUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json', ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
  }

  beforeAll(async () => {
    const db = await freshDatabase('postgres');
    drop = db.drop;
    // One public URL, as behind a load balancer: tokens name it as issuer and audience, so each instance accepts the other's.
    const env = { PUBLIC_URL: 'https://id.example.test' };
    b = await startTestServerOn(db.url, env);
    const port = await freePort();
    aUrl = `http://127.0.0.1:${port}`;
    a = await startServerProcess(port, { ...env, DATABASE_URL: db.url });
  });
  afterAll(async () => {
    a?.child.kill('SIGTERM');
    await a?.exited;
    await b?.stop();
    await drop?.();
  });

  it('should refuse on instance A, on the next request, a token whose client was deleted through instance B', async () => {
    const c = await newClient(b, 'deleted elsewhere', ['IdentityDomainAdministrator']);
    expectStatus(await onA('POST', '/admin/v1/AdminClients', c.token, { name: 'made on A while enabled', roles: ['Auditor'] }), 201);
    expectStatus(await onA('GET', '/admin/v1/Users', c.token), 200);

    expectStatus(await b.api('DELETE', `/admin/v1/AdminClients/${c.id}`), 204);

    expectRevoked(await onA('POST', '/admin/v1/AdminClients', c.token, { name: 'made on A after deletion', roles: ['IdentityDomainAdministrator'] }), /revoked/);
    expectRevoked(await onA('GET', '/admin/v1/Users', c.token), /revoked/);
    expect(await clientNames(b)).not.toContain('made on A after deletion');
  });

  it('should apply on instance A a role removed through instance B, on the next request', async () => {
    const c = await newClient(b, 'narrowed elsewhere', ['UserAdministrator', 'SecurityAdministrator']);
    expectStatus(await onA('GET', '/admin/v1/IdentityProviders', c.token), 200);

    await setRoles(b, c.id, ['UserAdministrator']);

    expectScimError(await onA('GET', '/admin/v1/IdentityProviders', c.token), 403);
    expectStatus(await onA('GET', '/admin/v1/Users', c.token), 200);
  });

  it('should refuse on instance A a provisioning token revoked through instance B', async () => {
    const created = await b.api('POST', '/admin/v1/ProvisioningTokens', { name: 'revoked elsewhere' });
    expectStatus(created, 201);
    expectStatus(await onA('GET', '/admin/v1/Users', created.body.token), 200);
    expectStatus(await b.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
    expectRevoked(await onA('GET', '/admin/v1/Users', created.body.token), /revoked/);
  });
});
