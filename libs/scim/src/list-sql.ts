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
  const total = await qb.clone().getCount();
  if (query.count === 0 || total < query.startIndex) return { rows: [], total };
  const direction = query.sortOrder === 'descending' ? 'DESC' : 'ASC';
  if (query.sortBy) {
    const expr = sortExpression(rt, mapping, dialect, query.sortBy);
    qb.addSelect(expr, 'sort_key').orderBy('sort_key', direction, direction === 'ASC' ? 'NULLS LAST' : 'NULLS FIRST');
    qb.addOrderBy(idColumn, direction);
  } else {
    qb.orderBy(idColumn, 'ASC');
  }
  const rows = await qb.offset(query.startIndex - 1).limit(query.count).getMany();
  return { rows, total };
}
