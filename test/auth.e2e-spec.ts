import { Logger } from '@nestjs/common';
import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { ADMIN_ID, ADMIN_SECRET, ApiResponse, dbQuery, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

/** Admin API authentication and authorisation: the token endpoint, bearer checks on every route, roles, provisioning tokens. */

const FORM = 'application/x-www-form-urlencoded';
const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The payload of a JWT, decoded without checking anything. */
function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

interface Fixture {
  userId: string;
  groupId: string;
  clientRowId: string;
  provisioningTokenId: string;
}

/** One request per admin route; ids point at existing resources so that a missing check would succeed, not 404. */
type Endpoint = { name: string; method: string; path: (f: Fixture) => string; body?: (f: Fixture) => unknown };

const USER_ENDPOINTS: Endpoint[] = [
  { name: 'list Users', method: 'GET', path: () => '/admin/v1/Users' },
  { name: 'search Users', method: 'POST', path: () => '/admin/v1/Users/.search', body: () => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'] }) },
  { name: 'get a User', method: 'GET', path: (f) => `/admin/v1/Users/${f.userId}` },
  { name: 'create a User', method: 'POST', path: () => '/admin/v1/Users', body: () => user(`intruder-${randomBytes(4).toString('hex')}`) },
  { name: 'replace a User', method: 'PUT', path: (f) => `/admin/v1/Users/${f.userId}`, body: () => user(`replaced-${randomBytes(4).toString('hex')}`) },
  { name: 'patch a User', method: 'PATCH', path: (f) => `/admin/v1/Users/${f.userId}`, body: () => patch({ op: 'replace', path: 'nickName', value: 'intruder' }) },
  { name: 'delete a User', method: 'DELETE', path: (f) => `/admin/v1/Users/${f.userId}` },
];
const GROUP_ENDPOINTS: Endpoint[] = [
  { name: 'list Groups', method: 'GET', path: () => '/admin/v1/Groups' },
  { name: 'search Groups', method: 'POST', path: () => '/admin/v1/Groups/.search', body: () => ({}) },
  { name: 'get a Group', method: 'GET', path: (f) => `/admin/v1/Groups/${f.groupId}` },
  { name: 'create a Group', method: 'POST', path: () => '/admin/v1/Groups', body: () => ({ schemas: [GROUP_SCHEMA], displayName: `intruders-${randomBytes(4).toString('hex')}` }) },
  { name: 'replace a Group', method: 'PUT', path: (f) => `/admin/v1/Groups/${f.groupId}`, body: () => ({ schemas: [GROUP_SCHEMA], displayName: `replaced ${randomBytes(4).toString('hex')}` }) },
  { name: 'patch a Group', method: 'PATCH', path: (f) => `/admin/v1/Groups/${f.groupId}`, body: () => patch({ op: 'replace', path: 'displayName', value: `patched ${randomBytes(4).toString('hex')}` }) },
  { name: 'delete a Group', method: 'DELETE', path: (f) => `/admin/v1/Groups/${f.groupId}` },
];
const CREDENTIAL_ENDPOINTS: Endpoint[] = [
  { name: 'list AdminClients', method: 'GET', path: () => '/admin/v1/AdminClients' },
  { name: 'create an AdminClient', method: 'POST', path: () => '/admin/v1/AdminClients', body: () => ({ name: 'intruder', roles: ['IdentityDomainAdministrator'] }) },
  { name: 'delete an AdminClient', method: 'DELETE', path: (f) => `/admin/v1/AdminClients/${f.clientRowId}` },
  { name: 'list ProvisioningTokens', method: 'GET', path: () => '/admin/v1/ProvisioningTokens' },
  { name: 'create a ProvisioningToken', method: 'POST', path: () => '/admin/v1/ProvisioningTokens', body: () => ({ name: 'intruder' }) },
  { name: 'revoke a ProvisioningToken', method: 'DELETE', path: (f) => `/admin/v1/ProvisioningTokens/${f.provisioningTokenId}` },
];
const DISCOVERY_ENDPOINTS: Endpoint[] = [
  { name: 'get ServiceProviderConfig', method: 'GET', path: () => '/admin/v1/ServiceProviderConfig' },
  { name: 'list ResourceTypes', method: 'GET', path: () => '/admin/v1/ResourceTypes' },
  { name: 'get a ResourceType', method: 'GET', path: () => '/admin/v1/ResourceTypes/User' },
  { name: 'list Schemas', method: 'GET', path: () => '/admin/v1/Schemas' },
  { name: 'get a Schema', method: 'GET', path: () => '/admin/v1/Schemas/urn:ietf:params:scim:schemas:core:2.0:User' },
];
const ALL_ENDPOINTS = [...USER_ENDPOINTS, ...GROUP_ENDPOINTS, ...CREDENTIAL_ENDPOINTS, ...DISCOVERY_ENDPOINTS];

function call(s: TestServer, e: Endpoint, f: Fixture, authorization: string | undefined): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: 'application/scim+json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const body = e.body?.(f);
  if (body !== undefined) headers['content-type'] = 'application/scim+json';
  return s.raw(e.method, e.path(f), { headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function createFixture(s: TestServer): Promise<Fixture> {
  const u = await s.api('POST', '/admin/v1/Users', user(`victim-${randomBytes(4).toString('hex')}`));
  expectStatus(u, 201);
  const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: `victims-${randomBytes(4).toString('hex')}`, members: [{ value: u.body.id }] });
  expectStatus(g, 201);
  const c = await s.api('POST', '/admin/v1/AdminClients', { name: 'victim client', roles: ['Auditor'] });
  expectStatus(c, 201);
  const t = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'victim token' });
  expectStatus(t, 201);
  return { userId: u.body.id, groupId: g.body.id, clientRowId: c.body.id, provisioningTokenId: t.body.id };
}

/** Everything an administrator can see, to prove that refused requests changed nothing. */
async function snapshot(s: TestServer): Promise<unknown> {
  const [users, groups, clients, tokens] = await Promise.all([
    s.api('GET', '/admin/v1/Users?sortBy=userName&count=1000'),
    s.api('GET', '/admin/v1/Groups?sortBy=displayName&count=1000&attributes=members,displayName,meta'),
    s.api('GET', '/admin/v1/AdminClients'),
    s.api('GET', '/admin/v1/ProvisioningTokens'),
  ]);
  for (const r of [users, groups, clients, tokens]) expectStatus(r, 200);
  return { users: users.body, groups: groups.body, clients: clients.body, tokens: tokens.body };
}

describe('TokenController (POST /oauth2/v1/token)', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  const requestToken = (body: string, headers: Record<string, string> = {}) => s.raw('POST', '/oauth2/v1/token', { headers: { 'content-type': FORM, ...headers }, body });

  function expectTokenResponse(res: ApiResponse): void {
    expectStatus(res, 200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
    expect(res.body.token_type).toBe('Bearer');
    expect(res.body.expires_in).toBe(3600);
    expect(res.body.access_token.split('.')).toHaveLength(3);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const claims = claimsOf(res.body.access_token);
    expect(claims.sub).toBe(ADMIN_ID);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(JSON.stringify(claims)).not.toContain(ADMIN_SECRET);
  }

  it('should issue a bearer token to a client authenticating with HTTP Basic', async () => {
    const res = await requestToken(form({ grant_type: 'client_credentials', scope: 'urn:opc:idm:__myscopes__' }), { authorization: basic(ADMIN_ID, ADMIN_SECRET) });
    expectTokenResponse(res);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, { token: res.body.access_token }), 200);
  });

  it('should issue a bearer token to a client authenticating with form fields', async () => {
    const res = await requestToken(form({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET }));
    expectTokenResponse(res);
    expectStatus(await s.api('GET', '/admin/v1/Users', undefined, { token: res.body.access_token }), 200);
  });

  it('should decode form-urlencoded client credentials inside HTTP Basic (RFC 6749 §2.3.1)', async () => {
    const created = await s.api('POST', '/admin/v1/AdminClients', { name: 'basic encoding', roles: ['Auditor'] });
    expectStatus(created, 201);
    const { clientId, clientSecret } = created.body;
    const res = await requestToken(form({ grant_type: 'client_credentials' }), { authorization: basic(encodeURIComponent(clientId), encodeURIComponent(clientSecret)) });
    expectStatus(res, 200);
    expect(claimsOf(res.body.access_token).roles).toEqual(['Auditor']);
  });

  it.each([
    ['a wrong secret (HTTP Basic)', form({ grant_type: 'client_credentials' }), { authorization: basic(ADMIN_ID, 'wrong-secret-0123456789') }],
    ['an unknown client (HTTP Basic)', form({ grant_type: 'client_credentials' }), { authorization: basic('no-such-client', ADMIN_SECRET) }],
    ['a wrong secret (form fields)', form({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: 'wrong-secret-0123456789' }), {}],
    ['an unknown client (form fields)', form({ grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: ADMIN_SECRET }), {}],
    ['no client credentials at all', form({ grant_type: 'client_credentials' }), {}],
    ['a client id without secret', form({ grant_type: 'client_credentials', client_id: ADMIN_ID }), {}],
    ['a Basic header that is not base64 of id:secret', form({ grant_type: 'client_credentials' }), { authorization: 'Basic !!!not-base64' }],
    ['a Basic header without a colon', form({ grant_type: 'client_credentials' }), { authorization: 'Basic ' + Buffer.from(ADMIN_ID).toString('base64') }],
    ['a client id holding a NUL character', form({ grant_type: 'client_credentials', client_id: 'e2e\u0000admin', client_secret: ADMIN_SECRET }), {}],
  ])('should answer 401 invalid_client for %s', async (_case, body, headers) => {
    const res = await requestToken(body, headers);
    expectStatus(res, 401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.error).toBe('invalid_client');
    expect(typeof res.body.error_description).toBe('string');
    expect(res.body.access_token).toBeUndefined();
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it.each(['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'CLIENT_CREDENTIALS'])(
    'should answer 400 unsupported_grant_type for grant_type=%s',
    async (grantType) => {
      const res = await requestToken(form({ grant_type: grantType, username: ADMIN_ID, password: ADMIN_SECRET }), { authorization: basic(ADMIN_ID, ADMIN_SECRET) });
      expectStatus(res, 400);
      expect(res.body.error).toBe('unsupported_grant_type');
      expect(res.body.error_description).toContain(grantType);
      expect(res.body.access_token).toBeUndefined();
    },
  );

  it.each([
    ['an empty form', ''],
    ['a form without grant_type', form({ scope: 'urn:opc:idm:__myscopes__' })],
    ['an empty grant_type', form({ grant_type: '' })],
  ])('should answer 400 invalid_request for %s', async (_case, body) => {
    const res = await requestToken(body, { authorization: basic(ADMIN_ID, ADMIN_SECRET) });
    expectStatus(res, 400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toMatch(/grant_type/);
  });

  it('should answer 400 invalid_request when the client authenticates with both HTTP Basic and form fields', async () => {
    const res = await requestToken(form({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET }), { authorization: basic(ADMIN_ID, ADMIN_SECRET) });
    expectStatus(res, 400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('should stop issuing tokens to a client once it is deleted', async () => {
    const created = await s.api('POST', '/admin/v1/AdminClients', { name: 'soon deleted', roles: ['Auditor'] });
    expectStatus(created, 201);
    const good = form({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret });
    expectStatus(await requestToken(good), 200);
    expectStatus(await s.api('DELETE', `/admin/v1/AdminClients/${created.body.id}`), 204);
    const res = await requestToken(good);
    expectStatus(res, 401);
    expect(res.body.error).toBe('invalid_client');
    const list = await s.api('GET', '/admin/v1/AdminClients');
    expect(list.body.map((c: { id: string }) => c.id)).not.toContain(created.body.id);
  });

  it('should refuse to let a client delete itself', async () => {
    const list = await s.api('GET', '/admin/v1/AdminClients');
    const self = list.body.find((c: { clientId: string }) => c.clientId === ADMIN_ID);
    expectScimError(await s.api('DELETE', `/admin/v1/AdminClients/${self.id}`), 400, 'invalidValue');
    expectStatus(await requestToken(form({ grant_type: 'client_credentials', client_id: ADMIN_ID, client_secret: ADMIN_SECRET })), 200);
  });
});

describe('AdminAuthGuard', () => {
  let s: TestServer;
  let f: Fixture;
  let before: unknown;
  beforeAll(async () => {
    s = await TestServer.start();
    f = await createFixture(s);
    before = await snapshot(s);
  });
  afterAll(() => s.stop());

  /** Bearer values that must never authenticate, built once the server (and its issuer) is known. */
  async function badCredentials(): Promise<[string, string | undefined, RegExp][]> {
    const good = await s.token();
    const [header, payload, signature] = good.split('.');
    const claims = claimsOf(good);
    const escalated = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else', roles: ['IdentityDomainAdministrator'] })).toString('base64url');
    const flipped = payload.slice(0, 10) + (payload[10] === 'A' ? 'B' : 'A') + payload.slice(11);
    const foreign = await new SignJWT({ roles: ['IdentityDomainAdministrator'], client_name: 'forger' })
      .setProtectedHeader({ alg: 'HS256', kid: 'access-token-hs256-1', typ: 'at+jwt' })
      .setSubject(ADMIN_ID)
      .setIssuer(s.publicUrl)
      .setAudience(`${s.publicUrl}/admin/v1`)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(randomBytes(32));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    return [
      ['no Authorization header', undefined, /Send an access token/],
      ['an empty Authorization header', '', /Send an access token|Bearer/],
      ['a Basic Authorization header', basic(ADMIN_ID, ADMIN_SECRET), /must be "Bearer <token>"/],
      ['"Bearer" without a token', 'Bearer', /must be "Bearer <token>"/],
      ['two tokens', `Bearer ${good} ${good}`, /must be "Bearer <token>"/],
      ['a garbage token', 'Bearer not-a-valid-token', /invalid/],
      ['a token signed with another key', `Bearer ${foreign}`, /invalid/],
      ['a token with a tampered payload (escalated claims)', `Bearer ${header}.${escalated}.${signature}`, /invalid/],
      ['a token with one payload character flipped', `Bearer ${header}.${flipped}.${signature}`, /invalid/],
      ['a token with its signature removed', `Bearer ${header}.${payload}.`, /invalid/],
      ['an unsigned (alg none) token', `Bearer ${unsigned}`, /invalid/],
      ['an unknown provisioning token', `Bearer idp_scim_${randomBytes(32).toString('base64url')}`, /provisioning token/],
    ];
  }

  it('should answer 401 with a SCIM error on every admin endpoint for every bad credential, and change nothing', async () => {
    const cases = await badCredentials();
    for (const [why, authorization, detail] of cases) {
      for (const e of ALL_ENDPOINTS) {
        const res = await call(s, e, f, authorization);
        try {
          expectScimError(res, 401);
          expect(res.body.detail).toMatch(detail);
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="admin"/);
        } catch (err) {
          throw new Error(`${e.name} with ${why}: ${(err as Error).message}`);
        }
      }
    }
    expect(await snapshot(s)).toEqual(before);
  });

  it('should treat the admin path case-insensitively, as the router does, so no route escapes authentication', async () => {
    for (const path of ['/ADMIN/v1/ServiceProviderConfig', '/Admin/V1/Schemas', '/admin/V1/ResourceTypes', '/admin/v1/schemas/', '/ADMIN/v1/Users', '/Admin/v1/AdminClients']) {
      const res = await s.raw('GET', path, { headers: { accept: 'application/scim+json' } });
      try {
        expectScimError(res, 401);
      } catch (err) {
        throw new Error(`GET ${path}: ${(err as Error).message}`);
      }
    }
  });

  it('should let a valid administrator token through on every endpoint (the matrix above is not vacuous)', async () => {
    const token = await s.token();
    const fresh = await createFixture(s);
    for (const e of ALL_ENDPOINTS) {
      const res = await call(s, e, fresh, `Bearer ${token}`);
      expect([e.name, res.status < 300]).toEqual([e.name, true]);
    }
  });
});

describe('AdminAuthGuard with expired tokens', () => {
  let s: TestServer;
  // A one-second token cannot reliably set up fixtures, and none are needed: without authentication these
  // requests would answer 2xx or 404, never 401.
  const f: Fixture = { userId: 'a'.repeat(32), groupId: 'b'.repeat(32), clientRowId: 'c'.repeat(32), provisioningTokenId: 'd'.repeat(32) };
  beforeAll(async () => {
    s = await TestServer.start({ ACCESS_TOKEN_TTL_SECONDS: '1' });
  });
  afterAll(() => s.stop());

  it('should answer 401 "expired" on every admin endpoint once the access token has expired', async () => {
    const res = await s.raw('POST', '/oauth2/v1/token', {
      headers: { 'content-type': FORM, authorization: basic(ADMIN_ID, ADMIN_SECRET) },
      body: form({ grant_type: 'client_credentials' }),
    });
    expectStatus(res, 200);
    expect(res.body.expires_in).toBe(1);
    const token = res.body.access_token;
    expect((claimsOf(token).exp as number) - (claimsOf(token).iat as number)).toBe(1);
    await sleep(2100); // not a timing assertion: only waits until the one-second lifetime is surely over
    for (const e of ALL_ENDPOINTS) {
      const r = await call(s, e, f, `Bearer ${token}`);
      expectScimError(r, 401);
      // "expired" (not "invalid") proves the signature and claims were accepted: only the lifetime failed.
      expect([e.name, r.body.detail]).toEqual([e.name, expect.stringMatching(/expired/)]);
      expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });
});

describe('Roles', () => {
  let s: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    s = await TestServer.start();
    for (const role of ['Auditor', 'SecurityAdministrator', 'UserAdministrator']) tokens[role] = await s.tokenWithRoles(role);
    const pt = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'roles test' });
    expectStatus(pt, 201);
    tokens.ProvisioningToken = pt.body.token;
  });
  afterAll(() => s.stop());

  const byName = (name: string) => ALL_ENDPOINTS.find((e) => e.name === name)!;
  const READS = ['list Users', 'search Users', 'get a User', 'list Groups', 'search Groups', 'get a Group'];
  const USER_GROUP_WRITES = ['create a User', 'replace a User', 'patch a User', 'delete a User', 'create a Group', 'replace a Group', 'patch a Group', 'delete a Group'];
  const CREDENTIAL_WRITES = ['create an AdminClient', 'delete an AdminClient', 'create a ProvisioningToken', 'revoke a ProvisioningToken'];
  const CREDENTIAL_READS = ['list AdminClients', 'list ProvisioningTokens'];
  const DISCOVERY = DISCOVERY_ENDPOINTS.map((e) => e.name);

  // Expected outcome per holder and endpoint: every endpoint appears once per holder.
  const MATRIX: [string, string[], 'allowed' | 'forbidden'][] = [
    ['Auditor', [...READS, ...CREDENTIAL_READS, ...DISCOVERY], 'allowed'],
    ['Auditor', [...USER_GROUP_WRITES, ...CREDENTIAL_WRITES], 'forbidden'],
    ['SecurityAdministrator', DISCOVERY, 'allowed'],
    ['SecurityAdministrator', [...READS, ...USER_GROUP_WRITES, ...CREDENTIAL_READS, ...CREDENTIAL_WRITES], 'forbidden'],
    ['UserAdministrator', [...READS, ...USER_GROUP_WRITES, ...DISCOVERY], 'allowed'],
    ['UserAdministrator', [...CREDENTIAL_READS, ...CREDENTIAL_WRITES], 'forbidden'],
    ['ProvisioningToken', [...READS, ...USER_GROUP_WRITES, ...DISCOVERY], 'allowed'],
    ['ProvisioningToken', [...CREDENTIAL_READS, ...CREDENTIAL_WRITES], 'forbidden'],
  ];

  it('should cover every endpoint once per token holder', () => {
    for (const holder of ['Auditor', 'SecurityAdministrator', 'UserAdministrator', 'ProvisioningToken']) {
      const names = MATRIX.filter(([h]) => h === holder).flatMap(([, n]) => n);
      expect([...names].sort()).toEqual(ALL_ENDPOINTS.map((e) => e.name).sort());
    }
  });

  for (const [holder, names, outcome] of MATRIX) {
    describe(holder, () => {
      it.each(names)(`should be ${outcome} to %s`, async (name) => {
        const fx = await createFixture(s);
        const before = await snapshot(s);
        const res = await call(s, byName(name), fx, `Bearer ${tokens[holder]}`);
        if (outcome === 'allowed') {
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(300);
        } else {
          expectScimError(res, 403);
          expect(res.body.detail).toMatch(/needs one of the roles/);
          expect(await snapshot(s)).toEqual(before);
        }
      });
    });
  }
});

describe('ProvisioningTokens', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  it('should return the token once on creation and never in the list', async () => {
    const created = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Okta SCIM', expiresInDays: 30 });
    expectStatus(created, 201);
    expect(created.body.token).toMatch(/^idp_scim_[A-Za-z0-9_-]{40,}$/);
    expect(created.body).toMatchObject({ name: 'Okta SCIM', createdBy: ADMIN_ID, revokedAt: null });
    expect(new Date(created.body.expiresAt).getTime() - new Date(created.body.created).getTime()).toBe(30 * 86_400_000);
    const list = await s.api('GET', '/admin/v1/ProvisioningTokens');
    expectStatus(list, 200);
    const listed = list.body.find((t: { id: string }) => t.id === created.body.id);
    expect(Object.keys(listed).sort()).toEqual(['created', 'createdBy', 'expiresAt', 'id', 'name', 'revokedAt']);
    expect(list.text).not.toContain(created.body.token);
    expect(list.text).not.toContain(created.body.token.slice('idp_scim_'.length));
    const stored = await dbQuery<{ token_hash: string }>(s, 'SELECT token_hash FROM provisioning_tokens WHERE id = $1', [created.body.id]);
    expect(stored).toHaveLength(1);
    expect(stored[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[0].token_hash).not.toContain(created.body.token);
  });

  it.each([
    ['no name', {}],
    ['an empty name', { name: '' }],
    ['expiresInDays 0', { name: 'x', expiresInDays: 0 }],
    ['expiresInDays above ten years', { name: 'x', expiresInDays: 3651 }],
    ['a fractional expiresInDays', { name: 'x', expiresInDays: 1.5 }],
    ['an unknown field', { name: 'x', roles: ['IdentityDomainAdministrator'] }],
  ])('should refuse to create a token with %s (400) and create none', async (_case, body) => {
    const before = await s.api('GET', '/admin/v1/ProvisioningTokens');
    expectScimError(await s.api('POST', '/admin/v1/ProvisioningTokens', body), 400, 'invalidValue');
    const after = await s.api('GET', '/admin/v1/ProvisioningTokens');
    expect(after.body).toEqual(before.body);
  });

  it('should work on Users and Groups, be refused on AdminClients and ProvisioningTokens, and stop working once revoked', async () => {
    const created = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Entra provisioning' });
    expectStatus(created, 201);
    const token = created.body.token;
    const as = { token };

    const u = await s.api('POST', '/admin/v1/Users', user('provisioned.user'), as);
    expectStatus(u, 201);
    expectStatus(await s.api('GET', `/admin/v1/Users/${u.body.id}`, undefined, as), 200);
    expectStatus(await s.api('PATCH', `/admin/v1/Users/${u.body.id}`, patch({ op: 'replace', path: 'active', value: false }), as), 200);
    const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Provisioned', members: [{ value: u.body.id }] }, as);
    expectStatus(g, 201);
    expectStatus(await s.api('GET', '/admin/v1/Groups?filter=displayName%20eq%20%22Provisioned%22', undefined, as), 200);

    expectScimError(await s.api('GET', '/admin/v1/AdminClients', undefined, as), 403);
    expectScimError(await s.api('POST', '/admin/v1/AdminClients', { name: 'escalation', roles: ['IdentityDomainAdministrator'] }, as), 403);
    expectScimError(await s.api('GET', '/admin/v1/ProvisioningTokens', undefined, as), 403);
    expectScimError(await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'another' }, as), 403);
    expectScimError(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`, undefined, as), 403);
    const clients = await s.api('GET', '/admin/v1/AdminClients');
    expect(clients.body.map((c: { name: string }) => c.name)).not.toContain('escalation');

    expectStatus(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
    const refused = await s.api('GET', '/admin/v1/Users', undefined, as);
    expectScimError(refused, 401);
    expect(refused.body.detail).toMatch(/revoked/);
    expectScimError(await s.api('POST', '/admin/v1/Users', user('after.revocation'), as), 401);
    const none = await s.api('GET', '/admin/v1/Users?filter=userName%20eq%20%22after.revocation%22');
    expect(none.body.totalResults).toBe(0);

    const list = await s.api('GET', '/admin/v1/ProvisioningTokens');
    const listed = list.body.find((t: { id: string }) => t.id === created.body.id);
    expect(typeof listed.revokedAt).toBe('string');
    // Revoking twice is harmless and keeps the first revocation time.
    expectStatus(await s.api('DELETE', `/admin/v1/ProvisioningTokens/${created.body.id}`), 204);
    const again = await s.api('GET', '/admin/v1/ProvisioningTokens');
    expect(again.body.find((t: { id: string }) => t.id === created.body.id).revokedAt).toBe(listed.revokedAt);
  });

  it('should answer 404 when revoking an unknown token', async () => {
    expectScimError(await s.api('DELETE', '/admin/v1/ProvisioningTokens/0123456789abcdef0123456789abcdef'), 404);
  });
});

describe('AdminClients', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  it('should return a client secret once, on creation, and never in any list', async () => {
    const created = await s.api('POST', '/admin/v1/AdminClients', { name: 'nightly-user-sync', roles: ['UserAdministrator', 'Auditor'] });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({ name: 'nightly-user-sync', roles: ['UserAdministrator', 'Auditor'] });
    expect(created.body.clientSecret.length).toBeGreaterThanOrEqual(32);
    await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'for the list' });
    for (const path of ['/admin/v1/AdminClients', '/admin/v1/ProvisioningTokens', '/admin/v1/Users', '/admin/v1/Groups']) {
      const res = await s.api('GET', path);
      expectStatus(res, 200);
      expect(res.text).not.toContain(created.body.clientSecret);
      expect(res.text).not.toContain(ADMIN_SECRET);
      expect(res.text).not.toMatch(/clientSecret|secretHash|secret_hash|tokenHash|scrypt\$/);
    }
    const list = await s.api('GET', '/admin/v1/AdminClients');
    for (const c of list.body) expect(Object.keys(c).sort()).toEqual(['clientId', 'created', 'id', 'name', 'roles']);
    const stored = await dbQuery<{ secret_hash: string }>(s, 'SELECT secret_hash FROM oauth_clients WHERE id = $1', [created.body.id]);
    expect(stored[0].secret_hash).toMatch(/^scrypt\$/);
    expect(stored[0].secret_hash).not.toContain(created.body.clientSecret);
  });

  it.each([
    ['no roles', { name: 'x', roles: [] }],
    ['an unknown role', { name: 'x', roles: ['Superuser'] }],
    ['the provisioning role, which only provisioning tokens hold', { name: 'x', roles: ['ProvisioningClient'] }],
    ['no name', { roles: ['Auditor'] }],
    ['an unknown field', { name: 'x', roles: ['Auditor'], clientSecret: 'chosen-by-caller-0123456789' }],
  ])('should refuse to create a client with %s (400) and create none', async (_case, body) => {
    const before = await s.api('GET', '/admin/v1/AdminClients');
    expectScimError(await s.api('POST', '/admin/v1/AdminClients', body), 400, 'invalidValue');
    expect((await s.api('GET', '/admin/v1/AdminClients')).body).toEqual(before.body);
  });

  it('should answer 404 when deleting an unknown client', async () => {
    expectScimError(await s.api('DELETE', '/admin/v1/AdminClients/0123456789abcdef0123456789abcdef'), 404);
  });
});

describe('AdminClients bootstrap', () => {
  it('should create exactly the configured administrator client on an empty database', async () => {
    const s = await TestServer.start();
    try {
      const list = await s.api('GET', '/admin/v1/AdminClients');
      expectStatus(list, 200);
      expect(list.body).toHaveLength(1);
      expect(list.body[0]).toMatchObject({ clientId: ADMIN_ID, name: 'Bootstrap administrator', roles: ['IdentityDomainAdministrator'] });
      expect(list.text).not.toContain(ADMIN_SECRET);
      const stored = await dbQuery<{ secret_hash: string }>(s, 'SELECT secret_hash FROM oauth_clients');
      expect(stored).toHaveLength(1);
      expect(stored[0].secret_hash).toMatch(/^scrypt\$/);
      expect(stored[0].secret_hash).not.toContain(ADMIN_SECRET);
    } finally {
      await s.stop();
    }
  });

  it('should generate administrator credentials when none are configured, print them once, and accept them', async () => {
    // Observe (not replace) Nest's logger: the generated secret is only ever printed there.
    const logged = jest.spyOn(Logger.prototype, 'log');
    let s: TestServer | undefined;
    try {
      s = await TestServer.start({ ADMIN_CLIENT_ID: '', ADMIN_CLIENT_SECRET: '' });
      const line = logged.mock.calls.map((c) => String(c[0])).find((m) => m.includes('client_secret='));
      expect(line).toBeDefined();
      const clientId = /client_id=(\S+)/.exec(line!)![1];
      const clientSecret = /client_secret=(\S+)/.exec(line!)![1];
      expect(clientId).toMatch(/^admin-/);
      expect(clientSecret.length).toBeGreaterThanOrEqual(32);

      const stored = await dbQuery<{ client_id: string; secret_hash: string; roles: string }>(s, 'SELECT client_id, secret_hash, roles FROM oauth_clients');
      expect(stored).toHaveLength(1);
      expect(stored[0].client_id).toBe(clientId);
      expect(stored[0].secret_hash).not.toContain(clientSecret);
      expect(JSON.parse(stored[0].roles)).toEqual(['IdentityDomainAdministrator']);

      await expect(s.token()).rejects.toThrow(/401/); // the harness's usual credentials were not configured
      const token = await s.token(clientId, clientSecret);
      const list = await s.api('GET', '/admin/v1/AdminClients', undefined, { token });
      expectStatus(list, 200);
      expect(list.body).toEqual([expect.objectContaining({ clientId, roles: ['IdentityDomainAdministrator'] })]);
      expect(list.text).not.toContain(clientSecret);
    } finally {
      logged.mockRestore();
      await s?.stop();
    }
  });
});
