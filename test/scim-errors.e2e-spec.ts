import { ApiResponse, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user, USER_SCHEMA } from './support/server';

/**
 * Every SCIM error type with its status and a detail that says what to fix (RFC 7644 §3.12), the transport
 * errors (413, 415), prototype-pollution attempts, and two promises: a failed request writes nothing, and no
 * input makes the server answer 500.
 */

const ORACLE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

describe('SCIM errors', () => {
  let s: TestServer;
  let token: string;
  let userId: string;
  let other: string;
  let groupId: string;
  /** Every response this file received, to check at the end that none was a 500. */
  const seen: [string, ApiResponse][] = [];

  beforeAll(async () => {
    s = await TestServer.start();
    token = await s.token();
    const u = await s.api('POST', '/admin/v1/Users', user('errors.subject@example.com', { nickName: 'Subject', schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { employeeNumber: '7' } }));
    expectStatus(u, 201);
    userId = u.body.id;
    const o = await s.api('POST', '/admin/v1/Users', user('errors.other@example.com'));
    expectStatus(o, 201);
    other = o.body.id;
    const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Errors', members: [{ value: other }] });
    expectStatus(g, 201);
    groupId = g.body.id;
  });
  afterAll(() => s.stop());

  async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const res = await s.api(method, path, body, { token, headers });
    seen.push([`${method} ${path.slice(0, 200)}`, res]);
    return res;
  }
  async function raw(method: string, path: string, body: string | undefined, headers: Record<string, string>): Promise<ApiResponse> {
    const res = await s.raw(method, path, { headers: { authorization: `Bearer ${token}`, ...headers }, body });
    seen.push([`${method} ${path.slice(0, 200)} (raw)`, res]);
    return res;
  }
  const list = (filter: string) => api('GET', `/admin/v1/Users?filter=${encodeURIComponent(filter)}`);
  const patchUser = (...ops: Record<string, unknown>[]) => api('PATCH', `/admin/v1/Users/${userId}`, patch(...ops));
  const current = async () => (await api('GET', `/admin/v1/Users/${userId}?attributeSets=all`)).body;

  /** Runs `fn` and checks that the subject user and its group are exactly as before. */
  async function unchanged(fn: () => Promise<void>): Promise<void> {
    const before = await current();
    const members = (await api('GET', `/admin/v1/Groups/${groupId}?attributes=members,meta`)).body;
    await fn();
    expect(await current()).toEqual(before);
    expect((await api('GET', `/admin/v1/Groups/${groupId}?attributes=members,meta`)).body).toEqual(members);
  }

  describe('uniqueness (409)', () => {
    it('should refuse a second user with the same userName, naming it', async () => {
      const res = await api('POST', '/admin/v1/Users', user('ERRORS.SUBJECT@example.com'));
      expectScimError(res, 409, 'uniqueness');
      expect(res.body.detail).toMatch(/userName "ERRORS\.SUBJECT@example\.com" already exists/);
    });

    it('should refuse a second group with the same displayName', async () => {
      const res = await api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'errors' });
      expectScimError(res, 409, 'uniqueness');
      expect(res.body.detail).toContain('displayName');
    });
  });

  describe('mutability (400)', () => {
    it.each([
      ['replace', 'id', 'ffffffffffffffffffffffffffffffff'],
      ['add', 'id', 'ffffffffffffffffffffffffffffffff'],
      ['remove', 'id', undefined],
      ['replace', 'meta.created', '2000-01-01T00:00:00Z'],
      ['replace', 'meta.version', 'W/"99"'],
      ['replace', 'meta', { created: '2000-01-01T00:00:00Z' }],
      ['add', 'groups', [{ value: 'g' }]],
      ['replace', 'groups', [{ value: 'g' }]],
      ['remove', 'groups', undefined],
      ['replace', 'groups.display', 'x'],
      ['replace', `${ORACLE}:creationMechanism`, 'bulk'],
      ['replace', `${ORACLE}:syncedFromApp.$ref`, 'x'],
    ])('should refuse a PATCH %s of %s, naming the path', async (op, path, value) => {
      await unchanged(async () => {
        const res = await patchUser({ op, path, ...(value === undefined ? {} : { value }) });
        expectScimError(res, 400, 'mutability');
        expect(res.body.detail).toContain(path.split(':').pop()!.split('.')[0]);
      });
    });

    it('should refuse a PUT that changes the immutable creationMechanism', async () => {
      await unchanged(async () => {
        const res = await api('PUT', `/admin/v1/Users/${userId}`, user('errors.subject@example.com', { schemas: [USER_SCHEMA, ORACLE], [ORACLE]: { creationMechanism: 'import' } }));
        expectScimError(res, 400, 'mutability');
        expect(res.body.detail).toContain('creationMechanism');
      });
    });
  });

  describe('invalidFilter (400)', () => {
    const FILTERS: [string, RegExp][] = [
      ['userName eq', /not a valid SCIM filter/],
      ['userName xx "a"', /not a valid SCIM filter/],
      ['(userName eq "a"', /not a valid SCIM filter/],
      ['userName eq "a" and', /not a valid SCIM filter/],
      ['userName eq "unterminated', /not a valid SCIM filter/],
      ['foo eq "a"', /Unknown attribute "foo"/],
      ['name.foo eq "a"', /Unknown sub-attribute "foo"/],
      ['emails[foo eq "a"]', /Unknown sub-attribute "foo"/],
      ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:badge eq "1"', /Unknown attribute "badge"/],
      ['active co "t"', /"co" applies only to string attributes.*active/],
      ['active sw "t"', /"sw" applies only to string/],
      ['active gt true', /"gt" cannot compare boolean attribute "active"/],
      ['active eq "maybe"', /not a valid boolean value for "active"/],
      ['userName gt 5', /not a valid string value for "userName"/],
      ['meta.created gt "yesterday"', /not a valid dateTime value/],
      ['name eq "x"', /complex; compare one of its sub-attributes/],
      ['emails.value sw null', /"sw null" is not meaningful/],
      ['userName[value eq "a"]', /needs a multi-valued complex attribute/],
      ['emails[type eq "work" and value[x eq "y"]]', /not a valid SCIM filter|cannot be nested|needs a multi-valued/],
      [`userName eq "${'a'.repeat(5000)}"`, /longer than 4096 characters/],
      [Array.from({ length: 201 }, () => 'title pr').join(' or '), /more than 200 terms/],
    ];

    it.each(FILTERS.map(([f, d]) => [f.length > 80 ? `${f.slice(0, 60)}… (${f.length} characters)` : f, f, d] as const))('should refuse the filter %s on GET and on POST .search', async (_label, filter, detail) => {
      for (const res of [await list(filter), await api('POST', '/admin/v1/Users/.search', { schemas: [SEARCH], filter })]) {
        expectScimError(res, 400, 'invalidFilter');
        expect(res.body.detail).toMatch(detail);
      }
    });

    it('should refuse a filter given twice or not as a string', async () => {
      expectScimError(await api('GET', '/admin/v1/Users?filter=userName%20pr&filter=title%20pr'), 400, 'invalidFilter');
      expectScimError(await api('POST', '/admin/v1/Users/.search', { filter: 5 }), 400, 'invalidFilter');
      expectScimError(await api('POST', '/admin/v1/Groups/.search', { filter: ['displayName pr'] }), 400, 'invalidFilter');
    });

    it('should refuse bad filters on Groups too', async () => {
      const res = await api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('members.value co true')}`);
      expectScimError(res, 400, 'invalidFilter');
      expectScimError(await api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('nope pr')}`), 400, 'invalidFilter');
    });
  });

  describe('invalidPath (400)', () => {
    it.each([
      ['replace', 'foo', 'x', /Unknown attribute "foo"/],
      ['add', 'name.foo', 'x', /Unknown sub-attribute "foo" of "name"/],
      ['remove', 'name.givenName.x', undefined, /Malformed attribute name/],
      ['replace', 'title.x', 'x', /"title" has no sub-attributes/],
      ['replace', 'emails[foo eq "x"].value', 'x', /Unknown sub-attribute "foo"/],
      ['replace', 'emails[type eq "work"].foo', 'x', /Unknown sub-attribute "foo"/],
      ['replace', 'name[givenName eq "x"]', 'x', /not a multi-valued complex attribute/],
      ['replace', 'emails[type eq "work"', 'x', /Unbalanced|invalid/i],
      ['replace', 'emails[type eq "work"]x', 'x', /Unexpected "x" after "]"/],
      ['replace', 'emails[type eq]', 'x', /value filter in path .* is invalid/],
      ['replace', `${ENTERPRISE}:`, { employeeNumber: '1' }, /schema URN alone is not an attribute/],
      ['replace', `${ENTERPRISE}`, { badge: '1' }, /Unknown attribute "badge" in path "urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:badge"/],
      ['replace', ENTERPRISE.replace('enterprise', 'Enterprise'), { Badge: '1' }, /Unknown attribute "Badge" in path "urn:ietf:params:scim:schemas:extension:Enterprise:2\.0:User:Badge"/],
      ['replace', `${ENTERPRISE}:badge`, '1', /Unknown attribute "badge"/],
      ['replace', 'urn:example:unknown:schema:attr', '1', /Malformed attribute name|Unknown attribute/],
      ['replace', 'emails[type eq "work"][value eq "x"]', 'x', /invalid|Unexpected|nested/i],
    ])('should refuse a PATCH %s of %s', async (op, path, value, detail) => {
      await unchanged(async () => {
        const res = await patchUser({ op, path, ...(value === undefined ? {} : { value }) });
        expectScimError(res, 400, 'invalidPath');
        expect(res.body.detail).toMatch(detail);
      });
    });

    it('should name an unknown schema or attribute as the client spelled it', async () => {
      const social = 'urn:ietf:params:scim:schemas:Oracle:IDCS:extension:Nothing:User';
      const create = await api('POST', '/admin/v1/Users', user('errors.case@example.com', { schemas: [USER_SCHEMA, social] }));
      expectScimError(create, 400, 'invalidSyntax');
      expect(create.body.detail).toContain(`"${social}"`);
      const key = await api('POST', '/admin/v1/Users', user('errors.case@example.com', { schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE.replace('enterprise', 'Enterprise')]: { Badge: '1' } }));
      expectScimError(key, 400, 'invalidSyntax');
      expect(key.body.detail).toMatch(/Unknown attribute "Badge" in "urn:ietf:params:scim:schemas:extension:Enterprise:2\.0:User"/);
    });

    it('should refuse a path that is not a string', async () => {
      expectScimError(await patchUser({ op: 'replace', path: 5, value: 'x' }), 400, 'invalidPath');
    });

    it.each([
      ['sortBy=foo', /Unknown attribute "foo"/],
      ['sortBy=name', /Sort by a sub-attribute of "name"/],
      ['attributes=foo', /Unknown attribute "foo"/],
      ['excludedAttributes=name.bar', /Unknown sub-attribute "bar"/],
      ['attributes=userName,emails.nope', /Unknown sub-attribute "nope"/],
    ])('should refuse %s in a list query', async (query, detail) => {
      const res = await api('GET', `/admin/v1/Users?${query}`);
      expectScimError(res, 400, 'invalidPath');
      expect(res.body.detail).toMatch(detail);
    });

    it('should refuse an unknown attribute in attributes= on GET by id', async () => {
      expectScimError(await api('GET', `/admin/v1/Users/${userId}?attributes=nope`), 400, 'invalidPath');
    });
  });

  describe('invalidValue (400)', () => {
    const CREATES: [string, Record<string, unknown>, RegExp][] = [
      ['no userName', { schemas: [USER_SCHEMA], name: { givenName: 'A' } }, /Missing required attribute\(s\): userName/],
      ['an empty userName', { schemas: [USER_SCHEMA], userName: '' }, /Missing required attribute\(s\): userName/],
      ['a numeric userName', { schemas: [USER_SCHEMA], userName: 123 }, /"userName" must be a string/],
      ['an object userName', { schemas: [USER_SCHEMA], userName: { a: 1 } }, /"userName" must be a string/],
      ['an array userName', { schemas: [USER_SCHEMA], userName: ['a', 'b'] }, /"userName" takes a single value/],
      ['active "yes"', { schemas: [USER_SCHEMA], userName: 'v1', active: 'yes' }, /"active" must be a boolean/],
      ['active 1', { schemas: [USER_SCHEMA], userName: 'v2', active: 1 }, /"active" must be a boolean/],
      ['name as a string', { schemas: [USER_SCHEMA], userName: 'v3', name: 'Alice' }, /"name" must be an object/],
      ['emails as a string', { schemas: [USER_SCHEMA], userName: 'v4', emails: 'a@b.c' }, /"emails\[0\]" must be an object/],
      ['an email without value', { schemas: [USER_SCHEMA], userName: 'v5', emails: [{ type: 'work' }] }, /"emails\[0\]" needs a "value"/],
      ['an email value that is a number', { schemas: [USER_SCHEMA], userName: 'v6', emails: [{ value: 5 }] }, /"emails\[0\]\.value" must be a string/],
      ['two primary emails', { schemas: [USER_SCHEMA], userName: 'v7', emails: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }, /At most one "emails" value may be primary/],
      ['a numeric externalId', { schemas: [USER_SCHEMA], userName: 'v8', externalId: 5 }, /"externalId" must be a string/],
      ['a title that is an object', { schemas: [USER_SCHEMA], userName: 'v9', title: { x: 1 } }, /"title" must be a string/],
      ['an extension attribute of the wrong type', { schemas: [USER_SCHEMA, ORACLE], userName: 'v10', [ORACLE]: { isFederatedUser: 'sometimes' } }, /isFederatedUser" must be a boolean/],
      ['a too short password', { schemas: [USER_SCHEMA], userName: 'v11', password: 'short' }, /"password" must be a string of 8 to 256 characters/],
      ['a string over 8192 characters', { schemas: [USER_SCHEMA], userName: 'v12', nickName: 'n'.repeat(8193) }, /at most 8192 characters/],
    ];

    it.each(CREATES)('should refuse a user with %s and create nothing', async (_case, body, detail) => {
      const res = await api('POST', '/admin/v1/Users', body);
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(detail);
      if (typeof body.userName === 'string' && body.userName) expect((await list(`userName eq "${body.userName}"`)).body.totalResults).toBe(0);
    });

    it('should refuse a group without displayName or with an unknown member', async () => {
      const none = await api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA] });
      expectScimError(none, 400, 'invalidValue');
      expect(none.body.detail).toContain('displayName');
      const ghost = await api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Ghosts', members: [{ value: '0123456789abcdef0123456789abcdef' }] });
      expectScimError(ghost, 400, 'invalidValue');
      expect(ghost.body.detail).toContain('0123456789abcdef0123456789abcdef');
      expect((await api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('displayName eq "Ghosts"')}`)).body.totalResults).toBe(0);
    });

    it.each([
      [{ op: 'replace', path: 'active', value: 'perhaps' }, /"active" must be a boolean/],
      [{ op: 'add', path: 'emails', value: [{ value: 5 }] }, /must be a string/],
      [{ op: 'replace', path: 'userName', value: null }, /Missing required attribute\(s\): userName/],
      [{ op: 'remove', path: 'userName' }, /Missing required attribute\(s\): userName/],
      [{ op: 'replace', path: 'userName' }, /"replace" needs a "value"/],
      [{ op: 'add', path: 'title', value: ['a', 'b'] }, /takes a single value/],
      [{ op: 'replace', value: { [ENTERPRISE]: 'not an object' } }, /must be an object/],
      [{ op: 'replace', path: ENTERPRISE, value: 'not an object' }, /the value of "urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User" must be an object/],
      [{ op: 'add', path: ENTERPRISE, value: [{ employeeNumber: '8' }] }, /must be an object/],
      [{ op: 'remove', path: ENTERPRISE, value: { employeeNumber: '7' } }, /takes no "value"/],
      [{ op: 'add', path: 'emails', value: [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }] }, /At most one/],
    ])('should refuse the PATCH operation %j', async (op, detail) => {
      await unchanged(async () => {
        const res = await patchUser(op);
        expectScimError(res, 400, 'invalidValue');
        expect(res.body.detail).toMatch(detail);
      });
    });

    it.each([
      ['count=abc', /"count" must be an integer/],
      ['count=1.5', /"count" must be an integer/],
      ['startIndex=1e3', /"startIndex" must be an integer/],
      ['count=99999999999999999999', /"count" must be an integer/],
      ['count=1&count=2', /"count" must be an integer/],
      ['sortBy=userName&sortOrder=sideways', /"sortOrder" must be "ascending" or "descending"/],
      ['attributeSets=bogus', /Unknown attribute set "bogus"/],
    ])('should refuse the list query %s', async (query, detail) => {
      const res = await api('GET', `/admin/v1/Users?${query}`);
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(detail);
    });

    it('should refuse a search body with a non-integer count or non-string attributes', async () => {
      expectScimError(await api('POST', '/admin/v1/Users/.search', { count: 'ten' }), 400, 'invalidValue');
      expectScimError(await api('POST', '/admin/v1/Users/.search', { count: 2.5 }), 400, 'invalidValue');
      expectScimError(await api('POST', '/admin/v1/Users/.search', { attributes: [1, 2] }), 400, 'invalidValue');
      expectScimError(await api('POST', '/admin/v1/Users/.search', { sortBy: '' }), 400, 'invalidValue');
    });
  });

  describe('invalidSyntax (400)', () => {
    it.each([
      ['POST', () => '/admin/v1/Users'],
      ['PUT', () => `/admin/v1/Users/${userId}`],
      ['PATCH', () => `/admin/v1/Users/${userId}`],
      ['POST', () => '/admin/v1/Users/.search'],
      ['POST', () => '/admin/v1/Groups'],
    ])('should refuse malformed JSON on %s %s', async (method, path) => {
      await unchanged(async () => {
        for (const text of ['{"schemas": [', '{userName: "x"}', "{'a': 1}", '{"a": 1,}', '{"a": 1}}']) {
          const res = await raw(method, path(), text, { 'content-type': 'application/scim+json' });
          expectScimError(res, 400, 'invalidSyntax');
          expect(res.body.detail).toMatch(/not valid JSON/);
        }
      });
    });

    it.each([
      ['no schemas', { userName: 'syn1' }, /"schemas" must include "urn:ietf:params:scim:schemas:core:2.0:User"/],
      ['schemas that is not an array', { schemas: USER_SCHEMA, userName: 'syn2' }, /"schemas" must be an array/],
      ['schemas without the core schema', { schemas: [ENTERPRISE], userName: 'syn3' }, /must include/],
      ['an unknown schema URN', { schemas: [USER_SCHEMA, 'urn:example:params:scim:schemas:custom:1.0:User'], userName: 'syn4' }, /Unknown schema "urn:example/],
      ['an unknown attribute', { schemas: [USER_SCHEMA], userName: 'syn5', favouriteColour: 'blue' }, /Unknown attribute "favouriteColour" for resource type User/],
      ['an unknown sub-attribute', { schemas: [USER_SCHEMA], userName: 'syn6', name: { nickname: 'x' } }, /Unknown sub-attribute "nickname" of "name"/],
      ['an unknown extension attribute', { schemas: [USER_SCHEMA, ENTERPRISE], userName: 'syn7', [ENTERPRISE]: { badge: '1' } }, /Unknown attribute "badge"/],
      ['an extension that is not an object', { schemas: [USER_SCHEMA, ENTERPRISE], userName: 'syn8', [ENTERPRISE]: 'x' }, /must be an object holding the extension's attributes/],
      ['a JSON array', [user('syn9')], /must be a JSON object describing a User/],
      ['a JSON string', 'user', /must be a JSON object describing a User/],
    ])('should refuse a user with %s and create nothing', async (_case, body, detail) => {
      const res = await api('POST', '/admin/v1/Users', typeof body === 'string' ? JSON.stringify(body) : body);
      expectScimError(res, 400, 'invalidSyntax');
      expect(res.body.detail).toMatch(detail);
      for (const n of ['syn1', 'syn2', 'syn3', 'syn4', 'syn5', 'syn6', 'syn7', 'syn8', 'syn9']) expect((await list(`userName eq "${n}"`)).body.totalResults).toBe(0);
    });

    it.each([
      ['no PatchOp schema', { Operations: [{ op: 'add', path: 'title', value: 'x' }] }, /must list the schema "urn:ietf:params:scim:api:messages:2.0:PatchOp"/],
      ['no Operations', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] }, /non-empty "Operations" array/],
      ['empty Operations', patch(), /non-empty "Operations" array/],
      ['Operations that is an object', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: { op: 'add' } }, /non-empty "Operations" array/],
      ['an operation that is not an object', patch('add' as never), /Operations\[0\] must be an object/],
      ['an unknown op', patch({ op: 'move', path: 'title', value: 'x' }), /Operations\[0\]\.op must be "add", "remove" or "replace" \(got "move"\)/],
      ['a missing op', patch({ path: 'title', value: 'x' }), /Operations\[0\]\.op must be/],
      ['a path-less add whose value is not an object', patch({ op: 'add', value: 'x' }), /without "path" needs an object "value"/],
      ['a body that is an array', [{ op: 'add', path: 'title', value: 'x' }], /must be a PatchOp object/],
    ])('should refuse a PATCH with %s', async (_case, body, detail) => {
      await unchanged(async () => {
        const res = await api('PATCH', `/admin/v1/Users/${userId}`, body);
        expectScimError(res, 400, 'invalidSyntax');
        expect(res.body.detail).toMatch(detail);
      });
    });

    it('should refuse a search body with the wrong schema, or attributes together with excludedAttributes', async () => {
      const wrong = await api('POST', '/admin/v1/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] });
      expectScimError(wrong, 400, 'invalidSyntax');
      expect(wrong.body.detail).toContain(SEARCH);
      expectScimError(await api('GET', '/admin/v1/Users?attributes=userName&excludedAttributes=title'), 400, 'invalidSyntax');
    });
  });

  describe('tooMany (413)', () => {
    const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ op: 'replace', path: 'nickName', value: `n${i}` }));

    it('should refuse a PATCH with 1001 operations and apply none of them', async () => {
      await unchanged(async () => {
        const res = await patchUser(...ops(1001));
        expectScimError(res, 413, 'tooMany');
        expect(res.body.detail).toMatch(/at most 1000 operations \(got 1001\)/);
      });
    });

    it('should accept a PATCH with exactly 1000 operations', async () => {
      const res = await patchUser(...ops(1000));
      expectStatus(res, 200);
      expect(res.body.nickName).toBe('n999');
      await patchUser({ op: 'replace', path: 'nickName', value: 'Subject' });
    });
  });

  describe('noTarget (400)', () => {
    it.each([
      [{ op: 'remove' }, /"remove" needs a "path"/],
      [{ op: 'remove', path: '' }, /"remove" needs a "path"/],
      [{ op: 'replace', path: 'emails[type eq "fax"]', value: { value: 'x@y', type: 'fax' } }, /No value matches "emails\[type eq "fax"\]"/],
      [{ op: 'replace', path: 'emails[value co "nomatch"].type', value: 'home' }, /No value matches/],
    ])('should refuse the PATCH operation %j', async (op, detail) => {
      await unchanged(async () => {
        const res = await patchUser(op);
        expectScimError(res, 400, 'noTarget');
        expect(res.body.detail).toMatch(detail);
      });
    });
  });

  describe('transport', () => {
    it('should refuse a body over 1 MiB (413) and create nothing', async () => {
      const body = JSON.stringify(user('too.big', { nickName: 'x'.repeat(1024 * 1024) }));
      const res = await raw('POST', '/admin/v1/Users', body, { 'content-type': 'application/scim+json' });
      expectScimError(res, 413);
      expect(res.body.detail).toMatch(/1 MiB/);
      expect((await list('userName eq "too.big"')).body.totalResults).toBe(0);
    });

    it('should read a body just under 1 MiB (and answer on its content, not its size)', async () => {
      const filler = 'x'.repeat(1024 * 1024 - 200);
      const res = await raw('POST', '/admin/v1/Users/.search', JSON.stringify({ filter: 'userName pr', sortBy: 'userName', excludedAttributes: 'name', schemas: [SEARCH], x: filler }), { 'content-type': 'application/json' });
      expectStatus(res, 200);
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['application/xml', 'application/xml'],
      ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
      ['no Content-Type', undefined],
    ])('should refuse a body sent as %s (415) and create nothing', async (_case, type) => {
      const headers: Record<string, string> = {};
      if (type) headers['content-type'] = type;
      for (const [method, path] of [['POST', '/admin/v1/Users'], ['PUT', `/admin/v1/Users/${userId}`], ['PATCH', `/admin/v1/Users/${userId}`], ['POST', '/admin/v1/Users/.search']]) {
        const body = method === 'PATCH' ? JSON.stringify(patch({ op: 'add', path: 'title', value: 'x' })) : JSON.stringify(user('wrong.type'));
        const res = await raw(method, path, body, headers);
        expectScimError(res, 415);
        expect(res.body.detail).toMatch(/Content-Type must be application\/scim\+json or application\/json/);
      }
      expect((await list('userName eq "wrong.type"')).body.totalResults).toBe(0);
      expect((await current()).title).toBeUndefined();
    });

    it.each(['application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'Application/JSON; charset=UTF-8'])('should accept %s', async (type) => {
      const name = `type.${type.replace(/[^a-z]/gi, '').toLowerCase()}`;
      const res = await raw('POST', '/admin/v1/Users', JSON.stringify(user(name)), { 'content-type': type });
      expectStatus(res, 201);
      expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      const p = await raw('PATCH', `/admin/v1/Users/${res.body.id}`, JSON.stringify(patch({ op: 'add', path: 'title', value: 'typed' })), { 'content-type': type });
      expectStatus(p, 200);
      expect(p.body.title).toBe('typed');
      expectStatus(await api('DELETE', `/admin/v1/Users/${res.body.id}`), 204);
    });
  });

  describe('prototype pollution', () => {
    afterEach(() => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(Object.prototype)).toEqual([]);
    });

    const PATHS = ['__proto__', 'constructor', 'prototype', '__proto__.polluted', 'constructor.prototype', 'name.__proto__', 'name.constructor', `${ENTERPRISE}:__proto__`, 'emails[__proto__ eq "x"].value', 'emails[type eq "work"].__proto__'];
    it.each(PATHS)('should refuse the PATCH path %s', async (path) => {
      await unchanged(async () => {
        for (const op of ['add', 'replace', 'remove']) {
          const res = await patchUser({ op, path, value: { polluted: 'yes' } });
          expect([op, res.status]).toEqual([op, 400]);
          expect(['invalidPath', 'invalidSyntax']).toContain(res.body.scimType);
        }
      });
    });

    const KEYS = ['__proto__', 'constructor', 'prototype'];
    it.each(KEYS)('should refuse %s as a key in PATCH values, path-less objects and request bodies', async (key) => {
      // Built from text: an object literal would set the prototype instead of creating the key.
      const inject = (json: string) => json.replace(/"INJECT"/g, JSON.stringify(key));
      const patches = [
        `{"op":"add","value":{"INJECT":{"polluted":"yes"}}}`,
        `{"op":"replace","value":{"INJECT":{"polluted":"yes"},"title":"x"}}`,
        `{"op":"add","path":"name","value":{"INJECT":{"polluted":"yes"}}}`,
        `{"op":"add","path":"emails","value":[{"value":"p@x","INJECT":{"polluted":"yes"}}]}`,
        `{"op":"replace","value":{"${ENTERPRISE}":{"INJECT":{"polluted":"yes"}}}}`,
        `{"op":"replace","path":"emails[type eq \\"work\\"]","value":{"value":"p@x","INJECT":{"polluted":"yes"}}}`,
      ];
      await unchanged(async () => {
        for (const op of patches) {
          const body = inject(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${op}]}`);
          const res = await raw('PATCH', `/admin/v1/Users/${userId}`, body, { 'content-type': 'application/scim+json' });
          expect([op, res.status]).toEqual([op, 400]);
          expect(['invalidPath', 'invalidSyntax']).toContain(res.body.scimType);
        }
        const creates = [
          `{"schemas":["${USER_SCHEMA}"],"userName":"proto1","INJECT":{"polluted":"yes"}}`,
          `{"schemas":["${USER_SCHEMA}"],"userName":"proto2","name":{"INJECT":{"polluted":"yes"}}}`,
          `{"schemas":["${USER_SCHEMA}","${ENTERPRISE}"],"userName":"proto3","${ENTERPRISE}":{"INJECT":{"polluted":"yes"}}}`,
          `{"schemas":["${GROUP_SCHEMA}"],"displayName":"proto4","INJECT":{"polluted":"yes"}}`,
        ];
        for (const c of creates) {
          const res = await raw('POST', c.includes(GROUP_SCHEMA) ? '/admin/v1/Groups' : '/admin/v1/Users', inject(c), { 'content-type': 'application/scim+json' });
          expect([c, res.status]).toEqual([c, 400]);
          expect(res.body.scimType).toBe('invalidSyntax');
        }
        for (const search of [`{"INJECT":{"polluted":"yes"}}`, `{"filter":"userName pr","INJECT":{"polluted":"yes"}}`]) {
          const res = await raw('POST', '/admin/v1/Users/.search', inject(search), { 'content-type': 'application/scim+json' });
          expect(res.status).toBeLessThan(500);
        }
        for (const query of [`?${key}[polluted]=yes`, `?${key}.polluted=yes&filter=userName%20pr`, `?attributes=${key}`, `?sortBy=${key}`, `?filter=${key}%20pr`]) {
          const res = await api('GET', `/admin/v1/Users${query}`);
          expect(res.status).toBeLessThan(500);
        }
      });
      for (const n of ['proto1', 'proto2', 'proto3']) expect((await list(`userName eq "${n}"`)).body.totalResults).toBe(0);
    });
  });

  describe('not found (404)', () => {
    const UNKNOWN = '0123456789abcdef0123456789abcdef';
    it.each([
      ['GET', `/admin/v1/Users/${UNKNOWN}`, undefined],
      ['PUT', `/admin/v1/Users/${UNKNOWN}`, user('nf')],
      ['PATCH', `/admin/v1/Users/${UNKNOWN}`, patch({ op: 'add', path: 'title', value: 'x' })],
      ['DELETE', `/admin/v1/Users/${UNKNOWN}`, undefined],
      ['GET', `/admin/v1/Groups/${UNKNOWN}`, undefined],
      ['PUT', `/admin/v1/Groups/${UNKNOWN}`, { schemas: [GROUP_SCHEMA], displayName: 'nf' }],
      ['PATCH', `/admin/v1/Groups/${UNKNOWN}`, patch({ op: 'add', path: 'members', value: [] })],
      ['DELETE', `/admin/v1/Groups/${UNKNOWN}`, undefined],
      ['GET', '/admin/v1/Users/not-an-id-at-all', undefined],
      ['GET', `/admin/v1/Users/${'9'.repeat(300)}`, undefined],
      ['GET', '/admin/v1/Users/%E2%98%83', undefined],
      ['GET', '/admin/v1/ResourceTypes/Printer', undefined],
      ['GET', '/admin/v1/Schemas/urn:example:nope', undefined],
      ['GET', '/admin/v1/Printers', undefined],
      ['POST', '/admin/v1/Printers', { a: 1 }],
      ['GET', '/admin/v2/Users', undefined],
    ])('should answer %s %s with a SCIM 404', async (method, path, body) => {
      const res = await api(method, path, body);
      expectScimError(res, 404);
      expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
    });
  });

  describe('no partial writes', () => {
    const SECOND_OPS: [string, Record<string, unknown>, number][] = [
      ['an unknown path', { op: 'replace', path: 'nope', value: 'x' }, 400],
      ['a wrong type', { op: 'replace', path: 'active', value: 'maybe' }, 400],
      ['a read-only path', { op: 'replace', path: 'id', value: 'x' }, 400],
      ['no target', { op: 'replace', path: 'emails[type eq "fax"]', value: { value: 'f@x' } }, 400],
      ['a taken userName', { op: 'replace', path: 'userName', value: 'ERRORS.OTHER@example.com' }, 409],
      ['a removal of the required userName', { op: 'remove', path: 'userName' }, 400],
      ['an immutable attribute', { op: 'replace', path: `${ORACLE}:creationMechanism`, value: 'bulk' }, 400],
    ];

    it.each(SECOND_OPS)('should leave the user unchanged (same meta.version, same index rows) when the second operation has %s', async (_case, second, status) => {
      await unchanged(async () => {
        const res = await patchUser(
          { op: 'replace', path: 'nickName', value: 'changed' },
          second,
          { op: 'add', path: 'emails', value: [{ value: 'partial@example.com', type: 'other' }] },
        );
        expectScimError(res, status);
      });
      expect((await list('emails.value eq "partial@example.com"')).body.totalResults).toBe(0);
      expect((await list('nickName eq "changed"')).body.totalResults).toBe(0);
    });

    it('should leave a group unchanged when a member operation fails after a rename', async () => {
      await unchanged(async () => {
        const res = await api(
          'PATCH',
          `/admin/v1/Groups/${groupId}`,
          patch({ op: 'replace', path: 'displayName', value: 'Renamed' }, { op: 'add', path: 'members', value: [{ value: userId }] }, { op: 'add', path: 'members', value: [{ value: '0123456789abcdef0123456789abcdef' }] }),
        );
        expectScimError(res, 400, 'invalidValue');
      });
      expect((await api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('displayName eq "Renamed"')}`)).body.totalResults).toBe(0);
    });

    it('should leave the user unchanged when a PUT is refused', async () => {
      await unchanged(async () => {
        expectScimError(await api('PUT', `/admin/v1/Users/${userId}`, user('ERRORS.other@EXAMPLE.com', { nickName: 'changed' })), 409, 'uniqueness');
        expectScimError(await api('PUT', `/admin/v1/Users/${userId}`, user('errors.subject@example.com', { nickName: 'changed', active: 'maybe' })), 400, 'invalidValue');
      });
    });
  });

  describe('hostile and odd input', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

    it.each([
      ['a deeply nested value inside a sub-attribute', 'refused', () => raw('POST', '/admin/v1/Users', `{"schemas":["${USER_SCHEMA}"],"userName":"deep1","name":{"givenName":${deep(20000)}}}`, { 'content-type': 'application/json' })],
      ['a deeply nested PATCH value', 'refused', () => raw('PATCH', `/admin/v1/Users/${userId}`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"nickName","value":${deep(20000)}}]}`, { 'content-type': 'application/json' })],
      ['a deeply nested search body', 'refused', () => raw('POST', '/admin/v1/Users/.search', `{"attributes":${deep(20000)}}`, { 'content-type': 'application/json' })],
      ['a deeply nested admin client body', 'refused', () => raw('POST', '/admin/v1/AdminClients', `{"name":"x","roles":${deep(20000)}}`, { 'content-type': 'application/json' })],
      ['a NUL character in a userName', 'refused', () => api('POST', '/admin/v1/Users', user('nul\u0000user'))],
      ['a NUL character in an email', 'refused', () => api('POST', '/admin/v1/Users', user('nul.email', { emails: [{ value: 'a\u0000@x', type: 'work', primary: true }] }))],
      ['a NUL character in a PATCH value', 'refused', () => patchUser({ op: 'replace', path: 'nickName', value: 'a\u0000b' })],
      ['a NUL character in a filter', 'refused', () => list('userName eq "a\u0000b"')],
      ['a NUL character in a group member filter', 'refused', () => api('PATCH', `/admin/v1/Groups/${groupId}`, patch({ op: 'remove', path: 'members[value eq "a\u0000b"]' }))],
      ['a NUL character in an id', 'refused', () => api('GET', '/admin/v1/Users/ab%00cd')],
      ['a NUL character in a group id', 'refused', () => api('DELETE', '/admin/v1/Groups/%00')],
      ['a NUL character in an admin client name', 'refused', () => api('POST', '/admin/v1/AdminClients', { name: 'a\u0000b', roles: ['Auditor'] })],
      ['a userName longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Users', user('u'.repeat(1025)))],
      ['an externalId longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Users', user('long.external', { externalId: 'e'.repeat(2000) }))],
      ['a displayName longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Users', user('long.display', { displayName: 'd'.repeat(2000) }))],
      ['a familyName longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Users', user('long.family', { name: { familyName: 'f'.repeat(2000) } }))],
      ['an email longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Users', user('long.email', { emails: [{ value: `${'m'.repeat(2000)}@x`, type: 'work', primary: true }] }))],
      ['an email type longer than 64 characters', 'refused', () => api('POST', '/admin/v1/Users', user('long.type', { emails: [{ value: 'a@x', type: 't'.repeat(100), primary: true }] }))],
      ['a PATCH giving a userName longer than 1024 characters', 'refused', () => patchUser({ op: 'replace', path: 'userName', value: 'p'.repeat(1500) })],
      ['a group displayName longer than 1024 characters', 'refused', () => api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'g'.repeat(1500) })],
      ['a filter comparing with a 4000-character value', 'answered', () => list(`userName eq "${'v'.repeat(4000)}"`)],
      ['an If-Match header of garbage', 'refused', () => api('PATCH', `/admin/v1/Users/${userId}`, patch({ op: 'add', path: 'title', value: 'x' }), { 'if-match': '"\u00ff\u00fe' })],
      ['a body of JSON null', 'refused', () => raw('POST', '/admin/v1/Users', 'null', { 'content-type': 'application/scim+json' })],
      ['a PATCH body of JSON null', 'refused', () => raw('PATCH', `/admin/v1/Users/${userId}`, 'null', { 'content-type': 'application/scim+json' })],
      ['a search body of JSON null', 'answered', () => raw('POST', '/admin/v1/Users/.search', 'null', { 'content-type': 'application/scim+json' })],
      ['a search body of a JSON number', 'answered', () => raw('POST', '/admin/v1/Users/.search', '42', { 'content-type': 'application/scim+json' })],
      ['a body that is not UTF-8', 'refused', () => raw('POST', '/admin/v1/Users', '{"schemas":["x"]}', { 'content-type': 'application/scim+json; charset=latin-9000' })],
      ['an empty PATCH body', 'refused', () => raw('PATCH', `/admin/v1/Users/${userId}`, '', { 'content-type': 'application/scim+json' })],
      ['members given as a string', 'refused', () => api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'odd', members: 'everyone' })],
      ['a member of type Group', 'refused', () => api('PATCH', `/admin/v1/Groups/${groupId}`, patch({ op: 'add', path: 'members', value: [{ value: userId, type: 'Group' }] }))],
      ['a sort on a multi-valued extension-less path', 'answered', () => api('GET', '/admin/v1/Users?sortBy=groups.display')],
      ['sortBy given twice', 'refused', () => api('GET', '/admin/v1/Users?sortBy=userName&sortBy=title')],
      ['a filter on a URN without attribute', 'refused', () => list(`${ENTERPRISE} pr`)],
      ['a value filter on members with a boolean', 'refused', () => api('PATCH', `/admin/v1/Groups/${groupId}`, patch({ op: 'remove', path: 'members[value eq true]' }))],
    ] as [string, 'refused' | 'answered', () => Promise<ApiResponse>][])('should not fail on %s (%s)', async (_case, outcome, call) => {
      await unchanged(async () => {
        const res = await call();
        expect(res.status).toBeLessThan(500);
        if (outcome === 'refused') {
          expect(res.status).toBeGreaterThanOrEqual(400);
          expect(res.body.schemas).toContain('urn:ietf:params:scim:api:messages:2.0:Error');
          expect(res.body.detail.length).toBeGreaterThan(10);
        }
      });
    });

    it('should accept the longest userName it stores (1024 characters)', async () => {
      const res = await api('POST', '/admin/v1/Users', user('u'.repeat(1024), { emails: [{ value: `${'m'.repeat(1000)}@example.com`, type: 'work', primary: true }] }));
      expectStatus(res, 201);
      expect(res.body.userName).toHaveLength(1024);
      expectStatus(await api('DELETE', `/admin/v1/Users/${res.body.id}`), 204);
    });
  });

  it('should never have answered 500 in this file', () => {
    const failures = seen.filter(([, r]) => r.status >= 500).map(([what, r]) => `${what} → ${r.status} ${r.text.slice(0, 200)}`);
    expect(seen.length).toBeGreaterThan(300);
    expect(failures).toEqual([]);
  });
});
