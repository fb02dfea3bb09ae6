import { Column } from 'typeorm';
import type { EntityManager } from 'typeorm';
import type { Dialect } from '@app/persistence/core';
import type { SqlExpr, SqlMapping } from './filter';
import type { ResolvedPath } from './paths';
import type { PublicUrl } from './public-url';

/*
 * The IDCS common attributes the server keeps outside a resource's document (schema.ts, IDCS_COMMON_ATTRIBUTES):
 * `ocid` and `domainOcid`, derived; `idcsCreatedBy` / `idcsLastModifiedBy`, columns of every versioned resource
 * table written by the resource pipeline. `tags` is writable and lives in the document like any attribute.
 */

/**
 * Who created or last changed a resource, as stored. IDCS knows two kinds, `User` and `App`: an admin client is an
 * OAuth client, which IDCS registers as an App; a provisioning token stands in for the App an IdP's SCIM client
 * is registered as in IDCS; a JIT sign-in writes as the identity provider that asserted the user (IDCS records it
 * as the user's `syncedFromApp`), an App as well.
 */
export interface ResourceWriter {
  type: 'User' | 'App';
  value: string;
  display?: string;
  /** OCID of the writer, when it is a resource of this API (an identity provider). */
  ocid?: string;
  /** Endpoint of the writer, when it is a resource of this API: gives `$ref`. */
  endpoint?: string;
  /**
   * The kind of principal behind an admin API request (`client`, `provisioningToken`): which source set a user's
   * attributes (libs/users attribute-sources.ts). Known while writing, never stored in the writer columns.
   */
  principalKind?: string;
}

/**
 * The principal of an admin API request as the audit trail carries it (libs/audit `Actor`, libs/auth `Principal`).
 * Named by shape: auth and audit sit above this library.
 */
export interface WritingActor {
  principal?: { kind: string; id: string; name: string };
}

/** The writer of a change an admin API request makes: the same actor its audit event names. */
export function writerOf(actor: WritingActor | undefined): ResourceWriter | undefined {
  const p = actor?.principal;
  // Admin clients and provisioning tokens alike are Apps (see ResourceWriter).
  return p ? { type: 'App', value: p.id, display: p.name, principalKind: p.kind } : undefined;
}

/** The writer of a change made by a resource of this API rather than by a request's principal (JIT: the identity provider). */
export function resourceWriter(rt: { name: string; endpoint: string }, id: string, display: string | undefined): ResourceWriter {
  return { type: 'App', value: id, ...(display ? { display } : {}), ocid: ocidOf(rt.name, id), endpoint: rt.endpoint };
}

/**
 * The OCID of a resource: `ocid1.<resource type>.<realm>..<unique id>` as OCI shapes them (no region, as for
 * IAM's global resources), the unique part being the resource id. Derived rather than stored: stable for the life
 * of the resource, and a filter on it is a comparison with the id column (ocidSql).
 */
export function ocidOf(resourceType: string, id: string): string {
  return `${ocidPrefix(resourceType)}${id}`;
}

function ocidPrefix(resourceType: string): string {
  return `ocid1.${resourceType.toLowerCase()}.oc1..`;
}

/** Columns of every versioned resource table: its writers, as JSON of a ResourceWriter (migration 1732810000000). */
export abstract class WriterColumns {
  /** Null for a resource created before writers were recorded, or by no request (seeding). */
  @Column({ name: 'created_by', type: 'text', nullable: true }) createdBy?: string | null;
  @Column({ name: 'last_modified_by', type: 'text', nullable: true }) lastModifiedBy?: string | null;
}

export function writerColumn(w: ResourceWriter | undefined): string | null {
  if (!w) return null;
  const { principalKind: _kind, ...stored } = w;
  return JSON.stringify(stored);
}

/** idcsCreatedBy / idcsLastModifiedBy as a response shows a stored writer. */
function writerAttribute(stored: string | null | undefined, urls: PublicUrl): Record<string, unknown> | undefined {
  if (!stored) return undefined;
  const w = JSON.parse(stored) as ResourceWriter;
  return {
    value: w.value,
    ...(w.endpoint ? { $ref: urls.resource(w.endpoint, w.value) } : {}),
    type: w.type,
    ...(w.display ? { display: w.display } : {}),
    ...(w.ocid ? { ocid: w.ocid } : {}),
  };
}

/** What a row holds of the common attributes. */
export interface CommonAttributeColumns {
  id: string;
  createdBy?: string | null;
  lastModifiedBy?: string | null;
}

/** The common attributes of a stored resource that are not in its document. */
export function commonAttributesOf(resourceType: string, row: CommonAttributeColumns, domainOcid: string, urls: PublicUrl): Record<string, unknown> {
  const out: Record<string, unknown> = { ocid: ocidOf(resourceType, row.id) };
  const createdBy = writerAttribute(row.createdBy, urls);
  if (createdBy) out.idcsCreatedBy = createdBy;
  const lastModifiedBy = writerAttribute(row.lastModifiedBy, urls);
  if (lastModifiedBy) out.idcsLastModifiedBy = lastModifiedBy;
  out.domainOcid = domainOcid;
  return out;
}

/**
 * The domain's OCID, made once when the database was created (migration 1732810000000) and the same for every
 * instance on it; read once per database handle.
 */
const DOMAIN_OCIDS = new WeakMap<object, Promise<string>>();

export function domainOcidOf(db: object, m: EntityManager): Promise<string> {
  let ocid = DOMAIN_OCIDS.get(db);
  if (!ocid) {
    ocid = m.query('SELECT ocid FROM identity_domain').then((rows: { ocid: string }[]) => {
      if (rows.length !== 1) throw new Error(`identity_domain must hold exactly one row (it holds ${rows.length})`);
      return rows[0].ocid;
    });
    // A failed read (a transaction rolled back under it) is not remembered: the next request reads again.
    ocid.catch(() => DOMAIN_OCIDS.delete(db));
    DOMAIN_OCIDS.set(db, ocid);
  }
  return ocid;
}

/**
 * A resource table's SQL mapping completed with the common attributes kept outside the document, so that filters
 * and sorting find them where they are: the OCID from the id column, the domain's from its table, the writers in
 * their JSON columns. The table must be a versioned resource table (alias `r`, WriterColumns).
 */
export function withCommonColumns(resourceType: string, mapping: SqlMapping, dialect: () => Dialect): SqlMapping {
  const column = mapping.column?.bind(mapping);
  return {
    ...mapping,
    column: (p: ResolvedPath) => (p.schemaId === undefined ? commonColumn(resourceType, p, dialect()) : undefined) ?? column?.(p),
  };
}

function commonColumn(resourceType: string, p: ResolvedPath, dialect: Dialect): SqlExpr | undefined {
  switch (p.attribute.name) {
    case 'ocid':
      return { expr: `('${ocidPrefix(resourceType).replace(/'/g, "''")}' || r.id)` };
    case 'idcsCreatedBy':
    case 'idcsLastModifiedBy': {
      const sub = p.subAttribute?.name;
      if (!sub) return undefined;
      // `$ref` is not stored (it follows from the public URL) and IDCS does not make it searchable: it never matches.
      if (sub === '$ref') return { expr: 'NULL' };
      const col = p.attribute.name === 'idcsCreatedBy' ? 'r.created_by' : 'r.last_modified_by';
      return dialect === 'postgres' ? { expr: `(${col}::jsonb #>> '{${sub}}')`, json: true } : { expr: `json_extract(${col}, '$.${sub}')`, json: true };
    }
    case 'domainOcid':
      // The same for every resource of the domain (domainOcidOf).
      return { expr: '(SELECT ocid FROM identity_domain)' };
    default:
      return undefined;
  }
}
