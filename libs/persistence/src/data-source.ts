import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
    if (db.path !== ':memory:') await ds.query(`PRAGMA synchronous = ${db.synchronous ?? 'NORMAL'}`);
    // SQLite's default page cache is 2 MiB: with 100,000 users nearly every lookup by userName missed it and read
    // its pages from the OS again. 32 MiB holds the indexes and the hot rows (bench:scim userName eq: server CPU
    // ~425 -> ~375 us per request); it is only allocated as pages are read.
    await ds.query(`PRAGMA cache_size = -${SQLITE_CACHE_KIB}`);
    await ds.runMigrations({ transaction: 'each' });
  }
  return ds;
}
