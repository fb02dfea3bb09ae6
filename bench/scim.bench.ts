/**
 * SCIM admin API benchmark: `npm run bench:scim` (builds, then runs this file).
 *
 * For each dialect (an SQLite file, then a fresh PostgreSQL database) it starts the *built* server
 * (`node dist/apps/admin-api/src/main.js`, what production runs) as a child process on 127.0.0.1, so the
 * load generator never shares the server's event loop; gets a token from POST /oauth2/v1/token; seeds
 * BENCH_USERS users (default 100,000); then measures each phase at 16 concurrent connections for
 * BENCH_DURATION seconds (default 10, after a 2 s unrecorded warm-up):
 *
 *   ceiling   GET  /admin/v1/ServiceProviderConfig   (authenticated, no database: the HTTP + auth ceiling)
 *   eq        GET  /admin/v1/Users?filter=userName eq "<random existing user>"
 *   sw+sort   GET  /admin/v1/Users?filter=name.familyName sw "<random prefix>"&sortBy=name.familyName&count=100
 *   create    POST /admin/v1/Users (unique userName, no password)
 *   patch     PATCH /admin/v1/Users/<random existing id> (replace displayName)
 *
 * The phases run interleaved in BENCH_ROUNDS slices (default 2 × 5 s each), so that other load on a shared
 * machine weighs on all phases alike. It samples the server's RSS (VmRSS in /proc/<pid>/status) every 100 ms
 * and the CPU time of the server, of itself and of the whole machine (/proc), prints a table, checks the
 * targets, and writes bench/results/scim-<YYYY-MM-DD>.json (small, meant to be committed; runs with any
 * BENCH_* override write to the temporary directory instead).
 *
 * Load generator: autocannon, because it is maintained (Fastify/NearForm), has a programmatic API with
 * per-request `setupRequest` (so every request can carry a different user name / id), keeps connections
 * alive like a real SCIM client, and records latencies in HDR histograms. Its latency histogram has 1 ms
 * resolution, so p50/p99 in the table come from the exact per-response times it emits (`response` event);
 * autocannon's own figures are kept in the JSON for cross-checking.
 *
 * Seeding: 100,000 POSTs take minutes at the measured create rate, so the population is bulk-inserted with
 * direct SQL (multi-row INSERTs in one transaction) that mirrors UsersService.toRow/indexRows and the
 * migrations. To keep that honest, the first SAMPLE_USERS users are created through the API: the first one's
 * stored JSON document is the template for all others (so key order and defaults are the service's own), and
 * the stored rows (users + user_attribute_values) of all samples are compared column by column with what the
 * generator would have written; any drift (a new column, lower-casing, defaults, booleans) stops the bench.
 * PostgreSQL gets ANALYZE after seeding (autovacuum would have done it on any long-lived database);
 * SQLite gets nothing, as the server never runs ANALYZE there either.
 *
 * Environment knobs: BENCH_USERS, BENCH_DURATION (s), BENCH_ROUNDS, BENCH_DIALECTS ("sqlite,postgres"),
 * BENCH_PG_URL (admin URL used to create/drop the database; default postgres://postgres@127.0.0.1:5432/postgres),
 * and for profiling BENCH_PHASES ("ceiling,eq,...": run only these; targets are then not checked) and
 * BENCH_SERVER_NODE_ARGS (extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), and
 * BENCH_KEEP_DB=1 (keep the seeded databases, e.g. to EXPLAIN the server's queries; drop them yourself), and
 * BENCH_SERVER_MAIN (another build's main.js, e.g. a copy of dist from before a change, to compare).
 * The whole run takes about 2.5 minutes.
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchDb, call, Dialect, freshDatabase, getToken, insertRows, machineCpu, MAIN_JS, percentile, round, RssSampler, Server, sleep, table, writeResults, currentCommit, machineInfo } from './support';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = 2;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = 16;
const SAMPLE_USERS = 3;
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as Dialect[];
const ONLY_PHASES = process.env.BENCH_PHASES?.split(',').map((p) => p.trim());

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const TARGETS = { eqP50Ms: 5, createsPerSec: 500, rssMb: 300, eqShareOfCeiling: 0.5 };

// ---------------------------------------------------------------------------------------------------------
// The synthetic population. Family names are three of 26 syllables (17,576 names, ~6 users each), so a
// two-syllable prefix such as "Marhol" matches ~26 names, i.e. ~150 users: a realistic type-ahead search
// that fills a page of 100 and needs the sort.

const SYLLABLES = ['an', 'bel', 'cor', 'dan', 'el', 'fen', 'gar', 'hol', 'ir', 'jan', 'kel', 'lor', 'mar', 'nor', 'ol', 'per', 'quin', 'ros', 'san', 'tor', 'ul', 'val', 'wen', 'xan', 'yor', 'zel'];
const GIVEN = ['Ada', 'Barbara', 'Chen', 'Dmitri', 'Elena', 'Farah', 'Gustav', 'Hiro', 'Ines', 'Jamal', 'Kofi', 'Lena', 'Mateo', 'Nadia', 'Oscar', 'Priya', 'Quentin', 'Rosa', 'Sven', 'Tariq'];

function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(xs: T[], r: () => number): T => xs[Math.floor(r() * xs.length)];
const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

interface Person {
  userName: string;
  givenName: string;
  familyName: string;
  displayName: string;
}

function person(i: number): Person {
  const r = mulberry32(i + 1);
  const familyName = cap(pick(SYLLABLES, r) + pick(SYLLABLES, r) + pick(SYLLABLES, r));
  const givenName = pick(GIVEN, r);
  return { userName: `${givenName}.${familyName}.${i}@example.com`, givenName, familyName, displayName: `${givenName} ${familyName}` };
}

/** The POST body a client would send for this person. */
function createBody(p: Person): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA],
    userName: p.userName,
    name: { givenName: p.givenName, familyName: p.familyName },
    displayName: p.displayName,
    emails: [{ value: p.userName, type: 'work', primary: true }],
  };
}

interface UserRow {
  id: string;
  user_name: string;
  user_name_lower: string;
  external_id: string | null;
  display_name_lower: string | null;
  given_name_lower: string | null;
  family_name_lower: string | null;
  active: boolean;
  password_hash: string | null;
  data: string;
  version: number;
  created: string;
  last_modified: string;
  created_by: string | null;
  last_modified_by: string | null;
}
interface ValueRow {
  user_id: string;
  attribute: string;
  value: string | null;
  value_lower: string | null;
  type: string | null;
  is_primary: boolean;
  is_verified: boolean;
  is_secondary: boolean;
}
const USER_COLUMNS: (keyof UserRow)[] = ['id', 'user_name', 'user_name_lower', 'external_id', 'display_name_lower', 'given_name_lower', 'family_name_lower', 'active', 'password_hash', 'data', 'version', 'created', 'last_modified', 'created_by', 'last_modified_by'];
const VALUE_COLUMNS: (keyof ValueRow)[] = ['user_id', 'attribute', 'value', 'value_lower', 'type', 'is_primary', 'is_verified', 'is_secondary'];

/**
 * The `data` document UsersService stored for the first API-created user (createBody(person(0))). Every seeded
 * document is this one with the person's values substituted, so key order and server-side defaults
 * (`active`, the Oracle extension's creationMechanism/isFederatedUser, `schemas`) are whatever the service
 * writes today; verifyGenerator checks the substitution against further API-created users.
 */
let storedTemplate: string | undefined;
/** Who wrote that first user (idcsCreatedBy: the bench's admin client), as UsersService stored it. */
let storedWriter: string | null = null;

function documentFor(p: Person): string {
  if (!storedTemplate) throw new Error('no template document yet');
  const doc = JSON.parse(storedTemplate);
  if (!doc.name || !Array.isArray(doc.emails) || !doc.emails[0]) throw new Error(`unexpected stored document shape: ${storedTemplate}`);
  doc.userName = p.userName;
  doc.name.givenName = p.givenName;
  doc.name.familyName = p.familyName;
  doc.displayName = p.displayName;
  doc.emails[0].value = p.userName;
  return JSON.stringify(doc);
}

/** The users row and index rows for one person, as UsersService.toRow and indexRows derive them. */
function rowsFor(p: Person, id: string, now: string): { user: UserRow; values: ValueRow[] } {
  return {
    user: {
      id,
      user_name: p.userName,
      user_name_lower: p.userName.toLowerCase(),
      external_id: null,
      display_name_lower: p.displayName.toLowerCase(),
      given_name_lower: p.givenName.toLowerCase(),
      family_name_lower: p.familyName.toLowerCase(),
      active: true,
      password_hash: null,
      data: documentFor(p),
      version: 1,
      created: now,
      last_modified: now,
      created_by: storedWriter,
      last_modified_by: storedWriter,
    },
    values: [{ user_id: id, attribute: 'emails', value: p.userName, value_lower: p.userName.toLowerCase(), type: 'work', is_primary: true, is_verified: false, is_secondary: false }],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Databases: a fresh one per dialect, and a tiny driver-neutral query helper for seeding and checks.


// ---------------------------------------------------------------------------------------------------------
// Seeding.

const BOOLEAN_COLUMNS = new Set(['active', 'is_primary', 'is_verified', 'is_secondary']);

function normalise(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = BOOLEAN_COLUMNS.has(k) && typeof v === 'number' ? v === 1 : v; // SQLite booleans are 0/1
  return out;
}

/** Creates the first users through the API and checks the generator would have stored exactly the same rows. */
async function verifyGenerator(db: BenchDb, server: Server, token: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < SAMPLE_USERS; i++) {
    const p = person(i);
    const res = await call(server, 'POST', '/admin/v1/Users', token, createBody(p));
    if (res.status !== 201) throw new Error(`sample create failed: ${res.status} ${res.text}`);
    ids.push(res.body.id);
    const [stored] = await db.query<Record<string, unknown>>('SELECT * FROM users WHERE id = ?', [res.body.id]);
    if (i === 0) {
      storedTemplate = String(stored.data);
      storedWriter = stored.created_by === null ? null : String(stored.created_by);
    }
    const storedValues = await db.query<Record<string, unknown>>('SELECT * FROM user_attribute_values WHERE user_id = ? ORDER BY id', [res.body.id]);
    const mine = rowsFor(p, String(stored.id), String(stored.created));
    const s = normalise(stored);
    const problems: string[] = [];
    for (const c of USER_COLUMNS) {
      const expected = c === 'last_modified' ? s.created : mine.user[c];
      if (s[c] !== expected) problems.push(`users.${c}: API stored ${JSON.stringify(s[c])}, generator writes ${JSON.stringify(expected)}`);
    }
    if (!/^[0-9a-f]{32}$/.test(String(stored.id))) problems.push(`users.id has an unexpected shape: ${stored.id}`);
    if (Object.keys(stored).length !== USER_COLUMNS.length) problems.push(`users has columns the generator does not know: ${Object.keys(stored).join(', ')}`);
    if (storedValues.length !== mine.values.length) problems.push(`user_attribute_values: API stored ${storedValues.length} rows, generator writes ${mine.values.length}`);
    storedValues.forEach((v, k) => {
      const sv = normalise(v);
      for (const c of VALUE_COLUMNS) {
        if (sv[c] !== mine.values[k]?.[c]) problems.push(`user_attribute_values.${c}: API stored ${JSON.stringify(sv[c])}, generator writes ${JSON.stringify(mine.values[k]?.[c])}`);
      }
    });
    if (problems.length) throw new Error(`The seed generator no longer mirrors UsersService; fix rowsFor()/documentFor():\n  ${problems.join('\n  ')}`);
  }
  return ids;
}

async function seed(db: BenchDb, dialect: Dialect, from: number, to: number): Promise<string[]> {
  const ids: string[] = [];
  const batch = 10_000;
  await db.query(dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  try {
    for (let start = from; start < to; start += batch) {
      const users: UserRow[] = [];
      const values: ValueRow[] = [];
      const now = new Date().toISOString();
      for (let i = start; i < Math.min(to, start + batch); i++) {
        const id = randomUUID().replace(/-/g, '');
        const r = rowsFor(person(i), id, now);
        users.push(r.user);
        values.push(...r.values);
        ids.push(id);
      }
      await insertRows(db, dialect, 'users', USER_COLUMNS, users);
      await insertRows(db, dialect, 'user_attribute_values', VALUE_COLUMNS, values);
    }
    await db.query('COMMIT');
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
  if (dialect === 'postgres') await db.query('ANALYZE');
  return ids;
}

// ---------------------------------------------------------------------------------------------------------
// Load phases.

interface PhaseResult {
  phase: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  rssPeakMb: number;
  /** CPU used during the phase, in % of one core: the server (100 = its event loop is saturated) and this load generator. */
  serverCpuPct: number;
  /** The part of serverCpuPct spent in the kernel (sockets, file I/O). */
  serverSysPct: number;
  /** Server CPU time per successful request: less sensitive than req/s to other load on the machine. */
  serverCpuMsPerReq: number;
  loadgenCpuPct: number;
  /** Whole machine, in % of all cores (includes PostgreSQL backends and anything else running). */
  machineCpuPct: number;
  /** autocannon's own figures per slice (its latency histogram has 1 ms resolution), to cross-check. */
  autocannon: { reqPerSecAvg: number; p50Ms: number; p99Ms: number }[];
}

interface PhaseSpec {
  name: string;
  request: autocannon.Request;
  /** True when a 2xx response body is what the phase expects. */
  check?: (body: string) => boolean;
}


async function runCannon(server: Server, spec: PhaseSpec, duration: number, headers: Record<string, string>) {
  const times: number[] = [];
  let mismatches = 0;
  const request: autocannon.Request = { ...spec.request };
  if (spec.check) {
    const check = spec.check;
    request.onResponse = (status, body) => {
      if (status >= 200 && status < 300 && !check(body)) mismatches++;
    };
  }
  const instance = autocannon({ url: server.baseUrl, connections: CONNECTIONS, duration, timeout: 30, headers, requests: [request] });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) times.push(ms);
  });
  const result = await instance;
  times.sort((a, b) => a - b);
  return { result, times, mismatches };
}

/** What one phase accumulates over its slices. */
interface PhaseAcc {
  times: number[];
  seconds: number;
  non2xx: number;
  errors: number;
  mismatches: number;
  codes: Record<string, number>;
  serverUser: number;
  serverSystem: number;
  loadgen: number;
  machineBusy: number;
  machineTotal: number;
  rssPeak: number;
  slices: { reqPerSecAvg: number; p50Ms: number; p99Ms: number }[];
}

/**
 * Runs the phases in ROUNDS interleaved slices (ceiling, eq, …, ceiling, eq, …) after one unrecorded warm-up
 * each, so that a change in other load on the machine during the run weighs on every phase alike; the
 * ratios between phases (eq vs ceiling) are then fair even on a shared machine.
 */
async function runPhases(server: Server, rss: RssSampler, specs: PhaseSpec[], token: string): Promise<PhaseResult[]> {
  const headers = { authorization: `Bearer ${token}`, accept: 'application/scim+json' };
  for (const spec of specs) await runCannon(server, spec, WARMUP, headers);
  const accs = new Map<string, PhaseAcc>();
  for (let slice = 0; slice < ROUNDS; slice++) {
    for (const spec of specs) {
      let acc = accs.get(spec.name);
      if (!acc) {
        acc = { times: [], seconds: 0, non2xx: 0, errors: 0, mismatches: 0, codes: {}, serverUser: 0, serverSystem: 0, loadgen: 0, machineBusy: 0, machineTotal: 0, rssPeak: 0, slices: [] };
        accs.set(spec.name, acc);
      }
      rss.resetPhase();
      const cpu0 = server.cpuSeconds();
      const own0 = process.cpuUsage();
      const m0 = machineCpu();
      const t0 = process.hrtime.bigint();
      const { result, times, mismatches } = await runCannon(server, spec, DURATION / ROUNDS, headers);
      acc.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
      const own = process.cpuUsage(own0);
      const cpu1 = server.cpuSeconds();
      const m1 = machineCpu();
      rss.sample();
      for (const t of times) acc.times.push(t);
      acc.non2xx += result.non2xx;
      acc.errors += result.errors;
      acc.mismatches += mismatches;
      for (const [c, v] of Object.entries(result.statusCodeStats)) acc.codes[c] = (acc.codes[c] ?? 0) + v.count;
      acc.serverUser += cpu1.user - cpu0.user;
      acc.serverSystem += cpu1.system - cpu0.system;
      acc.loadgen += (own.user + own.system) / 1e6;
      acc.machineBusy += m1.busy - m0.busy;
      acc.machineTotal += m1.total - m0.total;
      acc.rssPeak = Math.max(acc.rssPeak, rss.phasePeak);
      acc.slices.push({ reqPerSecAvg: round(result.requests.average, 0), p50Ms: result.latency.p50, p99Ms: result.latency.p99 });
    }
  }
  return specs.map((spec) => {
    const a = accs.get(spec.name)!;
    a.times.sort((x, y) => x - y);
    const serverCpu = a.serverUser + a.serverSystem;
    const r: PhaseResult = {
      phase: spec.name,
      reqPerSec: round(a.times.length / a.seconds, 0),
      p50Ms: round(percentile(a.times, 50), 2),
      p99Ms: round(percentile(a.times, 99), 2),
      requests: a.times.length,
      non2xx: a.non2xx,
      errors: a.errors,
      mismatches: a.mismatches,
      rssPeakMb: round(a.rssPeak, 0),
      serverCpuPct: round((100 * serverCpu) / a.seconds, 0),
      serverSysPct: round((100 * a.serverSystem) / a.seconds, 0),
      serverCpuMsPerReq: round((1000 * serverCpu) / Math.max(1, a.times.length), 3),
      loadgenCpuPct: round((100 * a.loadgen) / a.seconds, 0),
      machineCpuPct: round((100 * a.machineBusy) / a.machineTotal, 0),
      autocannon: a.slices,
    };
    if (r.non2xx || r.errors || r.mismatches) {
      const codes = Object.entries(a.codes).map(([c, n]) => `${c}×${n}`).join(' ');
      console.warn(`  ! ${spec.name}: ${r.non2xx} non-2xx (${codes}), ${r.errors} errors, ${r.mismatches} unexpected bodies`);
    }
    console.log(
      `  ${spec.name.padEnd(8)} ${String(r.reqPerSec).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms  RSS ${r.rssPeakMb} MB  ` +
        `CPU: server ${r.serverCpuPct}% (sys ${r.serverSysPct}%, ${r.serverCpuMsPerReq} ms/req), load generator ${r.loadgenCpuPct}%, machine ${r.machineCpuPct}% of ${cpus().length} cores`,
    );
    return r;
  });
}


function phases(ids: string[], dialect: Dialect): PhaseSpec[] {
  const anyIndex = () => Math.floor(Math.random() * USERS);
  const runTag = `${dialect}${Date.now().toString(36)}`;
  let created = 0;
  return [
    { name: 'ceiling', request: { method: 'GET', path: '/admin/v1/ServiceProviderConfig' } },
    {
      name: 'eq',
      request: {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${person(anyIndex()).userName}"`)}` }),
      },
      check: (body) => /"totalResults":1[,}]/.test(body),
    },
    {
      name: 'sw+sort',
      request: {
        method: 'GET',
        setupRequest: (req) => {
          const r = Math.random;
          const prefix = cap(pick(SYLLABLES, r) + pick(SYLLABLES, r));
          return { ...req, path: `/admin/v1/Users?filter=${encodeURIComponent(`name.familyName sw "${prefix}"`)}&sortBy=name.familyName&count=100` };
        },
      },
      check: (body) => /"totalResults":[1-9]/.test(body),
    },
    {
      name: 'create',
      request: {
        method: 'POST',
        path: '/admin/v1/Users',
        setupRequest: (req) => {
          const p = person(USERS + created);
          p.userName = `new.${runTag}.${created++}@example.com`;
          return { ...req, headers: { ...req.headers, 'content-type': 'application/scim+json' }, body: JSON.stringify(createBody(p)) };
        },
      },
    },
    {
      name: 'patch',
      request: {
        method: 'PATCH',
        setupRequest: (req) => ({
          ...req,
          path: `/admin/v1/Users/${ids[anyIndex()]}`,
          headers: { ...req.headers, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: [PATCH_SCHEMA], Operations: [{ op: 'replace', path: 'displayName', value: `Renamed ${Math.random().toString(36).slice(2, 10)}` }] }),
        }),
      },
    },
  ];
}

interface DialectResult {
  dialect: Dialect;
  users: number;
  seedSeconds: number;
  rssIdleMb: number;
  rssAfterSeedMb: number;
  rssPeakMb: number;
  phases: PhaseResult[];
}

async function benchDialect(dialect: Dialect): Promise<DialectResult> {
  console.log(`\n== ${dialect} ==`);
  const db = await freshDatabase(dialect);
  let server: Server | undefined;
  let rss: RssSampler | undefined;
  try {
    server = await Server.start(db.url);
    rss = new RssSampler(server);
    await sleep(500);
    const rssIdleMb = round(rss.sample(), 0);
    const token = await getToken(server);

    const t0 = Date.now();
    const sampleIds = await verifyGenerator(db, server, token);
    const seededIds = await seed(db, dialect, SAMPLE_USERS, USERS);
    await db.close();
    const ids = [...sampleIds, ...seededIds];
    const seedSeconds = round((Date.now() - t0) / 1000, 1);
    const check = await call(server, 'GET', `/admin/v1/Users?count=0`, token);
    if (check.body?.totalResults !== USERS) throw new Error(`expected ${USERS} users after seeding, the API reports ${check.text}`);
    const rssAfterSeedMb = round(rss.sample(), 0);
    console.log(`  seeded ${USERS} users in ${seedSeconds} s (first ${SAMPLE_USERS} through the API, verified), RSS idle ${rssIdleMb} MB`);

    const results = await runPhases(server, rss, phases(ids, dialect).filter((s) => !ONLY_PHASES || ONLY_PHASES.includes(s.name)), token);
    return { dialect, users: USERS, seedSeconds, rssIdleMb, rssAfterSeedMb, rssPeakMb: round(rss.peak, 0), phases: results };
  } catch (e) {
    if (server) console.error(`server output:\n${server.output}`);
    throw e;
  } finally {
    rss?.stop();
    await server?.stop();
    await db.close().catch(() => undefined);
    if (process.env.BENCH_KEEP_DB) console.log(`  kept the database for inspection: ${db.url}`);
    else await db.drop().catch((e) => console.warn(`could not drop the ${dialect} database: ${e}`));
  }
}

// ---------------------------------------------------------------------------------------------------------

interface TargetCheck {
  dialect: Dialect;
  target: string;
  value: string;
  met: boolean;
}

function checkTargets(r: DialectResult): TargetCheck[] {
  const ph = (n: string) => r.phases.find((p) => p.phase === n)!;
  const eq = ph('eq');
  const ceiling = ph('ceiling');
  const create = ph('create');
  const clean = (p: PhaseResult) => p.non2xx === 0 && p.errors === 0 && p.mismatches === 0;
  return [
    { dialect: r.dialect, target: `userName eq p50 < ${TARGETS.eqP50Ms} ms`, value: `${eq.p50Ms} ms`, met: eq.p50Ms < TARGETS.eqP50Ms && clean(eq) },
    { dialect: r.dialect, target: `creates >= ${TARGETS.createsPerSec}/s`, value: `${create.reqPerSec}/s`, met: create.reqPerSec >= TARGETS.createsPerSec && clean(create) },
    { dialect: r.dialect, target: `server RSS < ${TARGETS.rssMb} MB`, value: `${r.rssPeakMb} MB`, met: r.rssPeakMb < TARGETS.rssMb },
    {
      dialect: r.dialect,
      target: `eq throughput >= ${TARGETS.eqShareOfCeiling * 100}% of ceiling`,
      value: `${round((100 * eq.reqPerSec) / ceiling.reqPerSec, 0)}% (${eq.reqPerSec}/${ceiling.reqPerSec})`,
      met: eq.reqPerSec >= TARGETS.eqShareOfCeiling * ceiling.reqPerSec,
    },
  ];
}


async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm run bench:scim does)`);
  const started = Date.now();
  console.log(`SCIM bench: ${USERS} users, ${CONNECTIONS} connections, ${DURATION} s per phase (+${WARMUP} s warm-up), ${cpus().length} CPUs, node ${process.version}`);
  const results: DialectResult[] = [];
  for (const d of DIALECTS) results.push(await benchDialect(d));

  const rows = results.flatMap((r) =>
    r.phases.map((p) => [r.dialect, p.phase, p.reqPerSec, p.p50Ms.toFixed(2), p.p99Ms.toFixed(2), p.requests, p.non2xx + p.errors + p.mismatches, p.rssPeakMb, p.serverCpuPct, p.serverCpuMsPerReq.toFixed(2), p.loadgenCpuPct, p.machineCpuPct]),
  );
  console.log('\n' + table(['dialect', 'phase', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'failed', 'RSS peak MB', 'server CPU %', 'server CPU ms/req', 'loadgen CPU %', 'machine CPU %'], rows));
  const targets = ONLY_PHASES ? [] : results.flatMap(checkTargets);
  console.log('\n' + table(['dialect', 'target', 'measured', 'met'], targets.map((t) => [t.dialect, t.target, t.value, t.met ? 'yes' : 'NO'])));

  const date = new Date().toISOString().slice(0, 10);
  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    machine: machineInfo(),
    settings: { users: USERS, connections: CONNECTIONS, durationSeconds: DURATION, rounds: ROUNDS, warmupSeconds: WARMUP, server: 'node dist/apps/admin-api/src/main.js (child process, 127.0.0.1)' },
    targets: TARGETS,
    results,
    targetChecks: targets,
    benchSeconds: round((Date.now() - started) / 1000, 0),
  };
  writeResults('scim', date, out, ['BENCH_USERS', 'BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_DIALECTS', 'BENCH_PHASES', 'BENCH_SERVER_NODE_ARGS', 'BENCH_SERVER_MAIN']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
