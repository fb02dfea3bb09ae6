/**
 * OpenID Connect sign-in benchmark: `npm run bench:oidc` (builds, then runs this file).
 *
 * Sign-ins per second of returning users through the whole flow, for our server and, as the peer, a bare
 * openid-client relying party doing the same flow with no user store (bench/oidc-peer.ts), against one real
 * provider (apps/demo-idp's oidc-provider, in its own process, with one client registered for both redirect URIs).
 *
 * For each dialect (an SQLite file, then a fresh PostgreSQL database) it starts the *built* server
 * (`node dist/apps/admin-api/src/main.js`) as a child process, the provider and the peer as two more; registers,
 * through the REST API, an OpenID Connect IdP as the demo's (JIT create and update, the default claim mappings,
 * `groups` mapped explicitly to two local groups, Merge). BENCH_USERS people at the provider; each has a browser
 * (libs/fixtures CookieJar) that signs in once at our server (JIT creates the user) and once at the peer, keeping
 * its provider session. Then BENCH_CONCURRENCY virtual clients each loop the whole flow over their own browsers,
 * as returning users (no login page: a page is counted as a failure):
 *
 *   GET <rp>/fed/v1/sp/initiatesso → 302 to the provider's authorization endpoint → 303 to
 *   <rp>/oauth2/v1/social/callback?code&state&iss → 303 with the `idd_session` cookie
 *
 * against ours, then against the peer (the peer answers at our paths, so one driver drives both), in
 * BENCH_ROUNDS alternating rounds (ours first in odd rounds, the peer first in even ones) of BENCH_DURATION
 * seconds each after a 1 s unrecorded warm-up; every figure is the median over the rounds. A sign-in counts when
 * its callback answered 303 with a session cookie inside the recorded window; its latency is the whole flow's.
 *
 * CPU comes from /proc for each process: the relying party (ours or the peer; on PostgreSQL, ours with the
 * database's processes working for it), the provider, and the load generator (this process), per sign-in, and
 * each one's main thread (its event loop) as a share of one core, so the table can name the bottleneck: a process
 * whose event loop is ≥ 85% busy, else the machine when its CPUs are ≥ 85% busy, else (nothing saturated) how
 * much of a flow our server's two requests took, from its /metrics. "Other load" is the CPU of processes outside
 * the bench: the machine (2 cores here) is shared, so read the ratio ours/peer, not absolute rates.
 * Afterwards the bench checks what our server wrote: BENCH_USERS users (none created by a returning sign-in), and
 * one session and one `sso.login` success audit event per sign-in it answered.
 *
 * Environment: BENCH_DURATION (s, 8), BENCH_ROUNDS (2), BENCH_CONCURRENCY (16), BENCH_USERS (4 × concurrency),
 * BENCH_DIALECTS ("sqlite,postgres"), BENCH_PG_URL, BENCH_SERVER_NODE_ARGS, BENCH_SERVER_MAIN.
 * Writes bench/results/oidc-<YYYY-MM-DD>.json for a standard run (no BENCH_* override), else to the temp dir.
 * The whole run takes about 1.5 minutes after the build.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
// The provider's entry point that loads no @app alias (the benches run without tsconfig-paths).
import { OidcAccount, RunningOidcProvider, startOidcProvider } from '../apps/demo-idp/src/oidc';
import { adminApi, CookieJar, createGroup, createOidcIdentityProvider, groupsFromAssertion, OIDC_CALLBACK_PATH, OIDC_DEFAULT_SCOPES, oidcSignIn, requireSignedIn } from '../libs/fixtures/src';
import { currentCommit, Dialect, freePort, freshDatabase, getToken, machineCpu, machineInfo, MAIN_JS, percentile, processCpuSeconds, ROOT, round, Server, sleep, table, writeResults, peerReady, stopPeer } from './support';

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const USERS = Number(process.env.BENCH_USERS ?? 4 * CONCURRENCY);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as Dialect[];
const WARMUP_S = 1;
/** An event loop busy this share of a core or more is what limits the rate. */
const SATURATED_LOOP = 0.85;
const SATURATED_MACHINE = 0.85;
/** Other processes' CPU worth naming beside the bottleneck (a shared machine). */
const OTHER_LOAD_NOTED_PCT = 10;

const CLIENT_ID = 'identity-domain-bench';
const CLIENT_SECRET = 'identity-domain-bench-secret-0123456789';
/** The IdP groups of the demo provider's people, mapped to local groups (as registerDemoOidcIdp does). */
const IDP_GROUPS = ['Administrators', 'Engineering'];

type Party = 'ours' | 'peer';

/** One person at the provider and their browser. */
interface BenchUser {
  sub: string;
  jar: CookieJar;
}

/** Where a party takes sign-ins, and the process that does the work. */
interface RelyingParty {
  party: Party;
  url: string;
  idp: string;
  pid: number;
  /** The PostgreSQL database it uses, whose backends' CPU is its too. */
  pgDatabase?: string;
  /** An administrator's token for its /metrics (ours only). */
  metricsToken?: string;
}

interface CpuShare {
  /** CPU ms per sign-in, all threads. */
  msPerSignIn: number;
  /** Main thread (event loop) busy, as a share of one core. */
  loop: number;
}

interface Phase {
  party: Party;
  round: number;
  seconds: number;
  signedIn: number;
  failed: Record<string, number>;
  firstFailure?: string;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  rp: CpuShare;
  /** PostgreSQL's processes working for our server's database (0 on SQLite, which runs in the server's process). */
  databaseCpuMsPerSignIn: number;
  provider: CpuShare;
  loadgen: CpuShare;
  machineCpuPct: number;
  /** CPU of everything else on the machine (another job on a shared machine), as a share of all its CPUs. */
  otherCpuPct: number;
  /** Ours only: its own mean time in the flow's two requests, from its /metrics (the callback's includes its calls to the provider). */
  serverMsPerRequest?: { initiatesso: number; callback: number };
  bottleneck: string;
}

interface PartyResult {
  party: Party;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  rpCpuMsPerSignIn: number;
  databaseCpuMsPerSignIn: number;
  providerCpuMsPerSignIn: number;
  loadgenCpuMsPerSignIn: number;
  rpLoopPct: number;
  providerLoopPct: number;
  loadgenLoopPct: number;
  machineCpuPct: number;
  otherCpuPct: number;
  serverMsPerRequest?: { initiatesso: number; callback: number };
  signedIn: number;
  failed: number;
  bottleneck: string;
}

interface DialectResult {
  dialect: Dialect;
  ours: PartyResult;
  peer: PartyResult;
  /** Ours / the peer; `rpCpuPerSignIn` counts our database's CPU (PostgreSQL's processes) with our server's. */
  ratio: { signInsPerSec: number; p50: number; rpCpuPerSignIn: number };
  phases: Phase[];
  checks: string[];
}

/** People shaped as the demo provider's (apps/demo-idp/src/oidc/demo-oidc.ts): uniqueUserId becomes the userName. */
function accounts(): OidcAccount[] {
  return Array.from({ length: USERS }, (_, i) => {
    const email = `bench.oidc.${i}@example.com`;
    return { sub: `bench-${i}`, claims: { uniqueUserId: email, name: `Given${i} Family${i}`, given_name: `Given${i}`, family_name: `Family${i}`, email, email_verified: true, groups: IDP_GROUPS } };
  });
}

/** The pid of this process's child whose command line contains `marker` (startOidcProvider does not say). */
function childPid(marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) return Number(entry);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error(`no child process of ${process.pid} runs ${marker}`);
}

/** Starts bench/oidc-peer.ts in its own process on `port`. */
async function startPeer(port: number, provider: RunningOidcProvider): Promise<ChildProcess> {
  const child = fork(join(__dirname, 'oidc-peer.ts'), [], {
    cwd: ROOT,
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PEER_PORT: String(port),
      PEER_DISCOVERY_URL: provider.discoveryUrl,
      PEER_CLIENT_ID: CLIENT_ID,
      PEER_CLIENT_SECRET: CLIENT_SECRET,
      PEER_SCOPE: OIDC_DEFAULT_SCOPES.join(' '),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await peerReady(child);
  return child;
}

/** Each user's first sign-in (with the login page) at `rp`, CONCURRENCY at a time. */
async function firstSignIns(rp: RelyingParty, users: BenchUser[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < users.length; i = next++) requireSignedIn(await oidcSignIn({ serverUrl: rp.url, idp: rp.idp, login: users[i].sub, jar: users[i].jar }));
    }),
  );
}

/** PostgreSQL's shared processes that do our database's writes after the commit (by their process titles). */
const POSTGRES_WRITERS = /^postgres: [^:]+: (walwriter|checkpointer|background writer)/;

/**
 * CPU seconds of each PostgreSQL process working for `database`: its backends (their process titles name it) and
 * the writers shared by all databases (an overestimate when other databases are busy meanwhile).
 */
function postgresCpu(database: string | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (!database) return out;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (title.startsWith('postgres:') && (title.includes(` ${database} `) || POSTGRES_WRITERS.test(title))) out.set(Number(entry), processCpuSeconds(Number(entry)).total);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

type RouteTimes = Record<'initiatesso' | 'callback', { seconds: number; count: number }>;

/** Our server's http_request_duration_seconds sums and counts for the flow's two routes (any status), from /metrics. */
async function routeTimes(rp: RelyingParty): Promise<RouteTimes | undefined> {
  if (!rp.metricsToken) return undefined;
  const text = await (await fetch(`${rp.url}/metrics`, { headers: { authorization: `Bearer ${rp.metricsToken}` } })).text();
  const out: RouteTimes = { initiatesso: { seconds: 0, count: 0 }, callback: { seconds: 0, count: 0 } };
  for (const m of text.matchAll(/^http_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const route = /route="([^"]*)"/.exec(m[2])?.[1] ?? '';
    const key = route.endsWith('/initiatesso') ? 'initiatesso' : route.endsWith(OIDC_CALLBACK_PATH) ? 'callback' : undefined;
    if (key) out[key][m[1] === 'sum' ? 'seconds' : 'count'] += Number(m[3]);
  }
  return out;
}

function cpuOf(rp: RelyingParty, providerPid: number) {
  return { rp: processCpuSeconds(rp.pid), database: postgresCpu(rp.pgDatabase), provider: processCpuSeconds(providerPid), loadgen: processCpuSeconds(process.pid), machine: machineCpu() };
}

/**
 * CONCURRENCY virtual clients loop the whole flow at `rp`, each over its own browsers, for WARMUP_S + DURATION
 * seconds; what completes in the last DURATION seconds is recorded. Returns after every flow in flight has ended.
 */
async function measure(rp: RelyingParty, providerPid: number, users: BenchUser[], roundNo: number, totals: Record<Party, number>): Promise<Phase> {
  let recording = false;
  let stopping = false;
  const times: number[] = [];
  const failed: Record<string, number> = {};
  let firstFailure: string | undefined;
  const clients = Array.from({ length: CONCURRENCY }, async (_, c) => {
    const mine = users.filter((_u, i) => i % CONCURRENCY === c);
    for (let k = 0; !stopping; k++) {
      const user = mine[k % mine.length];
      const started = performance.now();
      // No `login`: a returning user's browser holds its provider session; a login page ends the flow, a failure.
      const result = await oidcSignIn({ serverUrl: rp.url, idp: rp.idp, jar: user.jar }).catch((e: Error) => e);
      const ms = performance.now() - started;
      const ok = !(result instanceof Error) && result.status === 303 && !!result.sessionCookie;
      if (ok) totals[rp.party]++;
      if (!recording) continue;
      if (ok) times.push(ms);
      else {
        const why = result instanceof Error ? `error: ${result.message}` : `${result.status} at ${new URL(result.steps.at(-1)!.url).pathname}`;
        failed[why] = (failed[why] ?? 0) + 1;
        firstFailure ??= result instanceof Error ? String(result.stack) : `${result.steps.map((s) => `${s.method} ${s.url} → ${s.status}`).join(' | ')} ${(result.body ?? '').slice(0, 300)}`;
      }
    }
  });
  await sleep(WARMUP_S * 1000);
  const routesBefore = await routeTimes(rp);
  const before = cpuOf(rp, providerPid);
  const t0 = performance.now();
  recording = true;
  await sleep(DURATION * 1000);
  recording = false;
  const seconds = (performance.now() - t0) / 1000;
  const after = cpuOf(rp, providerPid);
  const routesAfter = await routeTimes(rp);
  stopping = true;
  await Promise.all(clients);

  times.sort((a, b) => a - b);
  const signedIn = times.length;
  const share = (k: 'rp' | 'provider' | 'loadgen'): CpuShare => ({
    msPerSignIn: round(((after[k].total - before[k].total) * 1000) / Math.max(1, signedIn), 2),
    loop: round((after[k].mainThread - before[k].mainThread) / seconds, 2),
  });
  // A backend that connected during the window counts from zero.
  const databaseSeconds = [...after.database].reduce((sum, [pid, cpu]) => sum + cpu - (before.database.get(pid) ?? 0), 0);
  const machineShare = (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total);
  const benchCores = (['rp', 'provider', 'loadgen'] as const).reduce((sum, k) => sum + after[k].total - before[k].total, databaseSeconds) / seconds;
  const phase = {
    party: rp.party,
    round: roundNo,
    seconds: round(seconds, 2),
    signedIn,
    failed,
    ...(firstFailure ? { firstFailure } : {}),
    perSec: round(signedIn / seconds, 1),
    p50Ms: round(percentile(times, 50), 1),
    p99Ms: round(percentile(times, 99), 1),
    meanMs: round(times.reduce((a, b) => a + b, 0) / Math.max(1, signedIn), 1),
    rp: share('rp'),
    databaseCpuMsPerSignIn: round((databaseSeconds * 1000) / Math.max(1, signedIn), 2),
    provider: share('provider'),
    loadgen: share('loadgen'),
    machineCpuPct: round(machineShare * 100, 0),
    otherCpuPct: round(Math.max(0, machineShare - benchCores / cpus().length) * 100, 0),
    ...(routesBefore && routesAfter ? { serverMsPerRequest: meanMs(routesBefore, routesAfter) } : {}),
  };
  return { ...phase, bottleneck: bottleneck(phase) };
}

function meanMs(before: RouteTimes, after: RouteTimes): { initiatesso: number; callback: number } {
  const mean = (k: keyof RouteTimes) => round(((after[k].seconds - before[k].seconds) * 1000) / Math.max(1, after[k].count - before[k].count), 1);
  return { initiatesso: mean('initiatesso'), callback: mean('callback') };
}

/** The busiest event loop when it is saturated, else the machine when its CPUs are, else neither. */
function bottleneck(p: Omit<Phase, 'bottleneck'>): string {
  const shared = p.otherCpuPct >= OTHER_LOAD_NOTED_PCT ? `; other processes took ${p.otherCpuPct}% of the machine` : '';
  const loops = [
    { name: p.party === 'ours' ? 'our server' : 'the peer', loop: p.rp.loop },
    { name: 'the provider', loop: p.provider.loop },
    { name: 'the load generator', loop: p.loadgen.loop },
  ].sort((a, b) => b.loop - a.loop);
  if (loops[0].loop >= SATURATED_LOOP) return `${loops[0].name} (event loop ${Math.round(loops[0].loop * 100)}% of a core${shared})`;
  if (p.machineCpuPct >= SATURATED_MACHINE * 100) return `the machine (${p.machineCpuPct}% of ${cpus().length} CPUs busy; busiest loop: ${loops[0].name} ${Math.round(loops[0].loop * 100)}%${shared})`;
  // Then the flows wait: where, our server can say (its callback's time includes the provider's token and UserInfo answers).
  const inServer = p.serverMsPerRequest ? `; ${Math.round(((p.serverMsPerRequest.initiatesso + p.serverMsPerRequest.callback) / p.meanMs) * 100)}% of a flow is in our server's two requests` : '';
  return `none saturated (busiest loop: ${loops[0].name} ${Math.round(loops[0].loop * 100)}%${shared}${inServer})`;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function summarize(party: Party, phases: Phase[]): PartyResult {
  const mine = phases.filter((p) => p.party === party);
  const m = (f: (p: Phase) => number, digits = 1) => round(median(mine.map(f)), digits);
  const byRate = [...mine].sort((a, b) => a.perSec - b.perSec);
  return {
    party,
    perSec: m((p) => p.perSec),
    p50Ms: m((p) => p.p50Ms),
    p99Ms: m((p) => p.p99Ms),
    rpCpuMsPerSignIn: m((p) => p.rp.msPerSignIn, 2),
    databaseCpuMsPerSignIn: m((p) => p.databaseCpuMsPerSignIn, 2),
    providerCpuMsPerSignIn: m((p) => p.provider.msPerSignIn, 2),
    loadgenCpuMsPerSignIn: m((p) => p.loadgen.msPerSignIn, 2),
    rpLoopPct: m((p) => p.rp.loop * 100, 0),
    providerLoopPct: m((p) => p.provider.loop * 100, 0),
    loadgenLoopPct: m((p) => p.loadgen.loop * 100, 0),
    machineCpuPct: m((p) => p.machineCpuPct, 0),
    otherCpuPct: m((p) => p.otherCpuPct, 0),
    ...(mine.every((p) => p.serverMsPerRequest)
      ? { serverMsPerRequest: { initiatesso: m((p) => p.serverMsPerRequest!.initiatesso), callback: m((p) => p.serverMsPerRequest!.callback) } }
      : {}),
    signedIn: mine.reduce((a, p) => a + p.signedIn, 0),
    failed: mine.reduce((a, p) => a + Object.values(p.failed).reduce((x, y) => x + y, 0), 0),
    bottleneck: byRate[Math.floor((byRate.length - 1) / 2)].bottleneck, // the median round's
  };
}

async function benchDialect(dialect: Dialect): Promise<DialectResult> {
  const db = await freshDatabase(dialect);
  const server = await Server.start(db.url);
  let provider: RunningOidcProvider | undefined;
  let peer: ChildProcess | undefined;
  try {
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    provider = await startOidcProvider({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [server.baseUrl + OIDC_CALLBACK_PATH, peerUrl + OIDC_CALLBACK_PATH] }],
      accounts: accounts(),
      displayName: 'Bench OpenID Provider',
    });
    const providerPid = childPid('provider-process');
    peer = await startPeer(peerPort, provider);

    // The IdP, through the API as an administrator makes it (as registerDemoOidcIdp does).
    const token = await getToken(server);
    const admin = adminApi(server.baseUrl, token);
    const groups = await Promise.all(IDP_GROUPS.map(async (idpGroup) => ({ idpGroup, value: await createGroup(admin, `Bench ${idpGroup}`) })));
    const { idpId } = await createOidcIdentityProvider(admin, {
      partnerName: 'Bench OpenID Provider',
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      discoveryUrl: provider.discoveryUrl,
      settings: { ...groupsFromAssertion(groups), jitUserProvGroupMappingMode: 'explicit', jitUserProvGroupAssignmentMethod: 'Merge', jitUserProvIgnoreErrorOnAbsentGroups: true },
    });
    const parties: Record<Party, RelyingParty> = {
      ours: { party: 'ours', url: server.baseUrl, idp: idpId, pid: server.pid, pgDatabase: dialect === 'postgres' ? new URL(db.url).pathname.slice(1) : undefined, metricsToken: token },
      peer: { party: 'peer', url: peerUrl, idp: 'bench', pid: peer.pid! },
    };

    const users: BenchUser[] = accounts().map((a) => ({ sub: a.sub, jar: new CookieJar() }));
    process.stdout.write(`${dialect}: ${USERS} first sign-ins… `);
    const t0 = Date.now();
    await firstSignIns(parties.ours, users);
    await firstSignIns(parties.peer, users);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s; returning users:`);

    const totals: Record<Party, number> = { ours: USERS, peer: USERS };
    const phases: Phase[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      for (const party of r % 2 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const)) {
        const phase = await measure(parties[party], providerPid, users, r, totals);
        phases.push(phase);
        process.stdout.write(` ${party} ${phase.perSec}/s`);
      }
    }
    console.log();

    // What our server wrote: no user for a returning sign-in; a session and an audit event for each one it answered.
    const usersCreated = (await admin.api('GET', `/admin/v1/Users?count=0&filter=${encodeURIComponent('userName sw "bench.oidc."')}`)).body.totalResults as number;
    const count = async (sql: string) => Number((await db.query<{ n: number | string }>(sql))[0].n);
    const sessions = await count('SELECT count(*) AS n FROM sessions');
    const audited = await count("SELECT count(*) AS n FROM audit_events WHERE event_id = 'sso.login' AND outcome = 'success'");
    await db.close();
    const checks = [`${usersCreated} users (expected ${USERS})`, `${sessions} sessions and ${audited} sso.login success events (expected ${totals.ours}, one per sign-in answered)`];
    if (usersCreated !== USERS || sessions !== totals.ours || audited !== totals.ours) throw new Error(`our server did not write what it should have: ${checks.join('; ')}`);

    const ours = summarize('ours', phases);
    const peerResult = summarize('peer', phases);
    return {
      dialect,
      ours,
      peer: peerResult,
      ratio: {
        signInsPerSec: round(ours.perSec / peerResult.perSec, 2),
        p50: round(ours.p50Ms / peerResult.p50Ms, 2),
        rpCpuPerSignIn: round((ours.rpCpuMsPerSignIn + ours.databaseCpuMsPerSignIn) / peerResult.rpCpuMsPerSignIn, 2),
      },
      phases,
      checks,
    };
  } catch (e) {
    console.error(`\n${server.output}`);
    throw e;
  } finally {
    if (peer) await stopPeer(peer);
    await provider?.stop();
    await server.stop();
    await db.close().catch(() => undefined);
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm run bench:oidc does)`);
  if (USERS < CONCURRENCY) throw new Error(`BENCH_USERS (${USERS}) must be at least BENCH_CONCURRENCY (${CONCURRENCY}): each virtual client needs a browser of its own`);
  const started = Date.now();
  console.log(
    `OIDC bench: returning users, ${CONCURRENCY} virtual clients over ${USERS} browsers, ${ROUNDS} rounds × ${DURATION} s per relying party (+${WARMUP_S} s warm-up), ${cpus().length} CPUs, node ${process.version}`,
  );
  const results: DialectResult[] = [];
  for (const d of DIALECTS) results.push(await benchDialect(d));

  const rows = results.flatMap((r) =>
    [r.ours, r.peer].map((p) => [
      r.dialect,
      p.party === 'ours' ? 'ours' : 'peer (openid-client)',
      p.perSec,
      p.p50Ms.toFixed(1),
      p.p99Ms.toFixed(1),
      p.rpCpuMsPerSignIn.toFixed(2),
      r.dialect === 'postgres' && p.party === 'ours' ? p.databaseCpuMsPerSignIn.toFixed(2) : '-',
      p.providerCpuMsPerSignIn.toFixed(2),
      p.loadgenCpuMsPerSignIn.toFixed(2),
      `${p.rpLoopPct} / ${p.providerLoopPct} / ${p.loadgenLoopPct}`,
      p.machineCpuPct,
      p.otherCpuPct,
      p.signedIn,
      p.failed,
      p.bottleneck,
    ]),
  );
  console.log(
    `\nMedians of ${ROUNDS} rounds. CPU per sign-in from /proc; PostgreSQL: its backends for our server's database and its WAL writer, checkpointer and background writer; event loops: main thread busy, % of one core; other load: CPU used outside this bench, % of the machine.`,
  );
  console.log(
    table(
      ['dialect', 'relying party', 'sign-ins/s', 'p50 ms', 'p99 ms', 'RP CPU ms/sign-in', 'PostgreSQL CPU ms/sign-in', 'provider CPU ms/sign-in', 'loadgen CPU ms/sign-in', 'event loops % RP/provider/loadgen', 'machine CPU %', 'other load %', 'signed in', 'failed', 'bottleneck'],
      rows,
    ),
  );
  console.log(
    '\n' +
      table(
        ['dialect', 'ratio', 'sign-ins/s', 'p50 latency', 'RP CPU per sign-in (ours with its PostgreSQL)'],
        results.map((r) => [r.dialect, 'ours / peer', r.ratio.signInsPerSec.toFixed(2), r.ratio.p50.toFixed(2), r.ratio.rpCpuPerSignIn.toFixed(2)]),
      ),
  );
  for (const r of results) {
    const providerBound = [r.ours, r.peer].filter((p) => p.bottleneck.startsWith('the provider'));
    if (providerBound.length) console.log(`${r.dialect}: the provider is the bottleneck for ${providerBound.map((p) => p.party).join(' and ')}: the sign-in rate measures it as much as the relying party.`);
  }
  for (const r of results) {
    const t = r.ours.serverMsPerRequest;
    if (t) console.log(`${r.dialect}: our server's own time per request (mean, its /metrics): initiatesso ${t.initiatesso} ms, callback ${t.callback} ms (with the token and UserInfo calls), in a flow of p50 ${r.ours.p50Ms} ms.`);
  }
  for (const r of results) console.log(`${r.dialect}: ${r.checks.join('; ')}`);
  for (const r of results) for (const p of r.phases) if (p.firstFailure) console.log(`${r.dialect}, ${p.party}, round ${p.round}: first failure: ${p.firstFailure}`);

  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    machine: machineInfo(),
    settings: {
      durationSeconds: DURATION,
      warmupSeconds: WARMUP_S,
      rounds: ROUNDS,
      concurrency: CONCURRENCY,
      users: USERS,
      server: `node ${relative(ROOT, MAIN_JS)} (child process, 127.0.0.1)`,
      peer: 'bench/oidc-peer.ts (node:http + openid-client, child process)',
      provider: 'apps/demo-idp/src/oidc startOidcProvider (oidc-provider, child process)',
    },
    results,
    benchSeconds: round((Date.now() - started) / 1000, 0),
  };
  writeResults('oidc', out.date.slice(0, 10), out, ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_CONCURRENCY', 'BENCH_USERS', 'BENCH_DIALECTS', 'BENCH_SERVER_NODE_ARGS', 'BENCH_SERVER_MAIN']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
