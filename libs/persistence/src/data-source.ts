import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DataSource, DataSourceOptions, EntitySchema } from 'typeorm';
import type { DatabaseConfig } from '@app/config';
import { MIGRATIONS } from './migrations';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EntityClass = Function | EntitySchema<any>;

/** SQLite page cache of the connection, in KiB. */
const SQLITE_CACHE_KIB = 32 * 1024;

/** TypeORM options for the configured store; `synchronize` stays off: the schema comes from migrations only. */
export function dataSourceOptions(db: DatabaseConfig, entities: EntityClass[]): DataSourceOptions {
  const common = { entities, migrations: MIGRATIONS, synchronize: false, migrationsRun: false, logging: false as const };
  if (db.type === 'postgres') {
    return { type: 'postgres', url: db.url, extra: { max: Number(process.env.DATABASE_POOL_SIZE ?? 10) }, ...common };
  }
  return { type: 'sqlite', driver: quietSqlite3(), database: db.path, enableWAL: db.path !== ':memory:', busyTimeout: 10_000, ...common };
}

/**
 * The sqlite3 module for TypeORM, minus `verbose()`: TypeORM calls it on the module, and it wraps every Database
 * and Statement method to capture a stack trace and util.inspect() all arguments (SQL and parameters) on every
 * call, only to lengthen error stacks. That was ~8% of the server's CPU on a `userName eq` lookup
 * (bench/scim.bench.ts); errors keep their message and code without it.
 */
function quietSqlite3(): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sqlite3 = require('sqlite3');
  return Object.assign(Object.create(sqlite3), {
    verbose() {
      return this;
    },
  });
}

/**
 * Opens the store and brings its schema up to date. On PostgreSQL an advisory lock makes concurrent
 * start-ups of several instances run the migrations once.
 */
export async function openDataSource(db: DatabaseConfig, entities: EntityClass[]): Promise<DataSource> {
  try {
    return await openAndMigrate(db, entities);
  } catch (e) {
    throw asStartupError(db, e);
  }
}

/**
 * Opens the store, brings its schema up to date and closes it again. main runs it before building the application:
 * Nest logs a provider that fails to start with its stack trace before its caller can catch anything, so this is
 * where a store that cannot be opened becomes the one line of a DatabaseStartupError.
 */
export async function checkDatabase(db: DatabaseConfig): Promise<void> {
  // An in-memory database lives only as long as its connection: nothing to check ahead.
  if (db.type === 'sqlite' && db.path === ':memory:') return;
  await (await openDataSource(db, [])).destroy();
}

async function openAndMigrate(db: DatabaseConfig, entities: EntityClass[]): Promise<DataSource> {
  if (db.type === 'sqlite' && db.path !== ':memory:') mkdirSync(dirname(db.path), { recursive: true });
  const ds = new DataSource(dataSourceOptions(db, entities));
  await ds.initialize();
  if (db.type === 'postgres') {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock(727274)');
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock(727274)').catch(() => undefined);
      await runner.release();
    }
  } else {
    // WAL with synchronous=NORMAL never corrupts the file and fsyncs at checkpoints rather than at every commit
    // (~0.5 ms instead of ~2.7 ms per write here); a power cut may lose the last commits. FULL is there for those
    // who prefer the other trade-off.
    if (db.path !== ':memory:') {
      await ds.query(`PRAGMA synchronous = ${db.synchronous ?? 'NORMAL'}`);
      // SQLite opens a file it cannot write read-only without a word, and a schema already up to date needs no
      // write: without this the first failure would be a later write (the bootstrap client, a request).
      const [{ user_version: version }] = await ds.query('PRAGMA user_version');
      await ds.query(`PRAGMA user_version = ${Number(version)}`);
    }
    // SQLite's default page cache is 2 MiB: with 100,000 users nearly every lookup by userName missed it and read
    // its pages from the OS again. 32 MiB holds the indexes and the hot rows (bench:scim userName eq: server CPU
    // ~425 -> ~375 us per request); it is only allocated as pages are read.
    await ds.query(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
    await ds.runMigrations({ transaction: 'each' });
  }
  return ds;
}

/** The store cannot be opened at start-up. The message is one line naming the file (or server and database) and the cause. */
export class DatabaseStartupError extends Error {
  override name = 'DatabaseStartupError';
}

/**
 * Turns the errors an operator can fix (file, permission, disk, connection, credentials, missing database) into a
 * DatabaseStartupError; any other error (a failing migration, a bug) is returned as it is, with its stack.
 */
function asStartupError(db: DatabaseConfig, e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof DatabaseStartupError) return e;
  const err = e as Error & { code?: string; path?: string };
  if (db.type === 'sqlite') {
    const cause = sqliteCause(db.path, err);
    return cause ? new DatabaseStartupError(`Cannot open the SQLite database ${resolve(db.path)}: ${cause}`) : e;
  }
  const cause = postgresCause(err);
  return cause ? new DatabaseStartupError(`Cannot open the PostgreSQL database ${postgresTarget(db.url)}: ${cause}`) : e;
}

function sqliteCause(path: string, e: Error & { code?: string; path?: string }): string | undefined {
  const code = e.code ?? '';
  const raw = `(${e.message.replace(/\s+/g, ' ')})`;
  if (code.startsWith('SQLITE_IOERR')) return `I/O error reading or writing the file ${raw}`;
  switch (code) {
    case 'SQLITE_NOTADB':
      return `the file is not an SQLite database ${raw}`;
    case 'SQLITE_CORRUPT':
      return `the file is corrupt ${raw}`;
    case 'SQLITE_CANTOPEN':
      return `${whySqliteCannotOpen(path)} ${raw}`;
    case 'SQLITE_READONLY':
      return `the database is read-only: the server must be able to write the file, and to create files beside it (-wal, -shm) ${raw}`;
    case 'SQLITE_PERM':
    case 'SQLITE_AUTH':
      return `permission denied ${raw}`;
    case 'SQLITE_FULL':
      return `the disk is full ${raw}`;
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `the file is locked by another process ${raw}`;
    // From creating the file's directory.
    case 'EACCES':
    case 'EPERM':
      return `permission denied creating the directory ${e.path ?? dirname(resolve(path))} (${code})`;
    case 'ENOTDIR':
      return `the directory ${e.path ?? dirname(resolve(path))} cannot be created: part of its path is a file, not a directory (${code})`;
    case 'EEXIST':
      return `the directory ${e.path ?? dirname(resolve(path))} cannot be created: a file of that name exists (${code})`;
    case 'EROFS':
      return `the file system is read-only (${code})`;
    case 'ENOSPC':
      return `the disk is full (${code})`;
    default:
      return undefined;
  }
}

/** SQLite says only "unable to open database file": find out which of the usual reasons it is. */
function whySqliteCannotOpen(path: string): string {
  const dir = dirname(resolve(path));
  try {
    if (statSync(path).isDirectory()) return 'the path is a directory, not a file';
  } catch {
    // The file does not exist: then it is the directory that refused to create it.
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return `the directory ${dir} is not writable by this user (the server creates the file and its -wal and -shm files there)`;
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return 'the file is not readable and writable by this user';
  }
  return 'unable to open the file';
}

/** SQLSTATE classes and socket errors that mean "cannot get a working connection", as opposed to a failing statement. */
function postgresCause(e: Error & { code?: string }): string | undefined {
  const code = e.code ?? '';
  const msg = e.message.replace(/\s+/g, ' ');
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused: is PostgreSQL running and listening there? (${code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name cannot be resolved (${code})`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the server is unreachable (${code})`;
    case 'ECONNRESET':
      return `the server closed the connection (${code})`;
    case 'ENOENT':
      return `no Unix socket at the given host directory (${code})`;
    case '3D000':
      return `${msg} (${code})`;
    case '28P01':
    case '28000':
      return `authentication failed: ${msg} (${code})`;
    case '57P03':
      return `the server is not accepting connections yet: ${msg} (${code})`;
    case '53300':
      return `too many connections: ${msg} (${code})`;
  }
  if (code.startsWith('08')) return `connection failure: ${msg} (${code})`;
  // pg reports a connection dropped during start-up without a code.
  if (/^Connection terminated/.test(msg)) return msg;
  return undefined;
}

/** "db on host:port as user", from the URL: never the password. */
function postgresTarget(url: string): string {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    const socketDir = u.searchParams.get('host');
    const where = socketDir ?? `${u.hostname || 'localhost'}:${u.port || 5432}`;
    return `"${database}" on ${where}${u.username ? ` as ${decodeURIComponent(u.username)}` : ''}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}
