/**
 * Large PATCH benchmark: `npm run bench:patch` (builds, then runs this file).
 *
 * Once, one PATCH adding 20,000 emails to a user held the server's event loop for 31-41 s (a quadratic
 * de-duplication) and then failed with a 500. This bench sends the largest PATCHes the server accepts, about
 * 1 MiB each, while a second client polls GET /health back to back, and measures how long the event loop is held:
 *
 *   user lists     PATCH /Users/{id}: replace emails, phoneNumbers and addresses, each at its cap (100), values
 *                  sized so that the body is ~1 MB and the resulting user just fits the 1 MiB resource cap
 *   group members  PATCH /Groups/{id}: replace the members with 10,000 others (the per-request cap), each as
 *                  clients send them ({value, type, display}), ~1 MB; alternates between two sets of users
 *   over the cap   the PATCH from the report: add 20,000 emails at once (~0.9 MB), now refused with 400 tooMany
 *
 * For each dialect (an SQLite file, then a fresh PostgreSQL database) it starts the *built* server as a child
 * process (bench/support.ts) with a preload script (`--require`, written to the temp dir by this file) that runs
 * `perf_hooks.monitorEventLoopDelay` inside the server and, on SIGWINCH, writes the longest delay since the
 * previous signal to a file and starts over: the figure is the server's own, not the load generator's. SIGWINCH
 * because its default action is to do nothing, while Nest's shutdown hooks stop the server on SIGUSR2 and Node
 * opens its inspector on SIGUSR1. Each scenario runs BENCH_PATCH_ITERATIONS (10) PATCHes one after the other;
 * /health latencies count when the call overlapped a PATCH. Target: no request holds the event loop more than 100 ms (the loop's longest delay per
 * scenario, which also covers /health, JSON parsing of the bodies and garbage collection).
 *
 * Environment: BENCH_PATCH_ITERATIONS, BENCH_DIALECTS ("sqlite,postgres"), BENCH_PG_URL, BENCH_SERVER_MAIN.
 * Writes bench/results/patch-<YYYY-MM-DD>.json for a standard run (no BENCH_* override), else to the temp dir.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, AdminApi, requireStatus } from '../libs/fixtures/src';
import { Dialect, freshDatabase, getToken, MAIN_JS, percentile, round, Server, sleep, table, writeResults, currentCommit, machineInfo } from './support';

const ITERATIONS = Number(process.env.BENCH_PATCH_ITERATIONS ?? 10);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as Dialect[];
const TARGET_LOOP_MAX_MS = 100;

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const LIMITS_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits';

// ---------------------------------------------------------------------------------------------------------
// The server's event loop, measured inside it.

const PRELOAD = `'use strict';
// Loaded into the server with --require by bench/patch.bench.ts: its event loop's longest delay between signals.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { renameSync, writeFileSync } = require('node:fs');
const file = process.env.BENCH_LOOP_DELAY_FILE;
const histogram = monitorEventLoopDelay({ resolution: 2 });
histogram.enable();
let seq = 0;
process.on('SIGWINCH', () => {
  seq += 1;
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  writeFileSync(file + '.tmp', JSON.stringify({ seq, maxMs: ms(histogram.max), p99Ms: ms(histogram.percentile(99)), meanMs: ms(histogram.mean) }));
  renameSync(file + '.tmp', file);
  histogram.reset();
});
`;

interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

class LoopDelayProbe {
  private seq = 0;
  constructor(
    private readonly server: Server,
    private readonly file: string,
  ) {}

  /** The server's loop delays since the previous read (or its start); starts a new window. */
  async read(): Promise<LoopDelay> {
    const expected = ++this.seq;
    process.kill(this.server.pid, 'SIGWINCH');
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const r = JSON.parse(readFileSync(this.file, 'utf8'));
        if (r.seq === expected) return { maxMs: r.maxMs, p99Ms: r.p99Ms, meanMs: r.meanMs };
      } catch {
        /* not written yet */
      }
      if (Date.now() > deadline) throw new Error(`the server did not report its event-loop delay:\n${this.server.output}`);
      await sleep(5);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Requests.

interface Timed {
  status: number;
  text: string;
  start: number;
  end: number;
}

async function send(baseUrl: string, token: string, method: string, path: string, body: string): Promise<Timed> {
  const start = performance.now();
  const res = await fetch(baseUrl + path, { method, headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json', 'content-type': 'application/scim+json' }, body });
  const text = await res.text();
  return { status: res.status, text, start, end: performance.now() };
}

/**
 * The second client: GET /health back to back until stopped; the start and end of each call. A call that fails
 * stops the poller, and stop() reports it, so that a server that dropped connections or died cannot go unnoticed.
 */
function pollHealth(baseUrl: string): { stop: () => Promise<{ start: number; end: number }[]> } {
  const calls: { start: number; end: number }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const start = performance.now();
      const res = await fetch(`${baseUrl}/health`);
      await res.text();
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
      calls.push({ start, end: performance.now() });
    }
  })();
  const failure = loop.then(
    () => undefined,
    (e: unknown) => e,
  );
  return {
    stop: async () => {
      running = false;
      const e = await failure;
      if (e) throw new Error(`GET /health failed during the PATCH: ${(e as Error).message} (${String((e as { cause?: unknown }).cause ?? '')})`);
      return calls;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios.

interface Scenario {
  name: string;
  expectedStatus: number;
  /** The path and body of the i-th PATCH. */
  request(i: number): { path: string; body: string };
}

interface ScenarioResult {
  scenario: string;
  patches: number;
  bodyBytes: number;
  statuses: Record<string, number>;
  patchMedianMs: number;
  patchMaxMs: number;
  healthCalls: number;
  healthP99Ms: number;
  healthMaxMs: number;
  serverLoop: LoopDelay;
}

async function runScenario(server: Server, probe: LoopDelayProbe, token: string, scenario: Scenario): Promise<ScenarioResult> {
  const requests = Array.from({ length: ITERATIONS }, (_, i) => scenario.request(i));
  const patches: Timed[] = [];
  const health: number[] = [];
  const statuses: Record<string, number> = {};
  await probe.read();
  for (const { path, body } of requests) {
    const poller = pollHealth(server.baseUrl);
    await sleep(20);
    const res = await send(server.baseUrl, token, 'PATCH', path, body);
    const calls = await poller.stop();
    patches.push(res);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    if (res.status !== scenario.expectedStatus) console.warn(`  ! ${scenario.name}: HTTP ${res.status} (expected ${scenario.expectedStatus}): ${res.text.slice(0, 300)}`);
    for (const c of calls) if (c.end > res.start && c.start < res.end) health.push(c.end - c.start);
    await sleep(50);
  }
  const serverLoop = await probe.read();
  const ms = patches.map((p) => p.end - p.start).sort((a, b) => a - b);
  health.sort((a, b) => a - b);
  const r: ScenarioResult = {
    scenario: scenario.name,
    patches: patches.length,
    bodyBytes: Math.max(...requests.map((q) => Buffer.byteLength(q.body))),
    statuses,
    patchMedianMs: round(percentile(ms, 50), 1),
    patchMaxMs: round(ms[ms.length - 1], 1),
    healthCalls: health.length,
    healthP99Ms: round(percentile(health, 99), 1),
    healthMaxMs: round(health[health.length - 1] ?? NaN, 1),
    serverLoop,
  };
  console.log(
    `  ${scenario.name.padEnd(13)} ${(r.bodyBytes / 1e6).toFixed(2)} MB  PATCH median ${r.patchMedianMs} ms, max ${r.patchMaxMs} ms  ` +
      `/health p99 ${r.healthP99Ms} ms (${r.healthCalls} calls)  server loop max ${r.serverLoop.maxMs} ms`,
  );
  return r;
}

const patchBody = (...Operations: unknown[]) => JSON.stringify({ schemas: [PATCH_SCHEMA], Operations });

/** Replaces the three capped User lists with values sized so that the body is about `targetBytes`. */
function userListsPatch(cap: number, tag: string, targetBytes: number): string {
  // emails and phone numbers are indexed in 1024-character columns; addresses take the rest.
  const emails = Array.from({ length: cap }, (_, i) => ({ value: `${tag}${i}.`.padEnd(1000, 'e') + '@example.com', type: 'work', ...(i === 0 ? { primary: true } : {}) }));
  const phoneNumbers = Array.from({ length: cap }, (_, i) => ({ value: `+1 ${tag}${i} `.padEnd(1000, '5'), type: 'mobile' }));
  // A string takes at most 8192 characters, so each address carries its share in two of them.
  const addresses = (len: number) =>
    Array.from({ length: cap }, (_, i) => ({ formatted: `${tag}${i} `.padEnd(Math.ceil(len / 2), 'a'), streetAddress: `${tag}${i} `.padEnd(Math.floor(len / 2), 's'), locality: 'Paris', country: 'FR', type: 'work' }));
  const build = (len: number) => patchBody({ op: 'replace', path: 'emails', value: emails }, { op: 'replace', path: 'phoneNumbers', value: phoneNumbers }, { op: 'replace', path: 'addresses', value: addresses(len) });
  const fixed = Buffer.byteLength(build(0));
  return build(Math.floor((targetBytes - fixed) / cap));
}

async function createUsers(admin: AdminApi, n: number, prefix: string): Promise<{ id: string; userName: string }[]> {
  const out: { id: string; userName: string }[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const userName = `${prefix}.${i}@example.com`;
      const res = await admin.api('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], userName, name: { givenName: 'Member', familyName: `Number ${i}` }, emails: [{ value: userName, primary: true }] });
      out[i] = { id: requireStatus('POST /admin/v1/Users', res, 201).body.id, userName };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

interface DialectResult {
  dialect: Dialect;
  caps: { userLists: number; groupMembersPerRequest: number; maxBodyBytes: number; maxResourceBytes: number };
  scenarios: ScenarioResult[];
}

async function benchDialect(dialect: Dialect, preload: string, loopFile: string): Promise<DialectResult> {
  console.log(`\n== ${dialect} ==`);
  const db = await freshDatabase(dialect);
  let server: Server | undefined;
  try {
    server = await Server.start(db.url, { NODE_OPTIONS: `--require ${preload}`, BENCH_LOOP_DELAY_FILE: loopFile });
    const probe = new LoopDelayProbe(server, loopFile);
    const token = await getToken(server);
    const admin = adminApi(server.baseUrl, token);
    const spc = requireStatus('GET /admin/v1/ServiceProviderConfig', await admin.api('GET', `/admin/v1/ServiceProviderConfig?attributes=${encodeURIComponent(LIMITS_SCHEMA)}`), 200).body;
    const limits = spc[LIMITS_SCHEMA];
    const caps = { userLists: limits.maxValues.User.emails, groupMembersPerRequest: limits.maxValues.Group.members, maxBodyBytes: limits.maxBodyBytes, maxResourceBytes: limits.maxResourceBytes };

    const userId = requireStatus('POST /admin/v1/Users', await admin.api('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], userName: 'large.lists@example.com', emails: [{ value: 'large.lists@example.com', primary: true }] }), 201).body.id;
    // Leaves room in the resource cap for the user's other attributes and the extension the server adds.
    const listsTarget = caps.maxResourceBytes - 8 * 1024;
    const listBodies = ['a', 'b'].map((tag) => userListsPatch(caps.userLists, tag, listsTarget));

    const t0 = Date.now();
    const members = await createUsers(admin, caps.groupMembersPerRequest + 2000, 'member');
    console.log(`  created ${members.length} users for the group in ${round((Date.now() - t0) / 1000, 1)} s`);
    const groupId = requireStatus('POST /admin/v1/Groups', await admin.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Everyone' }), 201).body.id;
    const memberBodies = [0, 2000].map((from) =>
      patchBody({
        op: 'replace',
        path: 'members',
        value: members.slice(from, from + caps.groupMembersPerRequest).map((m) => ({ value: m.id, type: 'User', display: `Member ${m.userName}` })),
      }),
    );
    const overCap = patchBody({ op: 'add', path: 'emails', value: Array.from({ length: 20_000 }, (_, i) => ({ value: `user${i}@example.com`, type: 'work' })) });

    const scenarios: Scenario[] = [
      { name: 'user lists', expectedStatus: 200, request: (i) => ({ path: `/admin/v1/Users/${userId}`, body: listBodies[i % 2] }) },
      { name: 'group members', expectedStatus: 200, request: (i) => ({ path: `/admin/v1/Groups/${groupId}`, body: memberBodies[i % 2] }) },
      { name: 'over the cap', expectedStatus: 400, request: () => ({ path: `/admin/v1/Users/${userId}`, body: overCap }) },
    ];
    for (const s of scenarios) {
      for (const { body } of Array.from({ length: 2 }, (_, i) => s.request(i))) {
        if (Buffer.byteLength(body) > caps.maxBodyBytes) throw new Error(`${s.name}: a ${Buffer.byteLength(body)}-byte body exceeds the ${caps.maxBodyBytes}-byte limit`);
      }
    }
    const results: ScenarioResult[] = [];
    for (const s of scenarios) results.push(await runScenario(server, probe, token, s));

    // What was stored is what was sent: the last accepted PATCH of each kind.
    const stored = requireStatus('GET user', await admin.api('GET', `/admin/v1/Users/${userId}`), 200).body;
    if (stored.emails.length !== caps.userLists || stored.addresses.length !== caps.userLists) throw new Error('the user lists were not stored whole');
    const group = requireStatus('GET group', await admin.api('GET', `/admin/v1/Groups/${groupId}?attributes=members`), 200).body;
    if (group.members.length !== caps.groupMembersPerRequest) throw new Error(`the group has ${group.members.length} members, not ${caps.groupMembersPerRequest}`);
    return { dialect, caps, scenarios: results };
  } catch (e) {
    if (server) console.error(`server output:\n${server.output}`);
    throw e;
  } finally {
    await server?.stop();
    await db.close().catch(() => undefined);
    await db.drop().catch((e) => console.warn(`could not drop the ${dialect} database: ${e}`));
  }
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm run bench:patch does)`);
  const started = Date.now();
  const dir = join(tmpdir(), `idd-patch-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const preload = join(dir, 'loop-delay.preload.js');
  writeFileSync(preload, PRELOAD);
  console.log(`PATCH bench: ${ITERATIONS} PATCHes per scenario, /health polled meanwhile, ${cpus().length} CPUs, node ${process.version}`);
  const results: DialectResult[] = [];
  try {
    for (const d of DIALECTS) results.push(await benchDialect(d, preload, join(dir, `loop-delay-${d}.json`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rows = results.flatMap((r) =>
    r.scenarios.map((s) => [r.dialect, s.scenario, (s.bodyBytes / 1e6).toFixed(2), Object.entries(s.statuses).map(([c, n]) => `${c}×${n}`).join(' '), s.patchMedianMs, s.patchMaxMs, s.healthP99Ms, s.healthMaxMs, s.serverLoop.maxMs]),
  );
  console.log('\n' + table(['dialect', 'scenario', 'body MB', 'statuses', 'PATCH median ms', 'PATCH max ms', '/health p99 ms', '/health max ms', 'server loop max ms'], rows));
  const targetChecks = results.flatMap((r) =>
    r.scenarios.map((s) => ({ dialect: r.dialect, scenario: s.scenario, target: `server event loop held < ${TARGET_LOOP_MAX_MS} ms`, value: `${s.serverLoop.maxMs} ms`, met: s.serverLoop.maxMs < TARGET_LOOP_MAX_MS })),
  );
  console.log('\n' + table(['dialect', 'scenario', 'target', 'measured', 'met'], targetChecks.map((t) => [t.dialect, t.scenario, t.target, t.value, t.met ? 'yes' : 'NO'])));

  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    machine: machineInfo(),
    settings: { iterations: ITERATIONS, server: 'node dist/apps/admin-api/src/main.js (child process, 127.0.0.1), monitorEventLoopDelay preloaded (resolution 2 ms)' },
    targets: { serverLoopMaxMs: TARGET_LOOP_MAX_MS },
    results,
    targetChecks,
    benchSeconds: round((Date.now() - started) / 1000, 0),
  };
  writeResults('patch', out.date.slice(0, 10), out, ['BENCH_PATCH_ITERATIONS', 'BENCH_DIALECTS', 'BENCH_SERVER_NODE_ARGS', 'BENCH_SERVER_MAIN']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
