/**
 * SAML sign-in benchmark: `npm run bench:sso` (builds, then runs this file).
 *
 * For each dialect (an SQLite file, then a fresh PostgreSQL database) it starts the *built* server
 * (`node dist/apps/admin-api/src/main.js`) as a child process on 127.0.0.1 with its defaults, so SAML responses
 * are verified on one worker thread per core (SAML_VALIDATION_THREADS); registers, through the REST API, an IdP
 * with JIT on (create and update, the OCI tutorial's attribute mappings, two explicit group mappings, Merge);
 * then posts signed responses to the assertion consumer service, BENCH_SSO_CONNECTIONS (16) at a time:
 *
 *   new user        BENCH_LOGINS (2,000) first sign-ins: JIT creates each user with 3 attributes and 2 groups
 *   returning user  the same users sign in again with a changed first name: JIT updates it
 *
 * Every response is SP-initiated (InResponseTo an outstanding AuthnRequest) and unique (the replay cache would
 * refuse a second post). The responses are signed beforehand by samlify in IdP mode with a real RSA-2048 key
 * (test/support/saml-idp.ts), so the load generator only sends bytes; the AuthnRequest ids they answer are
 * inserted into saml_request_ids directly, each bound to the browser secret its post carries in a cookie, as
 * RequestIdStore.saveAsync and initiatesso would have (making thousands of signed
 * AuthnRequests through /initiatesso first would only slow the bench down). A sign-in counts when the ACS
 * answers 303 to /myprofile with a session cookie; afterwards the bench checks through the API that JIT created
 * and updated exactly BENCH_LOGINS users, each in both groups.
 *
 * The ceiling: the raw verification throughput of @node-saml/node-saml (`validatePostResponseAsync`, the same
 * settings as the server, no database) on the same responses, sequentially in this process while the server
 * idles. Target: the returning-user path reaches at least 80% of (ceiling × the cores the server uses), the
 * server using every core (its threads default to the machine's core count). The table also shows the CPU the
 * server actually used (cores busy), and the RSS peak.
 *
 * Environment: BENCH_LOGINS, BENCH_SSO_CONNECTIONS, BENCH_DIALECTS ("sqlite,postgres"), BENCH_PG_URL,
 * BENCH_SERVER_NODE_ARGS, BENCH_SERVER_ENV (extra server variables, "K=V,K=V", e.g. SAML_VALIDATION_THREADS=0).
 * Writes bench/results/sso-<YYYY-MM-DD>.json for a standard run (no BENCH_* override), else to the temp dir.
 */
import autocannon from 'autocannon';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminApi, createGroup, createJitIdentityProvider, groupsFromAssertion, samlBrowserBinding, samlRequestCookieName } from '../libs/fixtures/src';
import { makeKeyPair, TestKeyPair } from '../test/support/certs';
import { TestIdp } from '../test/support/saml-idp';
import { Dialect, freshDatabase, getToken, insertRows, machineCpu, MAIN_JS, percentile, round, RssSampler, Server, table, writeResults, currentCommit, machineInfo } from './support';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 2000);
const CONNECTIONS = Number(process.env.BENCH_SSO_CONNECTIONS ?? 16);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',').map((d) => d.trim()) as Dialect[];
const SERVER_ENV = Object.fromEntries(
  (process.env.BENCH_SERVER_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const CEILING_SAMPLE = Math.min(LOGINS, 400);
const TARGET_SHARE = 0.8;
const CORES = availableParallelism();

interface PathResult {
  path: string;
  logins: number;
  signedIn: number;
  failed: Record<string, number>;
  seconds: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCores: number;
  serverCpuMsPerLogin: number;
  loadgenCpuPct: number;
  machineCpuPct: number;
  rssPeakMb: number;
  /** CPU ms per sign-in of each busy server thread (main, the validation threads, libuv's pool, GC helpers). */
  threadCpuMsPerLogin: string[];
}

interface DialectResult {
  dialect: Dialect;
  ceilingPerSec: number;
  ceilingMsPerResponse: number;
  serverThreads: string;
  paths: PathResult[];
  checks: string[];
}

/**
 * Signs `LOGINS` responses answering `_<tag>_<i>`, one per user, with the attributes of `firstName(i)`; each request
 * is bound to a browser of its own (the cookie the ACS requires, and what saml_request_ids keeps of it).
 */
async function signResponses(
  idp: TestIdp,
  tag: string,
  firstName: (i: number) => string,
): Promise<{ requestIds: string[]; bindings: string[]; cookies: string[]; bodies: string[]; raw: string[] }> {
  const requestIds: string[] = [];
  const bindings: string[] = [];
  const cookies: string[] = [];
  const bodies: string[] = [];
  const raw: string[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const requestId = `_bench_${tag}_${i}`;
    const secret = randomBytes(32).toString('base64url');
    bindings.push(samlBrowserBinding(secret));
    cookies.push(`${samlRequestCookieName(requestId)}=${secret}`);
    const email = `bench.user.${i}@example.com`;
    const response = await idp.signedResponse(
      { InResponseTo: requestId, NameID: email },
      { firstName: [firstName(i)], familyName: [`Family${i}`], email: [email], groups: ['Administrators', 'Engineering'] },
    );
    requestIds.push(requestId);
    raw.push(response);
    bodies.push(`SAMLResponse=${encodeURIComponent(response)}`);
  }
  return { requestIds, bindings, cookies, bodies, raw };
}

/** node-saml's own verification rate on these responses, in this process, with the server's settings. */
async function ceiling(responses: string[], idpKeys: TestKeyPair, sp: { entityId: string; acsUrl: string }): Promise<number> {
  const saml = new SAML({
    issuer: sp.entityId,
    callbackUrl: sp.acsUrl,
    audience: sp.entityId,
    idpCert: idpKeys.certificatePem,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    acceptedClockSkewMs: 60_000,
    validateInResponseTo: ValidateInResponseTo.never,
  });
  for (const r of responses.slice(0, 20)) await saml.validatePostResponseAsync({ SAMLResponse: r }); // warm-up
  const started = process.hrtime.bigint();
  for (const r of responses) await saml.validatePostResponseAsync({ SAMLResponse: r });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return responses.length / seconds;
}

async function postAll(server: Server, rss: RssSampler, path: string, { bodies, cookies }: { bodies: string[]; cookies: string[] }): Promise<PathResult> {
  let next = 0;
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  const instance = autocannon({
    url: server.baseUrl,
    connections: CONNECTIONS,
    amount: bodies.length,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        path: '/fed/v1/sp/sso',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => {
          const i = next++ % bodies.length;
          return { ...req, body: bodies[i], headers: { ...req.headers, cookie: cookies[i] } };
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 303) times.push(ms);
  });
  rss.resetPhase();
  const threads0 = server.threadCpuSeconds();
  const cpu0 = server.cpuSeconds();
  const self0 = process.cpuUsage();
  const machine0 = machineCpu();
  const started = process.hrtime.bigint();
  const result = await instance;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu1 = server.cpuSeconds();
  const threads1 = server.threadCpuSeconds();
  const threadMs = Object.entries(threads1)
    .map(([tid, t]) => ({ name: t.name, ms: ((t.seconds - (threads0[tid]?.seconds ?? 0)) * 1000) / bodies.length }))
    .filter((t) => t.ms >= 0.05)
    .sort((a, b) => b.ms - a.ms)
    .map((t) => `${t.name} ${t.ms.toFixed(2)}`);
  const self1 = process.cpuUsage(self0);
  const machine1 = machineCpu();
  times.sort((a, b) => a - b);
  const serverCpu = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
  const signedIn = statuses['303'] ?? 0;
  const failed = Object.fromEntries(Object.entries(statuses).filter(([s]) => s !== '303'));
  if (result.errors) failed.errors = result.errors;
  if (result.timeouts) failed.timeouts = result.timeouts;
  return {
    path,
    logins: bodies.length,
    signedIn,
    failed,
    seconds: round(seconds, 2),
    perSec: round(signedIn / seconds, 1),
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    serverCores: round(serverCpu / seconds, 2),
    serverCpuMsPerLogin: round((serverCpu * 1000) / Math.max(1, signedIn), 2),
    loadgenCpuPct: round(((self1.user + self1.system) / 1e6 / seconds) * 100, 0),
    machineCpuPct: round(((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100, 0),
    rssPeakMb: round(rss.phasePeak, 0),
    threadCpuMsPerLogin: threadMs,
  };
}

async function benchDialect(dialect: Dialect): Promise<DialectResult> {
  const db = await freshDatabase(dialect);
  const server = await Server.start(db.url, SERVER_ENV);
  const rss = new RssSampler(server);
  const checks: string[] = [];
  try {
    const sp = { entityId: `${server.baseUrl}/fed`, acsUrl: `${server.baseUrl}/fed/v1/sp/sso` };
    const metadata = await (await fetch(`${server.baseUrl}/fed/v1/metadata`)).text();
    const idpKeys = await makeKeyPair('bench-idp');
    const idp = new TestIdp(metadata, sp, idpKeys);

    // The configuration, through the API as an administrator would make it.
    const admin = adminApi(server.baseUrl, await getToken(server));
    const groups = [await createGroup(admin, 'Bench Administrators'), await createGroup(admin, 'Bench Engineers')];
    const { idpId } = await createJitIdentityProvider(admin, {
      partnerName: 'Bench IdP',
      partnerProviderId: idp.entityId,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: idpKeys.certificateB64,
      settings: {
        ...groupsFromAssertion([
          { idpGroup: 'Administrators', value: groups[0] },
          { idpGroup: 'Engineering', value: groups[1] },
        ]),
        jitUserProvGroupMappingMode: 'explicit',
        jitUserProvGroupAssignmentMethod: 'Merge',
      },
    });

    process.stdout.write(`${dialect}: signing ${2 * LOGINS} responses… `);
    const t0 = Date.now();
    const first = await signResponses(idp, 'new', (i) => `Given${i}`);
    const again = await signResponses(idp, 'ret', (i) => `Renamed${i}`);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(0)} s; `);

    // The AuthnRequests these responses answer, as RequestIdStore.saveAsync stores them.
    const now = new Date();
    const expires = new Date(now.getTime() + 60 * 60_000).toISOString();
    const rows = [first, again].flatMap((r) => r.requestIds.map((id, i) => ({ id, idp_id: idpId, created: now.toISOString(), expires_at: expires, browser_binding: r.bindings[i] })));
    await insertRows(db, dialect, 'saml_request_ids', ['id', 'idp_id', 'created', 'expires_at', 'browser_binding'], rows);
    await db.close();

    process.stdout.write('ceiling… ');
    const ceilingPerSec = await ceiling(again.raw.slice(0, CEILING_SAMPLE), idpKeys, sp);
    process.stdout.write(`${ceilingPerSec.toFixed(0)}/s; new users… `);
    const created1 = await postAll(server, rss, 'new user (create, 3 attributes, 2 groups)', first);
    process.stdout.write(`${created1.perSec}/s; returning… `);
    const updated = await postAll(server, rss, 'returning user (update)', again);
    console.log(`${updated.perSec}/s`);

    // What JIT wrote, through the API.
    const count = async (filter: string) => (await admin.api('GET', `/admin/v1/Users?count=0&filter=${encodeURIComponent(filter)}`)).body.totalResults as number;
    const users = await count('userName sw "bench.user."');
    const renamed = await count('name.givenName sw "Renamed"');
    const memberCounts = await Promise.all(
      groups.map(async (g) => {
        const r = await admin.api('GET', `/admin/v1/Groups/${g}?attributes=members%5BstartIndex%3D1%26count%3D10000%5D`);
        return Array.isArray(r.body.members) ? r.body.members.length : NaN;
      }),
    );
    checks.push(`${users} users created (expected ${LOGINS})`, `${renamed} users updated (expected ${LOGINS})`, `group members: ${memberCounts.join(', ')} (expected ${LOGINS} each)`);
    if (users !== LOGINS || renamed !== LOGINS || memberCounts.some((n) => n !== LOGINS)) throw new Error(`JIT did not write what it should have: ${checks.join('; ')}`);

    return {
      dialect,
      ceilingPerSec: round(ceilingPerSec, 1),
      ceilingMsPerResponse: round(1000 / ceilingPerSec, 2),
      serverThreads: SERVER_ENV.SAML_VALIDATION_THREADS ?? `${CORES} (default: one per core)`,
      paths: [created1, updated],
      checks,
    };
  } catch (e) {
    console.error(`\n${server.output}`);
    throw e;
  } finally {
    rss.stop();
    await server.stop();
    await db.close().catch(() => undefined);
    await db.drop();
  }
}

async function main(): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run "npm run build" first (npm run bench:sso does)`);
  const started = Date.now();
  console.log(`SSO bench: ${LOGINS} sign-ins per path, ${CONNECTIONS} connections, ${cpus().length} CPUs (${CORES} available), node ${process.version}`);
  const results: DialectResult[] = [];
  for (const d of DIALECTS) results.push(await benchDialect(d));

  const rows = results.flatMap((r) =>
    r.paths.map((p) => [
      r.dialect,
      p.path,
      p.perSec,
      p.p50Ms.toFixed(1),
      p.p99Ms.toFixed(1),
      p.signedIn,
      Object.values(p.failed).reduce((a, b) => a + b, 0),
      p.serverCores,
      p.serverCpuMsPerLogin.toFixed(2),
      p.loadgenCpuPct,
      p.machineCpuPct,
      p.rssPeakMb,
    ]),
  );
  console.log('\n' + table(['dialect', 'path', 'sign-ins/s', 'p50 ms', 'p99 ms', 'signed in', 'failed', 'server cores busy', 'server CPU ms/sign-in', 'loadgen CPU %', 'machine CPU %', 'RSS peak MB'], rows));
  const targets = results.map((r) => {
    const returning = r.paths[1];
    const needed = TARGET_SHARE * r.ceilingPerSec * CORES;
    return {
      dialect: r.dialect,
      ceiling: `${r.ceilingPerSec}/s (${r.ceilingMsPerResponse} ms per response)`,
      target: `returning ≥ 80% × ${r.ceilingPerSec} × ${CORES} cores = ${needed.toFixed(0)}/s`,
      measured: `${returning.perSec}/s (${((returning.perSec / (r.ceilingPerSec * CORES)) * 100).toFixed(0)}%)`,
      met: returning.perSec >= needed && Object.keys(returning.failed).length === 0,
    };
  });
  console.log('\n' + table(['dialect', 'node-saml ceiling (1 thread)', 'target', 'measured', 'met'], targets.map((t) => [t.dialect, t.ceiling, t.target, t.measured, t.met ? 'yes' : 'NO'])));
  for (const r of results) console.log(`${r.dialect}: ${r.checks.join('; ')}`);
  for (const r of results) for (const p of r.paths) console.log(`${r.dialect}, ${p.path}: server CPU ms per sign-in by thread: ${p.threadCpuMsPerLogin.join(', ')}`);

  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    machine: { ...machineInfo(), availableParallelism: CORES },
    settings: { logins: LOGINS, connections: CONNECTIONS, ceilingSample: CEILING_SAMPLE, serverEnv: SERVER_ENV, server: 'node dist/apps/admin-api/src/main.js (child process, 127.0.0.1)' },
    results,
    targets,
    benchSeconds: round((Date.now() - started) / 1000, 0),
  };
  writeResults('sso', out.date.slice(0, 10), out, ['BENCH_LOGINS', 'BENCH_SSO_CONNECTIONS', 'BENCH_DIALECTS', 'BENCH_SERVER_NODE_ARGS', 'BENCH_SERVER_MAIN', 'BENCH_SERVER_ENV']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
