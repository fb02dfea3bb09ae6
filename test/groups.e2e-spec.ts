import { MAX_MEMBERS_PER_RESPONSE } from '@app/groups';
import { MAX_BODY_BYTES } from '@app/scim';
import { seedUsers } from './support/seed';
import { ApiResponse, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

const ORACLE_GROUP = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group';

function group(displayName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [GROUP_SCHEMA], displayName, ...extra };
}

const refs = (...ids: string[]) => ids.map((value) => ({ value, type: 'User' }));
const sorted = (xs: string[]) => [...xs].sort();
const q = (filter: string) => encodeURIComponent(filter);

describe('Groups (/admin/v1/Groups)', () => {
  let s: TestServer;
  /** Users created through the API, by short name. */
  const u: Record<string, { id: string; userName: string; location: string }> = {};

  beforeAll(async () => {
    s = await TestServer.start();
    for (const [key, extra] of [
      ['alice', { displayName: 'Alice Liddell' }],
      ['bob', {}],
      ['carol', { displayName: 'Carol Danvers' }],
      ['dave', {}],
    ] as const) {
      const res = await s.api('POST', '/admin/v1/Users', user(`${key}@example.com`, extra));
      expectStatus(res, 201);
      u[key] = { id: res.body.id, userName: res.body.userName, location: res.body.meta.location };
    }
  });
  afterAll(() => s.stop());

  const create = async (body: Record<string, unknown>, query = ''): Promise<ApiResponse> => s.api('POST', `/admin/v1/Groups${query}`, body);
  const get = (id: string, query = '') => s.api('GET', `/admin/v1/Groups/${id}${query}`);
  const memberIds = async (id: string): Promise<string[]> => {
    const res = await get(id, '?attributes=members');
    expectStatus(res, 200);
    return sorted((res.body.members ?? []).map((m: { value: string }) => m.value));
  };
  const groupCount = async (): Promise<number> => (await s.api('GET', '/admin/v1/Groups?count=0')).body.totalResults;
  const createOk = async (displayName: string, extra: Record<string, unknown> = {}): Promise<ApiResponse> => {
    const res = await create(group(displayName, extra));
    expectStatus(res, 201);
    return res;
  };

  describe('POST /Groups', () => {
    it('should create a group: 201, Location = meta.location, ETag = meta.version, no members in the default response', async () => {
      const res = await create(group('Engineering', { members: refs(u.alice.id) }));
      expectStatus(res, 201);
      expect(res.body.id).toMatch(/^[0-9a-f]{32}$/);
      expect(res.body.displayName).toBe('Engineering');
      expect(res.body.schemas).toContain(GROUP_SCHEMA);
      expect(res.body.meta).toMatchObject({ resourceType: 'Group', location: `${s.publicUrl}/admin/v1/Groups/${res.body.id}`, version: 'W/"1"' });
      expect(res.headers.get('location')).toBe(res.body.meta.location);
      expect(res.headers.get('etag')).toBe(res.body.meta.version);
      expect(res.body).not.toHaveProperty('members');
      expect(await memberIds(res.body.id)).toEqual([u.alice.id]);
    });

    it('should return the members in the create response when asked with attributes=members', async () => {
      const res = await create(group('Returned On Request', { members: refs(u.bob.id) }), '?attributes=members');
      expectStatus(res, 201);
      expect(res.body.members).toEqual([{ value: u.bob.id, type: 'User', $ref: u.bob.location, display: u.bob.userName }]);
    });

    it.each([
      ['no displayName', { schemas: [GROUP_SCHEMA] }],
      ['an empty displayName', group('')],
      ['a null displayName', group(null as unknown as string)],
    ])('should refuse a group with %s (400) and create nothing', async (_case, body) => {
      const before = await groupCount();
      const res = await create(body);
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('displayName');
      expect(await groupCount()).toBe(before);
    });

    it('should refuse a displayName that differs from an existing one only in case (409 uniqueness) and keep the first', async () => {
      const first = await createOk('Finance Team');
      const before = await groupCount();
      for (const name of ['Finance Team', 'FINANCE TEAM', 'finance team']) {
        expectScimError(await create(group(name)), 409, 'uniqueness');
      }
      expect(await groupCount()).toBe(before);
      const found = await s.api('GET', `/admin/v1/Groups?filter=${q('displayName eq "finance team"')}`);
      expect(found.body.Resources.map((g: { id: string }) => g.id)).toEqual([first.body.id]);
      expect(found.body.Resources[0].displayName).toBe('Finance Team');
    });

    it.each([
      ['an unknown user id', (ids: string[]) => [...refs(ids[0]), { value: '0123456789abcdef0123456789abcdef', type: 'User' }], 'invalidValue'],
      ['a member without value', (ids: string[]) => [{ type: 'User', display: 'x' }, ...refs(ids[0])], 'invalidValue'],
      ['a member of type Group', (ids: string[]) => [{ value: ids[0], type: 'Group' }], 'invalidValue'],
    ])('should refuse members with %s (400) and write neither the group nor any membership', async (_case, members, scimType) => {
      const before = await groupCount();
      const res = await create(group('Never Created', { members: members([u.dave.id]) }));
      expectScimError(res, 400, scimType);
      expect(await groupCount()).toBe(before);
      const byName = await s.api('GET', `/admin/v1/Groups?filter=${q('displayName eq "Never Created"')}`);
      expect(byName.body.totalResults).toBe(0);
      const dave = await s.api('GET', `/admin/v1/Users/${u.dave.id}?attributes=groups`);
      expect(dave.body.groups).toBeUndefined();
    });

    it('should name the unknown member id and use Oracle\'s invalidReferenceResource messageId', async () => {
      const res = await create(group('Bad Reference', { members: refs('ffffffffffffffffffffffffffffffff') }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toContain('ffffffffffffffffffffffffffffffff');
      expect(res.body['urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error']).toEqual({ messageId: 'error.common.validation.invalidReferenceResource' });
    });

    it('should store the Oracle group extension description and set creationMechanism "api" (returned on request only)', async () => {
      const res = await create({ schemas: [GROUP_SCHEMA, ORACLE_GROUP], displayName: 'With Description', [ORACLE_GROUP]: { description: 'People who describe' } });
      expectStatus(res, 201);
      expect(res.body.schemas).toEqual([GROUP_SCHEMA, ORACLE_GROUP]);
      expect(res.body[ORACLE_GROUP]).toEqual({ description: 'People who describe' });
      const asked = await get(res.body.id, `?attributes=${encodeURIComponent(`${ORACLE_GROUP}:creationMechanism`)}`);
      expect(asked.body[ORACLE_GROUP]).toEqual({ creationMechanism: 'api' });
      const full = await get(res.body.id, '?attributeSets=all');
      expect(full.body[ORACLE_GROUP]).toEqual({ description: 'People who describe', creationMechanism: 'api' });
    });

    it.each([
      ['a NUL character', 'Nul\u0000Name'],
      ['an unpaired high surrogate', 'Half\ud800Pair'],
      ['an unpaired low surrogate', 'Half\udc00Pair'],
    ])('should refuse a displayName with %s (400 on every store) and create nothing', async (_case, displayName) => {
      const before = await groupCount();
      expectScimError(await create(group(displayName)), 400, 'invalidValue');
      expectScimError(await create({ schemas: [GROUP_SCHEMA, ORACLE_GROUP], displayName: 'Clean', [ORACLE_GROUP]: { description: displayName } }), 400, 'invalidValue');
      expect(await groupCount()).toBe(before);
      // Filters that read the JSON documents still work (PostgreSQL's jsonb would refuse such text).
      expectStatus(await s.api('GET', `/admin/v1/Groups?filter=${q(`${ORACLE_GROUP}:description pr`)}`), 200);
    });

    it('should refuse an unknown attribute rather than drop it silently', async () => {
      const before = await groupCount();
      expectScimError(await create(group('Typo', { dispalyName: 'x' })), 400, 'invalidSyntax');
      expectScimError(await create({ schemas: [GROUP_SCHEMA, ORACLE_GROUP], displayName: 'Typo', [ORACLE_GROUP]: { descripton: 'x' } }), 400, 'invalidSyntax');
      expect(await groupCount()).toBe(before);
    });
  });

  describe('GET /Groups/{id}', () => {
    let gid: string;
    beforeAll(async () => {
      gid = (await createOk('Readers', { members: refs(u.alice.id, u.bob.id, u.carol.id, u.dave.id) })).body.id;
    });

    it('should leave members out unless they are requested (IDCS: returned "request")', async () => {
      for (const query of ['', '?attributes=displayName', '?attributeSets=default', '?excludedAttributes=externalId']) {
        const res = await get(gid, query);
        expectStatus(res, 200);
        expect({ query, members: res.body.members }).toEqual({ query, members: undefined });
        expect(res.body.displayName).toBe('Readers');
      }
    });

    it('should return every member with value, type "User", $ref and display when attributes=members', async () => {
      const res = await get(gid, '?attributes=members');
      expectStatus(res, 200);
      expect(res.headers.get('etag')).toMatch(/^W\/"\d+"$/);
      expect(res.body.displayName).toBe('Readers'); // returned "always"
      const byId = new Map(res.body.members.map((m: { value: string }) => [m.value, m]));
      expect(byId.size).toBe(4);
      for (const [key, display] of [
        ['alice', 'Alice Liddell'],
        ['bob', 'bob@example.com'],
        ['carol', 'Carol Danvers'],
        ['dave', 'dave@example.com'],
      ] as const) {
        expect(byId.get(u[key].id)).toEqual({ value: u[key].id, type: 'User', $ref: u[key].location, display });
      }
    });

    it('should return only the named sub-attribute for attributes=members.value', async () => {
      const res = await get(gid, '?attributes=members.value');
      expectStatus(res, 200);
      expect(sorted(res.body.members.map((m: Record<string, unknown>) => JSON.stringify(m)))).toEqual(
        sorted([u.alice.id, u.bob.id, u.carol.id, u.dave.id].map((value) => JSON.stringify({ value }))),
      );
    });

    it('should return members with attributeSets=request or all too', async () => {
      for (const query of ['?attributeSets=request', '?attributeSets=all']) {
        expect(((await get(gid, query)).body.members ?? []).length).toBe(4);
      }
    });

    it.each([
      [1, 2, [0, 1]],
      [3, 10, [2, 3]],
      [2, 1, [1]],
      [4, 1, [3]],
      [5, 10, []],
      [1, 0, []],
    ])('should page members with attributes=members[startIndex=%i%26count=%i]', async (startIndex, count, expected) => {
      const all = (await get(gid, '?attributes=members')).body.members.map((m: { value: string }) => m.value);
      const res = await get(gid, `?attributes=members[startIndex=${startIndex}%26count=${count}]`);
      expectStatus(res, 200);
      expect((res.body.members ?? []).map((m: { value: string }) => m.value)).toEqual(expected.map((i) => all[i]));
    });

    it.each(['members[startIndex=0%26count=10]', 'members[startIndex=1%26count=-1]', `members[startIndex=1%26count=${MAX_MEMBERS_PER_RESPONSE + 1}]`, 'members[startIndex=x]'])(
      'should refuse the member paging %s (400)',
      async (attributes) => {
        expectScimError(await get(gid, `?attributes=${attributes}`), 400);
      },
    );

    it('should answer 404 with a SCIM error for an unknown id', async () => {
      expectScimError(await get('0123456789abcdef0123456789abcdef'), 404);
    });

    it('should answer 400 for an id holding a NUL character, on every store', async () => {
      expectScimError(await get('%00'), 400, 'invalidValue');
      expectScimError(await get(`${gid}%00`), 400, 'invalidValue');
      expectScimError(await s.api('DELETE', '/admin/v1/Groups/%00'), 400, 'invalidValue');
      expectStatus(await get(gid), 200);
    });
  });

  describe('GET /Groups?filter=…', () => {
    const g: Record<string, string> = {};
    let erin: string;
    let frank: string;
    beforeAll(async () => {
      erin = (await s.api('POST', '/admin/v1/Users', user('erin@example.com'))).body.id;
      frank = (await s.api('POST', '/admin/v1/Users', user('frank@example.com'))).body.id;
      g.ops = (await createOk('Filter Ops', { externalId: 'ext-ops', members: refs(erin) })).body.id;
      g.dev = (await createOk('Filter Dev', { externalId: 'EXT-DEV', members: refs(erin, frank) })).body.id;
      g.empty = (await createOk('Filter Empty', { externalId: 'ext-empty' })).body.id;
    });

    const cases: [string, () => string, () => string[]][] = [
      ['displayName eq (case-insensitive)', () => 'displayName eq "FILTER OPS"', () => [g.ops]],
      ['displayName sw', () => 'displayName sw "filter "', () => [g.ops, g.dev, g.empty]],
      ['members.value eq', () => `members.value eq "${frank}"`, () => [g.dev]],
      ['members.value eq (two groups)', () => `members.value eq "${erin}"`, () => [g.ops, g.dev]],
      ['members[value eq]', () => `members[value eq "${erin}"]`, () => [g.ops, g.dev]],
      ['members eq (means members.value)', () => `members eq "${frank}"`, () => [g.dev]],
      ['externalId eq (case-exact)', () => 'externalId eq "EXT-DEV"', () => [g.dev]],
      ['externalId eq with another case', () => 'externalId eq "ext-dev"', () => []],
      ['not members pr within the set', () => 'displayName sw "Filter" and not (members pr)', () => [g.empty]],
      ['or of externalIds', () => 'externalId eq "ext-ops" or externalId eq "ext-empty"', () => [g.ops, g.empty]],
    ];

    it.each(cases)('should filter by %s', async (_name, filter, expected) => {
      const res = await s.api('GET', `/admin/v1/Groups?filter=${q(filter())}`);
      expectStatus(res, 200);
      expect(sorted(res.body.Resources.map((r: { id: string }) => r.id))).toEqual(sorted(expected()));
      expect(res.body.totalResults).toBe(expected().length);
      for (const r of res.body.Resources) expect(r.members).toBeUndefined();
    });

    it.each([
      ['displayName', 'ascending'],
      ['displayName', 'descending'],
      ['id', 'ascending'],
      ['id', 'descending'],
      ['meta.created', 'ascending'],
      ['meta.lastModified', 'descending'],
      ['externalId', 'ascending'],
    ])('should sort by %s %s and still return whole resources', async (sortBy, sortOrder) => {
      const res = await s.api('GET', `/admin/v1/Groups?filter=${q('displayName sw "filter "')}&sortBy=${sortBy}&sortOrder=${sortOrder}`);
      expectStatus(res, 200);
      expect(res.body.totalResults).toBe(3);
      expect(res.body.Resources).toHaveLength(3);
      for (const r of res.body.Resources) {
        expect(r.id).toMatch(/^[0-9a-f]{32}$/);
        expect(r.meta.location).toBe(`${s.publicUrl}/admin/v1/Groups/${r.id}`);
        expect(r.meta.created).toMatch(/^\d{4}-\d{2}-\d{2}T/);
        expect(r.meta.lastModified).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      }
      const key = (r: Record<string, any>): string =>
        sortBy === 'displayName' ? r.displayName.toLowerCase() : sortBy.startsWith('meta.') ? r.meta[sortBy.slice(5)] : r[sortBy];
      const ascending = [...res.body.Resources].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : 1));
      const expected = sortOrder === 'ascending' ? ascending : ascending.reverse();
      expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual(expected.map((r) => r.id));
    });

    it('should give the same results through POST /Groups/.search', async () => {
      const res = await s.api('POST', '/admin/v1/Groups/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: `members[value eq "${frank}"]`,
        attributes: ['members'],
      });
      expectStatus(res, 200);
      expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([g.dev]);
      expect(sorted(res.body.Resources[0].members.map((m: { value: string }) => m.value))).toEqual(sorted([erin, frank]));
    });

    it.each(['members.display eq', 'displayName xx "a"', 'members[value eq "a"', 'nosuch eq "a"'])('should refuse the bad filter "%s" (400 invalidFilter)', async (filter) => {
      expectScimError(await s.api('GET', `/admin/v1/Groups?filter=${q(filter)}`), 400, 'invalidFilter');
    });
  });

  describe('PATCH /Groups/{id}', () => {
    const current = async (id: string) => {
      const res = await get(id, '?attributeSets=all');
      expectStatus(res, 200);
      return res.body;
    };
    const patchOk = async (id: string, body: unknown, headers: Record<string, string> = {}) => {
      const res = await s.api('PATCH', `/admin/v1/Groups/${id}`, body, { headers });
      expectStatus(res, 200);
      expect(res.headers.get('etag')).toBe(res.body.meta.version);
      return res;
    };

    it('should add members, keep the existing ones and bump the version', async () => {
      const id = (await createOk('Patch Add', { members: refs(u.alice.id) })).body.id;
      const res = await patchOk(id, patch({ op: 'add', path: 'members', value: refs(u.bob.id, u.carol.id) }));
      expect(res.body.meta.version).toBe('W/"2"');
      expect(res.body.members).toBeUndefined();
      expect(await memberIds(id)).toEqual(sorted([u.alice.id, u.bob.id, u.carol.id]));
    });

    it('should treat adding an existing member as success without duplicating it', async () => {
      const id = (await createOk('Patch Add Twice', { members: refs(u.alice.id) })).body.id;
      await patchOk(id, patch({ op: 'add', path: 'members', value: refs(u.alice.id, u.alice.id) }));
      const res = await get(id, '?attributes=members');
      expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([u.alice.id]);
    });

    it('should remove exactly the member named by path members[value eq "…"]', async () => {
      const id = (await createOk('Patch Remove Filter', { members: refs(u.alice.id, u.bob.id, u.carol.id) })).body.id;
      await patchOk(id, patch({ op: 'remove', path: `members[value eq "${u.bob.id}"]` }));
      expect(await memberIds(id)).toEqual(sorted([u.alice.id, u.carol.id]));
    });

    it('should remove the members listed in value, Entra ID style ("Remove", path members, value array)', async () => {
      const id = (await createOk('Patch Remove Value', { members: refs(u.alice.id, u.bob.id, u.carol.id) })).body.id;
      await patchOk(id, patch({ op: 'Remove', path: 'members', value: [{ value: u.alice.id }, { value: u.carol.id }] }));
      expect(await memberIds(id)).toEqual([u.bob.id]);
    });

    it('should remove every member for remove with path members and no value', async () => {
      const id = (await createOk('Patch Remove All', { members: refs(u.alice.id, u.bob.id) })).body.id;
      await patchOk(id, patch({ op: 'remove', path: 'members' }));
      expect(await memberIds(id)).toEqual([]);
      expect((await current(id)).displayName).toBe('Patch Remove All');
    });

    it('should make the members exactly the given ones for replace with path members', async () => {
      const id = (await createOk('Patch Replace', { members: refs(u.alice.id, u.bob.id) })).body.id;
      await patchOk(id, patch({ op: 'replace', path: 'members', value: refs(u.carol.id, u.dave.id) }));
      expect(await memberIds(id)).toEqual(sorted([u.carol.id, u.dave.id]));
    });

    it('should replace displayName with a path-less replace and leave the members alone', async () => {
      const id = (await createOk('Patch Pathless', { externalId: 'pl-1', members: refs(u.alice.id) })).body.id;
      const res = await patchOk(id, patch({ op: 'replace', value: { displayName: 'Patch Pathless Renamed', externalId: 'pl-2' } }));
      expect(res.body).toMatchObject({ displayName: 'Patch Pathless Renamed', externalId: 'pl-2' });
      expect(await memberIds(id)).toEqual([u.alice.id]);
      const byOld = await s.api('GET', `/admin/v1/Groups?filter=${q('displayName eq "Patch Pathless"')}`);
      expect(byOld.body.totalResults).toBe(0);
    });

    it.each(['Add', 'ADD', 'aDd'])('should accept the op name "%s" in any case', async (op) => {
      const id = (await createOk(`Patch Case ${[...op].map((c) => c.charCodeAt(0)).join('-')}`)).body.id;
      await patchOk(id, patch({ op, path: 'members', value: refs(u.dave.id) }));
      expect(await memberIds(id)).toEqual([u.dave.id]);
    });

    it('should replace the Oracle extension description by its URN path, and remove it', async () => {
      const id = (await createOk('Patch Description')).body.id;
      const path = `${ORACLE_GROUP}:description`;
      let res = await patchOk(id, patch({ op: 'Replace', path, value: 'Now described' }));
      expect(res.body[ORACLE_GROUP]).toEqual({ description: 'Now described' });
      res = await patchOk(id, patch({ op: 'remove', path }));
      expect(res.body[ORACLE_GROUP]).toBeUndefined();
      expect((await current(id))[ORACLE_GROUP]).toEqual({ creationMechanism: 'api' });
    });

    it('should refuse an add whose path has a value filter (400 invalidPath) and remove no member', async () => {
      const id = (await createOk('Patch Add Filter', { members: refs(u.alice.id, u.bob.id) })).body.id;
      const before = await current(id);
      const res = await s.api('PATCH', `/admin/v1/Groups/${id}`, patch({ op: 'add', path: `members[value eq "${u.alice.id}"]`, value: refs(u.alice.id) }));
      expectScimError(res, 400, 'invalidPath');
      expect(await memberIds(id)).toEqual(sorted([u.alice.id, u.bob.id]));
      expect(await current(id)).toEqual(before);
    });

    it('should replace the members matched by a value filter with the given ones', async () => {
      const id = (await createOk('Patch Replace Filter', { members: refs(u.alice.id, u.bob.id) })).body.id;
      await patchOk(id, patch({ op: 'replace', path: `members[value eq "${u.alice.id}"]`, value: refs(u.carol.id) }));
      expect(await memberIds(id)).toEqual(sorted([u.bob.id, u.carol.id]));
    });

    it('should keep the version when a PATCH changes nothing', async () => {
      const id = (await createOk('Patch Noop')).body.id;
      const res = await patchOk(id, patch({ op: 'replace', path: 'displayName', value: 'Patch Noop' }));
      expect(res.body.meta.version).toBe('W/"1"');
    });

    it('should apply all operations or none: a bad member id leaves displayName and members as they were', async () => {
      const id = (await createOk('Patch Atomic', { members: refs(u.alice.id) })).body.id;
      const before = await current(id);
      const res = await s.api(
        'PATCH',
        `/admin/v1/Groups/${id}`,
        patch(
          { op: 'replace', path: 'displayName', value: 'Patch Atomic Renamed' },
          { op: 'remove', path: 'members' },
          { op: 'add', path: 'members', value: refs(u.bob.id, '0123456789abcdef0123456789abcdef') },
        ),
      );
      expectScimError(res, 400, 'invalidValue');
      expect(await current(id)).toEqual(before);
      expect(await memberIds(id)).toEqual([u.alice.id]);
    });

    it('should refuse renaming to another group\'s name in any case (409) and write nothing', async () => {
      await createOk('Patch Taken');
      const id = (await createOk('Patch Free')).body.id;
      const before = await current(id);
      expectScimError(await s.api('PATCH', `/admin/v1/Groups/${id}`, patch({ op: 'replace', path: 'displayName', value: 'PATCH TAKEN' })), 409, 'uniqueness');
      expect(await current(id)).toEqual(before);
    });

    it.each([
      ['editing a read-only member sub-attribute', { op: 'replace', path: 'members.display', value: 'x' }, 'mutability'],
      ['editing a member value in place', { op: 'replace', path: 'members.value', value: 'x' }, 'invalidPath'],
      ['removing displayName', { op: 'remove', path: 'displayName' }, 'invalidValue'],
      ['a remove without path', { op: 'remove', value: refs('x') }, 'noTarget'],
      ['an unknown op', { op: 'merge', path: 'displayName', value: 'x' }, 'invalidSyntax'],
      ['an unknown attribute', { op: 'add', path: 'owners', value: 'x' }, 'invalidPath'],
      ['a readOnly attribute', { op: 'replace', path: 'id', value: 'x' }, 'mutability'],
    ])('should refuse %s (400 %s) and write nothing', async (_case, op, scimType) => {
      const id = (await createOk(`Patch Refused ${_case}`, { members: refs(u.alice.id) })).body.id;
      const before = await current(id);
      expectScimError(await s.api('PATCH', `/admin/v1/Groups/${id}`, patch(op)), 400, scimType);
      expect(await current(id)).toEqual(before);
      expect(await memberIds(id)).toEqual([u.alice.id]);
    });

    it.each([
      ['add', { op: 'add', path: 'members', value: [{ value: 'a\u0000b' }] }],
      ['Entra-style remove', { op: 'remove', path: 'members', value: [{ value: '\u0000' }] }],
      ['replace', { op: 'replace', path: 'members', value: [{ value: '\u0000' }] }],
    ])('should refuse a member id holding a NUL character in a PATCH %s (400) and keep the members', async (_case, op) => {
      const id = (await createOk(`Patch Nul ${_case}`, { members: refs(u.alice.id) })).body.id;
      const before = await current(id);
      expectScimError(await s.api('PATCH', `/admin/v1/Groups/${id}`, patch(op)), 400, 'invalidValue');
      expect(await current(id)).toEqual(before);
      expect(await memberIds(id)).toEqual([u.alice.id]);
    });

    it.each(['members.value', 'members', 'members.display', 'displayName', 'id'])('should sort by %s on every store', async (sortBy) => {
      const res = await s.api('GET', `/admin/v1/Groups?sortBy=${sortBy}&sortOrder=descending&count=5`);
      expectStatus(res, 200);
      expect(res.body.Resources.length).toBeGreaterThan(0);
    });

    it('should answer 412 for a stale If-Match and write nothing, and apply the change for the current one', async () => {
      const id = (await createOk('Patch IfMatch', { members: refs(u.alice.id) })).body.id;
      await patchOk(id, patch({ op: 'add', path: 'members', value: refs(u.bob.id) }));
      const before = await current(id);
      expect(before.meta.version).toBe('W/"2"');
      for (const stale of ['W/"1"', '"1"', 'W/"3"']) {
        const res = await s.api('PATCH', `/admin/v1/Groups/${id}`, patch({ op: 'add', path: 'members', value: refs(u.carol.id) }), { headers: { 'if-match': stale } });
        expectScimError(res, 412);
      }
      expect(await current(id)).toEqual(before);
      expect(await memberIds(id)).toEqual(sorted([u.alice.id, u.bob.id]));
      const res = await patchOk(id, patch({ op: 'add', path: 'members', value: refs(u.carol.id) }), { 'if-match': 'W/"2"' });
      expect(res.body.meta.version).toBe('W/"3"');
      expect(await memberIds(id)).toEqual(sorted([u.alice.id, u.bob.id, u.carol.id]));
    });

    it('should answer 404 for an unknown group', async () => {
      expectScimError(await s.api('PATCH', '/admin/v1/Groups/0123456789abcdef0123456789abcdef', patch({ op: 'add', path: 'members', value: refs(u.alice.id) })), 404);
    });
  });

  describe('PUT /Groups/{id}', () => {
    it('should replace the members with exactly those sent, drop attributes not sent and keep creationMechanism', async () => {
      const created = await create({
        schemas: [GROUP_SCHEMA, ORACLE_GROUP],
        displayName: 'Put Members',
        externalId: 'put-1',
        members: refs(u.alice.id, u.bob.id),
        [ORACLE_GROUP]: { description: 'before' },
      });
      expectStatus(created, 201);
      const id = created.body.id;
      const res = await s.api('PUT', `/admin/v1/Groups/${id}`, group('Put Members Renamed', { members: refs(u.bob.id, u.carol.id) }), {
        headers: { 'if-match': created.body.meta.version },
      });
      expectStatus(res, 200);
      expect(res.body.displayName).toBe('Put Members Renamed');
      expect(res.body.externalId).toBeUndefined();
      expect(res.body.meta.version).toBe('W/"2"');
      expect(res.headers.get('etag')).toBe('W/"2"');
      expect(await memberIds(id)).toEqual(sorted([u.bob.id, u.carol.id]));
      const all = await get(id, '?attributeSets=all');
      expect(all.body[ORACLE_GROUP]).toEqual({ creationMechanism: 'api' });
    });

    it('should empty the group for a PUT without members', async () => {
      const id = (await createOk('Put Empty', { members: refs(u.alice.id) })).body.id;
      expectStatus(await s.api('PUT', `/admin/v1/Groups/${id}`, group('Put Empty')), 200);
      expect(await memberIds(id)).toEqual([]);
    });

    it('should refuse a PUT with an unknown member (400) or a stale If-Match (412) and write nothing', async () => {
      const id = (await createOk('Put Refused', { members: refs(u.alice.id) })).body.id;
      const before = (await get(id, '?attributeSets=all')).body;
      expectScimError(await s.api('PUT', `/admin/v1/Groups/${id}`, group('Put Refused 2', { members: refs('0123456789abcdef0123456789abcdef') })), 400, 'invalidValue');
      expectScimError(await s.api('PUT', `/admin/v1/Groups/${id}`, group('Put Refused 3', { members: refs(u.bob.id) }), { headers: { 'if-match': 'W/"7"' } }), 412);
      expectScimError(await s.api('PUT', `/admin/v1/Groups/${id}`, { schemas: [GROUP_SCHEMA], members: refs(u.bob.id) }), 400, 'invalidValue');
      expect((await get(id, '?attributeSets=all')).body).toEqual(before);
      expect(await memberIds(id)).toEqual([u.alice.id]);
    });
  });

  describe('DELETE /Groups/{id}', () => {
    it('should answer 204 with no body, then 404, and the users lose the membership', async () => {
      const id = (await createOk('Delete Me', { members: refs(u.carol.id) })).body.id;
      expectScimError(await s.api('DELETE', `/admin/v1/Groups/${id}`, undefined, { headers: { 'if-match': 'W/"9"' } }), 412);
      expectStatus(await get(id), 200);
      const res = await s.api('DELETE', `/admin/v1/Groups/${id}`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      expectScimError(await get(id), 404);
      expectScimError(await s.api('DELETE', `/admin/v1/Groups/${id}`), 404);
      const carol = await s.api('GET', `/admin/v1/Users/${u.carol.id}?attributes=groups`);
      expect((carol.body.groups ?? []).map((x: { value: string }) => x.value)).not.toContain(id);
    });
  });

  describe('User.groups', () => {
    let gina: { id: string; location: string };
    let hank: string;
    let red: ApiResponse;
    let blue: ApiResponse;
    beforeAll(async () => {
      const g = await s.api('POST', '/admin/v1/Users', user('gina@example.com'));
      gina = { id: g.body.id, location: g.body.meta.location };
      hank = (await s.api('POST', '/admin/v1/Users', user('hank@example.com'))).body.id;
      red = await createOk('Zz Red', { members: refs(gina.id, hank) });
      blue = await createOk('Zz Blue', { members: refs(gina.id) });
    });

    it('should list the user\'s direct groups with value, $ref, display and type when attributes=groups', async () => {
      const res = await s.api('GET', `/admin/v1/Users/${gina.id}?attributes=groups`);
      expectStatus(res, 200);
      expect(res.body.groups).toEqual([
        { value: blue.body.id, $ref: blue.body.meta.location, display: 'Zz Blue', type: 'direct' },
        { value: red.body.id, $ref: red.body.meta.location, display: 'Zz Red', type: 'direct' },
      ]);
      expect(res.body.userName).toBe('gina@example.com');
    });

    it('should not return groups by default (returned "request")', async () => {
      const res = await s.api('GET', `/admin/v1/Users/${gina.id}`);
      expect(res.body.groups).toBeUndefined();
    });

    it('should follow membership changes made on the group', async () => {
      await s.api('PATCH', `/admin/v1/Groups/${blue.body.id}`, patch({ op: 'remove', path: `members[value eq "${gina.id}"]` }));
      const res = await s.api('GET', `/admin/v1/Users/${gina.id}?attributes=groups`);
      expect(res.body.groups.map((x: { value: string }) => x.value)).toEqual([red.body.id]);
      const list = await s.api('GET', `/admin/v1/Users?filter=${q(`groups.value eq "${red.body.id}"`)}&attributes=groups`);
      expect(sorted(list.body.Resources.map((r: { id: string }) => r.id))).toEqual(sorted([gina.id, hank]));
    });

    it('should refuse to change groups on the User (readOnly: 400 mutability) and leave memberships alone', async () => {
      const res = await s.api('PATCH', `/admin/v1/Users/${hank}`, patch({ op: 'add', path: 'groups', value: [{ value: blue.body.id }] }));
      expectScimError(res, 400, 'mutability');
      expect(await memberIds(blue.body.id)).not.toContain(hank);
    });

    it('should remove a deleted user\'s memberships from every group, giving those groups a new version', async () => {
      const before = await s.api('GET', `/admin/v1/Groups/${red.body.id}`);
      const res = await s.api('DELETE', `/admin/v1/Users/${hank}`);
      expectStatus(res, 204);
      expect(await memberIds(red.body.id)).toEqual([gina.id]);
      // Its members changed, so the group did: a client holding the old ETag must not overwrite the change.
      const after = await s.api('GET', `/admin/v1/Groups/${red.body.id}`);
      expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
      expect(after.body.meta.lastModified >= before.body.meta.lastModified).toBe(true);
      const stale = await s.api('PATCH', `/admin/v1/Groups/${red.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Stale write' }] }, { headers: { 'if-match': before.headers.get('etag')! } });
      expectScimError(stale, 412);
      const found = await s.api('GET', `/admin/v1/Groups?filter=${q(`members.value eq "${hank}"`)}`);
      expect(found.body.totalResults).toBe(0);
    });
  });

  describe(`a group with more than ${MAX_MEMBERS_PER_RESPONSE} members`, () => {
    const N = MAX_MEMBERS_PER_RESPONSE;
    let ids: string[];
    let gid: string;
    let extra: string;

    beforeAll(async () => {
      ids = await seedUsers(s, 'bulk', N + 1);
      extra = ids.pop()!;
      gid = (await createOk('Everyone Large')).body.id;
    });

    it('should have seeded users the API reads like any other', async () => {
      const res = await s.api('GET', `/admin/v1/Users/${ids[17]}`);
      expectStatus(res, 200);
      expect(res.body.userName).toBe('bulk.17@example.com');
      const found = await s.api('GET', `/admin/v1/Users?filter=${q('emails.value eq "BULK.42@example.com"')}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids[42]]);
    });

    it(`should add ${N} members with PATCH add in bodies under 1 MiB`, async () => {
      const batch = 4000;
      for (let i = 0; i < ids.length; i += batch) {
        const body = patch({ op: 'add', path: 'members', value: refs(...ids.slice(i, i + batch)) });
        expect(JSON.stringify(body).length).toBeLessThan(MAX_BODY_BYTES);
        expectStatus(await s.api('PATCH', `/admin/v1/Groups/${gid}`, body), 200);
      }
    });

    it(`should return all ${N} members in one response (the limit itself is allowed)`, async () => {
      const res = await get(gid, '?attributes=members');
      expectStatus(res, 200);
      expect(res.body.members).toHaveLength(N);
      expect(sorted(res.body.members.map((m: { value: string }) => m.value))).toEqual(sorted(ids));
    });

    it('should add one more member and remove one via PATCH', async () => {
      expectStatus(await s.api('PATCH', `/admin/v1/Groups/${gid}`, patch({ op: 'add', path: 'members', value: refs(extra) })), 200);
      expectStatus(await s.api('PATCH', `/admin/v1/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${ids[0]}"]` })), 200);
      expectStatus(await s.api('PATCH', `/admin/v1/Groups/${gid}`, patch({ op: 'add', path: 'members', value: refs(ids[0]) })), 200);
      const found = await s.api('GET', `/admin/v1/Groups?filter=${q(`members.value eq "${extra}"`)}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([gid]);
    });

    it(`should refuse to return more than ${N} members at once (400 tooMany) and say how to page`, async () => {
      for (const query of ['?attributes=members', '?attributeSets=all', '?attributes=members,displayName']) {
        const res = await get(gid, query);
        expectScimError(res, 400, 'tooMany');
        expect(res.body.detail).toContain(String(N));
        expect(res.body.detail).toMatch(/attributes=members\[startIndex=\d+(%26|&)count=\d+\]/);
      }
      const list = await s.api('GET', `/admin/v1/Groups?filter=${q('displayName eq "Everyone Large"')}&attributes=members`);
      expectScimError(list, 400, 'tooMany');
    });

    it('should still answer without members when they are not requested', async () => {
      const res = await get(gid);
      expectStatus(res, 200);
      expect(res.body.members).toBeUndefined();
    });

    it(`should page through all ${N + 1} members without gaps or repeats`, async () => {
      const seen: string[] = [];
      const pageSize = 2500;
      for (let start = 1; ; start += pageSize) {
        const res = await get(gid, `?attributes=members[startIndex=${start}%26count=${pageSize}]`);
        expectStatus(res, 200);
        const page = (res.body.members ?? []).map((m: { value: string }) => m.value);
        seen.push(...page);
        if (page.length < pageSize) break;
      }
      expect(seen).toHaveLength(N + 1);
      expect(sorted(seen)).toEqual(sorted([...ids, extra]));
      const tail = await get(gid, `?attributes=members[startIndex=${N + 1}%26count=10]`);
      expect(tail.body.members).toHaveLength(1);
    });

    it(`should allow a page of exactly ${N} members`, async () => {
      const res = await get(gid, `?attributes=members[startIndex=2%26count=${N}]`);
      expectStatus(res, 200);
      expect(res.body.members).toHaveLength(N);
    });
  });
});

/** What IDCS scripts and Oracle's Terraform provider send for groups besides RFC 7643. */
describe('Groups: IDCS attributes', () => {
  const U = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:';
  let s: TestServer;
  let userId: string;
  beforeAll(async () => {
    s = await TestServer.start();
    userId = (await s.api('POST', '/admin/v1/Users', user('owner@example.com'))).body.id;
  });
  afterAll(() => s.stop());

  const ids = async (filter: string) => (await s.api('GET', `/admin/v1/Groups?filter=${q(filter)}&attributes=id`)).body.Resources.map((g: { id: string }) => g.id).sort();

  it('should store nonUniqueDisplayName (returned always, not unique) and filter on it, ignoring case', async () => {
    const a = await s.api('POST', '/admin/v1/Groups', group('Ops Paris', { nonUniqueDisplayName: 'Ops' }));
    const b = await s.api('POST', '/admin/v1/Groups', group('Ops Lyon', { nonUniqueDisplayName: 'Ops' }));
    expectStatus(a, 201);
    expectStatus(b, 201);
    expect((await s.api('GET', `/admin/v1/Groups/${a.body.id}?attributes=externalId`)).body.nonUniqueDisplayName).toBe('Ops');
    expect(await ids('nonUniqueDisplayName eq "OPS"')).toEqual(sorted([a.body.id, b.body.id]));
    const patched = await s.api('PATCH', `/admin/v1/Groups/${b.body.id}`, patch({ op: 'replace', path: 'nonUniqueDisplayName', value: 'Ops South' }));
    expectStatus(patched, 200);
    expect(await ids('nonUniqueDisplayName eq "ops"')).toEqual([a.body.id]);
  });

  it('should store the owners, POSIX, requestable and OCI tag extensions, returned on request where IDCS says so', async () => {
    const body = group('Extended', {
      [ORACLE_GROUP]: { description: 'All of them', owners: [{ value: userId, type: 'User', display: 'ignored (read-only)' }] },
      [`${U}posix:Group`]: { gidNumber: 5000 },
      [`${U}requestable:Group`]: { requestable: true },
      [`${U}OCITags`]: { freeformTags: [{ key: 'team', value: 'blue' }] },
    });
    const created = await s.api('POST', '/admin/v1/Groups', body);
    expectStatus(created, 201);
    // owners, gidNumber and requestable are returned on request only (IDCS).
    expect(created.body[ORACLE_GROUP]).toEqual({ description: 'All of them' });
    expect(created.body[`${U}posix:Group`]).toBeUndefined();
    expect(created.body[`${U}OCITags`]).toEqual({ freeformTags: [{ key: 'team', value: 'blue' }] });
    const all = await s.api('GET', `/admin/v1/Groups/${created.body.id}?attributeSets=all`);
    expect(all.body).toMatchObject({
      [ORACLE_GROUP]: { description: 'All of them', creationMechanism: 'api', owners: [{ value: userId, type: 'User' }] },
      [`${U}posix:Group`]: { gidNumber: 5000 },
      [`${U}requestable:Group`]: { requestable: true },
    });
    expect(all.body.schemas).toEqual([GROUP_SCHEMA, ORACLE_GROUP, `${U}OCITags`, `${U}posix:Group`, `${U}requestable:Group`]);
    expect(await ids(`${U}OCITags:freeformTags[key eq "team" and value eq "BLUE"]`)).toEqual([created.body.id]);
    expect(await ids(`${U}posix:Group:gidNumber eq 5000`)).toEqual([created.body.id]);
  });

  it.each([
    ['an owner without type', { [ORACLE_GROUP]: { owners: [{ value: 'x' }] } }, /needs a "type"/],
    ['a gidNumber that is not an integer', { [`${U}posix:Group`]: { gidNumber: 'five' } }, /gidNumber" must be an integer/],
    ['a freeform tag without value', { [`${U}OCITags`]: { freeformTags: [{ key: 'k' }] } }, /needs a "value"/],
  ])('should refuse %s (400) and create nothing', async (_case, extra, detail) => {
    const res = await s.api('POST', '/admin/v1/Groups', group('Refused', extra));
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(detail);
    expect((await s.api('GET', `/admin/v1/Groups?filter=${q('displayName eq "Refused"')}`)).body.totalResults).toBe(0);
  });
});
