import type { EntityManager, EntityTarget } from 'typeorm';
import { Dialect, SqlMapping } from './filter';
import { ListQuery } from './list-query';
import { runListQuery } from './list-sql';
import { VersionedRow, VersionedTable } from './resource-pipeline';
import { ScimResourceType } from './schema';

/** Columns every JSON-document resource table has. */
export type DocumentRow = VersionedRow;

/**
 * Storage of a SCIM resource kept as a JSON document plus a few indexed columns (IdentityProviders,
 * MappedAttributes): the versioned row statements, and lists through the query builder. Transactions belong to
 * the caller.
 */
export class DocumentRepository<R extends DocumentRow> extends VersionedTable<R> {
  constructor(
    entity: EntityTarget<R>,
    private readonly rt: ScimResourceType,
    private readonly mapping: SqlMapping,
    private readonly dialectOf: () => Dialect,
  ) {
    super(entity, dialectOf);
  }

  list(m: EntityManager, query: ListQuery): Promise<{ rows: R[]; total: number }> {
    return runListQuery(m.createQueryBuilder(this.entity, 'r'), this.rt, this.mapping, this.dialectOf(), query, 'r.id');
  }
}
