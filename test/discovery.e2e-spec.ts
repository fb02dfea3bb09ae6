import { DataSource } from 'typeorm';
import { MAX_BODY_BYTES, MAX_PAGE_SIZE, MAX_PATCH_OPERATIONS } from '@app/scim';
import { seedUsers } from './support/seed';
import { ApiResponse, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user, USER_SCHEMA } from './support/server';

const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ORACLE_USER = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';
const ORACLE_GROUP = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group';
const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const LIMITS = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits';
/** The schemas of discovery itself (RFC 7643 §8.7.2) and of our ServiceProviderConfig extension. */
const DISCOVERY_SCHEMAS = [
  'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  'urn:ietf:params:scim:schemas:core:2.0:Schema',
  LIMITS,
];
const CHARACTERISTICS = ['name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness'];

/** An attribute as /Schemas describes it (RFC 7643 §7). */
interface Attr {
  name: string;
  type: string;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: string;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: Attr[];
}

/** One attribute of a resource type, with the path a client uses for it and where it sits in JSON. */
interface Located {
  attr: Attr;
  /** `userName`, or `urn:…:employeeNumber` for extension attributes. */
  path: string;
  /** Extension URN holding it in JSON, or undefined for core attributes. */
  urn?: string;
}

type Doc = Record<string, any>;

const DISCOVERY_PATHS = [
  '/admin/v1/ServiceProviderConfig',
  '/admin/v1/ResourceTypes',
  '/admin/v1/ResourceTypes/User',
  '/admin/v1/ResourceTypes/Group',
  '/admin/v1/Schemas',
  `/admin/v1/Schemas/${USER_SCHEMA}`,
  `/admin/v1/Schemas/${ORACLE_GROUP}`,
];

describe('SCIM discovery (ServiceProviderConfig, ResourceTypes, Schemas)', () => {
  let s: TestServer;
  let schemas: Map<string, Doc>;
  let resourceTypes: Map<string, Doc>;

  beforeAll(async () => {
    s = await TestServer.start();
    schemas = new Map((await s.api('GET', '/admin/v1/Schemas')).body.Resources.map((x: Doc) => [x.id, x]));
    resourceTypes = new Map((await s.api('GET', '/admin/v1/ResourceTypes')).body.Resources.map((x: Doc) => [x.name, x]));
  });
  afterAll(() => s.stop());

  /** Turns an absolute meta.location into a path on the test server (PUBLIC_URL says localhost, we call 127.0.0.1). */
  const local = (location: string) => {
    expect(location.startsWith(s.publicUrl + '/')).toBe(true);
    return location.slice(s.publicUrl.length);
  };

  describe('authentication', () => {
    it.each(DISCOVERY_PATHS)('should answer 401 with a SCIM error and a Bearer challenge without a token: %s', async (path) => {
      const res = await s.api('GET', path, undefined, { token: null });
      expectScimError(res, 401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it.each(DISCOVERY_PATHS)('should answer 401 for a forged token: %s', async (path) => {
      expectScimError(await s.api('GET', path, undefined, { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA' }), 401);
    });

    it('should answer any valid token whatever its role, including an IdP provisioning token', async () => {
      const tokens: [string, string][] = [
        ['Auditor', await s.tokenWithRoles('Auditor')],
        ['SecurityAdministrator', await s.tokenWithRoles('SecurityAdministrator')],
      ];
      const provisioning = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'discovery e2e' });
      expectStatus(provisioning, 201);
      tokens.push(['provisioning token', provisioning.body.token]);
      for (const [who, token] of tokens) {
        for (const path of DISCOVERY_PATHS) {
          const res = await s.api('GET', path, undefined, { token });
          expect({ who, path, status: res.status }).toEqual({ who, path, status: 200 });
          expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
        }
      }
    });
  });

  describe('GET /ServiceProviderConfig', () => {
    let spc: Doc;
    beforeAll(async () => {
      spc = (await s.api('GET', '/admin/v1/ServiceProviderConfig')).body;
    });

    it('should be a ServiceProviderConfig whose meta.location serves it, with no extension unless asked for', async () => {
      // The limits extension is returned on request only: strict clients (scim2-models) refuse any extension here.
      expect(spc.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig']);
      expect(spc[LIMITS]).toBeUndefined();
      expect(spc.meta).toEqual({ resourceType: 'ServiceProviderConfig', location: `${s.publicUrl}/admin/v1/ServiceProviderConfig` });
      expect((await s.api('GET', local(spc.meta.location))).body).toEqual(spc);
    });

    it('should point documentationUri at documentation that exists', async () => {
      const res = await s.raw('GET', local(spc.documentationUri));
      expectStatus(res, 200);
      expect(res.text).toMatch(/swagger/i);
    });

    it('should advertise the OAuth bearer scheme the server accepts', async () => {
      expect(spc.authenticationSchemes).toEqual([expect.objectContaining({ type: 'oauthbearertoken', primary: true, specUri: 'https://www.rfc-editor.org/rfc/rfc6750' })]);
      expect(spc.authenticationSchemes[0].description).toContain(`${s.publicUrl}/oauth2/v1/token`);
    });

    it('should support PATCH as patch.supported says', async () => {
      expect(spc.patch).toEqual({ supported: true });
      const created = await s.api('POST', '/admin/v1/Users', user('spc.patch@example.com'));
      const res = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'replace', path: 'title', value: 'Patched' }));
      expectStatus(res, 200);
      expect(res.body.title).toBe('Patched');
    });

    it('should have no Bulk endpoint, as bulk.supported is false', async () => {
      expect(spc.bulk).toEqual({ supported: false, maxOperations: 0, maxPayloadSize: 0 });
      const res = await s.api('POST', '/admin/v1/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] });
      expectScimError(res, 404);
    });

    it(`should cap every page at filter.maxResults (${MAX_PAGE_SIZE}) even when more match and more are asked for`, async () => {
      expect(spc.filter).toEqual({ supported: true, maxResults: MAX_PAGE_SIZE });
      await seedUsers(s, 'page-cap', spc.filter.maxResults + 5);
      for (const query of [`count=${spc.filter.maxResults + 1}`, 'count=100000', `filter=${encodeURIComponent('userName sw "page-cap."')}&count=5000`]) {
        const res = await s.api('GET', `/admin/v1/Users?${query}`);
        expectStatus(res, 200);
        expect({ query, itemsPerPage: res.body.itemsPerPage, length: res.body.Resources.length }).toEqual({
          query,
          itemsPerPage: spc.filter.maxResults,
          length: spc.filter.maxResults,
        });
        expect(res.body.totalResults).toBeGreaterThanOrEqual(spc.filter.maxResults + 5);
      }
    });

    it('should sort as sort.supported says', async () => {
      expect(spc.sort).toEqual({ supported: true });
      for (const name of ['sort.b@example.com', 'sort.c@example.com', 'sort.a@example.com']) await s.api('POST', '/admin/v1/Users', user(name));
      const filter = encodeURIComponent('userName sw "sort."');
      const asc = await s.api('GET', `/admin/v1/Users?filter=${filter}&sortBy=userName`);
      const desc = await s.api('GET', `/admin/v1/Users?filter=${filter}&sortBy=userName&sortOrder=descending`);
      expect(asc.body.Resources.map((r: Doc) => r.userName)).toEqual(['sort.a@example.com', 'sort.b@example.com', 'sort.c@example.com']);
      expect(desc.body.Resources.map((r: Doc) => r.userName)).toEqual(['sort.c@example.com', 'sort.b@example.com', 'sort.a@example.com']);
    });

    it('should sort by every attribute and sub-attribute the User schemas list, refusing only complex values without "value"', async () => {
      const rt = resourceTypes.get('User')!;
      const located: { a: Attr; prefix: string }[] = [rt.schema, ...rt.schemaExtensions.map((e: Doc) => e.schema)].flatMap((urn: string) =>
        schemas.get(urn)!.attributes.map((a: Attr) => ({ a, prefix: urn === rt.schema ? '' : `${urn}:` })),
      );
      const problems: string[] = [];
      for (const { a, prefix } of located) {
        const candidates: [string, boolean][] = [[`${prefix}${a.name}`, a.type !== 'complex' || (a.multiValued && !!a.subAttributes?.some((x) => x.name === 'value'))]];
        for (const sub of a.subAttributes ?? []) candidates.push([`${prefix}${a.name}.${sub.name}`, true]);
        for (const [sortBy, sortable] of candidates) {
          for (const order of ['ascending', 'descending']) {
            const res = await s.api('GET', `/admin/v1/Users?sortBy=${encodeURIComponent(sortBy)}&sortOrder=${order}&count=3`);
            const ok = sortable ? res.status === 200 && res.body.Resources.every((r: Doc) => typeof r.id === 'string') : res.status === 400 && res.body.scimType === 'invalidPath';
            if (!ok) problems.push(`sortBy=${sortBy} ${order}: ${res.status} ${res.text.slice(0, 120)}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('should support ETags as etag.supported says: ETag = meta.version, a stale If-Match gets 412', async () => {
      expect(spc.etag).toEqual({ supported: true });
      const created = await s.api('POST', '/admin/v1/Users', user('spc.etag@example.com'));
      expect(created.headers.get('etag')).toBe(created.body.meta.version);
      const changed = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'replace', path: 'title', value: 'v2' }), { headers: { 'if-match': created.body.meta.version } });
      expectStatus(changed, 200);
      expect(changed.headers.get('etag')).toBe(changed.body.meta.version);
      expect(changed.body.meta.version).not.toBe(created.body.meta.version);
      const stale = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'replace', path: 'title', value: 'v3' }), { headers: { 'if-match': created.body.meta.version } });
      expectScimError(stale, 412);
      expect((await s.api('GET', `/admin/v1/Users/${created.body.id}`)).body.title).toBe('v2');
    });

    it('should change passwords as changePassword.supported says, storing a new hash and never returning it', async () => {
      expect(spc.changePassword).toEqual({ supported: true });
      const created = await s.api('POST', '/admin/v1/Users', user('spc.password@example.com', { password: 'first-Password-1' }));
      const hashOf = async () => {
        const ds = s.app.get(DataSource);
        const rows = await ds.query(`SELECT password_hash FROM users WHERE id = ${ds.options.type === 'postgres' ? '$1' : '?'}`, [created.body.id]);
        return rows[0].password_hash as string;
      };
      const before = await hashOf();
      const res = await s.api('PATCH', `/admin/v1/Users/${created.body.id}?attributes=password`, patch({ op: 'replace', path: 'password', value: 'second-Password-2' }));
      expectStatus(res, 200);
      expect(res.text).not.toContain('second-Password-2');
      expect(res.body.password).toBeUndefined();
      const after = await hashOf();
      expect(after).toBeTruthy();
      expect(after).not.toBe(before);
      expect(after).not.toContain('second-Password-2');
    });

    it.each([`attributes=${LIMITS}`, `attributes=${LIMITS}:maxBodyBytes,${LIMITS}:maxValues`, 'attributeSets=all', 'attributeSets=request'])('should return the limits extension, listed in schemas, for %s', async (query) => {
      const res = await s.api('GET', `/admin/v1/ServiceProviderConfig?${query}`);
      expectStatus(res, 200);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig', LIMITS]);
      expect(res.body[LIMITS]).toMatchObject({ maxBodyBytes: MAX_BODY_BYTES, maxValues: expect.objectContaining({ User: expect.any(Object) }) });
      // `attributes` and attribute sets select (RFC 7644 §3.9, IDCS attributeSets); only "all" keeps the default ones.
      expect(res.body.patch).toEqual(query === 'attributeSets=all' ? { supported: true } : undefined);
    });

    it('should enforce the limits it advertises: body bytes and PATCH operations (413 just above, accepted at the limit)', async () => {
      const limits = (await s.api('GET', `/admin/v1/ServiceProviderConfig?attributes=${LIMITS}`)).body[LIMITS];
      expect(limits).toMatchObject({ maxBodyBytes: MAX_BODY_BYTES, maxPatchOperations: MAX_PATCH_OPERATIONS });
      const sized = (bytes: number) => {
        const base = JSON.stringify({ ...user('spc.size@example.com'), nickName: '' });
        return base.replace('"nickName":""', `"nickName":"${'x'.repeat(bytes - base.length)}"`);
      };
      expect(Buffer.byteLength(sized(limits.maxBodyBytes + 1))).toBe(limits.maxBodyBytes + 1);
      expectScimError(await s.api('POST', '/admin/v1/Users', sized(limits.maxBodyBytes + 1)), 413);
      // Refused unread (wrong media type): the server closes the connection and says so, or the client's next
      // request on it would meet the reset of the unread bytes (ECONNRESET).
      const unread = await s.api('POST', '/admin/v1/Users', sized(limits.maxBodyBytes), { headers: { 'content-type': 'text/plain' } });
      expectScimError(unread, 415);
      expect(unread.headers.get('connection')).toBe('close');
      // At the limit the body is read, then refused for its content (an over-long string), not for its size.
      expectScimError(await s.api('POST', '/admin/v1/Users', sized(limits.maxBodyBytes)), 400, 'invalidValue');

      const id = (await s.api('POST', '/admin/v1/Users', user('spc.ops@example.com'))).body.id;
      const ops = (n: number) => patch(...Array.from({ length: n }, (_, i) => ({ op: 'replace', path: 'title', value: `t${i}` })));
      expectScimError(await s.api('PATCH', `/admin/v1/Users/${id}`, ops(limits.maxPatchOperations + 1)), 413);
      expect((await s.api('GET', `/admin/v1/Users/${id}`)).body.title).toBeUndefined();
      const ok = await s.api('PATCH', `/admin/v1/Users/${id}`, ops(limits.maxPatchOperations));
      expectStatus(ok, 200);
      expect(ok.body.title).toBe(`t${limits.maxPatchOperations - 1}`);
    });
  });

  describe('GET /ResourceTypes', () => {
    it('should list User and Group among resource types whose endpoints all answer', async () => {
      const res = await s.api('GET', '/admin/v1/ResourceTypes');
      expectStatus(res, 200);
      const n = res.body.Resources.length;
      expect(res.body).toMatchObject({ schemas: [LIST_RESPONSE], totalResults: n, startIndex: 1, itemsPerPage: n });
      expect(res.body.Resources.map((r: Doc) => r.name)).toEqual(expect.arrayContaining(['Group', 'User']));
      for (const rt of res.body.Resources) {
        const list = await s.api('GET', `/admin/v1${rt.endpoint}?count=1`);
        expect({ endpoint: rt.endpoint, status: list.status, schemas: list.body.schemas }).toEqual({ endpoint: rt.endpoint, status: 200, schemas: [LIST_RESPONSE] });
      }
    });

    it.each([
      ['User', '/Users', USER_SCHEMA, [ENTERPRISE_USER, ORACLE_USER, ...['userState:User', 'OCITags', 'capabilities:User', 'adaptive:User', 'dbCredentials:User', 'passwordless:User', 'posix:User', 'selfChange:User', 'sff:User'].map((x) => `urn:ietf:params:scim:schemas:oracle:idcs:extension:${x}`), 'urn:identity-domain:scim:schemas:extension:attributeSources:2.0:User']],
      ['Group', '/Groups', GROUP_SCHEMA, [ORACLE_GROUP, ...['OCITags', 'posix:Group', 'requestable:Group'].map((x) => `urn:ietf:params:scim:schemas:oracle:idcs:extension:${x}`)]],
    ])('should describe %s with its endpoint, core schema and optional extensions', async (name, endpoint, schema, extensions) => {
      const rt = resourceTypes.get(name)!;
      expect(rt).toMatchObject({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: name, name, endpoint, schema });
      expect(rt.schemaExtensions).toEqual(extensions.map((e) => ({ schema: e, required: false })));
      expect(rt.meta).toEqual({ resourceType: 'ResourceType', location: `${s.publicUrl}/admin/v1/ResourceTypes/${name}` });
      for (const path of [local(rt.meta.location), `/admin/v1/ResourceTypes/${name.toLowerCase()}`]) {
        const one = await s.api('GET', path);
        expectStatus(one, 200);
        expect(one.body).toEqual(rt);
      }
      const list = await s.api('GET', `/admin/v1${endpoint}?count=1`);
      expectStatus(list, 200);
      expect(list.body.schemas).toEqual([LIST_RESPONSE]);
    });

    it('should answer 404 with a SCIM error for an unknown resource type', async () => {
      expectScimError(await s.api('GET', '/admin/v1/ResourceTypes/NoSuchType'), 404);
    });
  });

  describe('GET /Schemas', () => {
    it('should list exactly the core schemas and extensions of the resource types, and those of discovery itself', async () => {
      const res = await s.api('GET', '/admin/v1/Schemas');
      expect(res.body).toMatchObject({ schemas: [LIST_RESPONSE], totalResults: schemas.size, itemsPerPage: schemas.size, startIndex: 1 });
      const named = [...resourceTypes.values()].flatMap((rt) => [rt.schema, ...rt.schemaExtensions.map((e: Doc) => e.schema)]);
      expect([...schemas.keys()].sort()).toEqual([...new Set([...named, ...DISCOVERY_SCHEMAS])].sort());
    });

    it('should serve each schema at /Schemas/<urn> and at its meta.location, and 404 for others', async () => {
      for (const [id, schema] of schemas) {
        expect(schema.meta).toEqual({ resourceType: 'Schema', location: `${s.publicUrl}/admin/v1/Schemas/${id}` });
        for (const path of [local(schema.meta.location), `/admin/v1/Schemas/${encodeURIComponent(id)}`]) {
          const res = await s.api('GET', path);
          expectStatus(res, 200);
          expect(res.body).toEqual(schema);
        }
      }
      expectScimError(await s.api('GET', '/admin/v1/Schemas/urn:ietf:params:scim:schemas:core:2.0:Nothing'), 404);
    });

    it('should describe every attribute and sub-attribute with all RFC 7643 §7 characteristics', () => {
      const problems: string[] = [];
      // RFC 7643 §8.7.2 itself nests `subAttributes` in the Schema schema; the limits' maxValues is keyed by resource
      // type and attribute path, so it has no fixed sub-attributes to list.
      const exempt = new Set(['urn:ietf:params:scim:schemas:core:2.0:Schema:attributes.subAttributes', `${LIMITS}:maxValues`]);
      const visit = (where: string, a: Attr, depth: number) => {
        for (const c of CHARACTERISTICS) if ((a as unknown as Doc)[c] === undefined) problems.push(`${where}: no ${c}`);
        if (exempt.has(where)) return;
        if (a.type === 'complex' && !a.subAttributes?.length) problems.push(`${where}: complex without subAttributes`);
        if (a.type !== 'complex' && a.subAttributes) problems.push(`${where}: subAttributes on a ${a.type}`);
        if (depth > 0 && a.type === 'complex') problems.push(`${where}: complex sub-attribute`);
        if (a.type === 'reference' && !a.referenceTypes?.length) problems.push(`${where}: reference without referenceTypes`);
        for (const sub of a.subAttributes ?? []) visit(`${where}.${sub.name}`, sub, depth + 1);
      };
      for (const [id, schema] of schemas) for (const a of schema.attributes) visit(`${id}:${a.name}`, a, 0);
      expect(problems).toEqual([]);
    });

    it('should name in referenceTypes only resource types it serves, "external" or "uri"', () => {
      const allowed = new Set(['external', 'uri', ...resourceTypes.keys()]);
      const named: string[] = [];
      const visit = (where: string, a: Attr) => {
        for (const t of a.referenceTypes ?? []) named.push(allowed.has(t) ? 'ok' : `${where}: ${t}`);
        for (const sub of a.subAttributes ?? []) visit(`${where}.${sub.name}`, sub);
      };
      for (const [id, schema] of schemas) for (const a of schema.attributes) visit(`${id}:${a.name}`, a);
      expect(named.filter((x) => x !== 'ok')).toEqual([]);
      expect(named.length).toBeGreaterThan(3);
    });

    it('should list the common attributes only in core schemas, never in extensions', () => {
      for (const [id, schema] of schemas) {
        const isCore = [...resourceTypes.values()].some((rt) => rt.schema === id);
        const names = schema.attributes.map((a: Attr) => a.name);
        expect({ id, common: names.filter((n: string) => ['externalId', 'meta'].includes(n)) }).toEqual({ id, common: isCore ? ['externalId', 'meta'] : [] });
      }
    });

    it.each([
      [USER_SCHEMA, 'userName', { type: 'string', required: true, caseExact: false, uniqueness: 'server', returned: 'always', mutability: 'readWrite' }],
      [USER_SCHEMA, 'password', { type: 'string', mutability: 'writeOnly', returned: 'never' }],
      [USER_SCHEMA, 'groups', { type: 'complex', multiValued: true, mutability: 'readOnly', returned: 'request' }],
      [USER_SCHEMA, 'emails', { type: 'complex', multiValued: true, mutability: 'readWrite' }],
      [GROUP_SCHEMA, 'displayName', { type: 'string', required: true, caseExact: false, uniqueness: 'server', returned: 'always' }],
      [GROUP_SCHEMA, 'members', { type: 'complex', multiValued: true, mutability: 'readWrite', returned: 'request' }],
      [ORACLE_USER, 'creationMechanism', { mutability: 'immutable', returned: 'request' }],
      [ORACLE_GROUP, 'description', { type: 'string', mutability: 'readWrite', returned: 'default' }],
    ])('should describe %s %s as IDCS does', (schemaId, name, expected) => {
      expect(schemas.get(schemaId)!.attributes.find((a: Attr) => a.name === name)).toMatchObject(expected);
    });

    it('should mark every sub-attribute of User.groups readOnly', () => {
      const groups = schemas.get(USER_SCHEMA)!.attributes.find((a: Attr) => a.name === 'groups');
      expect(groups.subAttributes.map((x: Attr) => [x.name, x.mutability])).toEqual(groups.subAttributes.map((x: Attr) => [x.name, 'readOnly']));
    });
  });

  /**
   * The schemas must describe what the server does: checked attribute by attribute, for both resource types,
   * by building requests from the published schema alone.
   */
  describe.each([
    ['User', '/admin/v1/Users'],
    ['Group', '/admin/v1/Groups'],
  ])('%s: the published schema matches the behaviour', (rtName, endpoint) => {
    let attrs: Located[];
    let memberId: string;
    let seq = 0;

    beforeAll(async () => {
      const rt = resourceTypes.get(rtName)!;
      attrs = [
        ...schemas.get(rt.schema)!.attributes.map((attr: Attr) => ({ attr, path: attr.name })),
        ...rt.schemaExtensions.flatMap((e: Doc) => schemas.get(e.schema)!.attributes.map((attr: Attr) => ({ attr, path: `${e.schema}:${attr.name}`, urn: e.schema }))),
      ];
      memberId = (await s.api('POST', '/admin/v1/Users', user(`member.of.${rtName.toLowerCase()}@example.com`))).body.id;
    });

    /** A value of the attribute's type; `tag` keeps unique attributes unique. */
    const sample = (a: Attr, tag: string, parent?: Attr): unknown => {
      if (a.multiValued && !parent) return [sample({ ...a, multiValued: false }, tag)];
      if (parent?.name === 'members' && a.name === 'value') return memberId;
      switch (a.type) {
        case 'complex':
          return Object.fromEntries(a.subAttributes!.map((sub) => [sub.name, sample(sub, tag, a)]));
        case 'boolean':
          return true;
        case 'integer':
          return 7;
        case 'decimal':
          return 7.5;
        case 'dateTime':
          return '2021-02-03T04:05:06.000Z';
        case 'reference':
          return `https://example.com/${a.name}/${tag}`;
        case 'binary':
          return 'AAECAw==';
        default:
          if (a.name === 'password') return `Pa55word-${tag}`;
          return a.canonicalValues?.[0] ?? `${parent ? parent.name + '.' : ''}${a.name}-${tag}`;
      }
    };

    /** Everything the schema lists, with a value each, as one create body. */
    const fullBody = (tag: string): Doc => {
      const rt = resourceTypes.get(rtName)!;
      const body: Doc = { schemas: [rt.schema, ...rt.schemaExtensions.map((e: Doc) => e.schema)] };
      for (const { attr, urn } of attrs) {
        const holder = urn ? (body[urn] ??= {}) : body;
        holder[attr.name] = sample(attr, tag);
      }
      return body;
    };

    /** What the server should keep of a value the client sent: read-only parts are the server's. */
    const writable = (a: Attr, v: unknown): unknown => {
      if (a.type !== 'complex') return v;
      const one = (item: Doc) => Object.fromEntries(a.subAttributes!.filter((x) => x.mutability !== 'readOnly' && item[x.name] !== undefined).map((x) => [x.name, item[x.name]]));
      return Array.isArray(v) ? v.map(one) : one(v as Doc);
    };

    const valueIn = (doc: Doc, l: Located): unknown => (l.urn ? doc[l.urn]?.[l.attr.name] : doc[l.attr.name]);
    const createFull = async (): Promise<{ id: string; sent: Doc; res: ApiResponse }> => {
      const sent = fullBody(`${rtName}-${++seq}`);
      const res = await s.api('POST', endpoint, sent);
      expectStatus(res, 201);
      return { id: res.body.id, sent, res };
    };
    const count = async () => (await s.api('GET', `${endpoint}?count=0`)).body.totalResults;

    it('should accept every listed attribute on POST, keep the writable values and ignore the read-only ones', async () => {
      const { id, sent } = await createFull();
      const stored = (await s.api('GET', `${endpoint}/${id}?attributeSets=all`)).body;
      const problems: string[] = [];
      for (const l of attrs) {
        const got = valueIn(stored, l);
        const a = l.attr;
        if (a.mutability === 'readOnly') {
          // The server's own value, if any, never the client's.
          if (JSON.stringify(got)?.includes(`-${rtName}-${seq}`)) problems.push(`${l.path}: kept the client's read-only value ${JSON.stringify(got)}`);
        } else if (a.returned === 'never' || a.mutability === 'writeOnly') {
          if (got !== undefined) problems.push(`${l.path}: returned although ${a.returned}/${a.mutability}`);
        } else {
          const expected = writable(a, valueIn(sent, l));
          const actual = a.type === 'complex' ? writable(a, got) : got;
          if (JSON.stringify(actual) !== JSON.stringify(expected)) problems.push(`${l.path}: sent ${JSON.stringify(expected)}, stored ${JSON.stringify(got)}`);
        }
        if (a.type === 'complex' && got !== undefined) {
          for (const item of [got].flat() as Doc[]) {
            for (const sub of a.subAttributes!) {
              if (sub.mutability === 'readOnly' && JSON.stringify(item[sub.name])?.includes(`-${rtName}-${seq}`)) {
                problems.push(`${l.path}.${sub.name}: kept the client's read-only value`);
              }
            }
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('should return nothing the schemas do not list', async () => {
      const { id } = await createFull();
      const rt = resourceTypes.get(rtName)!;
      const stored = (await s.api('GET', `${endpoint}/${id}?attributeSets=all`)).body;
      const unlisted: string[] = [];
      const check = (doc: Doc, list: Attr[], where: string) => {
        for (const [key, value] of Object.entries(doc)) {
          const a = list.find((x) => x.name === key);
          if (!a) {
            unlisted.push(`${where}${key}`);
            continue;
          }
          if (a.type === 'complex') {
            for (const item of [value].flat() as Doc[]) {
              for (const k of Object.keys(item)) if (!a.subAttributes!.some((x) => x.name === k)) unlisted.push(`${where}${key}.${k}`);
            }
          }
        }
      };
      const extensions: string[] = rt.schemaExtensions.map((e: Doc) => e.schema);
      const { schemas: declared, id: _id, ...core } = stored;
      for (const urn of extensions) delete core[urn];
      check(core, schemas.get(rt.schema)!.attributes, '');
      for (const urn of extensions) if (stored[urn]) check(stored[urn], schemas.get(urn)!.attributes, `${urn}:`);
      expect(unlisted).toEqual([]);
      expect(declared.every((x: string) => x === rt.schema || extensions.includes(x))).toBe(true);
      expect(Object.keys(stored).filter((k) => k.startsWith('urn:')).every((k) => declared.includes(k))).toBe(true);
    });

    it('should return each attribute exactly as its "returned" characteristic says', async () => {
      const { id } = await createFull();
      // A membership gives User.groups a value too, so that every attribute has one to show or hide.
      if (rtName === 'User') expectStatus(await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: `returned-${id}`, members: [{ value: id }] }), 201);
      // So does a sign-in to userState lastSuccessfulLoginDate (written by SAML / OIDC sign-ins only, beside the user's row).
      if (rtName === 'User') await s.app.get(DataSource).query(`INSERT INTO user_sign_ins (user_id, idp_id, last_sign_in_at) VALUES ('${id}', NULL, '${new Date().toISOString()}')`);
      const problems: string[] = [];
      const present = async (query: string, l: Located) => valueIn((await s.api('GET', `${endpoint}/${id}${query}`)).body, l) !== undefined;
      const other = rtName === 'User' ? 'nickName' : 'externalId';
      for (const l of attrs) {
        const { returned } = l.attr;
        const expectations: [string, boolean][] = [
          ['', returned === 'always' || returned === 'default'],
          [`?attributes=${encodeURIComponent(l.path)}`, returned !== 'never'],
          [`?attributes=${other}`, returned === 'always' || l.path === other],
          [`?excludedAttributes=${encodeURIComponent(l.path)}`, returned === 'always'],
          ['?attributeSets=all', returned !== 'never'],
        ];
        for (const [query, expected] of expectations) {
          if ((await present(query, l)) !== expected) problems.push(`${l.path} (${returned}) with "${query}": expected ${expected ? 'present' : 'absent'}`);
        }
      }
      expect(problems).toEqual([]);
    });

    it('should refuse PATCH of readOnly attributes and of immutable ones that have a value, and accept the others', async () => {
      const { id } = await createFull();
      const problems: string[] = [];
      const attempt = async (path: string, value: unknown) => {
        const before = (await s.api('GET', `${endpoint}/${id}?attributeSets=all`)).body;
        const res = await s.api('PATCH', `${endpoint}/${id}`, patch({ op: 'replace', path, value }));
        return { res, before };
      };
      for (const l of attrs) {
        const a = l.attr;
        // Another value than the one set on create, so that changing an immutable attribute is really a change.
        // (sample() gives every boolean true: false is the other value.)
        const fresh = a.canonicalValues ? a.canonicalValues[1] : a.type === 'boolean' ? false : sample(a, `${rtName}-patched-${++seq}`);
        const { res, before } = await attempt(l.path, fresh);
        const refused = a.mutability === 'readOnly' || a.mutability === 'immutable';
        if (refused) {
          if (res.status !== 400 || res.body.scimType !== 'mutability') problems.push(`${l.path} (${a.mutability}): got ${res.status} ${res.body?.scimType ?? ''}`);
          const after = (await s.api('GET', `${endpoint}/${id}?attributeSets=all`)).body;
          if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`${l.path}: a refused PATCH changed the resource`);
        } else if (res.status !== 200) problems.push(`${l.path} (${a.mutability}): got ${res.status} ${res.text.slice(0, 200)}`);
        // Immutable sub-attributes of a single complex attribute are just as fixed once set.
        if (a.type === 'complex' && !a.multiValued && a.mutability !== 'readOnly') {
          for (const sub of a.subAttributes!.filter((x) => x.mutability === 'immutable')) {
            const other = sub.canonicalValues?.[1] ?? `${sub.name}-changed`;
            const r = await attempt(`${l.path}.${sub.name}`, other);
            if (r.res.status !== 400 || r.res.body.scimType !== 'mutability') problems.push(`${l.path}.${sub.name} (immutable): got ${r.res.status}`);
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it('should refuse a create that lacks a required attribute or sub-attribute (400) and create nothing', async () => {
      const before = await count();
      const problems: string[] = [];
      for (const l of attrs) {
        const a = l.attr;
        const variants: [string, (b: Doc) => void][] = [];
        if (a.required) variants.push([l.path, (b) => delete (l.urn ? b[l.urn] : b)[a.name]]);
        if (a.type === 'complex' && a.mutability !== 'readOnly') {
          for (const sub of a.subAttributes!.filter((x) => x.required)) {
            variants.push([
              `${l.path}.${sub.name}`,
              (b) => {
                const holder = l.urn ? b[l.urn] : b;
                for (const item of [holder[a.name]].flat()) delete item[sub.name];
              },
            ]);
          }
        }
        for (const [what, strip] of variants) {
          const body = fullBody(`${rtName}-missing-${++seq}`);
          strip(body);
          const res = await s.api('POST', endpoint, body);
          if (res.status !== 400) problems.push(`without ${what}: got ${res.status}`);
        }
      }
      expect(problems).toEqual([]);
      expect(await count()).toBe(before);
    });

    it('should take an empty element of a multi-valued complex attribute as no value, or refuse it when a sub-attribute is required', async () => {
      const problems: string[] = [];
      for (const l of attrs.filter((x) => x.attr.type === 'complex' && x.attr.multiValued && x.attr.mutability !== 'readOnly')) {
        const body = fullBody(`${rtName}-empty-${++seq}`);
        (l.urn ? body[l.urn] : body)[l.attr.name] = [{}];
        const res = await s.api('POST', endpoint, body);
        const needsSomething = l.attr.subAttributes!.some((x) => x.required);
        if (needsSomething ? res.status !== 400 : res.status !== 201 || valueIn(res.body, l) !== undefined) problems.push(`${l.path} [{}]: ${res.status} ${res.text.slice(0, 200)}`);
      }
      expect(problems).toEqual([]);
    });

    it('should filter strings case-sensitively exactly where caseExact is true', async () => {
      // Canonical values keep their letters (the server may check them), only their case is mixed.
      const alternate = (x: string) => [...x].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
      const mixed = (l: Located, sub?: Attr) => {
        const a = sub ?? l.attr;
        if (l.attr.name === 'members' && sub?.name === 'value') return memberId;
        return a.canonicalValues ? alternate(a.canonicalValues[0]) : `MiXeD-${(sub ? `${l.attr.name}.${sub.name}` : l.attr.name).replace(/\W/g, '')}-${rtName}`;
      };
      const targets: { path: string; sub?: Attr; l: Located; caseExact: boolean }[] = [];
      const body = fullBody(`${rtName}-case-${++seq}`);
      for (const l of attrs) {
        const a = l.attr;
        if (a.mutability === 'readOnly' || a.returned === 'never') continue;
        const holder = l.urn ? body[l.urn] : body;
        if (a.type === 'string') {
          holder[a.name] = mixed(l);
          targets.push({ path: l.path, l, caseExact: a.caseExact });
        }
        for (const sub of a.subAttributes ?? []) {
          if (sub.type !== 'string' || sub.mutability === 'readOnly') continue;
          for (const item of [holder[a.name]].flat()) item[sub.name] = mixed(l, sub);
          targets.push({ path: `${l.path}.${sub.name}`, sub, l, caseExact: sub.caseExact });
        }
      }
      const created = await s.api('POST', endpoint, body);
      expectStatus(created, 201);
      const problems: string[] = [];
      for (const t of targets) {
        const value = mixed(t.l, t.sub);
        const probes: [string, boolean][] = [
          [value, true],
          [value.toLowerCase(), !t.caseExact],
          [value.toUpperCase(), !t.caseExact],
        ];
        for (const [probe, shouldMatch] of probes.filter(([p], i) => i === 0 || p !== value)) {
          const filter = `${t.path} eq "${probe}" and id eq "${created.body.id}"`;
          const res = await s.api('GET', `${endpoint}?filter=${encodeURIComponent(filter)}&attributes=id`);
          const matched = res.status === 200 && res.body.totalResults === 1;
          if (matched !== shouldMatch) problems.push(`${t.path} (caseExact ${t.caseExact}) eq "${probe}": ${res.status} ${matched ? 'matched' : 'no match'}`);
        }
      }
      expect(targets.length).toBeGreaterThan(3);
      expect(problems).toEqual([]);
    });

    it('should keep unique attributes unique, ignoring case exactly where caseExact is false', async () => {
      const unique = attrs.filter((l) => l.attr.uniqueness !== 'none' && l.attr.mutability !== 'readOnly');
      expect(unique.length).toBeGreaterThan(0);
      for (const l of unique) {
        const { sent } = await createFull();
        const original = valueIn(sent, l) as string;
        for (const variant of [original, original.toUpperCase()]) {
          const body = fullBody(`${rtName}-dup-${++seq}`);
          (l.urn ? body[l.urn] : body)[l.attr.name] = variant;
          const res = await s.api('POST', endpoint, body);
          const duplicate = variant === original || !l.attr.caseExact;
          if (duplicate) expectScimError(res, 409, 'uniqueness');
          else expectStatus(res, 201);
        }
      }
    });
  });
});
