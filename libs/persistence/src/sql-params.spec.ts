import { SqlParams } from './sql-params';

describe('SqlParams', () => {
  it('numbers the parameters for PostgreSQL, once per name', () => {
    const p = new SqlParams('postgres');
    expect(p.bind('SELECT 1 FROM t WHERE a = :f0 AND (b = :f1 OR c = :f0)', { f0: 'x', f1: 7 })).toEqual(['SELECT 1 FROM t WHERE a = $1 AND (b = $2 OR c = $1)', ['x', 7]]);
  });

  it('numbers them for SQLite too, binding numbers and booleans (as 1 / 0) rather than writing them in', () => {
    const p = new SqlParams('sqlite');
    expect(p.bind('SELECT 1 FROM t WHERE a = :f0 AND b = :f1 AND c = :f2 AND d = :f0', { f0: 2.5, f1: true, f2: false })).toEqual([
      'SELECT 1 FROM t WHERE a = ?1 AND b = ?2 AND c = ?3 AND d = ?1',
      [2.5, 1, 0],
    ]);
  });

  it('leaves a colon that is not a parameter alone, e.g. in a string literal', () => {
    const p = new SqlParams('postgres');
    expect(p.bind("SELECT 1 FROM t WHERE s = 'urn:ietf:params' AND a = :f0", { f0: 'v' })).toEqual(["SELECT 1 FROM t WHERE s = 'urn:ietf:params' AND a = $1", ['v']]);
  });

  it('reuses the rewrite of a text with new values, and redoes it when the names differ', () => {
    const p = new SqlParams('sqlite');
    const sql = 'SELECT 1 FROM t WHERE a = :f0 AND b = :x';
    expect(p.bind(sql, { f0: 'one', x: 1 })).toEqual(['SELECT 1 FROM t WHERE a = ?1 AND b = ?2', ['one', 1]]);
    expect(p.bind(sql, { f0: 'two', x: 2 })).toEqual(['SELECT 1 FROM t WHERE a = ?1 AND b = ?2', ['two', 2]]);
    expect(p.bind(sql, { x: 3 })).toEqual(['SELECT 1 FROM t WHERE a = :f0 AND b = ?1', [3]]);
  });

  it('stays bounded', () => {
    const p = new SqlParams('postgres', 3);
    for (let i = 0; i < 10; i++) expect(p.bind(`SELECT ${i} WHERE a = :f0`, { f0: i })).toEqual([`SELECT ${i} WHERE a = $1`, [i]]);
    expect((p as unknown as { rewrites: Map<string, unknown> }).rewrites.size).toBeLessThanOrEqual(3);
  });
});
