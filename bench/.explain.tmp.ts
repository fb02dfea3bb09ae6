import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions, Database } from '@app/persistence';
import { MIGRATIONS } from '../libs/persistence/src/migrations';
import { parseListQuery } from '@app/scim';
import { UsersRepository, USER_ENTITIES } from '@app/users';
import { AUTH_ENTITIES } from '@app/auth';
import { GROUP_ENTITIES } from '@app/groups';

async function main() {
  const dialect = process.argv[2] as 'sqlite' | 'postgres';
  const url = process.argv[3];
  const cfg = dialect === 'sqlite' ? { type: 'sqlite' as const, path: url } : { type: 'postgres' as const, url };
  const queries: [string, unknown[]][] = [];
  const ds = new DataSource({ ...dataSourceOptions(cfg, [...AUTH_ENTITIES, ...USER_ENTITIES, ...GROUP_ENTITIES]), logging: ['query'], logger: { logQuery: (q: string, p?: unknown[]) => void queries.push([q, p ?? []]), logQueryError() {}, logQuerySlow() {}, logSchemaBuild() {}, logMigration() {}, log() {} } as any });
  await ds.initialize();
  const db = new Database(ds);
  const repo = new UsersRepository(db);
  const n = (await ds.query('SELECT count(*) AS c FROM users'))[0].c;
  if (Number(n) === 0) {
    await ds.runMigrations();
  }
  const cases: Record<string, Record<string, string>> = {
    eq: { filter: 'userName eq "ada.marholan.5@example.com"' },
    sw: { filter: 'name.familyName sw "Marhol"', sortBy: 'name.familyName', count: '100' },
  };
  for (const [name, q] of Object.entries(cases)) {
    queries.length = 0;
    let t = process.hrtime.bigint();
    const r = await repo.list(ds.manager, parseListQuery(q));
    console.log(`\n### ${name}: total=${r.total} rows=${r.rows.length} ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2)} ms`);
    const captured = [...queries];
    for (const [sql, params] of captured) {
      console.log('SQL:', sql, JSON.stringify(params));
      t = process.hrtime.bigint();
      await ds.query(sql, params);
      console.log(`  ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(2)} ms`);
      const plan = await ds.query((dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ANALYZE ') + sql, params);
      for (const row of plan) console.log('   ', dialect === 'sqlite' ? `${row.id}/${row.parent} ${row.detail}` : row['QUERY PLAN']);
    }
  }
  await ds.destroy();
}
main().catch((e) => { console.error(e); process.exit(1); });
