import type { EntityManager, EntityTarget, ObjectLiteral } from 'typeorm';
import { Database, isForeignKeyViolation, isTransactionConflict, isUniqueViolation, newId, nowIso } from '@app/persistence';
import { ScimError } from './errors';
import { checkIfMatch, etagFor, sameRepresentation } from './etag';
import { ListQuery, ProjectionRequest } from './list-query';
import { listResponse } from './resource-response';
import { Projection } from './projection';
import { PublicUrl } from './public-url';
import { creationHook } from './idempotent-create';
import { checkImmutable, checkRequired, Doc } from './resource-input';
import { commonAttributesOf, CommonAttributeColumns, domainOcidOf, ResourceWriter, writerColumn } from './common-attributes';
import { ScimResourceType } from './schema';

/** Columns every versioned resource table has (its entity extends WriterColumns for the last two). */
export interface VersionedRow extends ObjectLiteral {
  id: string;
  /** The writable SCIM representation, as JSON. */
  data: string;
  version: number;
  created: string;
  lastModified: string;
  /** Who created the resource and who last changed it (idcsCreatedBy, idcsLastModifiedBy), as JSON. */
  createdBy?: string | null;
  lastModifiedBy?: string | null;
}

/** What a response is built from besides the representation: the row's id, versions and writers. */
export type StoredRow = Pick<VersionedRow, 'id' | 'version' | 'created' | 'lastModified'> & CommonAttributeColumns;

/**
 * The row-level statements of a versioned resource table. Transactions belong to the caller. Every write is
 * conditional on the version that was read, so a concurrent writer (another request, another instance) is
 * detected rather than overwritten.
 */
export class VersionedTable<R extends VersionedRow> {
  constructor(
    readonly entity: EntityTarget<R>,
    private readonly dialect: () => 'sqlite' | 'postgres',
  ) {}

  findById(m: EntityManager, id: string): Promise<R | null> {
    return m.findOneBy(this.entity, { id } as never);
  }

  /**
   * The row, read to be written in this transaction. On PostgreSQL the row stays locked until the transaction
   * ends, so concurrent writers of one resource queue instead of failing their version check. An update takes
   * the lock that leaves rows referring to this one free to be inserted (FOR NO KEY UPDATE: a membership added
   * by a sign-in does not wait for a PATCH of its group); a delete takes the lock that blocks them, so nothing
   * can refer to the row while it goes. SQLite needs no lock: a write transaction holds the database alone.
   */
  lockById(m: EntityManager, id: string, purpose: 'update' | 'delete'): Promise<R | null> {
    const qb = m.createQueryBuilder(this.entity, 'r').where('r.id = :id', { id });
    if (this.dialect() === 'postgres' && m.queryRunner) qb.setLock(purpose === 'update' ? 'for_no_key_update' : 'pessimistic_write');
    return qb.getOne();
  }

  async insert(m: EntityManager, row: R): Promise<void> {
    // updateEntity(false): TypeORM would otherwise read the row back for its defaulted and generated columns (a
    // second statement per insert on SQLite), into an object nobody reads.
    await m.createQueryBuilder().insert().into(this.entity).values(row as never).updateEntity(false).execute();
  }

  /** Writes a new version only if nobody else wrote since `expectedVersion` was read. Undefined columns are left as they are. */
  async updateIfVersion(m: EntityManager, row: R, expectedVersion: number): Promise<boolean> {
    const { id, ...changes } = row;
    for (const k of Object.keys(changes)) if (changes[k] === undefined) delete changes[k];
    const r = await m.createQueryBuilder().update(this.entity).set(changes as never).where('id = :id AND version = :v', { id, v: expectedVersion }).execute();
    return !!r.affected;
  }

  /** Deletes the row only at the version that was read: of concurrent deletes, exactly one succeeds. */
  async deleteIfVersion(m: EntityManager, id: string, expectedVersion: number): Promise<boolean> {
    const r = await m.createQueryBuilder().delete().from(this.entity).where('id = :id AND version = :v', { id, v: expectedVersion }).execute();
    return !!r.affected;
  }
}

export interface ResourceResult {
  body: Doc;
  version: number;
  location: string;
}

/** What a resource plugs into the pipeline: its table, its rows, its representation. */
export interface ResourceKind<R extends VersionedRow> {
  rt: ScimResourceType;
  /** The resource in words, for messages: "user", "identity provider". */
  noun: string;
  table: VersionedTable<R>;
  /** One page of rows matching a list query, and the number of matches. */
  list?(m: EntityManager, query: ListQuery): Promise<{ rows: R[]; total: number }>;
  /** The row (indexed columns + document) of a representation. */
  toRow(id: string, doc: Doc, version: number, created: string, lastModified: string): R;
  /**
   * Rows derived from the document (e.g. index rows of multi-valued attributes), written with each new version.
   * `before` is the representation it replaces (undefined for a new resource), so that rows that did not change
   * need not be rewritten; `by` is who writes it.
   */
  writeDerived?(m: EntityManager, row: R, doc: Doc, before: Doc | undefined, by: ResourceWriter | undefined): Promise<void>;
  /** The SCIM error for a unique-constraint violation while writing `doc`. */
  conflict(e: unknown, doc: Doc | undefined): ScimError;
  /** The full representation (before projection) of a stored row: the document plus what other rows hold. */
  render(m: EntityManager, row: R, doc: Doc, request: ProjectionRequest, projection: Projection): Promise<Doc> | Doc;
}

/** A change to a resource, as computed by its service from the current representation. */
export interface ResourceChange<R extends VersionedRow> {
  doc: Doc;
  /** Changed something the document does not show (a password hash): the resource gets a new version. */
  alsoChanged?: boolean;
  /** Columns to write besides `toRow`'s (e.g. a password hash). */
  extraColumns?: Partial<R>;
  /**
   * Writes to other rows that belong to this change (memberships). They run after the new version is claimed,
   * so a change that loses the version race has written nothing. Returns whether it changed anything.
   */
  beside?(m: EntityManager): Promise<boolean>;
}

/** One committed change of a resource: `before` is undefined on create, `after` on delete. */
export interface ResourceWrite<R> {
  action: 'create' | 'update' | 'delete';
  row: R;
  before?: Doc;
  after?: Doc;
}

/** Called in the transaction of every committed change (audit). */
export type WrittenHook<R> = (m: EntityManager, write: ResourceWrite<R>) => Promise<void>;

/** Filter and sort columns every versioned resource table has, as SCIM paths. */
export const VERSIONED_COLUMNS = {
  id: { expr: 'r.id' },
  'meta.created': { expr: 'r.created' },
  'meta.lastModified': { expr: 'r.last_modified' },
  // The ETag, W/"<version>", as meta.version shows it.
  'meta.version': { expr: `('W/"' || r.version || '"')` },
} as const;

/** Thrown inside a transaction to roll back a write that turned out to change nothing. */
class Unchanged extends Error {
  constructor(readonly result: ResourceResult) {
    super('unchanged');
  }
}

const ATTEMPTS = 5;

/**
 * The one read-modify-write pipeline of every versioned SCIM resource: get, list, create, replace/patch
 * (with `If-Match`), delete. It owns the rules that must not differ between resources:
 * - a change that leaves the representation and its related rows as they were keeps the version (and the ETag
 *   clients hold);
 * - the row's new version is claimed before anything else is written, so a request that loses a race, or is
 *   reported as failed, has committed nothing;
 * - `If-Match` is checked against the version read under lock, and a delete removes only that version;
 * - database errors a client can provoke (unique values, a referenced row deleted meanwhile) become SCIM errors.
 */
export class ResourcePipeline<R extends VersionedRow> {
  constructor(
    private readonly db: Database,
    readonly urls: PublicUrl,
    readonly kind: ResourceKind<R>,
  ) {}

  get(id: string, request: ProjectionRequest): Promise<ResourceResult> {
    const projection = new Projection(this.kind.rt, request);
    return this.db.read(async (m) => {
      const row = await this.require(m, id);
      return this.result(m, row, JSON.parse(row.data) as Doc, request, projection);
    });
  }

  /** The stored row, or a SCIM 404. */
  async require(m: EntityManager, id: string): Promise<R> {
    const row = await this.kind.table.findById(m, id);
    if (!row) throw this.notFound(id);
    return row;
  }

  /** A list response (RFC 7644 §3.4.2) for the query. */
  list(query: ListQuery): Promise<Doc> {
    const list = this.kind.list;
    if (!list) throw new Error(`${this.kind.rt.name} has no list query`);
    return this.db.read(async (m) => {
      const { rows, total } = await list(m, query);
      return listResponse(await this.renderAll(m, rows, query), total, query.startIndex);
    });
  }

  /** Renders rows of a list page (the query itself is the resource's: some lists run as plain SQL). */
  async renderAll(m: EntityManager, rows: R[], request: ProjectionRequest): Promise<Doc[]> {
    const projection = new Projection(this.kind.rt, request);
    const out: Doc[] = [];
    for (const r of rows) out.push((await this.result(m, r, JSON.parse(r.data) as Doc, request, projection)).body);
    return out;
  }

  /**
   * Creates a resource from a validated representation. `beside` writes the rows that belong to it
   * (memberships, a linked resource) in the same transaction.
   */
  async create(
    doc: Doc,
    request: ProjectionRequest,
    opts: {
      id?: string;
      extraColumns?: Partial<R>;
      /** Checks or writes that must come before the row (it may complete `doc`, e.g. with a linked resource). */
      before?: (m: EntityManager, id: string) => Promise<void>;
      beside?: (m: EntityManager, row: R) => Promise<void>;
      written?: WrittenHook<R>;
      /** Who creates it (idcsCreatedBy): the actor the audit hook names. */
      by?: ResourceWriter;
    } = {},
  ): Promise<ResourceResult> {
    checkRequired(this.kind.rt, doc);
    const projection = new Projection(this.kind.rt, request);
    return this.run(doc, async (m) => {
      const id = opts.id ?? newId();
      await opts.before?.(m, id);
      const row = await this.insert(m, doc, id, opts.extraColumns, opts.by);
      await opts.beside?.(m, row);
      await opts.written?.(m, { action: 'create', row, after: doc });
      const result = await this.result(m, row, doc, request, projection);
      // The answer a retry token keeps commits with the resource (idempotent-create.ts).
      await creationHook(m, result);
      return result;
    });
  }

  /** Inserts a new resource in the caller's transaction (JIT creates users inside a sign-in), written `by` someone. */
  async insert(m: EntityManager, doc: Doc, id = newId(), extraColumns?: Partial<R>, by?: ResourceWriter): Promise<R> {
    const now = nowIso();
    const writer = writerColumn(by);
    const row = { ...this.kind.toRow(id, doc, 1, now, now), ...extraColumns, createdBy: writer, lastModifiedBy: writer } as R;
    await this.kind.table.insert(m, row);
    await this.kind.writeDerived?.(m, row, doc, undefined, by);
    return row;
  }

  /**
   * Writes `doc` as the next version of `current` in the caller's transaction, unless it is the same
   * representation. Returns the row now stored, or undefined when another writer got there first.
   */
  async update(m: EntityManager, current: R, doc: Doc, extraColumns?: Partial<R>, by?: ResourceWriter): Promise<R | undefined> {
    const before = JSON.parse(current.data) as Doc;
    if (sameRepresentation(doc, before) && !extraColumns) return current;
    const row = this.nextRow(current, doc, extraColumns, by);
    if (!(await this.kind.table.updateIfVersion(m, row, current.version))) return undefined;
    await this.kind.writeDerived?.(m, row, doc, before, by);
    return row;
  }

  /**
   * Replace or patch: reads the current row (locked on PostgreSQL), checks `If-Match`, lets `change` compute
   * the new representation, validates it, and writes it as the next version, last modified `by` someone.
   */
  async mutate(
    id: string,
    ifMatch: string | undefined,
    request: ProjectionRequest,
    change: (m: EntityManager, old: Doc, current: R) => ResourceChange<R> | Promise<ResourceChange<R>>,
    written?: WrittenHook<R>,
    by?: ResourceWriter,
  ): Promise<ResourceResult> {
    const { rt } = this.kind;
    const projection = new Projection(rt, request);
    let doc: Doc | undefined;
    return this.run(() => doc, async (m) => {
      const current = await this.kind.table.lockById(m, id, 'update');
      if (!current) throw this.notFound(id);
      checkIfMatch(ifMatch, current.version);
      const old = JSON.parse(current.data) as Doc;
      const c = await change(m, old, current);
      doc = c.doc;
      checkRequired(rt, c.doc);
      checkImmutable(rt, old, c.doc);
      const docChanged = c.alsoChanged === true || !sameRepresentation(c.doc, old);
      if (!docChanged && !c.beside) return this.result(m, current, old, request, projection);
      const row = this.nextRow(current, c.doc, c.extraColumns, by);
      if (!(await this.kind.table.updateIfVersion(m, row, current.version))) return undefined;
      const besideChanged = c.beside ? await c.beside(m) : false;
      if (!docChanged && !besideChanged) throw new Unchanged(await this.result(m, current, old, request, projection));
      if (docChanged) await this.kind.writeDerived?.(m, row, c.doc, old, by);
      await written?.(m, { action: 'update', row, before: old, after: c.doc });
      return this.result(m, row, c.doc, request, projection);
    });
  }

  /** Deletes the version read under lock; `before` checks or removes what refers to the resource first. */
  async delete(
    id: string,
    ifMatch: string | undefined,
    opts: { before?: (m: EntityManager, row: R, doc: Doc) => Promise<void>; written?: WrittenHook<R> } = {},
  ): Promise<void> {
    await this.run(undefined, async (m) => {
      const row = await this.kind.table.lockById(m, id, 'delete');
      if (!row) throw this.notFound(id);
      checkIfMatch(ifMatch, row.version);
      const doc = JSON.parse(row.data) as Doc;
      await opts.before?.(m, row, doc);
      if (!(await this.kind.table.deleteIfVersion(m, id, row.version))) return undefined;
      await opts.written?.(m, { action: 'delete', row, before: doc });
      return true;
    });
  }

  /**
   * The row that follows `current`: its columns, overlaid with those `toRow` derives from `doc` and `extra`, last
   * modified `by` someone (a change whose writer is unknown says so rather than keep the previous writer's name).
   */
  private nextRow(current: R, doc: Doc, extra: Partial<R> | undefined, by: ResourceWriter | undefined): R {
    const derived = this.kind.toRow(current.id, doc, current.version + 1, current.created, nowIso()) as Record<string, unknown>;
    for (const k of Object.keys(derived)) if (derived[k] === undefined) delete derived[k];
    return { ...current, ...derived, ...extra, lastModifiedBy: writerColumn(by) } as R;
  }

  notFound(id: string): ScimError {
    return ScimError.notFound(`No ${this.kind.noun} with id "${id}"`);
  }

  /** The representation of a row as a response: id, meta, common attributes and projection added. */
  async result(m: EntityManager, row: R, doc: Doc, request: ProjectionRequest, projection: Projection): Promise<ResourceResult> {
    const full = await this.representation(m, row, await this.kind.render(m, row, doc, request, projection));
    return { body: projection.apply(full), version: row.version, location: (full.meta as { location: string }).location };
  }

  /**
   * The full representation (before projection) of a stored row, from what the resource rendered of it: with id,
   * meta and the IDCS common attributes kept outside the document (common-attributes.ts). Every response of
   * every resource is built here, lists that run as plain SQL included.
   */
  async representation(m: EntityManager, row: StoredRow, rendered: Doc): Promise<Doc> {
    const common = commonAttributesOf(this.kind.rt.name, row, await domainOcidOf(this.db, m), this.urls);
    return { ...rendered, id: row.id, meta: this.meta(row), ...common };
  }

  /** The `meta` attribute of a stored row. */
  meta(row: Pick<VersionedRow, 'id' | 'version' | 'created' | 'lastModified'>) {
    const location = this.urls.resource(this.kind.rt.endpoint, row.id);
    return { resourceType: this.kind.rt.name, created: row.created, lastModified: row.lastModified, location, version: etagFor(row.version) };
  }

  /**
   * Runs `fn` in a transaction, again while it returns undefined (a version race, which the row lock makes
   * rare), fails on a row that a concurrent request deleted (foreign key: the next attempt sees the deletion
   * and answers as if the requests had run one after the other), or is aborted by the database for a conflict
   * with a concurrent transaction (deadlock).
   */
  private async run<T>(doc: Doc | (() => Doc | undefined) | undefined, fn: (m: EntityManager) => Promise<T | undefined>): Promise<T> {
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let outcome: T | undefined;
      try {
        outcome = await this.db.transaction(fn);
      } catch (e) {
        if (e instanceof Unchanged) return e.result as T;
        if (isUniqueViolation(e)) throw this.kind.conflict(e, typeof doc === 'function' ? doc() : doc);
        if (isForeignKeyViolation(e) || isTransactionConflict(e)) {
          if (attempt < ATTEMPTS) continue;
          if (isTransactionConflict(e)) break;
          throw new ScimError(409, `The ${this.kind.noun} refers to a resource that was deleted while the request ran; read it again and retry`);
        }
        throw e;
      }
      if (outcome !== undefined) return outcome;
    }
    throw new ScimError(409, `The ${this.kind.noun} is being changed by other requests right now; retry`);
  }
}
