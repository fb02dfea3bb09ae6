import { Database } from 'sqlite3';
import { SqliteStatements } from './sqlite-statements';

function open(): Promise<Database> {
  return new Promise((resolve, reject) => {
    const db = new Database(':memory:', (err) => (err ? reject(err) : resolve(db)));
  });
}

function exec(db: Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

function close(db: Database): Promise<void> {
  return new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
}

describe('SqliteStatements', () => {
  let db: Database;
  beforeEach(async () => {
    db = await open();
    await exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t (name) VALUES ('a'), ('b'), ('c');");
  });
  afterEach(() => close(db).catch(() => undefined));

  it('runs a statement again with other parameters, also from concurrent callers', async () => {
    const statements = new SqliteStatements(db);
    const sql = 'SELECT name FROM t WHERE name = ?';
    const results = await Promise.all(['a', 'b', 'c', 'x', 'a'].map((v) => statements.all<{ name: string }>(sql, [v])));
    expect(results).toEqual([[{ name: 'a' }], [{ name: 'b' }], [{ name: 'c' }], [], [{ name: 'a' }]]);
    const prepared = jest.spyOn(db, 'prepare');
    await statements.all(sql, ['b']);
    expect(prepared).not.toHaveBeenCalled();
    await statements.close();
  });

  it('runs concurrent calls of one text on up to `perText` statements, and reuses a free one after', async () => {
    const statements = new SqliteStatements(db, 200, 3);
    const prepared = jest.spyOn(db, 'prepare');
    const sql = 'SELECT name FROM t WHERE name = ?';
    const names = ['a', 'b', 'c', 'a', 'b', 'c', 'x'];
    const results = await Promise.all(names.map((v) => statements.all<{ name: string }>(sql, [v])));
    expect(results).toEqual(names.map((v) => (v === 'x' ? [] : [{ name: v }])));
    // Seven calls in flight at once: a new statement while all were busy, up to three; then they queue on those.
    expect(prepared).toHaveBeenCalledTimes(3);
    await statements.all(sql, ['a']);
    await Promise.all([statements.all(sql, ['a']), statements.all(sql, ['b'])]);
    expect(prepared).toHaveBeenCalledTimes(3);
    await statements.close();
    await expect(close(db)).resolves.toBeUndefined();
  });

  it('sees rows written after the statement was prepared', async () => {
    const statements = new SqliteStatements(db);
    const sql = 'SELECT COUNT(*) AS n FROM t';
    expect(await statements.all(sql, [])).toEqual([{ n: 3 }]);
    await exec(db, "INSERT INTO t (name) VALUES ('d')");
    expect(await statements.all(sql, [])).toEqual([{ n: 4 }]);
    await statements.close();
  });

  it('keeps at most `capacity` statements, dropping the least recently used', async () => {
    const statements = new SqliteStatements(db, 2);
    const prepared = jest.spyOn(db, 'prepare');
    const q = (k: number) => statements.all(`SELECT ${k} AS k`, []);
    await q(1);
    await q(2);
    await q(1); // 1 is now more recent than 2
    await q(3); // evicts 2
    expect(prepared).toHaveBeenCalledTimes(3);
    await q(1);
    expect(prepared).toHaveBeenCalledTimes(3);
    await q(2);
    expect(prepared).toHaveBeenCalledTimes(4);
    await statements.close();
    // Every statement, evicted or kept, is finalized: the connection closes.
    await expect(close(db)).resolves.toBeUndefined();
  });

  it('does not keep a statement that fails to prepare', async () => {
    const statements = new SqliteStatements(db);
    const prepared = jest.spyOn(db, 'prepare');
    await expect(statements.all('SELECT nope FROM t', [])).rejects.toThrow(/no such column/);
    await expect(statements.all('SELECT nope FROM t', [])).rejects.toThrow(/no such column/);
    expect(prepared).toHaveBeenCalledTimes(2);
    await statements.close();
  });

  it('finalizes its statements on close, so the connection can close, and runs one-off statements after', async () => {
    const statements = new SqliteStatements(db);
    await statements.all('SELECT name FROM t', []);
    await statements.close();
    // node-sqlite3's own Database.all, which finalizes its statement: the connection still closes.
    expect(await statements.all('SELECT COUNT(*) AS n FROM t', [])).toEqual([{ n: 3 }]);
    await expect(close(db)).resolves.toBeUndefined();
  });

  describe('installed on the connection (what TypeORM calls)', () => {
    const call = (method: 'all' | 'run', sql: string, params?: unknown[]) =>
      new Promise<{ rows?: unknown[]; lastID?: number; changes?: number }>((resolve, reject) =>
        db[method](sql, params, function (this: { lastID?: number; changes?: number }, err: Error | null, rows?: unknown[]) {
          if (err) reject(err);
          else resolve({ rows, lastID: this.lastID, changes: this.changes });
        }),
      );

    it('runs all and run on kept statements, with lastID and changes on `this` as node-sqlite3 gives them', async () => {
      new SqliteStatements(db).install();
      const prepared = jest.spyOn(db, 'prepare');
      for (const name of ['d', 'e']) {
        expect((await call('run', 'INSERT INTO t (name) VALUES (?)', [name])).lastID).toBe(name === 'd' ? 4 : 5);
      }
      expect((await call('run', 'UPDATE t SET name = upper(name) WHERE id > ?', [3])).changes).toBe(2);
      expect((await call('all', 'SELECT name FROM t WHERE id > ? ORDER BY id', [3])).rows).toEqual([{ name: 'D' }, { name: 'E' }]);
      expect((await call('all', 'SELECT COUNT(*) AS n FROM t')).rows).toEqual([{ n: 5 }]);
      expect(prepared).toHaveBeenCalledTimes(4); // INSERT once for both rows
    });

    it('keeps transactions working, and a failed statement fails its caller only', async () => {
      new SqliteStatements(db).install();
      await call('all', 'BEGIN TRANSACTION');
      await call('run', 'INSERT INTO t (name) VALUES (?)', ['f']);
      await expect(call('run', 'INSERT INTO t (id, name) VALUES (?, ?)', [1, 'dup'])).rejects.toThrow(/UNIQUE constraint failed/);
      await expect(call('all', 'SELECT nope FROM t')).rejects.toThrow(/no such column/);
      await call('all', 'ROLLBACK');
      await call('all', 'BEGIN TRANSACTION');
      await call('run', 'INSERT INTO t (name) VALUES (?)', ['g']);
      await call('all', 'COMMIT');
      expect((await call('all', 'SELECT name FROM t ORDER BY id')).rows).toEqual([{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'g' }]);
    });

    it('finalizes the kept statements when the connection is closed directly (as TypeORM destroy() does)', async () => {
      new SqliteStatements(db).install();
      await call('all', 'SELECT name FROM t');
      await call('run', 'DELETE FROM t WHERE id = ?', [1]);
      await expect(close(db)).resolves.toBeUndefined();
    });
  });
});
