import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { Dialect, SqlRunner } from './sql-runner';
import { ReadWriteLock } from './rw-lock';
import { PgPool, PgStatements } from './pg-statements';
import { SqlParams } from './sql-params';
import { SqliteHandle, SqliteStatements } from './sqlite-statements';

/**
 * Access to the store. TypeORM's SQLite driver shares one connection between all callers, so two
 * overlapping transactions would nest into each other, and a read issued during a transaction would see its
 * uncommitted rows. On SQLite a transaction therefore holds an in-process lock alone (SQLite allows one
 * writer at a time anyway), while reads share it with each other: their statements then queue inside the
 * driver back to back instead of each waiting for the previous result to reach JavaScript. PostgreSQL uses
 * its pool.
 */
@Injectable()
export class Database implements OnApplicationShutdown {
  readonly dialect: Dialect;
  private readonly lock = new ReadWriteLock();
  private sqliteStatements?: SqliteStatements;
  private pgStatements?: PgStatements;
  private readonly sqlParams: SqlParams;
  private readonly logger = new Logger(Database.name);
  /** Transactions and reads under way: shutdown waits for them before it closes the connections. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(readonly dataSource: DataSource) {
    this.dialect = dataSource.options.type === 'postgres' ? 'postgres' : 'sqlite';
    this.sqlParams = new SqlParams(this.dialect);
    if (this.dialect === 'sqlite') {
      const connection = (dataSource.driver as unknown as { databaseConnection: SqliteHandle }).databaseConnection;
      this.sqliteStatements = new SqliteStatements(connection).install();
    }
  }

  /** Runs `fn` in one transaction: every multi-row change goes through here. */
  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'sqlite') return this.track(this.lock.write(() => this.dataSource.transaction(fn)));
    return this.track(this.dataSource.transaction(fn));
  }

  /**
   * Runs one write statement outside a transaction (each statement of `fn` commits on its own): for a write that
   * is a single atomic statement, without the round trips of BEGIN and COMMIT. On SQLite it holds the write lock,
   * so that the statement never runs inside another caller's transaction on the shared connection.
   */
  autocommit<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'sqlite') return this.track(this.lock.write(() => fn(this.dataSource.manager)));
    return this.track(fn(this.dataSource.manager));
  }

  /** Runs read-only work; on SQLite it waits for a running transaction so it never sees half of one. */
  read<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.dialect === 'sqlite') return this.track(this.lock.read(() => fn(this.dataSource.manager)));
    return this.track(fn(this.dataSource.manager));
  }

  /**
   * Connections open, idle and callers waiting for one: PostgreSQL's pool, or on SQLite its one connection and the
   * queue of the lock in front of it.
   */
  poolUsage(): { total: number; idle: number; waiting: number } {
    if (this.dialect === 'sqlite') {
      const { held, waiting } = this.lock.usage;
      return { total: 1, idle: held ? 0 : 1, waiting };
    }
    const pool = (this.dataSource.driver as unknown as { master?: PgPool & { totalCount: number; idleCount: number; waitingCount: number } }).master;
    return { total: pool?.totalCount ?? 0, idle: pool?.idleCount ?? 0, waiting: pool?.waitingCount ?? 0 };
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const done = () => this.inFlight.delete(work);
    work.then(done, done);
    return work;
  }

  /**
   * Plain SQL through `m`, for the hottest reads (SCIM lists): the driver's own parameter binding, no query
   * builder, no entity hydration. Reads outside a transaction run on prepared statements that are kept (SQLite,
   * where every query does) or named (PostgreSQL).
   */
  sql(m: EntityManager): SqlRunner {
    const driver = this.dataSource.driver as typeof this.dataSource.driver & { master: PgPool };
    const statements = m.queryRunner ? undefined : this.dialect === 'sqlite' ? this.sqliteStatements : (this.pgStatements ??= new PgStatements(driver.master));
    return {
      escape: (sql, params) => this.sqlParams.bind(sql, params),
      query: <T>(sql: string, params: unknown[]) => (statements ? statements.all<T>(sql, params) : (m.query(sql, params) as Promise<T[]>)),
    };
  }

  /**
   * Runs after Nest has closed the HTTP server and its requests have ended; work started outside a request (a
   * sweep, an audit write after the response) may still run, and closing the connections under it would fail it
   * half-way. It is waited for, whatever its result.
   */
  async onApplicationShutdown(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy().catch((e) => this.logger.warn(`Closing the database failed: ${e}`));
    }
  }
}

/** True when `e` is a unique-constraint violation on either dialect. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string }; message?: string };
  const code = err?.driverError?.code ?? err?.code;
  return code === '23505' || (code === 'SQLITE_CONSTRAINT' && /UNIQUE/i.test(err.message ?? '')) || /UNIQUE constraint failed/i.test(err?.message ?? '');
}

/**
 * True when `e` is a foreign-key violation on either dialect: a row refers to one that a concurrent
 * transaction deleted (e.g. a membership added for a user being deleted).
 */
export function isForeignKeyViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string }; message?: string };
  const code = err?.driverError?.code ?? err?.code;
  return code === '23503' || /FOREIGN KEY constraint failed/i.test(err?.message ?? '');
}

/**
 * True when the database aborted a transaction because it conflicted with a concurrent one (PostgreSQL deadlock
 * or serialization failure, SQLite busy): running it again is the remedy.
 */
export function isTransactionConflict(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string }; message?: string };
  const code = err?.driverError?.code ?? err?.code;
  return code === '40P01' || code === '40001' || /SQLITE_BUSY/.test(err?.message ?? '');
}
