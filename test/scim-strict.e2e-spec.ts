import { IDENTITY_PROVIDER_SCHEMA_ID } from '@app/fixtures';
import { ociClient, ociError } from './support/oci-sdk';
import { ApiResponse, dbQuery, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user, USER_SCHEMA } from './support/server';

/**
 * What strict SCIM clients require, and Oracle's SDK too, on the same server: python-scim's scim2-models refuses any
 * key its models do not define (pydantic extra="forbid") and scim2-client reads a body as an Error only when
 * `schemas` is exactly the Error URN; oci-common reads `code` and `message` and nothing else. The rules of those
 * two Python packages are restated here (scim2-models 0.6.12: messages/error.py, base.py, resources/
 * service_provider_config.py; scim2-client 0.7.5: client.py check_response), so that CI needs no Python;
 * scripts/scim2-tester.sh runs the real thing.
 *
 * Also: RFC 7643 §3 (`schemas` lists every extension a body carries) on discovery and resources, `attributes=` on
 * the discovery endpoints, PATCH of a whole extension by its URN, and PATCH remove of `active`.
 */

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const ORACLE_ERROR = 'urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error';
const SPC = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const LIMITS = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const POSIX = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:posix:Group';
const SCIM_TYPES = ['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive'];

type Doc = Record<string, any>;

/** What keeps scim2-client from reading `body` as a scim2-models Error: none when it is one. */
function strictErrorProblems(res: ApiResponse): string[] {
  const b = res.body as Doc;
  const problems: string[] = [];
  if (JSON.stringify(b.schemas) !== JSON.stringify([ERROR])) problems.push(`schemas ${JSON.stringify(b.schemas)} is not exactly [Error]`);
  for (const k of Object.keys(b)) if (!['schemas', 'status', 'scimType', 'detail'].includes(k)) problems.push(`unknown key ${k}`);
  if (b.status !== String(res.status)) problems.push(`status ${JSON.stringify(b.status)} is not "${res.status}"`);
  if (b.scimType !== undefined && !SCIM_TYPES.includes(b.scimType)) problems.push(`scimType ${b.scimType}`);
  if (typeof b.detail !== 'string') problems.push('no detail');
  return problems;
}

/** RFC 7643 §3: every extension a body carries (a URN key) is listed in `schemas`, and `schemas` lists nothing else. */
function unlistedExtensions(b: Doc): string[] {
  const urnKeys = Object.keys(b).filter((k) => k.startsWith('urn:'));
  return [...urnKeys.filter((k) => !b.schemas.includes(k)).map((k) => `${k} not listed`), ...b.schemas.slice(1).filter((u: string) => !urnKeys.includes(u)).map((u: string) => `${u} listed, absent`)];
}

describe('Strict SCIM clients and Oracle SDKs', () => {
  let s: TestServer;
  let userId: string;

  beforeAll(async () => {
    s = await TestServer.start();
    const u = await s.api('POST', '/admin/v1/Users', user('strict.subject@example.com'));
    expectStatus(u, 201);
    userId = u.body.id;
  });
  afterAll(() => s.stop());

  describe('error bodies', () => {
    /** Requests that fail, each a different way into the error envelope (handler, guard, body parser, router). */
    const FAILURES: [string, string, string, unknown, Record<string, string>, number][] = [
      ['an unknown id', 'GET', '/admin/v1/Users/0123456789abcdef0123456789abcdef', undefined, {}, 404],
      ['an unknown endpoint', 'GET', '/admin/v1/e7c0b0b4-unknown', undefined, {}, 404],
      ['an unknown schema id', 'GET', '/admin/v1/Schemas/urn:example:none', undefined, {}, 404],
      ['an invalid filter', 'GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq')}`, undefined, {}, 400],
      ['a duplicate userName', 'POST', '/admin/v1/Users', user('STRICT.subject@example.com'), {}, 409],
      ['a missing token', 'GET', '/admin/v1/Users', undefined, { authorization: '' }, 401],
      ['JSON that does not parse', 'POST', '/admin/v1/Users', '{"schemas":', {}, 400],
      ['a wrong media type', 'POST', '/admin/v1/Users', '{}', { 'content-type': 'text/plain' }, 415],
      ['a write to discovery', 'POST', '/admin/v1/Schemas', {}, {}, 405],
    ];
    const ORACLE_SDKS: [string, Record<string, string>][] = [
      ['the TypeScript SDK (User-Agent)', { 'user-agent': 'Oracle-TypeScriptSDK/2.139.1 (linux/6.1; Node/v22.1.0)' }],
      ['the Go SDK under Terraform (opc-client-info)', { 'user-agent': 'terraform-provider-oci/7.0.0', 'opc-client-info': 'Oracle-GoSDK/65.90.0' }],
      ['the TypeScript SDK in a browser (X-Orcl-User-Agent)', { 'x-orcl-user-agent': 'Oracle-TypeScriptSDK/2.139.1' }],
    ];
    const OTHERS: [string, Record<string, string>][] = [
      ['no User-Agent', {}],
      ['scim2-client (httpx)', { 'user-agent': 'python-httpx/0.28.1' }],
      ['a browser', { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Oracle-ish' }],
      ['a look-alike', { 'user-agent': 'NotOracle-TypeScriptSDK/1.0' }],
    ];

    const send = async (method: string, path: string, body: unknown, headers: Record<string, string>) => {
      const h: Record<string, string> = { 'content-type': 'application/scim+json', ...headers };
      if (h.authorization === undefined) h.authorization = `Bearer ${await s.token()}`;
      if (h.authorization === '') delete h.authorization;
      return s.raw(method, path, { headers: h, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    };

    describe.each(OTHERS)('for %s', (_who, headers) => {
      it.each(FAILURES)('should answer %s with exactly what scim2-models reads as an Error', async (_case, method, path, body, extra, status) => {
        const res = await send(method, path, body, { ...headers, ...extra });
        expect(res.status).toBe(status);
        expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
        expect(strictErrorProblems(res)).toEqual([]);
      });
    });

    describe.each(ORACLE_SDKS)('for %s', (_who, headers) => {
      it.each(FAILURES)('should answer %s with the SCIM error plus the code and message the SDK reads', async (_case, method, path, body, extra, status) => {
        const res = await send(method, path, body, { ...headers, ...extra });
        expect(res.status).toBe(status);
        const { code, message, ...scim } = res.body;
        expect(strictErrorProblems({ ...res, body: scim })).toEqual([]);
        expect(code).toMatch(/^[A-Z][A-Za-z]+$/);
        expect(message).toBe(res.body.detail);
      });
    });

    it.each([
      ['a strict client', {}, false],
      ["Oracle's SDK", ORACLE_SDKS[0][1], true],
    ])("should carry an IDCS message id in Oracle's extension, listed in schemas (RFC 7643 §3), for %s", async (_who, headers, oracle) => {
      const res = await send('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], name: { givenName: 'No' } }, headers);
      expect([res.status, res.body.scimType]).toEqual([400, 'invalidValue']);
      expect(res.body.schemas).toEqual([ERROR, ORACLE_ERROR]);
      expect(res.body[ORACLE_ERROR]).toEqual({ messageId: 'error.common.validation.missingReqAttributes' });
      expect(unlistedExtensions(res.body)).toEqual([]);
      expect(Object.keys(res.body).sort()).toEqual([...(oracle ? ['code', 'message'] : []), 'detail', 'schemas', 'scimType', 'status', ORACLE_ERROR].sort());
    });

    it("should let Oracle's SDK surface the service code and message of the same error a strict client reads as RFC 7644", async () => {
      const missing = '0123456789abcdef0123456789abcdef';
      const e = await ociError(ociClient(s).getUser({ authorization: `Bearer ${await s.token()}`, userId: missing }));
      expect([e.statusCode, e.serviceCode, e.message]).toEqual([404, 'NotFound', `No user with id "${missing}"`]);
      const strict = await s.api('GET', `/admin/v1/Users/${missing}`);
      expect(strict.body).toEqual({ schemas: [ERROR], status: '404', detail: e.message });
    });
  });

  describe('discovery', () => {
    /** The keys scim2-models' ServiceProviderConfig defines (RFC 7643 §5), `meta` included. */
    const SPC_KEYS = ['schemas', 'id', 'documentationUri', 'patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag', 'authenticationSchemes', 'meta'];

    it('should serve a ServiceProviderConfig with nothing RFC 7643 §5 does not define', async () => {
      const res = await s.api('GET', '/admin/v1/ServiceProviderConfig');
      expectStatus(res, 200);
      expect(res.body.schemas).toEqual([SPC]);
      expect(Object.keys(res.body).filter((k) => !SPC_KEYS.includes(k))).toEqual([]);
    });

    it('should list in schemas every extension each discovery response and resource carries, and only those', async () => {
      const group = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA, POSIX], displayName: 'Strict', [POSIX]: { gidNumber: 7 } });
      expectStatus(group, 201);
      const withExtension = await s.api('POST', '/admin/v1/Users', user('strict.extended@example.com', { schemas: [USER_SCHEMA, ENTERPRISE], [ENTERPRISE]: { employeeNumber: '1' } }));
      const bodies: [string, Doc][] = [];
      for (const path of [
        '/admin/v1/ServiceProviderConfig',
        `/admin/v1/ServiceProviderConfig?attributes=${LIMITS}`,
        '/admin/v1/ServiceProviderConfig?attributeSets=all',
        `/admin/v1/ServiceProviderConfig?excludedAttributes=${LIMITS}:maxValues`,
        `/admin/v1/Users/${withExtension.body.id}?attributeSets=all`,
        `/admin/v1/Users/${withExtension.body.id}?attributes=userName`,
        `/admin/v1/Groups/${group.body.id}?attributeSets=all`,
        `/admin/v1/Groups/${group.body.id}`,
      ]) {
        const res = await s.api('GET', path);
        expectStatus(res, 200);
        bodies.push([path, res.body]);
      }
      for (const list of ['/admin/v1/ResourceTypes', '/admin/v1/Schemas', '/admin/v1/Users?attributeSets=all', '/admin/v1/Groups?attributeSets=all', '/admin/v1/IdentityProviders']) {
        for (const r of (await s.api('GET', list)).body.Resources) bodies.push([`${list} ${r.id}`, r]);
      }
      const problems = bodies.flatMap(([where, b]) => unlistedExtensions(b).map((p) => `${where}: ${p}`));
      expect(problems).toEqual([]);
      expect(bodies.length).toBeGreaterThan(15);
    });

    it.each([
      ['/admin/v1/Schemas?attributes=name', (r: Doc) => expect(Object.keys(r).sort()).toEqual(['id', 'name', 'schemas'])],
      ['/admin/v1/Schemas?excludedAttributes=attributes,meta', (r: Doc) => expect(Object.keys(r).sort()).toEqual(['description', 'id', 'name', 'schemas'])],
      ['/admin/v1/Schemas?attributes=attributes.name', (r: Doc) => expect(r.attributes.every((a: Doc) => Object.keys(a).join() === 'name')).toBe(true)],
      ['/admin/v1/Schemas?attributes=urn:ietf:params:scim:schemas:core:2.0:Schema', (r: Doc) => expect(Object.keys(r).sort()).toEqual(['attributes', 'description', 'id', 'name', 'schemas'])],
      ['/admin/v1/ResourceTypes?attributes=endpoint', (r: Doc) => expect(Object.keys(r).sort()).toEqual(['endpoint', 'id', 'schemas'])],
      ['/admin/v1/ResourceTypes?excludedAttributes=schemaExtensions,description', (r: Doc) => expect(Object.keys(r).sort()).toEqual(['endpoint', 'id', 'meta', 'name', 'schema', 'schemas'])],
    ])('should apply %s to every resource of the list', async (path, check) => {
      const res = await s.api('GET', path);
      expectStatus(res, 200);
      expect(res.body.Resources.length).toBeGreaterThan(1);
      res.body.Resources.forEach(check);
    });

    it('should apply attributes= to one schema and one resource type', async () => {
      const schema = await s.api('GET', `/admin/v1/Schemas/${USER_SCHEMA}?attributes=attributes.name,attributes.mutability`);
      expectStatus(schema, 200);
      expect(schema.body.attributes.find((a: Doc) => a.name === 'userName')).toEqual({ name: 'userName', mutability: 'readWrite' });
      const rt = await s.api('GET', '/admin/v1/ResourceTypes/User?attributes=schemaExtensions.schema');
      expect(rt.body).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', schemaExtensions: expect.arrayContaining([{ schema: ENTERPRISE }]) });
    });

    it.each([
      ['/admin/v1/Schemas?attributes=shoeSize', 400, 'invalidPath', /Unknown attribute "shoeSize"/],
      ['/admin/v1/ResourceTypes/User?excludedAttributes=endpoint.x', 400, 'invalidPath', /"endpoint" has no sub-attributes/],
      ['/admin/v1/ServiceProviderConfig?attributes=patch&excludedAttributes=bulk', 400, 'invalidSyntax', /not both/],
      [`/admin/v1/Schemas?filter=${encodeURIComponent('id eq "x"')}`, 403, undefined, /take no filter/],
      [`/admin/v1/ResourceTypes?filter=${encodeURIComponent('name eq "User"')}`, 403, undefined, /take no filter/],
    ])('should refuse %s', async (path, status, scimType, detail) => {
      const res = await s.api('GET', path);
      expectScimError(res, status, scimType);
      expect(res.body.detail).toMatch(detail);
    });

    it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('should answer %s on every discovery endpoint with 405 and Allow: GET', async (method) => {
      for (const path of ['/admin/v1/ServiceProviderConfig', '/admin/v1/ResourceTypes', '/admin/v1/ResourceTypes/User', '/admin/v1/Schemas', `/admin/v1/Schemas/${USER_SCHEMA}`]) {
        const res = await s.api(method, path, method === 'DELETE' ? undefined : {});
        expectScimError(res, 405);
        expect(res.headers.get('allow')).toBe('GET');
      }
    });
  });

  describe('PATCH of a whole extension, its URN as path (RFC 7644 §3.5.2)', () => {
    const byEmployee = async (n: string) => (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`${ENTERPRISE}:employeeNumber eq "${n}"`)}`)).body.totalResults;

    it('should add, replace and remove the enterprise extension of a user, stored and filterable', async () => {
      const created = await s.api('POST', '/admin/v1/Users', user('strict.whole@example.com'));
      const id = created.body.id;
      const steps: [Record<string, unknown>, Doc | undefined][] = [
        [{ op: 'add', path: ENTERPRISE, value: { employeeNumber: '41', department: 'R&D' } }, { employeeNumber: '41', department: 'R&D' }],
        [{ op: 'replace', path: ENTERPRISE, value: { employeeNumber: '42' } }, { employeeNumber: '42', department: 'R&D' }],
        [{ op: 'Replace', path: ENTERPRISE.toUpperCase(), value: { Department: 'Ops' } }, { employeeNumber: '42', department: 'Ops' }],
        [{ op: 'remove', path: ENTERPRISE }, undefined],
      ];
      let version = created.body.meta.version;
      for (const [op, expected] of steps) {
        const res = await s.api('PATCH', `/admin/v1/Users/${id}`, patch(op));
        expectStatus(res, 200);
        expect(res.body[ENTERPRISE]).toEqual(expected);
        expect(res.body.schemas.includes(ENTERPRISE)).toBe(expected !== undefined);
        expect(res.body.meta.version).not.toBe(version);
        version = res.body.meta.version;
        expect((await s.api('GET', `/admin/v1/Users/${id}`)).body).toEqual(res.body);
      }
      expect(await byEmployee('42')).toBe(0);
      const again = await s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'add', path: ENTERPRISE, value: { employeeNumber: '43' } }));
      expectStatus(again, 200);
      expect(await byEmployee('43')).toBe(1);
    });

    it('should patch a group extension the same way', async () => {
      const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Strict whole' });
      const add = await s.api('PATCH', `/admin/v1/Groups/${g.body.id}?attributes=${POSIX}`, patch({ op: 'add', path: POSIX, value: { gidNumber: 501 } }));
      expectStatus(add, 200);
      expect(add.body[POSIX]).toEqual({ gidNumber: 501 });
      const removed = await s.api('PATCH', `/admin/v1/Groups/${g.body.id}?attributes=${POSIX}`, patch({ op: 'remove', path: POSIX }));
      expectStatus(removed, 200);
      expect(removed.body[POSIX]).toBeUndefined();
      expect(removed.body.schemas).not.toContain(POSIX);
      expect((await s.api('GET', `/admin/v1/Groups/${g.body.id}?attributeSets=all`)).body.schemas).not.toContain(POSIX);
    });

    it('should refuse an extension that does not belong to the resource type, and change nothing', async () => {
      const before = (await s.api('GET', `/admin/v1/Users/${userId}`)).body;
      const res = await s.api('PATCH', `/admin/v1/Users/${userId}`, patch({ op: 'add', path: IDENTITY_PROVIDER_SCHEMA_ID, value: { partnerName: 'x' } }));
      expectScimError(res, 400, 'invalidPath');
      expect((await s.api('GET', `/admin/v1/Users/${userId}`)).body).toEqual(before);
    });
  });

  describe('PATCH remove of active (RFC 7644 §3.5.2.2: the attribute becomes unassigned)', () => {
    const activeColumn = async (id: string) => {
      const [row] = await dbQuery<{ active: boolean | number }>(s, 'SELECT active FROM users WHERE id = $1', [id]);
      return row.active === true || row.active === 1;
    };
    const count = async (filter: string, id: string) =>
      (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`${filter} and id eq "${id}"`)}`)).body.totalResults;

    it.each([true, false])('should leave a user whose active was %s without it, and able to sign in (unassigned means active)', async (active) => {
      const created = await s.api('POST', '/admin/v1/Users', user(`strict.active.${active}@example.com`, { active }));
      expectStatus(created, 201);
      expect(created.body.active).toBe(active);
      const res = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'remove', path: 'active' }));
      expectStatus(res, 200);
      expect(res.body).not.toHaveProperty('active');
      expect(res.body.meta.version).not.toBe(created.body.meta.version);
      expect((await s.api('GET', `/admin/v1/Users/${created.body.id}?attributeSets=all`)).body).not.toHaveProperty('active');
      expect(await activeColumn(created.body.id)).toBe(true);
      expect([await count('active eq true', created.body.id), await count('active eq false', created.body.id)]).toEqual([1, 0]);
      // Removing what is unassigned changes nothing: same version.
      const again = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'remove', path: 'active' }));
      expect(again.body.meta.version).toBe(res.body.meta.version);
      const off = await s.api('PATCH', `/admin/v1/Users/${created.body.id}`, patch({ op: 'add', path: 'active', value: false }));
      expect(off.body.active).toBe(false);
      expect(await activeColumn(created.body.id)).toBe(false);
    });
  });
});
