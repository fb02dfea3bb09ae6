/** The part of a node-sqlite3 `Statement` used here. */
interface Statement {
  all(params: unknown[], callback: (err: Error | null, rows: unknown[]) => void): void;
  finalize(callback?: (err: Error | null) => void): void;
}

/** The part of a node-sqlite3 `Database` used here. */
export interface SqliteHandle {
  prepare(sql: string, callback: (err: Error | null) => void): Statement;
}

/**
 * Prepared statements of the reads, kept per SQL text (least recently used out). node-sqlite3's `Database.all`
 * prepares, runs and finalizes a new statement per call: three trips through the thread pool, each one a
 * callback on the event loop, plus SQLite's parsing and planning every time. A kept statement runs in one
 * trip. Calls on one statement queue inside the driver, so concurrent readers may share it.
 *
 * Only for reads outside transactions: SQLite ends a statement's implicit read transaction when it has
 * stepped to the end, which `all` always does, so a kept statement holds no lock between uses.
 */
export class SqliteStatements {
  private readonly statements = new Map<string, Promise<Statement>>();

  constructor(
    private readonly db: SqliteHandle,
    private readonly capacity = 200,
  ) {}

  async all<T>(sql: string, params: unknown[]): Promise<T[]> {
    const statement = await this.statement(sql);
    return new Promise<T[]>((resolve, reject) => statement.all(params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  }

  /** Finalizes every kept statement: SQLite refuses to close a connection that still has some. */
  async clear(): Promise<void> {
    const kept = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(kept.map((p) => p.then(finalize, () => undefined)));
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
