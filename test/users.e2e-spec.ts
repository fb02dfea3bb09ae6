import { createJitIdentityProvider } from '@app/fixtures';
import { IdentityProvidersService } from '@app/identity-providers';
import { JitLoginService } from '@app/jit';
import { makeKeyPair } from './support/certs';
import { ApiResponse, dbQuery, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user, USER_SCHEMA } from './support/server';

/** /admin/v1/Users end to end: create, read, list (filter, sort, page, project), replace, patch, delete. */

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ORACLE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const PASSWORD = 'Correct-Horse-Battery-Staple-42';

const q = (params: Record<string, string | number>) =>
  '?' + Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');

async function create(s: TestServer, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await s.api('POST', '/admin/v1/Users', body);
  expectStatus(res, 201);
  return res.body;
}

async function get(s: TestServer, id: string, query = ''): Promise<ApiResponse> {
  return s.api('GET', `/admin/v1/Users/${id}${query}`);
}

/** The stored row, read straight from the database. */
async function storedRow(s: TestServer, id: string): Promise<{ data: string; password_hash: string | null; version: number } | undefined> {
  const rows = await dbQuery<{ data: string; password_hash: string | null; version: number }>(s, 'SELECT data, password_hash, version FROM users WHERE id = $1', [id]);
  return rows[0];
}

describe('UsersController', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  describe('create', () => {
    it('should answer 201 with Location == meta.location, ETag == meta.version, active defaulting to true', async () => {
      const res = await s.api('POST', '/admin/v1/Users', user('create.basic@example.com', { displayName: 'Create Basic' }));
      expectStatus(res, 201);
      const body = res.body;
      expect(body.id).toMatch(/^[0-9a-f]{32}$/);
      expect(res.headers.get('location')).toBe(body.meta.location);
      expect(body.meta.location).toBe(`${s.publicUrl}/admin/v1/Users/${body.id}`);
      expect(res.headers.get('etag')).toBe(body.meta.version);
      expect(body.meta.version).toBe('W/"1"');
      expect(body.meta.resourceType).toBe('User');
      expect(body.meta.created).toBe(body.meta.lastModified);
      expect(new Date(body.meta.created).toISOString()).toBe(body.meta.created);
      expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      expect(body.active).toBe(true);
      expect(body.userName).toBe('create.basic@example.com');
      expect(body.schemas).toEqual([USER_SCHEMA, ORACLE]);
      expect(body[ORACLE]).toEqual({ isFederatedUser: false });
      const fetched = await get(s, body.id);
      expect(fetched.body).toEqual(body);
      expect(fetched.headers.get('etag')).toBe('W/"1"');
    });

    it('should ignore read-only attributes sent on create (id, meta, groups)', async () => {
      const body = await create(
        s,
        user('create.readonly', {
          id: 'ffffffffffffffffffffffffffffffff',
          meta: { created: '2000-01-01T00:00:00Z', version: 'W/"99"', resourceType: 'Group' },
          groups: [{ value: 'g1', display: 'Admins' }],
        }),
      );
      expect(body.id).not.toBe('ffffffffffffffffffffffffffffffff');
      expect(body.meta.version).toBe('W/"1"');
      expect(body.meta.resourceType).toBe('User');
      expect(body.meta.created).not.toBe('2000-01-01T00:00:00Z');
      expectScimError(await get(s, 'ffffffffffffffffffffffffffffffff'), 404);
      expect((await get(s, body.id, '?attributes=groups')).body.groups).toBeUndefined();
    });

    it('should keep extension attributes under their URN and list the extension in schemas', async () => {
      const body = await create(s, user('create.enterprise', { schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { employeeNumber: '701984', manager: { value: 'abc', displayName: 'ignored (read-only)' } } }));
      expect(body.schemas).toEqual([USER_SCHEMA, ENTERPRISE, ORACLE]);
      expect(body[ENTERPRISE]).toEqual({ employeeNumber: '701984', manager: { value: 'abc' } });
    });

    it('should accept attribute names and schema URNs in any case and return them canonically', async () => {
      const body = await create(s, {
        schemas: [USER_SCHEMA.toUpperCase()],
        USERNAME: 'create.case',
        Name: { GivenName: 'Case', familyname: 'Insensitive' },
        EMAILS: [{ VALUE: 'create.case@example.com', Type: 'work', PRIMARY: true }],
      });
      expect(body.userName).toBe('create.case');
      expect(body.name).toEqual({ givenName: 'Case', familyName: 'Insensitive' });
      expect(body.emails).toEqual([{ value: 'create.case@example.com', type: 'work', primary: true }]);
    });

    it('should store a password hashed and never return it, not even when asked for', async () => {
      const body = await create(s, user('create.password', { password: PASSWORD }));
      expect(JSON.stringify(body)).not.toContain(PASSWORD);
      expect(body.password).toBeUndefined();
      for (const query of ['', '?attributes=password', '?attributes=password,userName', '?attributeSets=all', '?attributeSets=never', '?attributeSets=request']) {
        const res = await get(s, body.id, query);
        expectStatus(res, 200);
        expect([query, res.text.includes(PASSWORD), res.body.password]).toEqual([query, false, undefined]);
      }
      const listed = await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "create.password"', attributeSets: 'all' })}`);
      expect(listed.body.totalResults).toBe(1);
      expect(listed.text).not.toContain(PASSWORD);
      const row = await storedRow(s, body.id);
      expect(row!.password_hash).toMatch(/^scrypt\$/);
      expect(row!.password_hash).not.toContain(PASSWORD);
      expect(row!.data).not.toContain(PASSWORD);
      expect(JSON.parse(row!.data).password).toBeUndefined();
    });

    it('should store no password hash when none is given', async () => {
      const body = await create(s, user('create.nopassword'));
      expect((await storedRow(s, body.id))!.password_hash).toBeNull();
    });

    it.each([
      ['too short', 'short'],
      ['not a string', 12345678],
    ])('should refuse a password that is %s (400 invalidValue) and create nothing', async (_case, password) => {
      expectScimError(await s.api('POST', '/admin/v1/Users', user('create.badpassword', { password })), 400, 'invalidValue');
      const found = await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "create.badpassword"' })}`);
      expect(found.body.totalResults).toBe(0);
    });
  });

  describe('uniqueness of userName', () => {
    let alice: Record<string, any>;
    let bob: Record<string, any>;
    beforeAll(async () => {
      alice = await create(s, user('Unique.Alice@Example.com'));
      bob = await create(s, user('unique.bob@example.com'));
    });

    it.each(['Unique.Alice@Example.com', 'unique.alice@example.com', 'UNIQUE.ALICE@EXAMPLE.COM'])('should refuse to create %s (409 uniqueness)', async (userName) => {
      const res = await s.api('POST', '/admin/v1/Users', user(userName));
      expectScimError(res, 409, 'uniqueness');
      expect(res.body.detail).toContain(userName);
      const found = await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "unique.alice@example.com"' })}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([alice.id]);
    });

    it('should refuse a PUT that takes another user\'s userName in another case, leaving both unchanged', async () => {
      expectScimError(await s.api('PUT', `/admin/v1/Users/${bob.id}`, user('UNIQUE.alice@example.COM')), 409, 'uniqueness');
      expect((await get(s, bob.id)).body).toEqual(bob);
      expect((await get(s, alice.id)).body).toEqual(alice);
    });

    it('should refuse a PATCH that takes another user\'s userName in another case, leaving both unchanged', async () => {
      expectScimError(await s.api('PATCH', `/admin/v1/Users/${bob.id}`, patch({ op: 'replace', path: 'userName', value: 'unique.ALICE@example.com' })), 409, 'uniqueness');
      expectScimError(await s.api('PATCH', `/admin/v1/Users/${bob.id}`, patch({ op: 'replace', value: { userName: 'Unique.Alice@example.com' } })), 409, 'uniqueness');
      expect((await get(s, bob.id)).body).toEqual(bob);
    });

    it('should let a user change the case of its own userName', async () => {
      const res = await s.api('PATCH', `/admin/v1/Users/${bob.id}`, patch({ op: 'replace', path: 'userName', value: 'Unique.Bob@Example.com' }));
      expectStatus(res, 200);
      expect(res.body.userName).toBe('Unique.Bob@Example.com');
      expect(res.body.meta.version).toBe('W/"2"');
    });
  });

  describe('replace (PUT)', () => {
    it('should replace the writable attributes, drop those not sent, and ignore read-only ones', async () => {
      const created = await create(s, user('put.basic', { nickName: 'Nick', title: 'Engineer', externalId: 'ext-1', phoneNumbers: [{ value: '+1 555 0199' }], [ORACLE]: { isFederatedUser: true } }));
      const res = await s.api('PUT', `/admin/v1/Users/${created.id}`, {
        schemas: [USER_SCHEMA],
        id: 'ffffffffffffffffffffffffffffffff',
        meta: { created: '2000-01-01T00:00:00Z', version: 'W/"42"' },
        groups: [{ value: 'whatever' }],
        userName: 'put.basic',
        name: { givenName: 'New' },
        emails: [{ value: 'put.new@example.com', primary: true }],
        title: 'Manager',
      });
      expectStatus(res, 200);
      expect(res.body.id).toBe(created.id);
      expect(res.body.meta.created).toBe(created.meta.created);
      expect(res.body.meta.version).toBe('W/"2"');
      expect(res.headers.get('etag')).toBe('W/"2"');
      expect(res.body.meta.lastModified >= created.meta.lastModified).toBe(true);
      expect(res.body.name).toEqual({ givenName: 'New' });
      expect(res.body.title).toBe('Manager');
      expect(res.body.nickName).toBeUndefined();
      expect(res.body.emails).toEqual([{ value: 'put.new@example.com', primary: true }]);
      expect(res.body.phoneNumbers).toBeUndefined();
      expect(res.body.externalId).toBeUndefined();
      expect(res.body.active).toBe(true);
      expect(res.body.groups).toBeUndefined();
      // creationMechanism is immutable and not returned by default: a PUT that cannot see it keeps it.
      const full = await get(s, created.id, `?attributes=${ORACLE}:creationMechanism`);
      expect(full.body[ORACLE]).toEqual({ creationMechanism: 'api' });
      expect((await get(s, created.id)).body).toEqual(res.body);
    });

    it('should keep active as it was when the PUT does not mention it', async () => {
      const created = await create(s, user('put.active', { active: false }));
      const res = await s.api('PUT', `/admin/v1/Users/${created.id}`, user('put.active'));
      expect(res.body.active).toBe(false);
    });

    it('should refuse to change the immutable creationMechanism (400 mutability) and keep the resource', async () => {
      const created = await create(s, user('put.immutable'));
      const res = await s.api('PUT', `/admin/v1/Users/${created.id}`, user('put.immutable', { schemas: [USER_SCHEMA, ORACLE], [ORACLE]: { creationMechanism: 'bulk' } }));
      expectScimError(res, 400, 'mutability');
      expect(res.body.detail).toContain('creationMechanism');
      expect((await get(s, created.id)).body).toEqual(created);
      const same = await s.api('PUT', `/admin/v1/Users/${created.id}`, user('put.immutable', { schemas: [USER_SCHEMA, ORACLE], [ORACLE]: { creationMechanism: 'api' } }));
      expectStatus(same, 200);
    });

    it('should not write a new version when a client PUTs back what it read (as Okta does on every sync)', async () => {
      const created = await create(s, user('put.same', { schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { department: 'Ops', employeeNumber: '9' }, nickName: 'Same' }));
      const read = (await get(s, created.id)).body;
      const res = await s.api('PUT', `/admin/v1/Users/${created.id}`, read, { headers: { 'if-match': read.meta.version } });
      expectStatus(res, 200);
      expect(res.body).toEqual(read);
      expect(res.headers.get('etag')).toBe('W/"1"');
      expect((await storedRow(s, created.id))!.version).toBe(1);
      // Keys in another order are still the same resource.
      const reordered = Object.fromEntries(Object.entries(read).reverse());
      reordered[ENTERPRISE] = { employeeNumber: '9', department: 'Ops' };
      expect((await s.api('PUT', `/admin/v1/Users/${created.id}`, reordered)).body.meta.version).toBe('W/"1"');
    });

    it('should answer 404 for an unknown id and create nothing', async () => {
      expectScimError(await s.api('PUT', '/admin/v1/Users/0123456789abcdef0123456789abcdef', user('put.unknown')), 404);
      expect((await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "put.unknown"' })}`)).body.totalResults).toBe(0);
    });
  });

  describe('If-Match', () => {
    type Call = [string, (id: string) => [string, string, unknown?]];
    const CALLS: Call[] = [
      ['PUT', (id) => ['PUT', `/admin/v1/Users/${id}`, user('ifmatch.target', { title: 'changed' })]],
      ['PATCH', (id) => ['PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'changed' })]],
      ['DELETE', (id) => ['DELETE', `/admin/v1/Users/${id}`]],
    ];

    it.each(CALLS)('should answer 412 to %s with a stale If-Match and change nothing', async (_m, call) => {
      const created = await create(s, user('ifmatch.target'));
      await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'add', path: 'nickName', value: 'v2' }));
      const current = (await get(s, created.id)).body;
      expect(current.meta.version).toBe('W/"2"');
      for (const stale of ['W/"1"', '"1"', 'W/"3"', 'W/"1", W/"3"']) {
        const [method, path, body] = call(created.id);
        const res = await s.api(method, path, body, { headers: { 'if-match': stale } });
        expectScimError(res, 412);
        expect(res.body.detail).toContain('W/"2"');
      }
      expect((await get(s, created.id)).body).toEqual(current);
      await s.api('DELETE', `/admin/v1/Users/${created.id}`);
    });

    it.each(CALLS)('should apply %s when If-Match matches (weak or strong form, in a list, or *)', async (method, call) => {
      for (const tag of ['W/"1"', '"1"', 'W/"7", W/"1"', '*']) {
        const created = await create(s, user('ifmatch.target'));
        const [m, path, body] = call(created.id);
        const res = await s.api(m, path, body, { headers: { 'if-match': tag } });
        expectStatus(res, method === 'DELETE' ? 204 : 200);
        if (method !== 'DELETE') {
          expect(res.body.title).toBe('changed');
          expect(res.headers.get('etag')).toBe('W/"2"');
          await s.api('DELETE', `/admin/v1/Users/${created.id}`);
        } else {
          expectScimError(await get(s, created.id), 404);
        }
      }
    });
  });

  describe('delete', () => {
    it('should answer 204 without body, then 404 on every later request, and drop its memberships', async () => {
      const created = await create(s, user('delete.me'));
      const group = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Delete test', members: [{ value: created.id }] });
      expectStatus(group, 201);
      const res = await s.api('DELETE', `/admin/v1/Users/${created.id}`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      expectScimError(await get(s, created.id), 404);
      expectScimError(await s.api('DELETE', `/admin/v1/Users/${created.id}`), 404);
      expectScimError(await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: 'title', value: 'x' })), 404);
      expectScimError(await s.api('PUT', `/admin/v1/Users/${created.id}`, user('delete.me')), 404);
      const members = await s.api('GET', `/admin/v1/Groups/${group.body.id}?attributes=members`);
      expect(members.body.members ?? []).toEqual([]);
      expect(await dbQuery(s, 'SELECT * FROM user_attribute_values WHERE user_id = $1', [created.id])).toEqual([]);
      expect((await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "delete.me"' })}`)).body.totalResults).toBe(0);
      // The name is free again.
      await create(s, user('delete.me'));
    });
  });

  describe('deactivation', () => {
    it.each([
      ['PATCH replace active', (id: string) => s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'active', value: false }))],
      ['PATCH replace without path', (id: string) => s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', value: { active: false } }))],
      ['PUT', (id: string) => s.api('PUT', `/admin/v1/Users/${id}`, user('deactivate.me', { active: false }))],
    ])('should deactivate with %s, so that "active eq false" finds the user', async (_how, deactivate) => {
      const created = await create(s, user('deactivate.me'));
      const res = await deactivate(created.id);
      expectStatus(res, 200);
      expect(res.body.active).toBe(false);
      const inactive = await s.api('GET', `/admin/v1/Users${q({ filter: 'active eq false and userName eq "deactivate.me"' })}`);
      expect(inactive.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
      const active = await s.api('GET', `/admin/v1/Users${q({ filter: 'active eq true and userName eq "deactivate.me"' })}`);
      expect(active.body.totalResults).toBe(0);
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${created.id}`), 204);
    });
  });

  describe('Oracle user extension', () => {
    it('should default creationMechanism to "api" and return it only on request', async () => {
      const created = await create(s, user('oracle.defaults'));
      expect(created[ORACLE]).toEqual({ isFederatedUser: false });
      for (const query of [`?attributes=${ORACLE}:creationMechanism`, '?attributeSets=request', '?attributeSets=all', `?attributes=userName,${ORACLE}:creationMechanism`]) {
        const res = await get(s, created.id, query);
        expect([query, res.body[ORACLE]?.creationMechanism]).toEqual([query, 'api']);
      }
      const found = await s.api('GET', `/admin/v1/Users${q({ filter: `${ORACLE}:creationMechanism eq "api" and userName eq "oracle.defaults"` })}`);
      expect(found.body.totalResults).toBe(1);
    });

    it('should store isFederatedUser, creationMechanism and syncedFromApp as sent, dropping read-only sub-attributes', async () => {
      const created = await create(
        s,
        user('oracle.sent', {
          schemas: [USER_SCHEMA, ORACLE],
          [ORACLE]: { isFederatedUser: true, creationMechanism: 'samljit', syncedFromApp: { value: 'idp-1', type: 'IdentityProvider', display: 'ignored', $ref: 'ignored' } },
        }),
      );
      expect(created[ORACLE]).toEqual({ isFederatedUser: true, syncedFromApp: { value: 'idp-1', type: 'IdentityProvider' } });
      const all = await get(s, created.id, '?attributeSets=all');
      expect(all.body[ORACLE]).toEqual({ isFederatedUser: true, creationMechanism: 'samljit', syncedFromApp: { value: 'idp-1', type: 'IdentityProvider' } });
      const fed = await s.api('GET', `/admin/v1/Users${q({ filter: `${ORACLE}:isFederatedUser eq true and ${ORACLE}:syncedFromApp.value eq "idp-1"` })}`);
      expect(fed.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
    });

    it('should refuse syncedFromApp without its required sub-attributes (400 invalidValue)', async () => {
      const res = await s.api('POST', '/admin/v1/Users', user('oracle.synced.bad', { schemas: [USER_SCHEMA, ORACLE], [ORACLE]: { syncedFromApp: { value: 'idp-1' } } }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('type');
    });

    it('should refuse a PATCH of creationMechanism (400 mutability) and accept one of isFederatedUser', async () => {
      const created = await create(s, user('oracle.patch'));
      expectScimError(await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${ORACLE}:creationMechanism`, value: 'import' })), 400, 'mutability');
      const res = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${ORACLE}:isFederatedUser`, value: true }));
      expectStatus(res, 200);
      expect(res.body[ORACLE]).toEqual({ isFederatedUser: true });
      expect((await get(s, created.id, `?attributes=${ORACLE}:creationMechanism`)).body[ORACLE]).toEqual({ creationMechanism: 'api' });
    });
  });
});

describe('UsersController list', () => {
  let s: TestServer;
  const U: Record<string, Record<string, any>> = {};
  let groupId: string;

  beforeAll(async () => {
    s = await TestServer.start();
    U.alice = await create(s, {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'alice@example.com',
      externalId: 'ext-alice',
      name: { givenName: 'Alice', familyName: 'Anderson' },
      displayName: 'Alice A',
      title: 'Engineer',
      emails: [
        { value: 'alice@example.com', type: 'work', primary: true },
        { value: 'alice@home.org', type: 'home' },
      ],
      [ENTERPRISE]: { employeeNumber: '1001', department: 'R&D' },
    });
    U.bob = await create(s, {
      schemas: [USER_SCHEMA, ENTERPRISE],
      userName: 'bob@example.com',
      externalId: 'EXT-bob',
      name: { givenName: 'Bob', familyName: 'Brown' },
      title: 'Manager',
      active: false,
      emails: [{ value: 'bob@example.com', type: 'work', primary: true }],
      [ENTERPRISE]: { employeeNumber: '1002', department: 'Sales' },
    });
    U.carol = await create(s, {
      schemas: [USER_SCHEMA, ORACLE],
      userName: 'carol@corp.test',
      name: { givenName: 'Carol', familyName: 'Clark' },
      nickName: 'cc',
      emails: [{ value: 'carol@home.org', type: 'home', primary: true }],
      [ORACLE]: { isFederatedUser: true },
    });
    U.dave = await create(s, {
      schemas: [USER_SCHEMA],
      userName: 'Dave.Smith@Example.com',
      name: { givenName: 'Dave', familyName: 'Smith' },
      title: 'engineer',
      emails: [
        { value: 'Dave.Smith@Example.com', type: 'work', primary: true },
        { value: 'dave@other.net', type: 'other' },
      ],
      phoneNumbers: [{ value: '+1 555 0100', type: 'mobile' }],
    });
    const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Engineers', members: [{ value: U.alice.id }, { value: U.dave.id }] });
    expectStatus(g, 201);
    groupId = g.body.id;
  });
  afterAll(() => s.stop());

  const names = (res: ApiResponse) => res.body.Resources.map((r: { userName: string }) => r.userName.split(/[@.]/)[0].toLowerCase());
  const sorted = (xs: string[]) => [...xs].sort();

  async function filterNames(filter: string): Promise<string[]> {
    const res = await s.api('GET', `/admin/v1/Users${q({ filter, count: 1000 })}`);
    expectStatus(res, 200);
    expect(res.body.totalResults).toBe(res.body.Resources.length);
    return sorted(names(res));
  }

  const FILTERS: [string, string[]][] = [
    // eq / ne, case-insensitive userName
    ['userName eq "alice@example.com"', ['alice']],
    ['userName eq "ALICE@EXAMPLE.COM"', ['alice']],
    ['userName eq "dave.smith@example.com"', ['dave']],
    ['USERNAME EQ "bob@example.com"', ['bob']],
    ['userName ne "alice@example.com"', ['bob', 'carol', 'dave']],
    ['userName eq "nobody@example.com"', []],
    // co / sw / ew
    ['userName co "EXAMPLE"', ['alice', 'bob', 'dave']],
    ['userName sw "B"', ['bob']],
    ['userName ew "@corp.test"', ['carol']],
    ['name.familyName sw "sm"', ['dave']],
    ['name.givenName eq "carol"', ['carol']],
    ['displayName eq "alice a"', ['alice']],
    ['nickName eq "CC"', ['carol']],
    ['title eq "engineer"', ['alice', 'dave']],
    ['title co "NAG"', ['bob']],
    // gt / ge / lt / le on strings (lower-cased for case-insensitive attributes)
    ['userName gt "carol@corp.test"', ['dave']],
    ['userName ge "carol@corp.test"', ['carol', 'dave']],
    ['userName lt "bob@example.com"', ['alice']],
    ['userName le "BOB@example.com"', ['alice', 'bob']],
    // pr
    ['title pr', ['alice', 'bob', 'dave']],
    ['nickName pr', ['carol']],
    ['phoneNumbers pr', ['dave']],
    ['name pr', ['alice', 'bob', 'carol', 'dave']],
    ['externalId pr', ['alice', 'bob']],
    // booleans
    ['active eq false', ['bob']],
    ['active eq true', ['alice', 'carol', 'dave']],
    ['active ne true', ['bob']],
    // and / or / not / parentheses
    ['userName sw "a" or userName sw "b"', ['alice', 'bob']],
    ['(userName sw "a" or userName sw "b") and active eq true', ['alice']],
    ['userName sw "a" or (userName sw "b" and active eq true)', ['alice']],
    ['not (active eq true)', ['bob']],
    ['not (title pr)', ['carol']],
    ['not (title eq "engineer") and not (userName sw "c")', ['bob']],
    ['title eq "engineer" and (emails.type eq "other" or externalId eq "ext-alice")', ['alice', 'dave']],
    // multi-valued attributes and value paths
    ['emails co "@home.org"', ['alice', 'carol']],
    ['emails.value ew "EXAMPLE.COM"', ['alice', 'bob', 'dave']],
    ['emails.type eq "other"', ['dave']],
    ['emails[type eq "work" and value co "@example.com"]', ['alice', 'bob', 'dave']],
    ['emails[type eq "home"]', ['alice', 'carol']],
    ['emails[type eq "home" or type eq "other"]', ['alice', 'carol', 'dave']],
    ['emails[primary eq true and value sw "dave"]', ['dave']],
    ['emails[not (type eq "work")]', ['alice', 'carol', 'dave']],
    ['emails[type eq "work"] and not (emails[type eq "home"])', ['bob', 'dave']],
    ['phoneNumbers[type eq "mobile" and value sw "+1"]', ['dave']],
    // extensions by URN
    [`${ENTERPRISE}:employeeNumber eq "1002"`, ['bob']],
    [`${ENTERPRISE}:department co "r&d"`, ['alice']],
    [`${ENTERPRISE}:department pr`, ['alice', 'bob']],
    [`${ORACLE}:isFederatedUser eq true`, ['carol']],
    [`${ORACLE}:isFederatedUser eq false`, ['alice', 'bob', 'dave']],
    // externalId is case-exact
    ['externalId eq "EXT-bob"', ['bob']],
    ['externalId eq "ext-bob"', []],
    // meta timestamps
    ['meta.created gt "2000-01-01T00:00:00Z"', ['alice', 'bob', 'carol', 'dave']],
    ['meta.created lt "2000-01-01T00:00:00Z"', []],
    ['meta.lastModified ge "2000-01-01T00:00:00.000Z"', ['alice', 'bob', 'carol', 'dave']],
  ];

  it.each(FILTERS)('should filter %s', async (filter, expected) => {
    expect(await filterNames(filter)).toEqual(expected);
  });

  it.each([
    ['gt', (c: string, ref: string) => c > ref],
    ['ge', (c: string, ref: string) => c >= ref],
    ['lt', (c: string, ref: string) => c < ref],
    ['le', (c: string, ref: string) => c <= ref],
  ])('should compare meta.created with %s against a stored timestamp', async (op, holds) => {
    for (const ref of [U.alice, U.bob, U.carol, U.dave]) {
      const expected = sorted(Object.entries(U).filter(([, u]) => holds(u.meta.created, ref.meta.created)).map(([k]) => k));
      expect([ref.userName, await filterNames(`meta.created ${op} "${ref.meta.created}"`)]).toEqual([ref.userName, expected]);
    }
  });

  it('should filter by id and by group membership', async () => {
    expect(await filterNames(`id eq "${U.carol.id}"`)).toEqual(['carol']);
    expect(await filterNames(`groups.value eq "${groupId}"`)).toEqual(['alice', 'dave']);
    expect(await filterNames(`groups[display eq "engineers"]`)).toEqual(['alice', 'dave']);
  });

  it('should filter on meta.resourceType and meta.version, and refuse meta.location with a detail', async () => {
    expect(await filterNames('meta.resourceType eq "User"')).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(await filterNames('meta.resourceType eq "Group"')).toEqual([]);
    expect(await filterNames(`meta.version eq ${JSON.stringify(U.bob.meta.version)} and id eq "${U.bob.id}"`)).toEqual(['bob']);
    const res = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`meta.location eq "${U.bob.meta.location}"`)}`);
    expectScimError(res, 400, 'invalidFilter');
    expect(res.body.detail).toBe('"meta.location" cannot be used in a filter of User resources; filter on id or meta.lastModified instead');
    // Locations differ only by id, so they sort as the ids do.
    const byLocation = await s.api('GET', '/admin/v1/Users?sortBy=meta.location&attributes=id');
    expect(byLocation.body.Resources.map((r: { id: string }) => r.id)).toEqual(Object.values(U).map((u) => u.id).sort());
  });

  it('should answer the same through POST /Users/.search', async () => {
    const res = await s.api('POST', '/admin/v1/Users/.search', {
      schemas: [SEARCH],
      filter: 'emails[type eq "work" and value co "@example.com"]',
      sortBy: 'userName',
      sortOrder: 'descending',
      attributes: ['userName'],
      startIndex: 1,
      count: 2,
    });
    expectStatus(res, 200);
    expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    expect(res.body).toEqual({
      schemas: [LIST],
      totalResults: 3,
      startIndex: 1,
      itemsPerPage: 2,
      Resources: [
        { schemas: expect.arrayContaining([USER_SCHEMA]), id: U.dave.id, userName: 'Dave.Smith@Example.com' },
        { schemas: expect.arrayContaining([USER_SCHEMA]), id: U.bob.id, userName: 'bob@example.com' },
      ],
    });
    const all = await s.api('POST', '/admin/v1/Users/.search', {});
    expectStatus(all, 200);
    expect(all.body.totalResults).toBe(4);
    const commaList = await s.api('POST', '/admin/v1/Users/.search', { schemas: [SEARCH], filter: 'nickName pr', attributes: 'nickName,userName', excludedAttributes: undefined });
    expect(commaList.body.Resources).toEqual([{ schemas: expect.arrayContaining([USER_SCHEMA]), id: U.carol.id, userName: 'carol@corp.test', nickName: 'cc' }]);
  });

  describe('sorting', () => {
    const SORTS: [string, string, string[]][] = [
      ['userName', 'ascending', ['alice', 'bob', 'carol', 'dave']],
      ['userName', 'ASCENDING', ['alice', 'bob', 'carol', 'dave']],
      ['userName', 'Ascending', ['alice', 'bob', 'carol', 'dave']],
      ['userName', 'descending', ['dave', 'carol', 'bob', 'alice']],
      ['userName', 'DESCENDING', ['dave', 'carol', 'bob', 'alice']],
      ['name.familyName', 'descending', ['dave', 'carol', 'bob', 'alice']],
      ['name.givenName', 'ascending', ['alice', 'bob', 'carol', 'dave']],
      ['emails', 'ascending', ['alice', 'bob', 'carol', 'dave']],
      ['emails.value', 'descending', ['dave', 'carol', 'bob', 'alice']],
      ['meta.created', 'ascending', ['alice', 'bob', 'carol', 'dave']],
      ['meta.created', 'descending', ['dave', 'carol', 'bob', 'alice']],
      [`${ENTERPRISE}:employeeNumber`, 'descending', ['bob', 'alice']],
    ];

    it.each(SORTS)('should sort by %s %s', async (sortBy, sortOrder, expected) => {
      const res = await s.api('GET', `/admin/v1/Users${q({ sortBy, sortOrder, count: 1000 })}`);
      expectStatus(res, 200);
      // Users without the sort attribute come last when ascending and first when descending (RFC 7644 §3.4.2.3).
      const got = names(res).filter((n: string) => expected.includes(n));
      expect(got).toEqual(expected);
    });

    it('should put users without the sort attribute last when ascending and first when descending', async () => {
      const asc = await s.api('GET', `/admin/v1/Users${q({ sortBy: 'title', sortOrder: 'ascending' })}`);
      expect(names(asc)[3]).toBe('carol');
      expect(sorted(names(asc).slice(0, 2))).toEqual(['alice', 'dave']); // "Engineer" and "engineer" sort together
      expect(names(asc)[2]).toBe('bob');
      const desc = await s.api('GET', `/admin/v1/Users${q({ sortBy: 'title', sortOrder: 'descending' })}`);
      expect(names(desc)[0]).toBe('carol');
      expect(names(desc)[1]).toBe('bob');
    });

    it('should default to ascending', async () => {
      const res = await s.api('GET', `/admin/v1/Users${q({ sortBy: 'userName' })}`);
      expect(names(res)).toEqual(['alice', 'bob', 'carol', 'dave']);
    });
  });

  describe('paging', () => {
    it('should page with startIndex and count, reporting totalResults and itemsPerPage', async () => {
      const seen: string[] = [];
      for (let start = 1; start <= 4; start += 3) {
        const res = await s.api('GET', `/admin/v1/Users${q({ sortBy: 'userName', startIndex: start, count: 3 })}`);
        expectStatus(res, 200);
        expect(res.body.schemas).toEqual([LIST]);
        expect(res.body.totalResults).toBe(4);
        expect(res.body.startIndex).toBe(start);
        expect(res.body.itemsPerPage).toBe(res.body.Resources.length);
        seen.push(...names(res));
      }
      expect(seen).toEqual(['alice', 'bob', 'carol', 'dave']);
    });

    it.each([
      ['startIndex past the end', { startIndex: 5, count: 10 }, 5, []],
      ['count=0 (only the total)', { count: 0 }, 1, []],
      ['startIndex=0 (read as 1)', { startIndex: 0, count: 1, sortBy: 'userName' }, 1, ['alice']],
      ['a negative startIndex (read as 1)', { startIndex: -3, count: 1, sortBy: 'userName' }, 1, ['alice']],
      ['a negative count (read as 0)', { count: -1 }, 1, []],
      ['the OCI SDK "limit" instead of count', { limit: 1, sortBy: 'userName', sortOrder: 'descending' }, 1, ['dave']],
    ])('should handle %s', async (_case, params, startIndex, expected) => {
      const res = await s.api('GET', `/admin/v1/Users${q(params as Record<string, string | number>)}`);
      expectStatus(res, 200);
      expect(res.body.totalResults).toBe(4);
      expect(res.body.startIndex).toBe(startIndex);
      expect(names(res)).toEqual(expected);
      expect(res.body.itemsPerPage).toBe(expected.length);
    });
  });

  describe('projection', () => {
    it('should return only always-returned attributes plus the requested ones with attributes=', async () => {
      const res = await get(s, U.alice.id, '?attributes=name.givenName,emails.value');
      // `schemas` lists the extensions the response carries (RFC 7643 §3), not all the user has.
      expect(res.body).toEqual({ schemas: [USER_SCHEMA], id: U.alice.id, userName: 'alice@example.com', name: { givenName: 'Alice' }, emails: [{ value: 'alice@example.com' }, { value: 'alice@home.org' }] });
    });

    it('should select an extension attribute by URN', async () => {
      const res = await get(s, U.alice.id, `?attributes=${ENTERPRISE}:employeeNumber`);
      expect(res.body).toEqual({ schemas: [USER_SCHEMA, ENTERPRISE], id: U.alice.id, userName: 'alice@example.com', [ENTERPRISE]: { employeeNumber: '1001' } });
    });

    it('should leave out excludedAttributes but never always-returned ones', async () => {
      const res = await get(s, U.alice.id, `?excludedAttributes=emails,name.familyName,userName,id,${ENTERPRISE}:department`);
      expect(res.body.emails).toBeUndefined();
      expect(res.body.name).toEqual({ givenName: 'Alice' });
      expect(res.body.userName).toBe('alice@example.com');
      expect(res.body.id).toBe(U.alice.id);
      expect(res.body[ENTERPRISE]).toEqual({ employeeNumber: '1001' });
      expect(res.body.title).toBe('Engineer');
      expect(res.body.meta.version).toBe('W/"1"');
    });

    it('should return groups only on request', async () => {
      const plain = await get(s, U.alice.id);
      expect(plain.body.groups).toBeUndefined();
      const expected = [{ value: groupId, $ref: `${s.publicUrl}/admin/v1/Groups/${groupId}`, display: 'Engineers', type: 'direct' }];
      for (const query of ['?attributes=groups', '?attributeSets=request', '?attributeSets=all', '?attributeSets=default,request']) {
        const res = await get(s, U.alice.id, query);
        expect([query, res.body.groups]).toEqual([query, expected]);
      }
      const listed = await s.api('GET', `/admin/v1/Users${q({ filter: 'groups pr', attributes: 'groups', sortBy: 'userName' })}`);
      expect(listed.body.Resources.map((r: { groups: unknown }) => r.groups)).toEqual([expected, expected]);
      expect((await s.api('GET', `/admin/v1/Users${q({ filter: 'groups pr' })}`)).body.Resources.every((r: { groups?: unknown }) => r.groups === undefined)).toBe(true);
      expect((await get(s, U.bob.id, '?attributes=groups')).body.groups).toBeUndefined();
    });

    it.each([
      ['always', { id: true, userName: true, title: false, meta: false, groups: false }],
      ['default', { id: true, userName: true, title: true, meta: true, groups: false }],
      ['request', { id: true, userName: true, title: false, meta: false, groups: true }],
      ['all', { id: true, userName: true, title: true, meta: true, groups: true }],
      ['never', { id: true, userName: true, title: false, meta: false, groups: false }],
      ['ALL', { id: true, userName: true, title: true, meta: true, groups: true }],
    ])('should apply attributeSets=%s', async (set, present) => {
      const res = await get(s, U.alice.id, `?attributeSets=${set}`);
      expectStatus(res, 200);
      const got = Object.fromEntries(Object.keys(present).map((k) => [k, res.body[k] !== undefined]));
      expect(got).toEqual(present);
      expect(res.body.password).toBeUndefined();
    });

    it('should combine attributeSets with attributes (union)', async () => {
      const res = await get(s, U.alice.id, '?attributeSets=always&attributes=title');
      expect(res.body).toEqual({ schemas: [USER_SCHEMA], id: U.alice.id, userName: 'alice@example.com', title: 'Engineer' });
    });

    it('should project list and create responses too', async () => {
      const listed = await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "bob@example.com"', attributes: 'active' })}`);
      expect(listed.body.Resources).toEqual([{ schemas: [USER_SCHEMA], id: U.bob.id, userName: 'bob@example.com', active: false }]);
      const created = await s.api('POST', '/admin/v1/Users?attributes=userName', user('projected.create'));
      expectStatus(created, 201);
      expect(Object.keys(created.body).sort()).toEqual(['id', 'schemas', 'userName']);
      expect(created.headers.get('location')).toMatch(/\/admin\/v1\/Users\/[0-9a-f]{32}$/);
      expect(created.headers.get('etag')).toBe('W/"1"');
      await s.api('DELETE', `/admin/v1/Users/${created.body.id}`);
    });
  });
});

describe('UsersController page size', () => {
  let s: TestServer;
  const TOTAL = 1003;
  beforeAll(async () => {
    s = await TestServer.start();
    const token = await s.token();
    for (let i = 0; i < TOTAL; i += 50) {
      const batch = [];
      for (let j = i; j < Math.min(TOTAL, i + 50); j++) batch.push(s.api('POST', '/admin/v1/Users', user(`bulk${String(j).padStart(4, '0')}`), { token }));
      for (const res of await Promise.all(batch)) expectStatus(res, 201);
    }
  });
  afterAll(() => s.stop());

  it.each([
    ['GET with count=5000', () => s.api('GET', '/admin/v1/Users?count=5000&attributes=userName')],
    ['GET with count=1001', () => s.api('GET', '/admin/v1/Users?count=1001&attributes=userName')],
    ['POST .search with count=2000', () => s.api('POST', '/admin/v1/Users/.search', { count: 2000, attributes: ['userName'] })],
  ])('should clamp %s to 1000 results', async (_case, call) => {
    const res = await call();
    expectStatus(res, 200);
    expect(res.body.totalResults).toBe(TOTAL);
    expect(res.body.itemsPerPage).toBe(1000);
    expect(res.body.Resources).toHaveLength(1000);
  });

  it('should return the rest on the next page and default to 100 per page', async () => {
    const rest = await s.api('GET', '/admin/v1/Users?count=1000&startIndex=1001&sortBy=userName&attributes=userName');
    expect(rest.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(['bulk1000', 'bulk1001', 'bulk1002']);
    const first = await s.api('GET', '/admin/v1/Users?attributes=userName');
    expect(first.body.itemsPerPage).toBe(100);
  });
});

describe('UsersController PATCH', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  const base = () =>
    user(`patch.${Math.random().toString(36).slice(2, 10)}`, {
      schemas: [USER_SCHEMA, ENTERPRISE],
      name: { givenName: 'Pat', familyName: 'Cher', middleName: 'M' },
      nickName: 'Patty',
      emails: [
        { value: 'pat@work.example', type: 'work', primary: true },
        { value: 'pat@home.example', type: 'home' },
      ],
      phoneNumbers: [{ value: '+1 555 0101', type: 'mobile' }],
      [ENTERPRISE]: { employeeNumber: '42', department: 'Ops' },
    });

  type Doc = Record<string, any>;
  const CASES: [string, Record<string, unknown>[], (before: Doc) => Doc][] = [
    ['add a single-valued attribute with a path', [{ op: 'add', path: 'title', value: 'Boss' }], (b) => ({ ...b, title: 'Boss' })],
    ['replace a single-valued attribute with a path', [{ op: 'replace', path: 'nickName', value: 'Pat' }], (b) => ({ ...b, nickName: 'Pat' })],
    ['remove a single-valued attribute', [{ op: 'remove', path: 'nickName' }], ({ nickName: _n, ...rest }) => rest],
    ['replace a sub-attribute', [{ op: 'replace', path: 'name.givenName', value: 'Patricia' }], (b) => ({ ...b, name: { ...b.name, givenName: 'Patricia' } })],
    ['remove a sub-attribute', [{ op: 'remove', path: 'name.middleName' }], (b) => ({ ...b, name: { givenName: 'Pat', familyName: 'Cher' } })],
    ['add to a complex attribute, merging sub-attributes', [{ op: 'add', path: 'name', value: { honorificPrefix: 'Dr.' } }], (b) => ({ ...b, name: { ...b.name, honorificPrefix: 'Dr.' } })],
    // RFC 7644 §3.5.2.3: sub-attributes not given in a replace of a complex attribute are left unchanged.
    ['replace a complex attribute, keeping the sub-attributes not given', [{ op: 'replace', path: 'name', value: { givenName: 'P.' } }], (b) => ({ ...b, name: { ...b.name, givenName: 'P.' } })],
    ['add values to a multi-valued attribute', [{ op: 'add', path: 'emails', value: [{ value: 'pat@other.example', type: 'other' }] }], (b) => ({ ...b, emails: [...b.emails, { value: 'pat@other.example', type: 'other' }] })],
    [
      'add a primary value, which makes the others non-primary',
      [{ op: 'add', path: 'emails', value: [{ value: 'pat@new.example', type: 'other', primary: true }] }],
      (b) => ({ ...b, emails: [{ ...b.emails[0], primary: false }, b.emails[1], { value: 'pat@new.example', type: 'other', primary: true }] }),
    ],
    ['add a value already present (no duplicate)', [{ op: 'add', path: 'emails', value: [{ value: 'pat@home.example', type: 'home' }] }], (b) => b],
    ['replace a whole multi-valued attribute', [{ op: 'replace', path: 'emails', value: [{ value: 'only@example.com', type: 'work', primary: true }] }], (b) => ({ ...b, emails: [{ value: 'only@example.com', type: 'work', primary: true }] })],
    ['remove a whole multi-valued attribute', [{ op: 'remove', path: 'phoneNumbers' }], ({ phoneNumbers: _p, ...rest }) => rest],
    ['replace the value selected by a value filter', [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'pat@new-work.example' }], (b) => ({ ...b, emails: [{ ...b.emails[0], value: 'pat@new-work.example' }, b.emails[1]] })],
    ['add through a value filter matching nothing (creates the value)', [{ op: 'add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555 0199' }], (b) => ({ ...b, phoneNumbers: [...b.phoneNumbers, { type: 'work', value: '+1 555 0199' }] })],
    ['remove the values selected by a value filter', [{ op: 'remove', path: 'emails[type eq "home"]' }], (b) => ({ ...b, emails: [b.emails[0]] })],
    ['remove a sub-attribute of the values selected by a value filter', [{ op: 'remove', path: 'emails[type eq "home"].type' }], (b) => ({ ...b, emails: [b.emails[0], { value: 'pat@home.example' }] })],
    ['replace whole values selected by a value filter', [{ op: 'replace', path: 'emails[value ew "home.example"]', value: { value: 'pat@cottage.example', type: 'home' } }], (b) => ({ ...b, emails: [b.emails[0], { value: 'pat@cottage.example', type: 'home' }] })],
    ['replace an extension attribute by URN path', [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Finance' }], (b) => ({ ...b, [ENTERPRISE]: { ...b[ENTERPRISE], department: 'Finance' } })],
    ['remove an extension attribute by URN path', [{ op: 'remove', path: `${ENTERPRISE}:employeeNumber` }], (b) => ({ ...b, [ENTERPRISE]: { department: 'Ops' } })],
    ['add without path (several attributes)', [{ op: 'add', value: { title: 'Boss', emails: [{ value: 'pat@extra.example', type: 'other' }] } }], (b) => ({ ...b, title: 'Boss', emails: [...b.emails, { value: 'pat@extra.example', type: 'other' }] })],
    [
      'replace without path, with an extension object',
      [{ op: 'replace', value: { nickName: 'P', [ENTERPRISE]: { department: 'Legal' } } }],
      (b) => ({ ...b, nickName: 'P', [ENTERPRISE]: { ...b[ENTERPRISE], department: 'Legal' } }),
    ],
    ['replace without path, ignoring echoed id and meta', [{ op: 'replace', value: { id: 'x', meta: { version: 'W/"9"' }, title: 'T' } }], (b) => ({ ...b, title: 'T' })],
    ['remove a value of a multi-valued attribute by value', [{ op: 'remove', path: 'emails', value: [{ value: 'pat@home.example', type: 'home' }] }], (b) => ({ ...b, emails: [b.emails[0]] })],
    ['apply several operations in order', [{ op: 'add', path: 'title', value: 'A' }, { op: 'replace', path: 'title', value: 'B' }, { op: 'remove', path: 'nickName' }], ({ nickName: _n, ...rest }) => ({ ...rest, title: 'B' })],
    ['accept an op in upper case', [{ op: 'REPLACE', path: 'title', value: 'Upper' }], (b) => ({ ...b, title: 'Upper' })],
  ];

  /** The writable part of a response, to compare with what the case expects. */
  /** What a client writes: without what the server derives (id, meta, the IDCS common attributes) and the Oracle extension. */
  const writable = (d: Doc): Doc => {
    const { id: _id, meta: _meta, schemas: _schemas, [ORACLE]: _o, ocid: _oc, domainOcid: _d, idcsCreatedBy: _c, idcsLastModifiedBy: _l, ...rest } = d;
    return rest;
  };

  it.each(CASES)('should %s', async (_case, ops, expectedFrom) => {
    const created = await create(s, base());
    const expected = expectedFrom(writable(created));
    const res = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch(...ops));
    expectStatus(res, 200);
    expect(writable(res.body)).toEqual(expected);
    const changed = JSON.stringify(expected) !== JSON.stringify(writable(created));
    expect(res.body.meta.version).toBe(changed ? 'W/"2"' : 'W/"1"');
    expect(res.headers.get('etag')).toBe(res.body.meta.version);
    const again = await get(s, created.id);
    expect(again.body).toEqual(res.body);
    const row = await storedRow(s, created.id);
    expect(row!.version).toBe(changed ? 2 : 1);
    expect(writable(JSON.parse(row!.data))).toEqual(expected);
    // Filters see the new state too (index rows rewritten with the document).
    for (const e of (expected.emails as { value: string }[] | undefined) ?? []) {
      const found = await s.api('GET', `/admin/v1/Users${q({ filter: `emails.value eq "${e.value}" and id eq "${created.id}"` })}`);
      expect([e.value, found.body.totalResults]).toEqual([e.value, 1]);
    }
    for (const gone of (writable(created).emails as { value: string }[]).filter((e) => !((expected.emails as { value: string }[] | undefined) ?? []).some((x) => x.value === e.value))) {
      const found = await s.api('GET', `/admin/v1/Users${q({ filter: `emails.value eq "${gone.value}" and id eq "${created.id}"` })}`);
      expect([gone.value, found.body.totalResults]).toEqual([gone.value, 0]);
    }
  });

  it('should accept a lower-case "operations" key', async () => {
    const created = await create(s, base());
    const res = await s.api('PATCH', `/admin/v1/Users/${created.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], operations: [{ op: 'add', path: 'title', value: 'lower' }] });
    expectStatus(res, 200);
    expect(res.body.title).toBe('lower');
  });

  it('should change the password without returning or echoing it', async () => {
    const created = await create(s, base());
    const res = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: 'password', value: PASSWORD }));
    expectStatus(res, 200);
    expect(res.text).not.toContain(PASSWORD);
    expect(res.body.meta.version).toBe('W/"2"');
    const row = await storedRow(s, created.id);
    expect(row!.password_hash).toMatch(/^scrypt\$/);
    expect(row!.data).not.toContain(PASSWORD);
    const removed = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'remove', path: 'password' }));
    expectStatus(removed, 200);
    expect((await storedRow(s, created.id))!.password_hash).toBeNull();
  });

  it('should answer 404 for an unknown id', async () => {
    expectScimError(await s.api('PATCH', '/admin/v1/Users/0123456789abcdef0123456789abcdef', patch({ op: 'add', path: 'title', value: 'x' })), 404);
  });
});

/**
 * What IDCS scripts and Oracle's Terraform provider send besides RFC 7643: a primary email on every user,
 * emails[].verified / secondary, description, request-only instructions (bypassNotification) and the userState
 * lock, which sign-in honours.
 */
describe('UsersController IDCS attributes', () => {
  const USER_STATE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
  const PRIMARY_EMAIL_NOT_SPECIFIED = 'error.identity.user.primaryEmailNotSpecified';
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s.stop());

  const count = async (userName: string) => (await s.api('GET', `/admin/v1/Users${q({ filter: `userName eq "${userName}"`, count: 0 })}`)).body.totalResults as number;
  const ids = async (filter: string) => (await s.api('GET', `/admin/v1/Users${q({ filter, attributes: 'id' })}`)).body.Resources.map((r: { id: string }) => r.id).sort();

  describe('primary email', () => {
    it.each([
      ['no emails', {}, /A user needs a primary email; send "emails": \[\{"value": .*"primary": true\}\]/],
      ['emails of which none is primary', { emails: [{ value: 'a@example.com', type: 'work' }, { value: 'b@example.com', type: 'home', primary: false }] }, /None of the user's 2 email\(s\) is marked primary/],
    ])('should refuse a user with %s (400 invalidValue, IDCS messageId) and create nothing', async (_case, extra, detail) => {
      const body = { schemas: [USER_SCHEMA], userName: 'no.primary@example.com', name: { familyName: 'Nobody' }, ...extra };
      const res = await s.api('POST', '/admin/v1/Users', body);
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(detail);
      expect(res.body['urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error']).toEqual({ messageId: PRIMARY_EMAIL_NOT_SPECIFIED });
      expect(await count('no.primary@example.com')).toBe(0);
    });

    it('should refuse a PUT or PATCH that takes the primary email away, and keep the user as it was', async () => {
      const created = await create(s, user('keep.primary@example.com', { emails: [{ value: 'keep.primary@example.com', type: 'work', primary: true }, { value: 'home@example.com', type: 'home' }] }));
      const attempts = [
        s.api('PUT', `/admin/v1/Users/${created.id}`, { schemas: [USER_SCHEMA], userName: 'keep.primary@example.com' }),
        s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'remove', path: 'emails' })),
        s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'remove', path: 'emails[primary eq true]' })),
        s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: 'emails[type eq "work"].primary', value: false })),
      ];
      for (const res of await Promise.all(attempts)) {
        expectScimError(res, 400, 'invalidValue');
        expect(res.body['urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error']).toEqual({ messageId: PRIMARY_EMAIL_NOT_SPECIFIED });
      }
      const after = await get(s, created.id);
      expect(after.body).toEqual(created);
      // Moving the primary flag to another address is fine.
      const moved = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: 'emails[type eq "home"].primary', value: true }));
      expectStatus(moved, 200);
      expect(moved.body.emails).toEqual([
        { value: 'keep.primary@example.com', type: 'work', primary: false },
        { value: 'home@example.com', type: 'home', primary: true },
      ]);
    });

    it('should still let a user stored without a primary email (before the rule) be changed, e.g. deactivated', async () => {
      const created = await create(s, user('legacy.user@example.com'));
      const { emails: _e, ...withoutEmails } = JSON.parse((await storedRow(s, created.id))!.data);
      await dbQuery(s, 'UPDATE users SET data = $1 WHERE id = $2', [JSON.stringify(withoutEmails), created.id]);
      await dbQuery(s, 'DELETE FROM user_attribute_values WHERE user_id = $1', [created.id]);
      const res = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: 'active', value: false }));
      expectStatus(res, 200);
      expect(res.body.active).toBe(false);
      expect(res.body.emails).toBeUndefined();
    });
  });

  describe('emails[].verified, emails[].secondary and description', () => {
    it('should store, return and filter on them', async () => {
      const created = await create(
        s,
        user('flags@example.com', {
          description: 'Night shift lead',
          emails: [
            { value: 'flags@example.com', type: 'work', primary: true, verified: true },
            { value: 'flags@home.example', type: 'home', secondary: true },
          ],
        }),
      );
      const other = await create(s, user('noflags@example.com', { description: 'Day shift' }));
      expect(created.description).toBe('Night shift lead');
      expect(created.emails).toEqual([
        { value: 'flags@example.com', type: 'work', primary: true, verified: true },
        { value: 'flags@home.example', type: 'home', secondary: true },
      ]);
      expect(await ids('emails.verified eq true')).toEqual([created.id]);
      expect(await ids('emails[secondary eq true and value eq "flags@home.example"]')).toEqual([created.id]);
      expect(await ids('emails[secondary eq true and type eq "work"]')).toEqual([]);
      expect(await ids('description sw "night"')).toEqual([created.id]);
      // Changing the flags changes what the filters find.
      expectStatus(await s.api('PATCH', `/admin/v1/Users/${other.id}`, patch({ op: 'replace', path: 'emails[type eq "work"].verified', value: true })), 200);
      expect(await ids('emails.verified eq true')).toEqual([created.id, other.id].sort());
    });

    it('should refuse two secondary emails (400 invalidValue)', async () => {
      const res = await s.api('POST', '/admin/v1/Users', user('two.secondary@example.com', {
        emails: [{ value: 'two.secondary@example.com', primary: true }, { value: 'a@example.com', secondary: true }, { value: 'b@example.com', secondary: true }],
      }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toBe('At most one "emails" value may be secondary (got 2)');
      expect(await count('two.secondary@example.com')).toBe(0);
    });
  });

  describe('bypassNotification and other request-only instructions', () => {
    it('should accept them on create, PUT and PATCH, and never store or return them', async () => {
      const ext = { bypassNotification: true, userFlowControlledByExternalClient: false, isGroupMembershipNormalized: true };
      const created = await create(s, user('bypass@example.com', { schemas: [USER_SCHEMA, ORACLE], [ORACLE]: ext }));
      expect(created[ORACLE]).toEqual({ isFederatedUser: false });
      const asked = await get(s, created.id, `?attributeSets=all&attributes=${encodeURIComponent(`${ORACLE}:bypassNotification`)}`);
      expect(asked.body[ORACLE]).toEqual({ isFederatedUser: false, creationMechanism: 'api' });
      expect((await storedRow(s, created.id))!.data).not.toMatch(/bypassNotification|userFlowControlledByExternalClient|isGroupMembershipNormalized/);
      // A PUT or PATCH that carries one changes nothing else, so no new version.
      const put = await s.api('PUT', `/admin/v1/Users/${created.id}`, { ...asked.body, [ORACLE]: { ...asked.body[ORACLE], bypassNotification: false } });
      expectStatus(put, 200);
      const patched = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'add', path: `${ORACLE}:bypassNotification`, value: true }));
      expectStatus(patched, 200);
      expect(patched.body.meta.version).toBe('W/"1"');
      expect((await storedRow(s, created.id))!.data).not.toContain('bypassNotification');
    });
  });

  describe('userState: locked', () => {
    it('should lock with the server\'s lockDate and reason, keep the lock through a PUT that leaves it out, and unlock', async () => {
      const created = await create(s, user('lock.me@example.com'));
      const before = Date.now();
      const locked = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${USER_STATE}:locked`, value: { on: true, reason: 0, lockDate: '2001-01-01T00:00:00Z' } }));
      expectStatus(locked, 200);
      const lock = locked.body[USER_STATE].locked;
      expect(lock).toEqual({ on: true, reason: 1, lockDate: expect.any(String) });
      expect(new Date(lock.lockDate).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await ids(`${USER_STATE}:locked.on eq true`)).toEqual([created.id]);

      // Okta and Entra PUT users back without Oracle's extensions: that must not unlock anyone.
      const put = await s.api('PUT', `/admin/v1/Users/${created.id}`, user('lock.me@example.com', { title: 'Still locked' }));
      expectStatus(put, 200);
      expect(put.body[USER_STATE]).toEqual({ locked: lock });
      // A PATCH that touches the lock but keeps it on keeps its date.
      const again = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${USER_STATE}:locked.on`, value: true }));
      expect(again.body[USER_STATE].locked).toEqual(lock);

      const unlocked = await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${USER_STATE}:locked.on`, value: false }));
      expectStatus(unlocked, 200);
      expect(unlocked.body[USER_STATE]).toEqual({ locked: { on: false } });
      expect(await ids(`${USER_STATE}:locked.on eq true`)).toEqual([]);
    });

    it.each([
      ['maxConcurrentSessions 0', { maxConcurrentSessions: 0 }, /maxConcurrentSessions" must be at least 1/],
      ['locked.on "maybe"', { locked: { on: 'maybe' } }, /locked.on" must be a boolean/],
      ['an unknown attribute', { lockedOut: true }, /Unknown attribute "lockedOut"/],
    ])('should refuse %s (400) and create nothing', async (_case, state, detail) => {
      const res = await s.api('POST', '/admin/v1/Users', user('bad.state@example.com', { schemas: [USER_SCHEMA, USER_STATE], [USER_STATE]: state }));
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(detail);
      expect(await count('bad.state@example.com')).toBe(0);
    });
  });
});

/** Sign-in (SAML JIT) honours the lock, and creates no user without a primary email. */
describe('UsersController rules at sign-in', () => {
  const USER_STATE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User';
  let s: TestServer;
  let idpId: string;
  let n = 0;
  beforeAll(async () => {
    s = await TestServer.start();
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'Lock IdP',
      partnerProviderId: 'https://lock.idp.test',
      idpSsoUrl: 'https://lock.idp.test/sso',
      signingCertificate: (await makeKeyPair('users-lock-idp')).certificateB64,
    }));
  });
  afterAll(() => s.stop());

  async function signIn(email: string, attributes: Record<string, string[]>) {
    const config = (await s.app.get(IdentityProvidersService).signInConfiguration({ id: idpId }))!.jit;
    return s.app.get(JitLoginService).signIn({
      config,
      assertion: { nameId: email, nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', issuer: 'https://lock.idp.test', attributes },
      correlationId: `users-sign-in-${++n}`,
    });
  }
  const person = (email: string) => ({ firstName: ['Lo'], familyName: ['Cked'], email: [email] });

  it('should refuse a locked user and let them in once unlocked', async () => {
    const created = await create(s, user('locked.signin@example.com'));
    expectStatus(await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'add', path: `${USER_STATE}:locked`, value: { on: true } })), 200);
    const refused = await signIn('locked.signin@example.com', person('locked.signin@example.com'));
    expect(refused).toMatchObject({ ok: false, reason: 'user_locked' });
    expect((await get(s, created.id)).body.meta.version).toBe('W/"2"');
    expectStatus(await s.api('PATCH', `/admin/v1/Users/${created.id}`, patch({ op: 'replace', path: `${USER_STATE}:locked.on`, value: false })), 200);
    expect(await signIn('locked.signin@example.com', person('locked.signin@example.com'))).toMatchObject({ ok: true, userId: created.id });
  });

  it('should create no user when the IdP asserts no email, and say why', async () => {
    const r = await signIn('no.email@example.com', { firstName: ['No'], familyName: ['Email'] });
    expect(r).toMatchObject({ ok: false, reason: 'mandatory_user_attribute_missing', detail: expect.stringContaining('a primary email') });
    expect((await s.api('GET', `/admin/v1/Users${q({ filter: 'userName eq "no.email@example.com"' })}`)).body.totalResults).toBe(0);
  });

  it('should not let an update from the assertion empty the primary email', async () => {
    const created = await create(s, user('keeps.email@example.com'));
    const r = await signIn('keeps.email@example.com', { firstName: ['Keeps'], familyName: ['Email'], email: [''] });
    expect(r).toMatchObject({ ok: false, reason: 'mandatory_user_attribute_missing' });
    expect((await get(s, created.id)).body).toEqual(created);
  });
});
