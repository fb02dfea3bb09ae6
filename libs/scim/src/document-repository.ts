import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { Dialect, SqlMapping } from './filter';
import { ListQuery } from './list-query';
import { runListQuery } from './list-sql';
import { ScimResourceType } from './schema';

/** Columns every JSON-document resource table has. */
export interface DocumentRow extends ObjectLiteral {
  id: string;
  /** The writable SCIM representation, as JSON. */
  data: string;
  version: number;
  created: string;
  lastModified: string;
}

/**
 * Storage of a SCIM resource kept as a JSON document plus a few indexed columns (IdentityProviders,
 * MappedAttributes, audit events). Transactions belong to the caller.
 */
export class DocumentRepository<R extends DocumentRow> {
  constructor(
    private readonly entity: EntityTarget<R>,
    private readonly rt: ScimResourceType,
    private readonly mapping: SqlMapping,
    private readonly dialect: () => Dialect,
  ) {}

  findById(m: EntityManager, id: string): Promise<R | null> {
    return m.findOneBy(this.entity, { id } as never);
  }

  list(m: EntityManager, query: ListQuery): Promise<{ rows: R[]; total: number }> {
    return runListQuery(m.createQueryBuilder(this.entity, 'r'), this.rt, this.mapping, this.dialect(), query, 'r.id');
  }

  async insert(m: EntityManager, row: R): Promise<void> {
    await m.insert(this.entity, row as never);
  }

  /** Writes a new version only if nobody else wrote since `expectedVersion` was read. */
  async updateIfVersion(m: EntityManager, row: R, expectedVersion: number): Promise<boolean> {
    const { id, ...changes } = row;
    const r = await m.createQueryBuilder().update(this.entity).set(changes as never).where('id = :id AND version = :v', { id, v: expectedVersion }).execute();
    return !!r.affected;
  }

  async delete(m: EntityManager, id: string): Promise<void> {
    await m.delete(this.entity, { id } as never);
  }
}
