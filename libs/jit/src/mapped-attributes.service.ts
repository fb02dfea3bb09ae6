import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import { Database } from '@app/persistence';
import {
  applyPatch,
  Doc,
  DocumentRepository,
  ListQuery,
  normalizeResource,
  parsePatchRequest,
  ProjectionRequest,
  PublicUrl,
  ResourcePipeline,
  ResourceResult,
  ScimError,
  SqlExpr,
  writerOf,
} from '@app/scim';
import { compileMappedAttribute } from './attribute-mappings';
import { MappedAttributeEntity } from './mapped-attribute.entity';
import { DEFAULT_JIT_MAPPINGS, MAPPED_ATTRIBUTE_RESOURCE_TYPE, MAPPED_ATTRIBUTE_SCHEMA_ID } from './mapped-attribute.schema';

const rt = MAPPED_ATTRIBUTE_RESOURCE_TYPE;

/** Attributes stored in columns of their own, for filters and sorting. */
const COLUMNS: Record<string, SqlExpr> = {
  refResourceType: { expr: 'r.ref_resource_type' },
  refResourceID: { expr: 'r.ref_resource_id' },
};

export type MappedAttributeResult = ResourceResult;

export type { Actor } from '@app/audit';

/** The MappedAttributes resource: read, PUT and PATCH by clients; created and deleted only with its identity provider. */
@Injectable()
export class MappedAttributesService {
  private readonly repo: DocumentRepository<MappedAttributeEntity>;
  private readonly pipeline: ResourcePipeline<MappedAttributeEntity>;

  constructor(
    private readonly db: Database,
    urls: PublicUrl,
    private readonly audit: AuditService,
  ) {
    this.repo = new DocumentRepository(MappedAttributeEntity, rt, COLUMNS, () => db.dialect);
    this.pipeline = new ResourcePipeline(db, urls, {
      rt,
      noun: 'mapped attribute',
      table: this.repo,
      list: (m, query) => this.repo.list(m, query),
      // The referenced resource is set when the mapping is created with its identity provider, and never changes.
      toRow: (id, doc, version, created, lastModified) => ({ id, data: JSON.stringify(doc), version, created, lastModified }) as MappedAttributeEntity,
      conflict: () => ScimError.conflict('The mapping conflicts with another one; read it again and retry'),
      render: (_m, row, doc) => ({ ...doc, refResourceType: row.refResourceType, refResourceID: row.refResourceId }),
    });
  }

  /** Creates the inbound User mapping of a new identity provider, in the caller's transaction. */
  async createForIdentityProvider(m: EntityManager, idpId: string, actor: Actor): Promise<string> {
    const doc: Doc = {
      schemas: [MAPPED_ATTRIBUTE_SCHEMA_ID],
      idcsResourceType: 'User',
      direction: 'inbound',
      attributeMappings: structuredClone(DEFAULT_JIT_MAPPINGS),
    };
    const row = await this.pipeline.insert(m, doc, undefined, { refResourceType: 'IdentityProvider', refResourceId: idpId }, writerOf(actor));
    await this.audited(actor)(m, { action: 'create', row, after: doc });
    return row.id;
  }

  async deleteForIdentityProvider(m: EntityManager, idpId: string, actor: Actor): Promise<void> {
    const rows = await m.findBy(MappedAttributeEntity, { refResourceType: 'IdentityProvider', refResourceId: idpId });
    for (const row of rows) {
      await this.repo.deleteIfVersion(m, row.id, row.version);
      await this.audited(actor)(m, { action: 'delete', row, before: JSON.parse(row.data) });
    }
  }

  /** The stored mapping of an identity provider (for the JIT engine). */
  async findForIdentityProvider(m: EntityManager, idpId: string): Promise<Doc | undefined> {
    const row = await this.findRowForIdentityProvider(m, idpId);
    return row ? JSON.parse(row.data) : undefined;
  }

  /** The stored MappedAttribute of an IdP, with its version. */
  findRowForIdentityProvider(m: EntityManager, idpId: string): Promise<MappedAttributeEntity | null> {
    return m.findOneBy(MappedAttributeEntity, { refResourceType: 'IdentityProvider', refResourceId: idpId });
  }

  get(id: string, request: ProjectionRequest): Promise<MappedAttributeResult> {
    return this.pipeline.get(id, request);
  }

  list(query: ListQuery): Promise<Doc> {
    return this.pipeline.list(query);
  }

  replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<MappedAttributeResult> {
    const incoming = normalizeResource(rt, body);
    return this.mutate(id, ifMatch, request, actor, () => structuredClone(incoming));
  }

  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<MappedAttributeResult> {
    const ops = parsePatchRequest(rt, body);
    return this.mutate(id, ifMatch, request, actor, (old) => normalizeResource(rt, applyPatch(old, ops)));
  }

  private mutate(id: string, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor, change: (old: Doc) => Doc): Promise<MappedAttributeResult> {
    return this.pipeline.mutate(
      id,
      ifMatch,
      request,
      (_m, old, current) => {
        const doc = change(old);
        if (current.refResourceType === 'IdentityProvider' && (doc.idcsResourceType !== 'User' || doc.direction !== 'inbound')) {
          throw ScimError.badRequest('mutability', 'The mapping of an identity provider is inbound to User: idcsResourceType must stay "User" and direction "inbound"');
        }
        compileMappedAttribute(doc);
        return { doc };
      },
      this.audited(actor),
      writerOf(actor),
    );
  }

  private audited(actor: Actor) {
    return this.audit.resourceWrites<MappedAttributeEntity>(rt, actor);
  }
}
