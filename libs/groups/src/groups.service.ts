import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Actor } from '@app/audit';
import { Database } from '@app/persistence';
import {
  applyPatch,
  Doc,
  fitColumn,
  FilterTranslator,
  ListQuery,
  normalizeResource,
  ParsedPatchOp,
  parsePatchRequest,
  ProjectionRequest,
  PublicUrl,
  ResourcePipeline,
  ResourceResult,
  retainUnsentImmutable,
  ScimError,
  syncSchemas,
  writerOf,
} from '@app/scim';
import { GroupEntity } from './group.entity';
import { GROUP_RESOURCE_TYPE, ORACLE_GROUP_SCHEMA_ID } from './group.schema';
import { GroupMemberships } from './group-memberships';
import { GroupReferences } from './group-references';
import { GroupsRepository, membersCollection } from './groups.repository';

const rt = GROUP_RESOURCE_TYPE;
/** IDCS returns at most this many members in one response; larger groups must page their members. */
export const MAX_MEMBERS_PER_RESPONSE = 10_000;

export type GroupResult = ResourceResult;

interface MemberPaging {
  startIndex: number;
  count: number;
}

/** `attributes=members[startIndex=1&count=100]` pages the members of a group (IDCS). */
function memberPaging(request: ProjectionRequest): MemberPaging | undefined {
  for (const a of request.attributes ?? []) {
    const m = /^members\[(.*)\]$/i.exec(a.trim());
    if (!m) continue;
    const params = new URLSearchParams(m[1]);
    const startIndex = Number(params.get('startIndex') ?? '1');
    const count = Number(params.get('count') ?? String(MAX_MEMBERS_PER_RESPONSE));
    if (!Number.isInteger(startIndex) || !Number.isInteger(count) || startIndex < 1 || count < 0 || count > MAX_MEMBERS_PER_RESPONSE) {
      throw ScimError.badRequest('invalidValue', `In "${a}", startIndex must be ≥ 1 and count between 0 and ${MAX_MEMBERS_PER_RESPONSE}`);
    }
    return { startIndex, count };
  }
  return undefined;
}

function memberIdsOf(value: unknown, where: string): string[] {
  const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
  return items.map((item, i) => {
    const v = item && typeof item === 'object' ? (item as Doc).value : undefined;
    if (typeof v !== 'string' || !v) throw ScimError.badRequest('invalidValue', `${where}[${i}] needs a "value" holding a user id`);
    const type = (item as Doc).type;
    if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'user')) {
      throw ScimError.badRequest('invalidValue', `${where}[${i}].type must be "User" (only users can be members)`);
    }
    return v;
  });
}

/** The row (indexed columns + JSON document, without members) of a group representation. */
function groupRow(id: string, doc: Doc, version: number, created: string, lastModified: string): GroupEntity {
  // The VARCHAR(1024) columns of the groups table (initial-schema migration).
  const displayName = fitColumn(doc.displayName as string, 1024, 'displayName')!;
  return {
    id,
    displayName,
    displayNameLower: fitColumn(displayName.toLowerCase(), 1024, 'displayName')!,
    externalId: fitColumn(typeof doc.externalId === 'string' ? doc.externalId : null, 1024, 'externalId'),
    data: JSON.stringify(doc),
    version,
    created,
    lastModified,
  };
}

/** Rules of the Group resource. Memberships are changed row by row, never by rewriting the member list. */
@Injectable()
export class GroupsService {
  private readonly pipeline: ResourcePipeline<GroupEntity>;

  constructor(
    private readonly db: Database,
    private readonly groups: GroupsRepository,
    private readonly memberships: GroupMemberships,
    private readonly references: GroupReferences,
    private readonly urls: PublicUrl,
  ) {
    this.pipeline = new ResourcePipeline(db, urls, {
      rt,
      noun: 'group',
      table: groups.table,
      toRow: groupRow,
      list: (m, query) => groups.list(m, query) as Promise<{ rows: GroupEntity[]; total: number }>,
      conflict: (_e, doc) => {
        const name = typeof doc?.displayName === 'string' ? ` "${doc.displayName}"` : '';
        return ScimError.conflict(`A group with displayName${name} already exists (group names are unique, ignoring case)`);
      },
      render: (m, row, doc, request, projection) => (projection.includes('members') ? this.withMembers(m, row, doc, request) : doc),
    });
  }

  create(body: unknown, request: ProjectionRequest, actor: Actor): Promise<GroupResult> {
    const doc = normalizeResource(rt, body);
    const members = memberIdsOf(doc.members, 'members');
    delete doc.members;
    const ext = (doc[ORACLE_GROUP_SCHEMA_ID] as Doc | undefined) ?? {};
    if (!ext.creationMechanism) ext.creationMechanism = 'api';
    doc[ORACLE_GROUP_SCHEMA_ID] = ext;
    syncSchemas(rt, doc);
    return this.pipeline.create(doc, request, { beside: (m, row) => this.memberships.add(m, row.id, members, 'members').then(() => undefined), by: writerOf(actor) });
  }

  get(id: string, request: ProjectionRequest): Promise<GroupResult> {
    return this.pipeline.get(id, request);
  }

  list(query: ListQuery): Promise<Doc> {
    return this.pipeline.list(query);
  }

  replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<GroupResult> {
    const incoming = normalizeResource(rt, body);
    // PUT replaces the whole resource (RFC 7644 §3.5.1): the member list becomes exactly the one sent.
    const members = memberIdsOf(incoming.members, 'members');
    delete incoming.members;
    return this.pipeline.mutate(id, ifMatch, request, (_m, old) => {
      const doc = structuredClone(incoming);
      // A PUT that leaves out an immutable value (creationMechanism, returned only on request) keeps it.
      retainUnsentImmutable(rt, old, doc);
      return { doc, beside: (m) => this.memberships.set(m, id, members, 'members') };
    }, undefined, writerOf(actor));
  }

  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<GroupResult> {
    const ops = parsePatchRequest(rt, body);
    const memberOps = ops.filter((o) => o.path.attribute.name === 'members');
    const others = ops.filter((o) => o.path.attribute.name !== 'members');
    return this.pipeline.mutate(id, ifMatch, request, (_m, old) => ({
      doc: others.length ? normalizeResource(rt, applyPatch(old, others)) : old,
      beside: memberOps.length
        ? async (m) => {
            let changed = false;
            for (const op of memberOps) changed = (await this.applyMemberOp(m, id, op)) || changed;
            return changed;
          }
        : undefined,
    }), undefined, writerOf(actor));
  }

  /**
   * Deletes a group; a group still referenced elsewhere is kept (409) unless `force` also removes the references,
   * which each holder does only if `actor` may change what holds them (else 403, and nothing is deleted).
   */
  delete(id: string, ifMatch: string | undefined, actor: Actor, force = false): Promise<void> {
    return this.pipeline.delete(id, ifMatch, {
      before: async (m, row) => {
        const refs = await this.references.referencesTo(m, id);
        if (refs.length && !force) {
          throw new ScimError(409, `Group "${row.displayName}" is referenced by ${refs.join('; ')}. Remove those references, or delete with forceDelete=true to remove them too`);
        }
        if (refs.length) await this.references.removeReferencesTo(m, id, actor);
      },
    });
  }

  /** Applies one PATCH operation on `members`; returns whether it changed the memberships. */
  private async applyMemberOp(m: EntityManager, groupId: string, op: ParsedPatchOp): Promise<boolean> {
    if (op.path.subAttribute) {
      throw ScimError.badRequest('invalidPath', `"${op.rawPath}": change memberships by adding or removing members, not by editing their sub-attributes`);
    }
    if (op.valueFilter) {
      // A filter selects existing memberships, whose values cannot change, so an add has nothing to do there;
      // it must not fall through to the removal below.
      if (op.op === 'add') {
        throw ScimError.badRequest('invalidPath', `"${op.rawPath}": add members with path "members" and the members in "value"`);
      }
      const coll = membersCollection('gm', 'gm.group_id');
      const condition = new FilterTranslator(rt, { documentColumn: 'NULL' }, this.db.dialect, 'mf').translateWithin(op.path, coll, op.valueFilter);
      const removed = await this.memberships.removeWhere(m, groupId, condition);
      const added = op.op === 'replace' ? await this.memberships.add(m, groupId, memberIdsOf(op.value, op.rawPath), op.rawPath) : false;
      return removed || added;
    }
    switch (op.op) {
      case 'add':
        return this.memberships.add(m, groupId, memberIdsOf(op.value, 'members'), 'members');
      case 'replace':
        return this.memberships.set(m, groupId, memberIdsOf(op.value, 'members'), 'members');
      case 'remove':
        if (op.value === undefined || op.value === null) return this.memberships.set(m, groupId, [], 'members');
        // Entra ID removes members as {"op":"Remove","path":"members","value":[{"value":"<id>"}]}.
        return this.memberships.remove(m, groupId, memberIdsOf(op.value, 'members'));
    }
  }

  private async withMembers(m: EntityManager, row: GroupEntity, doc: Doc, request: ProjectionRequest): Promise<Doc> {
    const paging = memberPaging(request);
    if (!paging && (await this.groups.countMembers(m, row.id)) > MAX_MEMBERS_PER_RESPONSE) {
      throw ScimError.badRequest(
        'tooMany',
        `Group "${row.displayName}" has more than ${MAX_MEMBERS_PER_RESPONSE} members; page them with attributes=members[startIndex=1%26count=1000]`,
      );
    }
    const start = paging?.startIndex ?? 1;
    const rows = await this.groups.members(m, row.id, start - 1, paging?.count ?? MAX_MEMBERS_PER_RESPONSE);
    const members = rows.map((r) => {
      const user = JSON.parse(r.data) as Doc;
      return { value: r.memberId, type: 'User', $ref: this.urls.resource('/Users', r.memberId), display: (user.displayName as string) ?? r.userName };
    });
    return { ...doc, members };
  }
}
