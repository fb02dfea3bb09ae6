/**
 * What the benchmarks share: a fresh database per dialect, the built server as a child process with its RSS and
 * CPU read from /proc, an admin token, and table formatting.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import sqlite3 from 'sqlite3';
// Relative, not @app/fixtures: the benches run under plain ts-node, without the path aliases.
import { adminApi, AdminApiAnswer, clientCredentialsToken } from '../libs/fixtures/src';

export type Dialect = 'sqlite' | 'postgres';

export const ROOT = resolve(__dirname, '..');
export const MAIN_JS = resolve(ROOT, process.env.BENCH_SERVER_MAIN ?? 'dist/apps/admin-api/src/main.js');
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const ADMIN_ID = 'bench-admin';
export const ADMIN_SECRET = 'bench-admin-secret-0123456789';

export interface BenchDb {
  url: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: Dialect): Promise<BenchDb> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'idd-bench-'));
    const file = join(dir, 'identity.sqlite');
    let db: sqlite3.Database | undefined;
    const open = () => {
      if (!db) {
        db = new sqlite3.Database(file);
        db.configure('busyTimeout', 30_000);
      }
      return db;
    };
    return {
      url: `sqlite:${file}`,
      query: <T>(sql: string, params: unknown[] = []) =>
        new Promise<T[]>((res, rej) => open().all(sql, params, (err: Error | null, rows: T[]) => (err ? rej(err) : res(rows)))),
      close: () => new Promise<void>((res) => (db ? db.close(() => res()) : res())).then(() => void (db = undefined)),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `bench_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let client: Client | undefined;
  return {
    url: url.toString(),
    query: async <T>(sql: string, params: unknown[] = []) => {
      if (!client) {
        client = new Client({ connectionString: url.toString() });
        await client.connect();
      }
      let n = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
    },
    close: async () => {
      await client?.end();
      client = undefined;
    },
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export async function insertRows<R extends object>(db: BenchDb, dialect: Dialect, table: string, columns: (keyof R)[], rows: R[]): Promise<void> {
  const perStatement = Math.floor(30_000 / columns.length); // under both dialects' bound-parameter limits
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const tuple = `(${columns.map(() => '?').join(',')})`;
    const params: unknown[] = [];
    for (const r of chunk) {
      for (const c of columns) {
        const v = r[c] as unknown;
        params.push(dialect === 'sqlite' && typeof v === 'boolean' ? (v ? 1 : 0) : v);
      }
    }
    await db.query(`INSERT INTO ${table} (${columns.join(',')}) VALUES ${chunk.map(() => tuple).join(',')}`, params);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The server under test.

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Busy and total CPU time of the whole machine (all cores), from /proc/stat, to spot contention. */
export function machineCpu(): { busy: number; total: number } {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] || 0);
    const total = v.reduce((a, b) => a + (b || 0), 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/**
 * CPU seconds (user + system) of any process, in all its threads and in its main thread alone (for Node, the event
 * loop: near 1 s per second means it is saturated whatever the other threads do), from /proc (Linux).
 */
export function processCpuSeconds(pid: number): { total: number; mainThread: number } {
  const read = (file: string) => {
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime in USER_HZ (100 on Linux)
  };
  try {
    return { total: read(`/proc/${pid}/stat`), mainThread: read(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return { total: NaN, mainThread: NaN };
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One key-encryption key per bench run: each run's databases are new. */
const BENCH_KEK = randomBytes(32).toString('base64');

export class Server {
  private log = '';
  private constructor(
    readonly proc: ChildProcess,
    readonly baseUrl: string,
  ) {
    const keep = (b: Buffer) => (this.log = (this.log + b.toString()).slice(-20_000));
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
  }

  /** Starts the built server on a free loopback port; `env` adds or overrides variables (e.g. SAML_VALIDATION_THREADS). */
  static async start(databaseUrl: string, env: Record<string, string> = {}): Promise<Server> {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const proc = spawn(process.execPath, [...nodeArgs, MAIN_JS], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        PUBLIC_URL: baseUrl,
        DATABASE_URL: databaseUrl,
        ADMIN_CLIENT_ID: ADMIN_ID,
        ADMIN_CLIENT_SECRET: ADMIN_SECRET,
        LOG_LEVEL: 'warn',
        // Production mode on PostgreSQL needs a key-encryption key for the stored signing keys.
        SECRETS_KEK: BENCH_KEK,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new Server(proc, baseUrl);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${server.log}`);
      try {
        const r = await fetch(`${baseUrl}/health`);
        if (r.ok) return server;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`server did not become healthy in 60 s:\n${server.log}`);
      await sleep(100);
    }
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get output(): string {
    return this.log;
  }

  /** Resident set size in MiB, from /proc (Linux). */
  rssMb(): number {
    return processRssMb(this.pid);
  }

  /** CPU seconds (user + system) the server process has used so far, from /proc/<pid>/stat (Linux). */
  cpuSeconds(): { user: number; system: number } {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime in USER_HZ (100 on Linux)
    } catch {
      return { user: NaN, system: NaN };
    }
  }

  /** CPU seconds per thread of the server (by thread id, with the thread's name), from /proc/<pid>/task (Linux). */
  threadCpuSeconds(): Record<string, { name: string; seconds: number }> {
    return processThreadCpuSeconds(this.pid);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Resident set size in MiB of any process, from /proc (Linux). */
export function processRssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds per thread of any process (by thread id, with the thread's name; its main thread named "main"), from /proc/<pid>/task (Linux). */
export function processThreadCpuSeconds(pid: number): Record<string, { name: string; seconds: number }> {
  const out: Record<string, { name: string; seconds: number }> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[tid] = { name: tid === String(pid) ? 'main' : name, seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
    }
  } catch {
    /* not Linux, or the process is gone */
  }
  return out;
}

/** Peak RSS of a process (the server, or any other with an `rssMb`), overall and since the last reset. */
export class RssSampler {
  peak = 0;
  phasePeak = 0;
  private timer: NodeJS.Timeout;
  constructor(private readonly server: { rssMb(): number }) {
    this.timer = setInterval(() => this.sample(), 100);
    this.sample();
  }
  sample(): number {
    const v = this.server.rssMb();
    if (v > this.peak) this.peak = v;
    if (v > this.phasePeak) this.phasePeak = v;
    return v;
  }
  resetPhase(): void {
    this.phasePeak = 0;
    this.sample();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

export function call(server: Server, method: string, path: string, token: string, body?: unknown): Promise<AdminApiAnswer> {
  return adminApi(server.baseUrl, token).api(method, path, body);
}

export function getToken(server: Server): Promise<string> {
  return clientCredentialsToken(server.baseUrl, ADMIN_ID, ADMIN_SECRET);
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ') + ' |';
  return [line(cells[0]), '|' + widths.map((w, i) => (i < 2 ? ':' + '-'.repeat(w + 1) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}

/**
 * Writes a bench's results as `<name>-<date>.json`. Only a standard run (none of `overrides` set) goes to
 * bench/results, which is committed; runs with profiling or reduced settings go to the temporary directory, so
 * they never replace a comparable result.
 */
export function writeResults(name: string, date: string, out: { benchSeconds: number }, overrides: string[]): void {
  const standard = !overrides.some((k) => process.env[k]);
  const dir = standard ? join(ROOT, 'bench/results') : tmpdir();
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${date}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`\nwrote ${file} (bench took ${out.benchSeconds} s)`);
}

/** The commit a bench ran on (short hash), for its results file. */
export function currentCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown'; // not a git checkout
  }
}

/** The machine a bench ran on, for its results file. */
export function machineInfo() {
  return { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGb: round(totalmem() / 2 ** 30, 1), node: process.version };
}

// ---------------------------------------------------------------------------------------------------------
// Peers: the relying parties a team would write instead of this product, each in a process of its own.

/** Waits for a forked peer's first IPC message (it is listening), at most 30 s. */
export function peerReady(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('the peer did not start within 30 s'))), 30_000);
    child.once('message', () => (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`the peer exited (${code})`))));
  });
}

/** Stops a forked peer: it ends with its parent's channel; killed after 5 s if it does not. */
export async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
