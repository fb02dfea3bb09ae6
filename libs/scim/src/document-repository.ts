import type { EntityManager, EntityTarget } from 'typeorm';
import { withCommonColumns } from './common-attributes';
import { Dialect, SqlExpr, SqlMapping } from './filter';
import { ListQuery } from './list-query';
import { runListQuery } from './list-sql';
import { VERSIONED_COLUMNS, VersionedRow, VersionedTable } from './resource-pipeline';
import { ScimResourceType } from './schema';

/** Columns every JSON-document resource table has. */
export type DocumentRow = VersionedRow;

/**
 * Storage of a SCIM resource kept as a JSON document plus a few indexed columns (IdentityProviders,
 * MappedAttributes): the versioned row statements, and lists through the query builder. Transactions belong to
 * the caller.
 */
export class DocumentRepository<R extends DocumentRow> extends VersionedTable<R> {
  private readonly mapping: SqlMapping;

  /** `columns`: the SCIM paths stored in columns of their own (besides id and meta), for filters and sorting. */
  constructor(
    entity: EntityTarget<R>,
    private readonly rt: ScimResourceType,
    columns: Record<string, SqlExpr>,
    private readonly dialectOf: () => Dialect,
  ) {
    super(entity, dialectOf);
    const all: Record<string, SqlExpr> = { ...VERSIONED_COLUMNS, ...columns };
    this.mapping = withCommonColumns(rt.name, { documentColumn: 'r.data', column: (p) => all[p.canonical] }, dialectOf);
  }

  list(m: EntityManager, query: ListQuery): Promise<{ rows: R[]; total: number }> {
    return runListQuery(m.createQueryBuilder(this.entity, 'r'), this.rt, this.mapping, this.dialectOf(), query, 'r.id');
  }
}
