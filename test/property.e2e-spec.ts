import fc from 'fast-check';
import { IDENTITY_PROVIDER_SCHEMA_ID, mappedAttributeBody } from '@app/fixtures';
import { makeKeyPair } from './support/certs';
import { ApiResponse, ERROR_SCHEMA, expectStatus, GROUP_SCHEMA, PATCH_SCHEMA, TestServer, user, USER_SCHEMA } from './support/server';

/**
 * Property-based tests: thousands of generated requests against the real server. Whatever comes in,
 * the server answers without a 5xx, every 4xx is a SCIM error envelope, and a refused write leaves
 * the store as it was. FC_SEED=<n> replays a run; the seed is printed when a property fails.
 */
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ORACLE_USER = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';
const ORACLE_GROUP = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group';
/** Replaced by "__proto__" in the serialised JSON: a literal __proto__ key cannot be built as an object key. */
const PROTO = 'xxPROTOxx';

type Doc = Record<string, any>;
interface Attr {
  name: string;
  type: string;
  multiValued: boolean;
  subAttributes?: Attr[];
  canonicalValues?: string[];
}

async function check<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, predicate: (t: T) => Promise<void>): Promise<void> {
  const out = await fc.check(fc.asyncProperty(arb, predicate), { seed: SEED, numRuns });
  if (!out.failed) return;
  console.error(`Property "${name}" failed; replay with FC_SEED=${SEED}`);
  // fast-check's own report prints the whole counterexample, and the large-input properties' ones (up to 1 MiB
  // bodies, several per run) can exceed the longest string V8 builds ("RangeError: Invalid string length"), which
  // then hides the real failure. Report the cause in full and the counterexample cut down.
  const cause = out.errorInstance instanceof Error ? out.errorInstance.stack ?? out.errorInstance.message : String(out.errorInstance);
  throw new Error(`Property "${name}" failed after ${out.numRuns} runs (seed ${out.seed}, path "${out.counterexamplePath}")\nCounterexample: ${abridged(out.counterexample)}\nCause: ${cause.slice(0, 4000)}`);
}

/** JSON of `v` with long strings and arrays shortened, so that a report stays readable and small. */
function abridged(v: unknown): string {
  return JSON.stringify(v, (_key, x: unknown) => {
    if (typeof x === 'string' && x.length > 120) return `${x.slice(0, 120)}… (${x.length} characters)`;
    if (Array.isArray(x) && x.length > 12) return [...x.slice(0, 12), `… (${x.length} items)`];
    return x;
  }).slice(0, 8000);
}

/** No 5xx, and a 4xx is a SCIM error envelope (RFC 7644 §3.12). */
function expectWellFormed(res: ApiResponse, what: string): void {
  if (res.status >= 500) throw new Error(`${what}: HTTP ${res.status}: ${res.text.slice(0, 500)}`);
  if (res.status >= 400) {
    const b = res.body;
    const ok =
      b && typeof b === 'object' && Array.isArray(b.schemas) && b.schemas.includes(ERROR_SCHEMA) && b.status === String(res.status) && typeof b.detail === 'string' && b.detail.length > 0;
    if (!ok || !/^application\/scim\+json/.test(res.headers.get('content-type') ?? '')) {
      throw new Error(`${what}: HTTP ${res.status} without a SCIM error envelope: ${res.headers.get('content-type')} ${res.text.slice(0, 500)}`);
    }
  }
}

/** The same text with the case of each letter chosen by the bits of `mask`. */
const withCase = (s: string, mask: number) => [...s].map((c, i) => ((mask >> i % 30) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
const anyCase = (s: string) => fc.integer({ min: 0, max: 2 ** 30 - 1 }).map((m) => (m % 3 === 0 ? s : withCase(s, m)));

describe('property-based: generated requests against the real server', () => {
  let s: TestServer;
  let userSchema: Attr[];
  let paths: string[];
  let multiComplex: Attr[];
  let userIds: string[];
  let protoKeys: string[];

  beforeAll(async () => {
    protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    s = await TestServer.start();
    const schemas = new Map<string, Doc>((await s.api('GET', '/admin/v1/Schemas')).body.Resources.map((x: Doc) => [x.id, x]));
    userSchema = schemas.get(USER_SCHEMA)!.attributes;
    const ext = [ENTERPRISE_USER, ORACLE_USER].flatMap((urn) => schemas.get(urn)!.attributes.map((a: Attr) => ({ ...a, name: `${urn}:${a.name}` })));
    paths = ['id', ...[...userSchema, ...ext].flatMap((a: Attr) => [a.name, ...(a.subAttributes ?? []).map((x) => `${a.name}.${x.name}`)])];
    multiComplex = userSchema.filter((a) => a.multiValued && a.type === 'complex');
    // Users with varied attributes, so that generated filters match some and miss others.
    userIds = [];
    for (let i = 0; i < 12; i++) {
      const res = await s.api(
        'POST',
        '/admin/v1/Users',
        user(`prop.${i}@example.com`, {
          schemas: [USER_SCHEMA, ENTERPRISE_USER],
          displayName: i % 3 ? `Person ${i}` : undefined,
          active: i % 2 === 0,
          externalId: i % 4 ? `ext-${i}` : undefined,
          title: i % 5 ? 'Engineer' : undefined,
          phoneNumbers: i % 2 ? [{ value: `+1 555 000 ${i}`, type: 'mobile' }] : undefined,
          addresses: i % 3 === 1 ? [{ locality: 'Paris', country: 'FR', type: 'work', primary: true }] : undefined,
          [ENTERPRISE_USER]: i % 2 ? { employeeNumber: String(1000 + i), department: 'R&D', manager: { value: 'boss' } } : undefined,
        }),
      );
      if (res.status !== 201) throw new Error(`seeding failed: ${res.text}`);
      userIds.push(res.body.id);
    }
    const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Prop Group', members: userIds.slice(0, 5).map((value) => ({ value })) });
    if (g.status !== 201) throw new Error(`seeding failed: ${g.text}`);
  });

  afterAll(async () => {
    await s?.stop();
  });

  afterAll(() => {
    // The server runs in this process: no generated "__proto__" may have reached Object.prototype.
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
    expect(({} as Doc).polluted).toBeUndefined();
  });

  const userCount = async (): Promise<number> => (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults;

  // ---- filter arbitraries -------------------------------------------------------------------------

  const stringLiteral = () =>
    fc
      .oneof(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.constantFrom('prop.3@example.com', 'PERSON 4', 'Engineer', 'work', 'mobile', 'Paris', 'R&D', '1001', 'boss', 'true', 'ext-', '2021-01-01T00:00:00Z', '', '%', '_', '\\', '"', "'"),
      )
      .map((x) => JSON.stringify(x));
  const literal = () =>
    fc.oneof(
      { weight: 4, arbitrary: stringLiteral() },
      fc.integer({ min: -1e6, max: 1e6 }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => JSON.stringify(x)),
      fc.constantFrom('true', 'false', 'null', 'TRUE', '1e400', '-0', '"2021-13-45T99:99:99Z"'),
    );
  const compareOp = () => fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le').chain(anyCase);

  const validFilter = () =>
    fc.letrec<{ filter: string; leaf: string; valuePath: string }>((tie) => ({
      leaf: fc.oneof(
        fc.tuple(fc.constantFrom(...paths).chain(anyCase), compareOp(), literal()).map(([p, op, v]) => `${p} ${op} ${v}`),
        fc.constantFrom(...paths).map((p) => `${p} ${'pr'}`),
      ),
      valuePath: fc
        .constantFrom(...multiComplex)
        .chain((a) =>
          fc
            .array(
              fc.tuple(fc.constantFrom(...a.subAttributes!.map((x) => x.name)), compareOp(), literal()).map(([sub, op, v]) => `${sub} ${op} ${v}`),
              { minLength: 1, maxLength: 3 },
            )
            .chain((leaves) => fc.constantFrom(' and ', ' or ').map((j) => `${a.name}[${leaves.join(j)}]`)),
        ),
      filter: fc.oneof(
        { depthSize: 'small', maxDepth: 4, withCrossShrink: true },
        { weight: 4, arbitrary: tie('leaf') },
        { weight: 2, arbitrary: tie('valuePath') },
        tie('filter').map((f) => `(${f})`),
        tie('filter').map((f) => `not (${f})`),
        fc.tuple(tie('filter'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('filter')).map(([a, j, b]) => `${a} ${j} ${b}`),
      ),
    })).filter;

  /** Replaces halves of surrogate pairs left alone by an edit: a URL cannot carry them. */
  const wellFormed = (x: string) => x.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

  /** A grammar filter with a few characters inserted, deleted or swapped: mostly invalid, near-valid text. */
  const mangledFilter = () =>
    fc
      .tuple(validFilter(), fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })), { minLength: 1, maxLength: 4 }))
      .map(([f, edits]) =>
        edits.reduce((acc, [at, kind, text]) => {
          const i = acc.length ? at % acc.length : 0;
          if (kind === 0) return acc.slice(0, i) + text + acc.slice(i);
          if (kind === 1) return acc.slice(0, i) + acc.slice(i + 1);
          return acc.slice(0, i) + text + acc.slice(i + text.length);
        }, f),
      )
      .map(wellFormed);

  const garbageFilter = () =>
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      mangledFilter(),
      fc.constantFrom('(', ')', '[]', 'not', 'userName eq', 'eq "x"', 'emails[type eq "work"', 'emails[type eq "work"]]', '"', 'a'.repeat(5000), `${'('.repeat(300)}userName pr${')'.repeat(300)}`, 'userName eq "x" and '.repeat(300) + 'userName pr'),
    );

  const listQuery = (filter: string, extra: string) => `/admin/v1/Users?filter=${encodeURIComponent(filter)}${extra}`;
  const sortArb = () => fc.option(fc.tuple(fc.constantFrom(...paths), fc.constantFrom('ascending', 'descending', 'DESCENDING')), { nil: undefined });

  it('should answer every grammar-built filter with 200 or a 400 envelope, and F and not (F) should split the users', async () => {
    const total = await userCount();
    await check('grammar filters', fc.tuple(validFilter(), sortArb(), fc.boolean()), 700, async ([filter, sort, viaSearch]) => {
      const res = viaSearch
        ? await s.api('POST', '/admin/v1/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter, count: 3, ...(sort ? { sortBy: sort[0], sortOrder: sort[1] } : {}) })
        : await s.api('GET', listQuery(filter, `&count=3${sort ? `&sortBy=${encodeURIComponent(sort[0])}&sortOrder=${sort[1]}` : ''}`));
      expectWellFormed(res, `filter ${JSON.stringify(filter)}`);
      if (res.status !== 200) {
        if (res.status !== 400) throw new Error(`filter ${JSON.stringify(filter)}: HTTP ${res.status}`);
        return;
      }
      expect(res.body.Resources.length).toBeLessThanOrEqual(3);
      const strangers = res.body.Resources.filter((r: Doc) => !userIds.includes(r.id));
      if (strangers.length) throw new Error(`filter ${JSON.stringify(filter)} returned unknown or incomplete users: ${JSON.stringify(strangers).slice(0, 500)}`);
      const negated = await s.api('GET', listQuery(`not (${filter})`, '&count=0'));
      expectWellFormed(negated, `filter not (${JSON.stringify(filter)})`);
      if (negated.status !== 200) throw new Error(`"${filter}" is accepted but "not (${filter})" gets ${negated.status}: ${negated.text}`);
      if (res.body.totalResults + negated.body.totalResults !== total) {
        throw new Error(`"${filter}" matches ${res.body.totalResults} and its negation ${negated.body.totalResults} of ${total} users`);
      }
    });
  });

  it('should answer garbage filters with 200 or a 400 envelope, never a 5xx', async () => {
    await check('garbage filters', fc.tuple(garbageFilter(), fc.boolean()), 500, async ([filter, viaSearch]) => {
      const res = viaSearch
        ? await s.api('POST', '/admin/v1/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter })
        : await s.api('GET', listQuery(filter, '&count=2'));
      expectWellFormed(res, `filter ${JSON.stringify(filter)}`);
      expect([200, 400]).toContain(res.status);
      if (res.status === 400) expect(['invalidFilter', 'invalidValue', 'invalidPath']).toContain(res.body.scimType);
    });
  });

  // ---- PATCH ----------------------------------------------------------------------------------------

  const jsonish = (): fc.Arbitrary<unknown> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      fc.constantFrom<unknown>(
        true,
        'False',
        '',
        null,
        [],
        {},
        'a'.repeat(9000),
        'new.name@example.com',
        '\u0000',
        'a\u0000b',
        '\ud800',
        'x\udfffy',
        { [PROTO]: { polluted: 'yes' } },
        [{ [PROTO]: { polluted: 'yes' }, value: 'x' }],
        { value: 'x@example.com', type: 'work', primary: true },
        [{ value: 'y@example.com', type: 'home' }],
        { givenName: 'Given', familyName: 'Family' },
        { constructor: { prototype: { polluted: 'yes' } } },
      ),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );

  const patchPath = () =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...paths).chain(anyCase) },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(...multiComplex)
          .chain((a) =>
            fc
              .tuple(fc.constantFrom(...a.subAttributes!.map((x) => x.name)), compareOp(), literal(), fc.option(fc.constantFrom(...a.subAttributes!.map((x) => x.name), '__proto__'), { nil: undefined }))
              .map(([sub, op, v, after]) => `${a.name}[${sub} ${op} ${v}]${after ? '.' + after : ''}`),
          ),
      },
      fc.constantFrom(
        '__proto__',
        '__proto__.polluted',
        'constructor',
        'constructor.prototype',
        'prototype',
        'name.__proto__',
        'emails[__proto__ eq "x"]',
        'emails[type eq "work"].__proto__',
        `${ORACLE_USER}:__proto__`,
        `${ENTERPRISE_USER}:manager.__proto__`,
        `${ENTERPRISE_USER}`,
        'toString',
        'hasOwnProperty',
        'schemas',
        'meta.version',
        'groups',
        'emails[type eq "work"',
        'emails[]',
        'name..givenName',
      ),
      fc.string({ unit: 'binary', maxLength: 24 }),
    );

  const operation = () =>
    fc
      .record(
        {
          op: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('add', 'remove', 'replace').chain(anyCase) }, fc.constantFrom('merge', '', 'ADD '), fc.jsonValue({ maxDepth: 0 })),
          path: fc.oneof({ weight: 5, arbitrary: patchPath() }, fc.constantFrom<unknown>(undefined, null, 7, ['a'])),
          value: jsonish(),
          capitalised: fc.boolean(),
        },
        { requiredKeys: ['op', 'capitalised'] },
      )
      .map(({ capitalised, ...o }) => (capitalised ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k[0].toUpperCase() + k.slice(1), v])) : o));

  const patchBody = () =>
    fc.oneof(
      { weight: 8, arbitrary: fc.array(operation(), { minLength: 1, maxLength: 3 }).map((Operations) => ({ schemas: [PATCH_SCHEMA], Operations })) },
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom<unknown>({ schemas: [PATCH_SCHEMA] }, { schemas: [PATCH_SCHEMA], Operations: [] }, { Operations: [{ op: 'add', path: 'title', value: 'x' }] }),
    );

  const serialise = (body: unknown) => JSON.stringify(body).split(`"${PROTO}"`).join('"__proto__"');

  it('should refuse bad PATCH bodies with a 4xx envelope and leave the user exactly as it was', async () => {
    const target = (await s.api('POST', '/admin/v1/Users', user('patch.target@example.com', { password: 'Initial-Password-1' }))).body.id;
    const read = () => s.api('GET', `/admin/v1/Users/${target}?attributeSets=all`);
    let accepted = 0;
    await check('PATCH bodies', patchBody(), 900, async (body) => {
      const before = await read();
      const res = await s.api('PATCH', `/admin/v1/Users/${target}`, serialise(body));
      expectWellFormed(res, `PATCH ${serialise(body).slice(0, 300)}`);
      const after = await read();
      if (res.status >= 400) {
        expect(after.body).toEqual(before.body);
        expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
      } else {
        expect(res.status).toBe(200);
        accepted++;
        expect(res.headers.get('etag')).toBe(res.body.meta.version);
        expect(after.headers.get('etag')).toBe(res.body.meta.version);
        // The response shows what was stored.
        expect((await s.api('GET', `/admin/v1/Users/${target}`)).body).toEqual(res.body);
        expect(after.body.password).toBeUndefined();
      }
    });
    // Some generated PATCHes must have succeeded, or the property says nothing about accepted ones.
    expect(accepted).toBeGreaterThan(10);
  });

  // ---- POST ---------------------------------------------------------------------------------------

  const schemasArb = (core: string, ext: string[]) =>
    fc.oneof(
      { weight: 6, arbitrary: fc.subarray(ext).map((e) => [core, ...e]) },
      fc.constantFrom<unknown>([], [core.toUpperCase()], ['urn:unknown'], core, null, [core, 5]),
    );

  /** A valid body with up to two attributes set to generated values: often accepted, sometimes not. */
  const nearValid = (base: fc.Arbitrary<Doc>, keys: string[]) =>
    fc
      .tuple(base, fc.array(fc.tuple(fc.constantFrom(...keys), jsonish()), { maxLength: 2 }))
      .map(([b, edits]) => edits.reduce((acc, [k, v]) => ({ ...acc, [k]: v }), b));

  const userBody = () =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: nearValid(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }).map((userName) => ({ schemas: [USER_SCHEMA], userName, emails: [{ value: 'near.valid@example.com', primary: true }] })),
          ['userName', 'name', 'displayName', 'nickName', 'active', 'emails', 'phoneNumbers', 'addresses', 'password', 'groups', 'id', 'meta', 'externalId', 'locale', ENTERPRISE_USER, ORACLE_USER, PROTO, 'nosuch'],
        ),
      },
      {
        weight: 6,
        arbitrary: fc
          .record(
            {
              schemas: schemasArb(USER_SCHEMA, [ENTERPRISE_USER, ORACLE_USER]),
              userName: fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }) }, jsonish()),
              name: fc.oneof(fc.record({ givenName: jsonish(), familyName: fc.string() }, { requiredKeys: [] }), jsonish()),
              displayName: jsonish(),
              active: jsonish(),
              emails: jsonish(),
              password: fc.oneof(fc.string({ minLength: 8, maxLength: 12 }), jsonish()),
              groups: jsonish(),
              id: jsonish(),
              meta: jsonish(),
              [ENTERPRISE_USER]: fc.oneof(fc.record({ employeeNumber: jsonish(), manager: jsonish() }, { requiredKeys: [] }), jsonish()),
              [ORACLE_USER]: jsonish(),
              [PROTO]: jsonish(),
              nosuch: jsonish(),
            },
            { requiredKeys: [] },
          )
      },
      fc.jsonValue({ maxDepth: 2 }),
    );

  const groupBody = () =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: nearValid(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }).map((displayName) => ({ schemas: [GROUP_SCHEMA], displayName, members: [{ value: 'u0' }] })),
          ['displayName', 'members', 'externalId', 'id', 'meta', ORACLE_GROUP, PROTO, 'nosuch'],
        ),
      },
      {
        weight: 6,
        arbitrary: fc
          .record(
            {
              schemas: schemasArb(GROUP_SCHEMA, [ORACLE_GROUP]),
              displayName: fc.oneof({ weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }) }, jsonish()),
              externalId: jsonish(),
              members: fc.oneof(
                fc.array(
                  fc.record({ value: fc.oneof(fc.constantFrom(...['u0', 'u1', 'u2']), jsonish()), type: fc.constantFrom<unknown>('User', 'user', 'Group', 5), display: jsonish() }, { requiredKeys: [] }),
                  { maxLength: 3 },
                ),
                jsonish(),
              ),
              [ORACLE_GROUP]: fc.oneof(fc.record({ description: jsonish(), creationMechanism: jsonish() }, { requiredKeys: [] }), jsonish()),
              [PROTO]: jsonish(),
            },
            { requiredKeys: [] },
          )
      },
      fc.jsonValue({ maxDepth: 2 }),
    );

  it.each([
    ['Users', userBody, 500],
    ['Groups', groupBody, 350],
  ] as const)('should answer random POST /%s bodies with 201 or a 4xx envelope, creating exactly one resource or none', async (resource, bodyArb, runs) => {
    const count = async () => (await s.api('GET', `/admin/v1/${resource}?count=0`)).body.totalResults;
    let created = 0;
    await check(`POST /${resource}`, bodyArb() as fc.Arbitrary<unknown>, runs, async (body) => {
      // Member references name real users: u0…u2 stand for the ids of seeded users.
      const text = serialise(body).replace(/"u([0-2])"/g, (_m, i) => JSON.stringify(userIds[Number(i)]));
      const before = await count();
      const res = await s.api('POST', `/admin/v1/${resource}`, text);
      expectWellFormed(res, `POST ${text.slice(0, 300)}`);
      const after = await count();
      if (res.status >= 400) {
        expect(after).toBe(before);
        return;
      }
      expect(res.status).toBe(201);
      created++;
      expect(after).toBe(before + 1);
      const stored = await s.api('GET', `/admin/v1/${resource}/${res.body.id}`);
      expect(stored.body).toEqual(res.body);
      expect(res.headers.get('location')).toBe(res.body.meta.location);
      expect(res.body.password).toBeUndefined();
    });
    expect(created).toBeGreaterThan(5);
  });

  // ---- Large inputs, every resource --------------------------------------------------------------------
  //
  // Multi-valued attributes from empty to past their caps and up to the body limit, strings up to and past the
  // 8192-character limit, resources pushed past the 1 MiB resource size: whatever the request, no 5xx, and a
  // refused write leaves the resource exactly as it was, meta.version included. Lists are generated from a few
  // numbers (count, string length), not element by element, so that a run with a 20,000-element list stays fast.

  const LIMITS = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits';
  let caps: Record<string, Record<string, number>>;

  /** Around a cap: just under, at, just over; anywhere below twice it; far over (still under 1 MiB for small elements). */
  const countAround = (cap: number) =>
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(cap - 1, cap, cap + 1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 * cap }) }, fc.constantFrom(0, 1, 5_000, 20_000));
  const textLength = () => fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, fc.constantFrom(1024, 1025, 8192, 8193), fc.integer({ min: 1, max: 8192 }));
  const text = (n: number, tag: string) => `${tag}~`.padEnd(n, 'x');

  const elementOf: Record<string, (i: number, len: number, tag: string) => unknown> = {
    emails: (i, len, tag) => ({ value: `${text(len, `${tag}.${i}`)}@example.com`, type: ['work', 'home', 'other'][i % 3], ...(i === 0 ? { primary: true } : {}) }),
    phoneNumbers: (i, len, tag) => ({ value: `+1 ${text(len, `${tag}${i}`)}`, type: 'mobile' }),
    addresses: (i, len, tag) => ({ formatted: text(len, `${tag}${i}`), locality: 'Paris', type: 'work' }),
  };
  const listOf = (attribute: string, n: number, len: number, tag: string) => Array.from({ length: n }, (_, i) => elementOf[attribute](i, len, tag));

  /** One operation on a multi-valued User attribute, or on the whole user, with a large value. */
  const largeUserOperation = () =>
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(fc.constantFrom('emails', 'phoneNumbers', 'addresses'), fc.constantFrom('add', 'replace', 'Add', 'remove'), countAround(100), textLength(), fc.integer({ min: 0, max: 9 }))
          .map(([attribute, op, n, len, tag]) => ({ op, path: attribute, value: listOf(attribute, n, len, `t${tag}`) })),
      },
      fc
        .tuple(fc.constantFrom('work', 'home', 'mobile', 'fax'), fc.constantFrom('emails', 'phoneNumbers'), fc.constantFrom('Replace', 'add'), textLength())
        .map(([type, attribute, op, len]) => ({ op, path: `${attribute}[type eq "${type}"].value`, value: text(len, type) })),
      fc
        .tuple(fc.constantFrom('streetAddress', 'formatted', 'locality', 'region'), textLength())
        .map(([sub, len]) => ({ op: 'replace', path: `addresses.${sub}`, value: text(len, sub) })),
      fc.tuple(fc.constantFrom('nickName', 'title', 'displayName'), textLength()).map(([path, len]) => ({ op: 'replace', path, value: text(len, path) })),
    );

  /** Requests against one resource: refused → unchanged (body and version); accepted → the response is what is stored. */
  async function checkWrites(name: string, read: string, arb: fc.Arbitrary<{ method: string; path: string; body: unknown }>, runs: number): Promise<{ accepted: number; refused: number }> {
    let accepted = 0;
    let refused = 0;
    await check(name, arb, runs, async ({ method, path, body }) => {
      const before = await s.api('GET', read);
      expectStatus(before, 200);
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await s.api(method, path, text);
      expectWellFormed(res, `${method} ${path} ${text.slice(0, 300)}`);
      const after = await s.api('GET', read);
      expectStatus(after, 200);
      if (res.status >= 400) {
        refused++;
        expect(after.body).toEqual(before.body);
        expect(after.body.meta.version).toBe(before.body.meta.version);
        expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
        return;
      }
      accepted++;
      expect(res.status).toBe(200);
      expect(after.body.meta.version).toBe(res.body.meta.version);
      expect(res.headers.get('etag')).toBe(res.body.meta.version);
    });
    return { accepted, refused };
  }

  describe('large inputs', () => {
    let groupIds: string[];

    beforeAll(async () => {
      caps = (await s.api('GET', `/admin/v1/ServiceProviderConfig?attributes=${LIMITS}`)).body[LIMITS].maxValues;
      groupIds = [];
      for (const name of ['Large A', 'Large B', 'Large C']) {
        const g = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: name });
        expectStatus(g, 201);
        groupIds.push(g.body.id);
      }
    });

    it('should refuse or apply large User PATCHes whole, never with a 5xx', async () => {
      expect(caps.User).toMatchObject({ emails: 100, phoneNumbers: 100, addresses: 100 });
      const id = (await s.api('POST', '/admin/v1/Users', user('large.patch@example.com'))).body.id;
      const arb = fc.array(largeUserOperation(), { minLength: 1, maxLength: 3 }).map((ops) => ({ method: 'PATCH', path: `/admin/v1/Users/${id}`, body: { schemas: [PATCH_SCHEMA], Operations: ops } }));
      const { accepted, refused } = await checkWrites('large User PATCH', `/admin/v1/Users/${id}?attributeSets=all`, arb, 150);
      expect(accepted).toBeGreaterThan(10);
      expect(refused).toBeGreaterThan(10);
    });

    it('should answer large POST /Users bodies with 201 or a 4xx envelope, creating one user or none', async () => {
      const arb = fc
        .tuple(fc.dictionary(fc.constantFrom('emails', 'phoneNumbers', 'addresses'), fc.tuple(countAround(100), textLength()), { minKeys: 1, maxKeys: 3 }), fc.integer({ min: 0, max: 2 ** 30 }))
        .map(([lists, n]) => user(`large.post.${n}@example.com`, Object.fromEntries(Object.entries(lists).map(([attribute, [count, len]]) => [attribute, listOf(attribute, count, len, `p${n}`)]))));
      let created = 0;
      await check('large POST /Users', arb, 80, async (body) => {
        const before = await userCount();
        const res = await s.api('POST', '/admin/v1/Users', body);
        expectWellFormed(res, `POST /Users ${JSON.stringify(body).slice(0, 300)}`);
        if (res.status === 409) return; // the same generated userName twice
        expect(await userCount()).toBe(before + (res.status === 201 ? 1 : 0));
        if (res.status === 201) {
          created++;
          expect((await s.api('GET', `/admin/v1/Users/${res.body.id}`)).body).toEqual(res.body);
        }
      });
      expect(created).toBeGreaterThan(5);
    });

    it('should refuse or apply large Group PATCHes whole, members included, never with a 5xx', async () => {
      expect(caps.Group).toMatchObject({ members: 10_000 });
      const gid = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Large Members' })).body.id;
      // Many references to few users: a list at the request cap without 10,000 users to seed.
      const refs = (n: number, unknownAt: number | undefined) => Array.from({ length: n }, (_, i) => ({ value: i === unknownAt ? 'no-such-user' : userIds[i % userIds.length] }));
      const memberOp = fc
        .tuple(fc.constantFrom('add', 'replace', 'remove', 'Add'), countAround(10_000), fc.option(fc.nat(), { nil: undefined }))
        .map(([op, n, unknown]) => ({ op, path: 'members', value: refs(n, unknown === undefined ? undefined : unknown % Math.max(1, n)) }));
      const otherOp = fc.oneof(
        fc.constantFrom(...userIds.slice(0, 3)).map((u) => ({ op: 'remove', path: `members[value eq "${u}"]` })),
        textLength().map((len) => ({ op: 'replace', path: 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group:description', value: text(len, 'd') })),
        textLength().map((len) => ({ op: 'replace', path: 'externalId', value: text(len, 'x') })),
        fc.constantFrom('Large Members', 'Large A', 'Large Members 2').map((value) => ({ op: 'replace', path: 'displayName', value })),
      );
      const arb = fc
        .array(fc.oneof({ weight: 2, arbitrary: memberOp }, otherOp), { minLength: 1, maxLength: 3 })
        .map((ops) => ({ method: 'PATCH', path: `/admin/v1/Groups/${gid}`, body: { schemas: [PATCH_SCHEMA], Operations: ops } }));
      const { accepted, refused } = await checkWrites('large Group PATCH', `/admin/v1/Groups/${gid}?attributeSets=all`, arb, 120);
      expect(accepted).toBeGreaterThan(10);
      expect(refused).toBeGreaterThan(10);
    });

    it('should refuse or apply large IdentityProvider and MappedAttribute writes whole, never with a 5xx', async () => {
      expect(caps.IdentityProvider).toMatchObject({ jitUserProvGroupMappings: 250, jitUserProvAssignedGroups: 250 });
      const cert = await makeKeyPair('property');
      const created = await s.api('POST', '/admin/v1/IdentityProviders', {
        schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
        partnerName: 'Property IdP',
        enabled: false,
        partnerProviderId: 'http://idp.example/property',
        idpSsoUrl: 'https://idp.example/property/sso',
        signingCertificate: cert.certificateB64,
      });
      expectStatus(created, 201);
      const idpId = created.body.id;
      const mappedId = created.body.jitUserProvAttributes.value;

      const groupMappings = (n: number, len: number, dupAt: number | undefined) =>
        Array.from({ length: n }, (_, i) => ({ idpGroup: text(Math.min(len, 300), `g${i === dupAt ? 0 : i}`), value: i % 7 === 6 ? 'no-such-group' : groupIds[i % groupIds.length] }));
      const idpOp = fc.oneof(
        fc
          .tuple(fc.constantFrom('add', 'replace'), countAround(250), textLength(), fc.option(fc.nat(), { nil: undefined }))
          .map(([op, n, len, dup]) => ({ op, path: 'jitUserProvGroupMappings', value: groupMappings(n, len, dup === undefined ? undefined : dup % Math.max(1, n)) })),
        fc.tuple(fc.constantFrom('add', 'replace'), countAround(250)).map(([op, n]) => ({ op, path: 'jitUserProvAssignedGroups', value: Array.from({ length: n }, (_, i) => ({ value: groupIds[i % groupIds.length] })) })),
        fc.tuple(countAround(100), textLength()).map(([n, len]) => ({ op: 'replace', path: 'requestedAuthenticationContext', value: Array.from({ length: n }, (_, i) => text(len, `urn:ctx:${i}`)) })),
        textLength().map((len) => ({ op: 'replace', path: 'description', value: text(len, 'desc') })),
        fc.constantFrom({ op: 'remove', path: 'jitUserProvGroupMappings' }, { op: 'replace', path: 'jitUserProvGroupStaticListEnabled', value: true }, { op: 'remove', path: 'jitUserProvAssignedGroups' }),
      );
      const targets = ['displayName', 'nickName', 'title', 'name.givenName', 'emails[type eq "work"].value', 'userName'];
      const mappings = (n: number, len: number, actions: number) =>
        Array.from({ length: n }, (_, i) => ({
          idcsAttributeName: targets[i % targets.length],
          managedObjectAttributeName: `$(assertion.${text(Math.min(len, 200), `a${i}`).replace(/[^\w]/g, 'x')})`,
          ...(actions ? { appliesToActions: Array.from({ length: actions }, (_, k) => (k % 2 ? 'create' : 'update')) } : {}),
        }));
      const mappedOp = fc.oneof(
        fc
          .tuple(fc.constantFrom('add', 'replace'), countAround(100), textLength(), fc.oneof(fc.constant(0), countAround(100)))
          // Many mappings each with many actions would make a body no client can send (20,000 × 20,000 values do not
          // even fit in one string): keep the product near the body limit, which is what is under test.
          .map(([op, n, len, actions]) => ({ op, path: 'attributeMappings', value: mappings(n, len, Math.min(actions, Math.floor(150_000 / Math.max(1, n)))) })),
        fc.constantFrom(...targets).map((t) => ({ op: 'replace', path: `attributeMappings[idcsAttributeName eq ${JSON.stringify(t)}].managedObjectAttributeName`, value: '$(assertion.changed)' })),
        fc.constantFrom({ op: 'remove', path: 'attributeMappings[idcsAttributeName eq "title"]' }, { op: 'remove', path: 'attributeMappings' }),
      );
      const arb = fc.oneof(
        fc.array(idpOp, { minLength: 1, maxLength: 3 }).map((ops) => ({ kind: 'idp', method: 'PATCH', path: `/admin/v1/IdentityProviders/${idpId}`, body: { schemas: [PATCH_SCHEMA], Operations: ops } as unknown })),
        fc.array(mappedOp, { minLength: 1, maxLength: 3 }).map((ops) => ({ kind: 'mapped', method: 'PATCH', path: `/admin/v1/MappedAttributes/${mappedId}`, body: { schemas: [PATCH_SCHEMA], Operations: ops } as unknown })),
        fc
          .tuple(countAround(100), textLength())
          .map(([n, len]) => ({ kind: 'mapped', method: 'PUT', path: `/admin/v1/MappedAttributes/${mappedId}`, body: mappedAttributeBody(mappings(n, len, 0)) as unknown })),
      );
      const results = { idp: { accepted: 0, refused: 0 }, mapped: { accepted: 0, refused: 0 } };
      for (const kind of ['idp', 'mapped'] as const) {
        const read = kind === 'idp' ? `/admin/v1/IdentityProviders/${idpId}?attributeSets=all` : `/admin/v1/MappedAttributes/${mappedId}`;
        results[kind] = await checkWrites(`large ${kind} writes`, read, arb.filter((x) => x.kind === kind), 100);
      }
      for (const r of Object.values(results)) {
        expect(r.accepted).toBeGreaterThan(5);
        expect(r.refused).toBeGreaterThan(5);
      }
    });
  });
});
