import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuthenticatedRequest, CredentialAuditTrail, Principal } from '@app/auth';
import { Database, newId, nowIso } from '@app/persistence';
import { COMMON_ATTRIBUTES, Doc, ListQuery, listResponse, Projection, ProjectionRequest, PublicUrl, ResolvedPath, ResourceWrite, runListQuery, ScimAttribute, ScimError, ScimResourceType, SqlExpr, SqlMapping, VersionedRow, WrittenHook } from '@app/scim';
import { AuditEventEntity } from './audit.entity';
import { AUDIT_EVENT_RESOURCE_TYPE } from './audit.schema';

/** Who makes an administrative change, and the request it came with, for the audit trail. */
export interface Actor {
  principal?: Principal;
  correlationId?: string;
}

/**
 * The actor of an admin API request: the principal the guard established, and the request id the response
 * carries. That id is read from the response, where request-id.ts put it after checking the client's value:
 * the raw request header is unchecked (any length, any characters).
 */
export function actorOf(req: AuthenticatedRequest): Actor {
  const id = req.res?.getHeader('opc-request-id');
  return { principal: req.principal, correlationId: typeof id === 'string' && id ? id : undefined };
}

export interface AuditChange {
  attribute: string;
  oldValue?: unknown;
  newValue?: unknown;
  /** The source that had set the value this change replaced (attribute ownership), when one was recorded. */
  replacedSource?: unknown;
}

export interface AuditRecord {
  eventId: string;
  outcome: 'success' | 'failure';
  actor?: Principal | { kind: 'user' | 'anonymous'; id?: string; name?: string };
  resourceType?: string;
  resourceId?: string;
  resourceName?: string;
  reason?: string;
  message?: string;
  correlationId?: string;
  changes?: AuditChange[];
  details?: Record<string, unknown>;
}

const COLUMNS: Record<string, SqlExpr> = {
  id: { expr: 'r.id' },
  timestamp: { expr: 'r.timestamp' },
  eventId: { expr: 'r.event_id' },
  outcome: { expr: 'r.outcome' },
  actorId: { expr: 'r.actor_id' },
  adminResourceType: { expr: 'r.resource_type' },
  adminResourceId: { expr: 'r.resource_id' },
  correlationId: { expr: 'r.correlation_id' },
  // An event is written once: its meta.created and meta.lastModified are its timestamp.
  'meta.created': { expr: 'r.timestamp' },
  'meta.lastModified': { expr: 'r.timestamp' },
};

const MAPPING: SqlMapping = { documentColumn: 'r.data', column: (p: ResolvedPath) => COLUMNS[p.canonical] };

const ACTOR_TYPES = { client: 'Client', provisioningToken: 'ProvisioningToken', user: 'User', anonymous: 'Anonymous' } as const;

/** Values never recorded: write-only / never-returned attributes (passwords, secrets). */
function isSecret(a: ScimAttribute | undefined): boolean {
  return !!a && (a.mutability === 'writeOnly' || a.returned === 'never');
}

/**
 * Differences between two representations, attribute by attribute (extensions one level down),
 * with secrets left out. Used for "what changed" in audit events.
 */
export function diffResources(rt: ScimResourceType, before: Doc | undefined, after: Doc | undefined): AuditChange[] {
  const out: AuditChange[] = [];
  const walk = (attrs: ScimAttribute[], b: Doc | undefined, a: Doc | undefined, prefix: string) => {
    for (const attribute of attrs) {
      if (isSecret(attribute)) continue;
      const ov = b?.[attribute.name];
      const nv = a?.[attribute.name];
      if (JSON.stringify(ov) !== JSON.stringify(nv)) out.push({ attribute: prefix + attribute.name, oldValue: ov, newValue: nv });
    }
  };
  // The writable common attributes (externalId, tags) are changes of the resource like its own attributes.
  walk([...COMMON_ATTRIBUTES.filter((a) => a.mutability !== 'readOnly'), ...rt.schema.attributes], before, after, '');
  for (const ext of rt.schemaExtensions) walk(ext.schema.attributes, before?.[ext.schema.id] as Doc, after?.[ext.schema.id] as Doc, `${ext.schema.id}:`);
  return out;
}

/** Audit trail: recorded in the caller's transaction, so a change and its record commit or roll back together. */
@Injectable()
export class AuditService implements CredentialAuditTrail {
  private readonly logger = new Logger('Audit');

  constructor(
    private readonly db: Database,
    private readonly urls: PublicUrl,
  ) {}

  /**
   * A resource pipeline's hook that records each committed change as an `admin.<Resource>.<action>` event, with
   * the `message` a resource may attach to it (e.g. a warning about what was accepted).
   */
  resourceWrites<R extends VersionedRow>(rt: ScimResourceType, actor: Actor, nameOf?: (row: R) => string, messageOf?: (write: ResourceWrite<R>) => string | undefined): WrittenHook<R> {
    return (m, w) =>
      this.record(m, {
        eventId: `admin.${rt.name}.${w.action}`,
        outcome: 'success',
        actor: actor.principal,
        correlationId: actor.correlationId,
        resourceType: rt.name,
        resourceId: w.row.id,
        resourceName: nameOf?.(w.row),
        message: messageOf?.(w),
        changes: diffResources(rt, w.before, w.after),
      });
  }

  async record(m: EntityManager, r: AuditRecord): Promise<void> {
    const id = newId();
    const timestamp = nowIso();
    const actor = r.actor;
    const body: Doc = {
      schemas: [AUDIT_EVENT_RESOURCE_TYPE.schema.id],
      timestamp,
      eventId: r.eventId,
      outcome: r.outcome,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.message ? { message: r.message } : {}),
      ...(actor?.id ? { actorId: actor.id } : {}),
      ...(actor?.name ? { actorName: actor.name } : {}),
      actorType: ACTOR_TYPES[actor?.kind ?? 'anonymous'],
      ...(r.resourceType ? { adminResourceType: r.resourceType } : {}),
      ...(r.resourceId ? { adminResourceId: r.resourceId } : {}),
      ...(r.resourceName ? { adminResourceName: r.resourceName } : {}),
      ...(r.correlationId ? { correlationId: r.correlationId } : {}),
      ...(r.changes?.length
        ? {
            changes: r.changes.map((c) => ({
              attribute: c.attribute,
              oldValue: JSON.stringify(c.oldValue ?? null),
              newValue: JSON.stringify(c.newValue ?? null),
              ...(c.replacedSource !== undefined ? { replacedSource: JSON.stringify(c.replacedSource) } : {}),
            })),
          }
        : {}),
      ...(r.details ? { details: JSON.stringify(r.details) } : {}),
    };
    await m.insert(AuditEventEntity, {
      id,
      timestamp,
      eventId: r.eventId,
      outcome: r.outcome,
      actorId: actor?.id ?? null,
      resourceType: r.resourceType ?? null,
      resourceId: r.resourceId ?? null,
      correlationId: r.correlationId ?? null,
      data: JSON.stringify(body),
    });
    this.logger.log(`${r.eventId} ${r.outcome}${r.reason ? ` reason=${r.reason}` : ''} actor=${actor?.id ?? '-'} resource=${r.resourceType ?? '-'}/${r.resourceId ?? '-'} correlation=${r.correlationId ?? '-'}`);
  }

  /** One event by id (SCIM 404 when there is none). */
  async get(id: string, request: ProjectionRequest): Promise<Doc> {
    const projection = new Projection(AUDIT_EVENT_RESOURCE_TYPE, request);
    // Event ids are newId()s: another shape cannot exist, and is not sent to the database (PostgreSQL refuses U+0000 in text).
    const row = /^[0-9a-f]{32}$/.test(id) ? await this.db.read((m) => m.findOneBy(AuditEventEntity, { id })) : null;
    if (!row) throw ScimError.notFound(`No audit event with id "${id.slice(0, 64)}"`);
    return projection.apply(this.resource(row));
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(AUDIT_EVENT_RESOURCE_TYPE, query);
    return this.db.read(async (m) => {
      // Newest first unless the client sorts.
      const q = query.sortBy ? query : { ...query, sortBy: 'timestamp', sortOrder: 'descending' as const };
      const { rows, total } = await runListQuery(m.createQueryBuilder(AuditEventEntity, 'r'), AUDIT_EVENT_RESOURCE_TYPE, MAPPING, this.db.dialect, q, 'r.id');
      return listResponse(rows.map((row) => projection.apply(this.resource(row))), total, query.startIndex);
    });
  }

  private resource(row: AuditEventEntity): Doc {
    return { ...JSON.parse(row.data), id: row.id, meta: { resourceType: 'AuditEvent', created: row.timestamp, lastModified: row.timestamp, location: this.urls.resource('/AuditEvents', row.id) } };
  }
}
