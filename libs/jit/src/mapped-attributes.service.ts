import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService, diffResources } from '@app/audit';
import { Principal } from '@app/auth';
import { Database, newId, nowIso } from '@app/persistence';
import {
  applyPatch,
  checkIfMatch,
  checkImmutable,
  checkRequired,
  Doc,
  DocumentRepository,
  etagFor,
  ListQuery,
  listResponse,
  normalizeResource,
  parsePatchRequest,
  Projection,
  ProjectionRequest,
  PublicUrl,
  ResolvedPath,
  ScimError,
  SqlExpr,
  SqlMapping,
} from '@app/scim';
import { compileAttributeMappings } from './attribute-mappings';
import { MappedAttributeEntity } from './mapped-attribute.entity';
import { DEFAULT_JIT_MAPPINGS, MAPPED_ATTRIBUTE_RESOURCE_TYPE, MAPPED_ATTRIBUTE_SCHEMA_ID } from './mapped-attribute.schema';

const rt = MAPPED_ATTRIBUTE_RESOURCE_TYPE;

const COLUMNS: Record<string, SqlExpr> = {
  id: { expr: 'r.id' },
  refResourceType: { expr: 'r.ref_resource_type' },
  refResourceID: { expr: 'r.ref_resource_id' },
  'meta.created': { expr: 'r.created' },
  'meta.lastModified': { expr: 'r.last_modified' },
  // The ETag, W/"<version>", as meta.version shows it.
  'meta.version': { expr: `('W/"' || r.version || '"')` },
};
const MAPPING: SqlMapping = { documentColumn: 'r.data', column: (p: ResolvedPath) => COLUMNS[p.canonical] };

export interface MappedAttributeResult {
  body: Doc;
  version: number;
  location: string;
}

/** Context of a write, for the audit trail. */
export interface Actor {
  principal?: Principal;
  correlationId?: string;
}

/** The MappedAttributes resource: read, PUT and PATCH by clients; created and deleted only with its identity provider. */
@Injectable()
export class MappedAttributesService {
  private readonly repo: DocumentRepository<MappedAttributeEntity>;

  constructor(
    private readonly db: Database,
    private readonly urls: PublicUrl,
    private readonly audit: AuditService,
  ) {
    this.repo = new DocumentRepository(MappedAttributeEntity, rt, MAPPING, () => db.dialect);
  }

  /** Creates the inbound User mapping of a new identity provider, in the caller's transaction. */
  async createForIdentityProvider(m: EntityManager, idpId: string, actor: Actor): Promise<string> {
    const id = newId();
    const now = nowIso();
    const doc: Doc = {
      schemas: [MAPPED_ATTRIBUTE_SCHEMA_ID],
      idcsResourceType: 'User',
      direction: 'inbound',
      attributeMappings: structuredClone(DEFAULT_JIT_MAPPINGS),
    };
    await this.repo.insert(m, { id, refResourceType: 'IdentityProvider', refResourceId: idpId, data: JSON.stringify(doc), version: 1, created: now, lastModified: now });
    await this.audit.record(m, {
      eventId: 'admin.MappedAttribute.create',
      outcome: 'success',
      actor: actor.principal,
      correlationId: actor.correlationId,
      resourceType: rt.name,
      resourceId: id,
      changes: diffResources(rt, undefined, doc),
    });
    return id;
  }

  async deleteForIdentityProvider(m: EntityManager, idpId: string, actor: Actor): Promise<void> {
    const rows = await m.findBy(MappedAttributeEntity, { refResourceType: 'IdentityProvider', refResourceId: idpId });
    for (const row of rows) {
      await this.repo.delete(m, row.id);
      await this.audit.record(m, {
        eventId: 'admin.MappedAttribute.delete',
        outcome: 'success',
        actor: actor.principal,
        correlationId: actor.correlationId,
        resourceType: rt.name,
        resourceId: row.id,
        changes: diffResources(rt, JSON.parse(row.data), undefined),
      });
    }
  }

  /** The stored mapping of an identity provider (for the JIT engine). */
  async findForIdentityProvider(m: EntityManager, idpId: string): Promise<Doc | undefined> {
    const row = await m.findOneBy(MappedAttributeEntity, { refResourceType: 'IdentityProvider', refResourceId: idpId });
    return row ? JSON.parse(row.data) : undefined;
  }

  get(id: string, request: ProjectionRequest): Promise<MappedAttributeResult> {
    const projection = new Projection(rt, request);
    return this.db.read(async (m) => this.result(await this.requireRow(m, id), projection));
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(rt, query);
    return this.db.read(async (m) => {
      const { rows, total } = await this.repo.list(m, query);
      return listResponse(rows.map((r) => this.result(r, projection).body), total, query.startIndex);
    });
  }

  replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<MappedAttributeResult> {
    const incoming = normalizeResource(rt, body);
    return this.mutate(id, ifMatch, request, actor, () => structuredClone(incoming));
  }

  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<MappedAttributeResult> {
    const ops = parsePatchRequest(rt, body);
    return this.mutate(id, ifMatch, request, actor, (old) => normalizeResource(rt, applyPatch(old, ops)));
  }

  private async mutate(id: string, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor, change: (old: Doc) => Doc): Promise<MappedAttributeResult> {
    const projection = new Projection(rt, request);
    return this.db.transactionRetryingConflicts(async (m) => {
        const current = await this.requireRow(m, id);
        checkIfMatch(ifMatch, current.version);
        const old = JSON.parse(current.data) as Doc;
        const doc = change(old);
        checkRequired(rt, doc);
        checkImmutable(rt, old, doc);
        if (current.refResourceType === 'IdentityProvider' && (doc.idcsResourceType !== 'User' || doc.direction !== 'inbound')) {
          throw ScimError.badRequest('mutability', 'The mapping of an identity provider is inbound to User: idcsResourceType must stay "User" and direction "inbound"');
        }
        compileAttributeMappings(doc.attributeMappings as Doc[] | undefined);
        if (JSON.stringify(doc) === current.data) return this.result(current, projection);
        const row: MappedAttributeEntity = { ...current, data: JSON.stringify(doc), version: current.version + 1, lastModified: nowIso() };
        if (!(await this.repo.updateIfVersion(m, row, current.version))) return undefined;
        await this.audit.record(m, {
          eventId: 'admin.MappedAttribute.update',
          outcome: 'success',
          actor: actor.principal,
          correlationId: actor.correlationId,
          resourceType: rt.name,
          resourceId: id,
          changes: diffResources(rt, old, doc),
        });
        return this.result(row, projection);
    }, () => new ScimError(409, 'The mapping is being changed by other requests right now; retry'));
  }

  private async requireRow(m: EntityManager, id: string): Promise<MappedAttributeEntity> {
    const row = await this.repo.findById(m, id);
    if (!row) throw ScimError.notFound(`No mapped attribute with id "${id}"`);
    return row;
  }

  private result(row: MappedAttributeEntity, projection: Projection): MappedAttributeResult {
    const location = this.urls.resource(rt.endpoint, row.id);
    const full: Doc = {
      ...JSON.parse(row.data),
      id: row.id,
      refResourceType: row.refResourceType,
      refResourceID: row.refResourceId,
      meta: { resourceType: rt.name, created: row.created, lastModified: row.lastModified, location, version: etagFor(row.version) },
    };
    return { body: projection.apply(full), version: row.version, location };
  }
}
