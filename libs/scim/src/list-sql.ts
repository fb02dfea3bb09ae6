import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { SqlRunner } from '@app/persistence/core';
import { CommonAttributeColumns, withCommonColumns } from './common-attributes';
import { Dialect, filterToSql, sortExpression, SqlMapping } from './filter';
import { ListQuery } from './list-query';
import { ScimResourceType } from './schema';

/**
 * Adds a SCIM list query (filter, sort, paging) to a query builder over one resource table, and returns
 * the page of rows with the total count. Filtering happens in SQL only, never in memory.
 */
export async function runListQuery<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  rt: ScimResourceType,
  mapping: SqlMapping,
  dialect: Dialect,
  query: ListQuery,
  idColumn: string,
): Promise<{ rows: T[]; total: number }> {
  if (query.filter) {
    const where = filterToSql(rt, mapping, dialect, query.filter);
    qb.where(where.sql, where.params);
  }
  const counter = qb.clone();
  if (query.count === 0) return { rows: [], total: await counter.getCount() };
  const direction = query.sortOrder === 'descending' ? 'DESC' : 'ASC';
  if (query.sortBy) {
    const expr = sortExpression(rt, mapping, dialect, query.sortBy);
    // Parenthesised so that TypeORM never reads a bare column (`r.id`, `r.created`) as the entity's own property
    // selected under another alias: it would then hydrate entities without that column.
    qb.addSelect(`(${expr})`, 'sort_key').orderBy('sort_key', direction, direction === 'ASC' ? 'NULLS LAST' : 'NULLS FIRST');
    qb.addOrderBy(idColumn, direction);
  } else {
    qb.orderBy(idColumn, 'ASC');
  }
  const rows = await qb.offset(query.startIndex - 1).limit(query.count).getMany();
  // A page that is not full holds the last matches, so it gives the total without a COUNT query (unless it is
  // empty past the first page: then the matches may end anywhere before it). This saves a database round trip
  // on the most common lookup, `userName eq "…"`, whose cost is mostly per-query overhead (bench/scim.bench.ts).
  if (rows.length < query.count && (rows.length > 0 || query.startIndex === 1)) {
    return { rows, total: query.startIndex - 1 + rows.length };
  }
  return { rows, total: await counter.getCount() };
}

// Defined by persistence, the lower layer; re-exported for the importers that know it from here.
export type { SqlRunner };

/**
 * The SELECT list of a table's columns, worked out once per table: the listed ones, and the writers every
 * versioned resource table has (idcsCreatedBy, idcsLastModifiedBy), which every response carries.
 */
const SELECT_LISTS = new WeakMap<RawListTable<string>, string>();
function selectList(spec: RawListTable<string>): string {
  let list = SELECT_LISTS.get(spec);
  if (list === undefined) {
    list = Object.entries({ ...spec.columns, createdBy: 'created_by', lastModifiedBy: 'last_modified_by' })
      .map(([k, c]) => `r.${c} AS "${k}"`)
      .join(', ');
    SELECT_LISTS.set(spec, list);
  }
  return list;
}

/**
 * A versioned resource table read without the ORM: its name and the columns a list returns (property → column).
 * Its rows also carry `createdBy` and `lastModifiedBy`.
 */
export interface RawListTable<K extends string> {
  table: string;
  columns: Record<K, string>;
}

/**
 * Same as runListQuery, in plain SQL: one statement for the page (plus a COUNT only when the page is full),
 * with the driver's own parameter binding. Query building and entity hydration cost more CPU than the indexed
 * lookup itself on the hottest request, `filter=userName eq "…"` (bench/scim.bench.ts).
 */
export async function runRawListQuery<K extends string>(
  db: SqlRunner,
  spec: RawListTable<K>,
  rt: ScimResourceType,
  mapping: SqlMapping,
  dialect: Dialect,
  query: ListQuery,
): Promise<{ rows: (Record<K, unknown> & CommonAttributeColumns)[]; total: number }> {
  // The common attributes kept outside the document are filtered and sorted where they are stored.
  const columns = withCommonColumns(rt.name, mapping, () => dialect);
  const where = query.filter ? filterToSql(rt, columns, dialect, query.filter) : undefined;
  const from = `FROM ${spec.table} r${where ? ` WHERE ${where.sql}` : ''}`;
  const run = async <T>(sql: string): Promise<T[]> => {
    const [text, params] = db.escape(sql, where?.params ?? {});
    return db.query<T>(text, params);
  };
  const count = async () => Number((await run<{ n: number | string }>(`SELECT COUNT(*) AS n ${from}`))[0].n);
  if (query.count === 0) return { rows: [], total: await count() };
  const direction = query.sortOrder === 'descending' ? 'DESC' : 'ASC';
  // The sort key is selected and ordered by its alias: PostgreSQL refuses a constant expression in ORDER BY itself.
  const sortKey = query.sortBy ? `, (${sortExpression(rt, columns, dialect, query.sortBy)}) AS sort_key` : '';
  const order = query.sortBy ? `ORDER BY sort_key ${direction} ${direction === 'ASC' ? 'NULLS LAST' : 'NULLS FIRST'}, r.id ${direction}` : 'ORDER BY r.id ASC';
  const select = selectList(spec) + sortKey;
  const rows = await run<Record<K, unknown> & CommonAttributeColumns>(`SELECT ${select} ${from} ${order} LIMIT ${Math.trunc(query.count)} OFFSET ${Math.trunc(query.startIndex - 1)}`);
  if (rows.length < query.count && (rows.length > 0 || query.startIndex === 1)) return { rows, total: query.startIndex - 1 + rows.length };
  return { rows, total: await count() };
}
