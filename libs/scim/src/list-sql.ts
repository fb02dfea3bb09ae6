import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
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
