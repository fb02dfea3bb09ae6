import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDatabase } from '@app/persistence';
import { E2E_DB, freePort, PG_ADMIN_URL } from './support/server';

const MAIN = join(__dirname, '..', 'dist', 'apps', 'admin-api', 'src', 'main.js');

/** Root ignores file modes: as root, the cases about permissions run the server as `nobody`, as a service user would. */
const UNPRIVILEGED = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

/**
 * Whether that user can run the server from this checkout at all: a checkout under a directory only root may
 * enter (a 0700 home) cannot be read by `nobody`, and then the permission cases cannot tell anything.
 */
const UNPRIVILEGED_CAN_RUN =
  spawnSync(process.execPath, ['-e', `require(${JSON.stringify(require.resolve('@nestjs/core'))}); require('fs').accessSync(${JSON.stringify(MAIN)}, require('fs').constants.R_OK)`], {
    ...UNPRIVILEGED,
    stdio: 'ignore',
  }).status === 0;
const itUnprivileged = UNPRIVILEGED_CAN_RUN ? it : it.skip;
if (!UNPRIVILEGED_CAN_RUN) console.warn('startup-errors: the permission cases are skipped: user 65534 cannot read this checkout');

interface Exit {
  code: number | null;
  stderr: string;
}

/** Starts the production server on `databaseUrl` and waits for it to exit; one that starts listening is a failure. */
async function start(databaseUrl: string, as: { uid?: number; gid?: number } = {}): Promise<Exit> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
    ...as,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill(), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr };
}

/** A non-zero exit and exactly one line on stderr, naming `target` and matching `cause`, with no stack trace. */
function expectOneLine(exit: Exit, target: string, cause: RegExp): void {
  const lines = exit.stderr.split('\n').filter((l) => l.trim() !== '');
  expect({ code: exit.code, lines }).toEqual({ code: 1, lines: [expect.stringContaining(target)] });
  expect(lines[0]).toMatch(cause);
  expect(exit.stderr).not.toMatch(/^\s+at /m);
}

(E2E_DB === 'sqlite' ? describe : describe.skip)('Start-up errors of an SQLite database', () => {
  let dir: string;
  let valid: string;
  /** A directory no one but root may write in. */
  let locked: string;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    dir = mkdtempSync(join(tmpdir(), 'startup-errors-'));
    // Traversable by the unprivileged user; each case sets the modes it needs below.
    chmodSync(dir, 0o755);
    valid = join(dir, 'valid.sqlite');
    await checkDatabase({ type: 'sqlite', path: valid });
    locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o555);
  });
  afterAll(() => {
    // A non-root runner owns these but cannot delete inside directories it made read-only.
    for (const d of ['locked', 'readonly-dir']) if (existsSync(join(dir, d))) chmodSync(join(dir, d), 0o755);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A directory the unprivileged user may write in (others get rwx, as the owner does). */
  function openDir(name: string): string {
    const d = join(dir, name);
    mkdirSync(d);
    chmodSync(d, 0o777);
    return d;
  }

  it('should name the file when it holds random bytes', async () => {
    const path = join(dir, 'random.sqlite');
    writeFileSync(path, randomBytes(64 * 1024));
    expectOneLine(await start(`sqlite:${path}`), path, /not an SQLite database \(SQLITE_NOTADB/);
  });

  it('should name the file when its pages are corrupt behind a valid header', async () => {
    const path = join(dir, 'corrupt.sqlite');
    copyFileSync(valid, path);
    const fd = openSync(path, 'r+');
    writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 100);
    closeSync(fd);
    expectOneLine(await start(`sqlite:${path}`), path, /the file is corrupt \(SQLITE_CORRUPT/);
  });

  it('should say so when the path is a directory', async () => {
    const path = openDir('a-directory');
    expectOneLine(await start(`sqlite:${path}`), path, /the path is a directory, not a file/);
  });

  it('should name the directory that cannot be created because a file is in its path', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const path = join(file, 'data', 'identity.sqlite');
    expectOneLine(await start(`sqlite:${path}`), join(file, 'data'), /cannot be created: part of its path is a file/);
  });

  itUnprivileged('should name the directory that the user may not create', async () => {
    const path = join(locked, 'data', 'identity.sqlite');
    expectOneLine(await start(`sqlite:${path}`, UNPRIVILEGED), join(locked, 'data'), /permission denied creating the directory .* \(EACCES\)/);
  });

  itUnprivileged('should say the file is not readable when its mode is 000', async () => {
    const path = join(openDir('unreadable'), 'identity.sqlite');
    copyFileSync(valid, path);
    chmodSync(path, 0o000);
    expectOneLine(await start(`sqlite:${path}`, UNPRIVILEGED), path, /not readable and writable by this user \(SQLITE_CANTOPEN/);
  });

  itUnprivileged('should say the database is read-only when the file is, even with its schema up to date', async () => {
    const path = join(openDir('readonly-file'), 'identity.sqlite');
    copyFileSync(valid, path);
    chmodSync(path, 0o444);
    expectOneLine(await start(`sqlite:${path}`, UNPRIVILEGED), path, /the database is read-only.*\(SQLITE_READONLY/);
  });

  itUnprivileged('should say the database is read-only when its directory is', async () => {
    const d = join(dir, 'readonly-dir');
    mkdirSync(d);
    const path = join(d, 'identity.sqlite');
    copyFileSync(valid, path);
    chmodSync(path, 0o666);
    chmodSync(d, 0o555);
    expectOneLine(await start(`sqlite:${path}`, UNPRIVILEGED), path, /the database is read-only.*\(SQLITE_READONLY/);
  });

  itUnprivileged('should name the directory when the file does not exist and the directory is not writable', async () => {
    const path = join(locked, 'identity.sqlite');
    expectOneLine(await start(`sqlite:${path}`, UNPRIVILEGED), path, new RegExp(`the directory ${locked} is not writable .*\\(SQLITE_CANTOPEN`));
  });

  it('should start on a valid file (control case)', async () => {
    const path = join(openDir('control'), 'identity.sqlite');
    copyFileSync(valid, path);
    chmodSync(path, 0o666);
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, DATABASE_URL: `sqlite:${path}`, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' }, stdio: 'ignore', ...UNPRIVILEGED });
    try {
      let ok = false;
      for (let i = 0; i < 100 && !ok && child.exitCode === null; i++) {
        ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
    } finally {
      child.kill();
    }
  });
});

(E2E_DB === 'postgres' ? describe : describe.skip)('Start-up errors of a PostgreSQL database', () => {
  const server = new URL(PG_ADMIN_URL);
  const password = 'never-print-this-pw';

  /** PG_ADMIN_URL with another user, password, port or database. */
  function url(change: { user?: string; port?: number; database?: string }): string {
    const u = new URL(PG_ADMIN_URL);
    u.username = change.user ?? u.username;
    u.password = password;
    if (change.port) u.port = String(change.port);
    u.pathname = `/${change.database ?? 'postgres'}`;
    return u.toString();
  }

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  });

  it('should name the host and port when nothing listens there, without the password', async () => {
    const port = await freePort();
    const exit = await start(url({ port }));
    expectOneLine(exit, `"postgres" on ${server.hostname}:${port}`, /connection refused.*\(ECONNREFUSED\)/);
    expect(exit.stderr).not.toContain(password);
  });

  it('should name the database that does not exist', async () => {
    const exit = await start(url({ database: 'no_such_database_e2e' }));
    expectOneLine(exit, `"no_such_database_e2e" on ${server.hostname}:${server.port || 5432}`, /database "no_such_database_e2e" does not exist \(3D000\)/);
    expect(exit.stderr).not.toContain(password);
  });

  it('should report an authentication failure for an unknown role', async () => {
    const exit = await start(url({ user: 'no_such_role_e2e' }));
    expectOneLine(exit, 'as no_such_role_e2e', /authentication failed: .*no_such_role_e2e.* \(28(000|P01)\)/);
    expect(exit.stderr).not.toContain(password);
  });
});
