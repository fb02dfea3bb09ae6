import { Pool } from 'pg';
import { PgStatements } from './pg-statements';

/** Runs against the local PostgreSQL server (scripts/test-all.sh starts it). */
const URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe('PgStatements', () => {
  let pool: Pool;
  const table = `pg_statements_spec_${process.pid}`;
  beforeAll(async () => {
    // One connection, so that every call meets the statements prepared by the previous ones.
    pool = new Pool({ connectionString: URL, max: 1 });
    await pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    await pool.query(`INSERT INTO ${table} VALUES (1, 'a'), (2, 'b')`);
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  });

  const prepared = async () => (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((r) => r.name);

  it('prepares the first texts under a name, once per connection, and runs later texts unnamed', async () => {
    const statements = new PgStatements(pool, 2);
    const byId = `SELECT name FROM ${table} WHERE id = $1`;
    const byName = `SELECT id FROM ${table} WHERE name = $1`;
    const count = `SELECT COUNT(*)::int AS n FROM ${table} WHERE id > $1`;
    expect(await statements.all(byId, [1])).toEqual([{ name: 'a' }]);
    expect(await statements.all(byId, [2])).toEqual([{ name: 'b' }]);
    expect(await statements.all(byName, ['b'])).toEqual([{ id: 2 }]);
    expect(await statements.all(count, [0])).toEqual([{ n: 2 }]);
    expect(await statements.all(count, [1])).toEqual([{ n: 1 }]);
    const names = await prepared();
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^read_[0-9a-f]{32}$/);
    // Another instance (another Database on the same pool) gives a text the same name: no clash.
    expect(await new PgStatements(pool, 2).all(byId, [1])).toEqual([{ name: 'a' }]);
    expect(await prepared()).toEqual(names);
  });

  it('runs a statement unnamed when a schema change altered its result under it', async () => {
    const statements = new PgStatements(pool);
    const sql = `SELECT * FROM ${table} WHERE id = $1`;
    expect(await statements.all(sql, [1])).toEqual([{ id: 1, name: 'a' }]);
    await pool.query(`ALTER TABLE ${table} ADD COLUMN extra text DEFAULT 'x'`);
    const query = jest.spyOn(pool, 'query');
    expect(await statements.all(sql, [1])).toEqual([{ id: 1, name: 'a', extra: 'x' }]);
    expect(await statements.all(sql, [2])).toEqual([{ id: 2, name: 'b', extra: 'x' }]);
    // The failed named call, then unnamed calls only.
    expect(query.mock.calls.map(([config]) => (config as unknown as { name?: string }).name)).toEqual([expect.stringMatching(/^read_/), undefined, undefined]);
    query.mockRestore();
  });

  it('runs a statement unnamed once it was deallocated behind the driver', async () => {
    const statements = new PgStatements(pool);
    const sql = `SELECT name FROM ${table} WHERE id = $1 AND $1 > 0`;
    expect(await statements.all(sql, [1])).toEqual([{ name: 'a' }]);
    await pool.query('DEALLOCATE ALL');
    expect(await statements.all(sql, [2])).toEqual([{ name: 'b' }]);
  });

  it('passes other errors on', async () => {
    const statements = new PgStatements(pool);
    await expect(statements.all(`SELECT nope FROM ${table}`, [])).rejects.toThrow(/nope/);
  });
});
