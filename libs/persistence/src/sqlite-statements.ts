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
 * for the hottest reads.
 *
 * A statement runs one call at a time: node-sqlite3 queues the next call on it until the previous one's result
 * has come back to the event loop, which under load is busy with other requests. With one statement per text,
 * concurrent `userName eq` lookups therefore ran one by one with the event loop in between, and it sat ~19% idle
 * (bench/scim.bench.ts). So a text gets up to `perText` statements, and a call takes one that is free, or else
 * the least busy. The default, 4, is the size of libuv's thread pool, where the calls run: more could not run at
 * once anyway. At most `capacity` texts are kept, so at most `capacity * perText` statements (a few KiB each).
 *
 * `all` steps a statement to its end and `run` executes it, after which SQLite holds no lock for it, so a kept
 * statement never pins a read snapshot or blocks a commit between uses.
 */
export class SqliteStatements {
  private readonly statements = new Map<string, Slot[]>();
  private closed = false;
  private readonly original: Pick<SqliteHandle, 'all' | 'run' | 'close'>;

  constructor(
    private readonly db: SqliteHandle,
    private readonly capacity = 200,
    private readonly perText = 4,
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
    const kept = [...this.statements.values()].flat();
    this.statements.clear();
    await Promise.all(kept.map((slot) => slot.statement.then(finalize, () => undefined)));
  }

  private call(method: 'all' | 'run', sql: string, params: unknown, callback: RowsCallback): void {
    const values = params === undefined || params === null ? [] : Array.isArray(params) ? params : [params];
    if (this.closed) {
      this.original[method](sql, values, callback);
      return;
    }
    const slot = this.slot(sql);
    slot.busy++;
    slot.statement.then(
      (s) =>
        s[method](values, function (this: unknown, err, rows) {
          slot.busy--;
          callback.call(this, err, rows);
        }),
      (err: Error) => {
        slot.busy--;
        callback.call(undefined, err);
      },
    );
  }

  /** A statement for `sql`: a free one, else a new one while there are fewer than `perText`, else the least busy. */
  private slot(sql: string): Slot {
    let slots = this.statements.get(sql);
    if (slots) {
      // Map order is insertion order: move it to the end, the most recently used.
      this.statements.delete(sql);
      this.statements.set(sql, slots);
      let least = slots[0];
      for (const slot of slots) {
        if (slot.busy === 0) return slot;
        if (slot.busy < least.busy) least = slot;
      }
      if (slots.length >= this.perText) return least;
    } else {
      this.statements.set(sql, (slots = []));
      if (this.statements.size > this.capacity) {
        const [oldest, evicted] = this.statements.entries().next().value as [string, Slot[]];
        this.statements.delete(oldest);
        // Calls already queued on them still run: the driver finalizes after them.
        for (const slot of evicted) void slot.statement.then(finalize, () => undefined);
      }
    }
    const statement = new Promise<Statement>((resolve, reject) => {
      const s = this.db.prepare(sql, (err) => (err ? reject(err) : resolve(s)));
    });
    const slot: Slot = { statement, busy: 0 };
    // A statement that does not prepare (a bad query) is not kept: its error goes to the calls made on it only.
    statement.catch(() => {
      const kept = this.statements.get(sql);
      const i = kept ? kept.indexOf(slot) : -1;
      if (!kept || i < 0) return;
      kept.splice(i, 1);
      if (kept.length === 0) this.statements.delete(sql);
    });
    slots.push(slot);
    return slot;
  }
}

/** One kept statement and the number of calls on it that have not called back yet. */
interface Slot {
  statement: Promise<Statement>;
  busy: number;
}

function finalize(s: Statement): Promise<void> {
  return new Promise((resolve) => s.finalize(() => resolve()));
}
