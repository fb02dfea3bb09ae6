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
    await statements.clear();
  });

  it('sees rows written after the statement was prepared', async () => {
    const statements = new SqliteStatements(db);
    const sql = 'SELECT COUNT(*) AS n FROM t';
    expect(await statements.all(sql, [])).toEqual([{ n: 3 }]);
    await exec(db, "INSERT INTO t (name) VALUES ('d')");
    expect(await statements.all(sql, [])).toEqual([{ n: 4 }]);
    await statements.clear();
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
    await statements.clear();
    // Every statement, evicted or kept, is finalized: the connection closes.
    await expect(close(db)).resolves.toBeUndefined();
  });

  it('does not keep a statement that fails to prepare', async () => {
    const statements = new SqliteStatements(db);
    const prepared = jest.spyOn(db, 'prepare');
    await expect(statements.all('SELECT nope FROM t', [])).rejects.toThrow(/no such column/);
    await expect(statements.all('SELECT nope FROM t', [])).rejects.toThrow(/no such column/);
    expect(prepared).toHaveBeenCalledTimes(2);
    await statements.clear();
  });

  it('finalizes its statements on clear, so the connection can close', async () => {
    const statements = new SqliteStatements(db);
    await statements.all('SELECT name FROM t', []);
    await statements.clear();
    await expect(close(db)).resolves.toBeUndefined();
  });
});
