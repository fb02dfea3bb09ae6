type RowsCallback = (this: unknown, err: Error | null, rows?: unknown[]) => void;

/** The part of a node-sqlite3 `Statement` used here. */
interface Statement {
  all(params: unknown[], callback: RowsCallback): void;
  run(params: unknown[], callback: RowsCallback): void;
  finalize(callback?: (err: Error | null) => void): void;
}

/** The part of a node-sqlite3 `Database` used here. */
export interface SqliteHandle {
  prepare(sql: string, callback: (err: Error | null) => void): Statement;
  all(sql: string, params: unknown, callback: RowsCallback): unknown;
  run(sql: string, params: unknown, callback: RowsCallback): unknown;
  close(callback?: (err: Error | null) => void): unknown;
}

/**
 * Prepared statements kept per SQL text (least recently used out), for every query of the one connection.
 * node-sqlite3's `Database.all` / `run` prepare, run and finalize a new statement per call: three trips through
 * the thread pool, each one a callback on the event loop, plus SQLite's parsing and planning every time. A
 * kept statement runs in one trip. That matters most inside a write transaction, which holds the connection
 * while its statements go back and forth (a SCIM create is BEGIN, two INSERTs, COMMIT: 12 trips, now 4), and
 * for the hottest reads. Calls on one statement queue inside the driver, so concurrent readers may share it.
 *
 * `all` steps a statement to its end and `run` executes it, after which SQLite holds no lock for it, so a kept
 * statement never pins a read snapshot or blocks a commit between uses.
 */
export class SqliteStatements {
  private readonly statements = new Map<string, Promise<Statement>>();
  private closed = false;
  private readonly original: Pick<SqliteHandle, 'all' | 'run' | 'close'>;

  constructor(
    private readonly db: SqliteHandle,
    private readonly capacity = 200,
  ) {
    this.original = { all: db.all.bind(db), run: db.run.bind(db), close: db.close.bind(db) };
  }

  /**
   * Routes the connection's own `all` and `run` (what TypeORM's SQLite driver calls for every query) through the
   * kept statements. The callback gets the statement as `this`, as node-sqlite3 does (TypeORM reads `lastID`
   * and `changes` from it). Its `close` finalizes them first, whoever closes it.
   */
  install(): this {
    this.db.all = (sql, params, callback) => this.call('all', sql, params, callback);
    this.db.run = (sql, params, callback) => this.call('run', sql, params, callback);
    this.db.close = (callback) => void this.close().then(() => this.original.close(callback));
    return this;
  }

  all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return new Promise<T[]>((resolve, reject) => this.call('all', sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  /** Finalizes every kept statement, as SQLite refuses to close a connection that still has some; later calls run one-off statements. */
  async close(): Promise<void> {
    this.closed = true;
    const kept = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(kept.map((p) => p.then(finalize, () => undefined)));
  }

  private call(method: 'all' | 'run', sql: string, params: unknown, callback: RowsCallback): void {
    const values = params === undefined || params === null ? [] : Array.isArray(params) ? params : [params];
    if (this.closed) {
      this.original[method](sql, values, callback);
      return;
    }
    this.statement(sql).then(
      (s) => s[method](values, callback),
      (err: Error) => callback.call(undefined, err),
    );
  }

  private statement(sql: string): Promise<Statement> {
    let kept = this.statements.get(sql);
    if (kept) {
      // Map order is insertion order: move it to the end, the most recently used.
      this.statements.delete(sql);
      this.statements.set(sql, kept);
      return kept;
    }
    kept = new Promise<Statement>((resolve, reject) => {
      const s = this.db.prepare(sql, (err) => (err ? reject(err) : resolve(s)));
    });
    // A statement that does not prepare (a bad query) is not kept: its error goes to this caller only.
    kept.catch(() => this.statements.get(sql) === kept && this.statements.delete(sql));
    this.statements.set(sql, kept);
    if (this.statements.size > this.capacity) {
      const [oldest, evicted] = this.statements.entries().next().value as [string, Promise<Statement>];
      this.statements.delete(oldest);
      // Calls already queued on it still run: the driver finalizes after them.
      void evicted.then(finalize, () => undefined);
    }
    return kept;
  }
}

function finalize(s: Statement): Promise<void> {
  return new Promise((resolve) => s.finalize(() => resolve()));
}
