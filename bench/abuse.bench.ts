/**
 * Abuse benchmark: `npm run bench:abuse` (builds, then runs this file).
 *
 * What an anonymous attacker can make the server do to its legitimate clients. For each dialect it starts the
 * *built* server as a child process (bench/support.ts) and measures the latency of an authenticated
 * `GET /admin/v1/Users?filter=userName eq "…"` from a ninth client, sent back to back on one keep-alive
 * connection, in two phases of BENCH_DURATION seconds (10):
 *
 *   quiet   nothing else runs
 *   abuse   at the same time, 8 anonymous clients send ~1 MB JSON bodies to POST /admin/v1/Users (no token),
 *           and 8 others guess client secrets at POST /oauth2/v1/token. The guessers take a new client id for
 *           every guess and rotate over 250 source addresses each (127.<n>.x.y), as a botnet would, so that the
 *           per-client and per-address limits let many guesses through and each of those costs a KDF run.
 *
 * Target (issue 11): p99 of the ninth client's GET under 50 ms during the abuse phase. Also reported: what the
 * attackers got (statuses), the server's CPU and RSS.
 *
 * Environment: BENCH_DURATION, BENCH_DIALECTS ("sqlite,postgres"), BENCH_PG_URL, BENCH_SERVER_MAIN.
 * Writes bench/results/abuse-<YYYY-MM-DD>.json for a standard run (no BENCH_* override), else to the temp dir.
 */
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import { cpus } from 'node:os';
import { adminApi, requireStatus } from '../libs/fixtures/src';
import { Dialect, freshDatabase, getToken, MAIN_JS, percentile, round, RssSampler, Server, table, writeResults, currentCommit, machineInfo } from './support';

const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as Dialect[];
const ATTACKERS = 8;
const TARGET_P99_MS = 50;
const USERS = 200;
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

interface Answer {
  status: number | 'error';
  ms: number;
}

/** One HTTP request with node:http, so that the source address can be chosen; the body is read and dropped. */
function send(url: URL, opts: { method: string; headers?: Record<string, string>; body?: Buffer | string; localAddress?: string; agent?: http.Agent }): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method: opts.method, headers: opts.headers, localAddress: opts.localAddress, agent: opts.agent ?? false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        res.on('error', () => resolve({ status: 'error', ms: performance.now() - started }));
      },
    );
    // A server that answers before reading a body may close the connection while it is still being sent.
    req.on('error', () => resolve({ status: 'error', ms: performance.now() - started }));
    req.end(opts.body);
  });
}

function count(into: Record<string, number>, a: Answer): void {
  into[String(a.status)] = (into[String(a.status)] ?? 0) + 1;
}

/** Runs `step` back to back until `until`. */
async function loop(until: number, step: (n: number) => Promise<void>): Promise<void> {
  for (let n = 0; performance.now() < until; n++) await step(n);
}

interface Phase {
  phase: 'quiet' | 'abuse';
  gets: number;
  getP50Ms: number;
  getP99Ms: number;
  getMaxMs: number;
  getStatuses: Record<string, number>;
  bodySenders?: Record<string, number>;
  guessers?: Record<string, number>;
  serverCpuCores: number;
  rssPeakMb: number;
}

async function runPhase(server: Server, rss: RssSampler, token: string, userNames: string[], abuse: boolean): Promise<Phase> {
  const base = new URL(server.baseUrl);
  const until = performance.now() + DURATION_S * 1000;
  const cpuBefore = server.cpuSeconds();
  const wall = performance.now();
  rss.resetPhase();

  const latencies: number[] = [];
  const getStatuses: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const legit = loop(until, async (n) => {
    const url = new URL(`/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userNames[n % userNames.length]}"`)}`, base);
    const a = await send(url, { method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' }, agent });
    latencies.push(a.ms);
    count(getStatuses, a);
  });

  const bodySenders: Record<string, number> = {};
  const guessers: Record<string, number> = {};
  const attacks: Promise<void>[] = [];
  if (abuse) {
    // Just under the 1 MiB limit, so that a server that parses before it authenticates has to read all of it.
    const body = Buffer.from(JSON.stringify({ schemas: [USER_SCHEMA], userName: 'attacker@example.com', nickName: 'x'.repeat(1_000_000 - 120) }));
    for (let i = 0; i < ATTACKERS; i++) {
      attacks.push(
        loop(until, async () => {
          const a = await send(new URL('/admin/v1/Users', base), {
            method: 'POST',
            headers: { 'content-type': 'application/scim+json', 'content-length': String(body.length) },
            body,
            localAddress: `127.1.${i + 1}.1`,
          });
          count(bodySenders, a);
        }),
      );
      attacks.push(
        loop(until, async (n) => {
          const form = `grant_type=client_credentials&client_id=guess-${i}-${n}&client_secret=wrong-${n}`;
          const a = await send(new URL('/oauth2/v1/token', base), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(form)) },
            body: form,
            localAddress: `127.${i + 2}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`,
          });
          count(guessers, a);
        }),
      );
    }
  }
  await Promise.all([legit, ...attacks]);
  agent.destroy();
  const cpuAfter = server.cpuSeconds();
  const seconds = (performance.now() - wall) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    phase: abuse ? 'abuse' : 'quiet',
    gets: sorted.length,
    getP50Ms: round(percentile(sorted, 50), 2),
    getP99Ms: round(percentile(sorted, 99), 2),
    getMaxMs: round(sorted[sorted.length - 1] ?? NaN, 2),
    getStatuses,
    ...(abuse ? { bodySenders, guessers } : {}),
    serverCpuCores: round((cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / seconds, 2),
    rssPeakMb: round(rss.phasePeak, 0),
  };
}

async function benchDialect(dialect: Dialect): Promise<{ dialect: Dialect; phases: Phase[] }> {
  const db = await freshDatabase(dialect);
  const server = await Server.start(db.url);
  const rss = new RssSampler(server);
  try {
    const token = await getToken(server);
    const admin = adminApi(server.baseUrl, token);
    const userNames: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const userName = `abuse.bench.${i}@example.com`;
      requireStatus('POST /admin/v1/Users', await admin.api('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], userName, emails: [{ value: userName, primary: true }] }), 201);
      userNames.push(userName);
    }
    process.stdout.write(`${dialect}: quiet… `);
    const quiet = await runPhase(server, rss, token, userNames, false);
    process.stdout.write(`p99 ${quiet.getP99Ms} ms; abuse… `);
    const abuse = await runPhase(server, rss, token, userNames, true);
    console.log(`p99 ${abuse.getP99Ms} ms`);
    return { dialect, phases: [quiet, abuse] };
  } finally {
    rss.stop();
    await server.stop();
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm run bench:abuse does)`);
  const started = Date.now();
  console.log(`Abuse bench: ${DURATION_S} s per phase, ${ATTACKERS} body senders + ${ATTACKERS} secret guessers, ${cpus().length} CPUs, node ${process.version}`);
  const results: { dialect: Dialect; phases: Phase[] }[] = [];
  for (const d of DIALECTS) results.push(await benchDialect(d));

  const fmt = (r?: Record<string, number>) => (r ? Object.entries(r).map(([k, v]) => `${k}×${v}`).join(' ') : '');
  console.log(
    '\n' +
      table(
        ['dialect', 'phase', 'GETs', 'GET p50 ms', 'GET p99 ms', 'GET max ms', 'body senders got', 'guessers got', 'server cores busy', 'RSS peak MB'],
        results.flatMap((r) => r.phases.map((p) => [r.dialect, p.phase, p.gets, p.getP50Ms, p.getP99Ms, p.getMaxMs, fmt(p.bodySenders), fmt(p.guessers), p.serverCpuCores, p.rssPeakMb])),
      ),
  );
  const targetChecks = results.map((r) => {
    const abuse = r.phases.find((p) => p.phase === 'abuse')!;
    return { dialect: r.dialect, target: `GET p99 under abuse < ${TARGET_P99_MS} ms`, value: `${abuse.getP99Ms} ms`, met: abuse.getP99Ms < TARGET_P99_MS };
  });
  console.log('\n' + table(['dialect', 'target', 'measured', 'met'], targetChecks.map((t) => [t.dialect, t.target, t.value, t.met ? 'yes' : 'NO'])));

  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    machine: machineInfo(),
    settings: { durationSeconds: DURATION_S, attackers: ATTACKERS, users: USERS, server: 'node dist/apps/admin-api/src/main.js (child process, 127.0.0.1)' },
    targets: { getP99UnderAbuseMs: TARGET_P99_MS },
    results,
    targetChecks,
    benchSeconds: round((Date.now() - started) / 1000, 0),
  };
  writeResults('abuse', out.date.slice(0, 10), out, ['BENCH_DURATION', 'BENCH_DIALECTS', 'BENCH_SERVER_NODE_ARGS', 'BENCH_SERVER_MAIN']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
