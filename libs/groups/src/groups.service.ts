import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database, isUniqueViolation, newId, nowIso } from '@app/persistence';
import {
  applyPatch,
  checkIfMatch,
  checkImmutable,
  checkRequired,
  Doc,
  etagFor,
  fitColumn,
  FilterTranslator,
  ListQuery,
  listResponse,
  normalizeResource,
  ParsedPatchOp,
  parsePatchRequest,
  Projection,
  ProjectionRequest,
  PublicUrl,
  ScimError,
} from '@app/scim';
import { UsersRepository } from '@app/users';
import { GroupEntity } from './group.entity';
import { GROUP_RESOURCE_TYPE, ORACLE_GROUP_SCHEMA_ID } from './group.schema';
import { GroupReferences } from './group-references';
import { GroupListRow, GroupsRepository, membersCollection } from './groups.repository';

const rt = GROUP_RESOURCE_TYPE;
/** IDCS returns at most this many members in one response; larger groups must page their members. */
export const MAX_MEMBERS_PER_RESPONSE = 10_000;

export interface GroupResult {
  body: Doc;
  version: number;
  location: string;
}

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

/** Rules of the Group resource. Memberships are changed row by row, never by rewriting the member list. */
@Injectable()
export class GroupsService {
  constructor(
    private readonly db: Database,
    private readonly groups: GroupsRepository,
    private readonly users: UsersRepository,
    private readonly urls: PublicUrl,
    private readonly references: GroupReferences,
  ) {}

  async create(body: unknown, request: ProjectionRequest): Promise<GroupResult> {
    const projection = new Projection(rt, request);
    const doc = normalizeResource(rt, body);
    const members = memberIdsOf(doc.members, 'members');
    delete doc.members;
    const ext = (doc[ORACLE_GROUP_SCHEMA_ID] as Doc | undefined) ?? {};
    if (!ext.creationMechanism) ext.creationMechanism = 'api';
    doc[ORACLE_GROUP_SCHEMA_ID] = ext;
    if (!(doc.schemas as string[]).includes(ORACLE_GROUP_SCHEMA_ID)) (doc.schemas as string[]).push(ORACLE_GROUP_SCHEMA_ID);
    checkRequired(rt, doc);
    const now = nowIso();
    const row = this.toRow(newId(), doc, 1, now, now);
    try {
      return await this.db.transaction(async (m) => {
        await this.groups.insert(m, row);
        await this.addMembers(m, row.id, members, 'members');
        return this.result(m, row, doc, projection, request);
      });
    } catch (e) {
      throw this.uniqueness(e, doc);
    }
  }

  get(id: string, request: ProjectionRequest): Promise<GroupResult> {
    const projection = new Projection(rt, request);
    return this.db.read(async (m) => {
      const row = await this.requireRow(m, id);
      return this.result(m, row, JSON.parse(row.data), projection, request);
    });
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(rt, query);
    return this.db.read(async (m) => {
      const { rows, total } = await this.groups.list(m, query);
      const resources: Doc[] = [];
      for (const r of rows) resources.push((await this.result(m, r, JSON.parse(r.data), projection, query)).body);
      return listResponse(resources, total, query.startIndex);
    });
  }

  async replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest): Promise<GroupResult> {
    const incoming = normalizeResource(rt, body);
    // PUT replaces the whole resource (RFC 7644 §3.5.1): the member list becomes exactly the one sent.
    const members = memberIdsOf(incoming.members, 'members');
    delete incoming.members;
    return this.mutate(id, ifMatch, request, async (m, old) => {
      const doc = structuredClone(incoming);
      const oldExt = old[ORACLE_GROUP_SCHEMA_ID] as Doc | undefined;
      if (oldExt?.creationMechanism) {
        doc[ORACLE_GROUP_SCHEMA_ID] = { ...((doc[ORACLE_GROUP_SCHEMA_ID] as Doc) ?? {}), creationMechanism: oldExt.creationMechanism };
        if (!(doc.schemas as string[]).includes(ORACLE_GROUP_SCHEMA_ID)) (doc.schemas as string[]).push(ORACLE_GROUP_SCHEMA_ID);
      }
      await this.groups.removeAllMembers(m, id);
      await this.addMembers(m, id, members, 'members');
      return { doc, membersChanged: true };
    });
  }

  async patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest): Promise<GroupResult> {
    const ops = parsePatchRequest(rt, body);
    const memberOps = ops.filter((o) => o.path.attribute.name === 'members');
    const others = ops.filter((o) => o.path.attribute.name !== 'members');
    return this.mutate(id, ifMatch, request, async (m, old) => {
      const doc = others.length ? normalizeResource(rt, applyPatch(old, others)) : old;
      for (const op of memberOps) await this.applyMemberOp(m, id, op);
      return { doc, membersChanged: memberOps.length > 0 };
    });
  }

  /** Deletes a group; a group still referenced elsewhere is kept (409) unless `force` also removes the references. */
  async delete(id: string, ifMatch: string | undefined, force = false): Promise<void> {
    await this.db.transaction(async (m) => {
      const row = await this.requireRow(m, id);
      checkIfMatch(ifMatch, row.version);
      const refs = await this.references.referencesTo(m, id);
      if (refs.length && !force) {
        throw new ScimError(409, `Group "${row.displayName}" is referenced by ${refs.join('; ')}. Remove those references, or delete with forceDelete=true to remove them too`);
      }
      if (refs.length) await this.references.removeReferencesTo(m, id);
      await this.groups.delete(m, id);
    });
  }

  private async applyMemberOp(m: EntityManager, groupId: string, op: ParsedPatchOp): Promise<void> {
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
      await this.groups.removeMembersWhere(m, groupId, condition);
      if (op.op === 'replace') await this.addMembers(m, groupId, memberIdsOf(op.value, op.rawPath), op.rawPath);
      return;
    }
    switch (op.op) {
      case 'add':
        return this.addMembers(m, groupId, memberIdsOf(op.value, 'members'), 'members');
      case 'replace':
        await this.groups.removeAllMembers(m, groupId);
        return this.addMembers(m, groupId, memberIdsOf(op.value, 'members'), 'members');
      case 'remove':
        if (op.value === undefined || op.value === null) return this.groups.removeAllMembers(m, groupId);
        // Entra ID removes members as {"op":"Remove","path":"members","value":[{"value":"<id>"}]}.
        return this.groups.removeMembers(m, groupId, memberIdsOf(op.value, 'members'));
    }
  }

  private async addMembers(m: EntityManager, groupId: string, ids: string[], where: string): Promise<void> {
    if (!ids.length) return;
    const unique = [...new Set(ids)];
    const found = await this.users.existingIds(m, unique);
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) {
      throw ScimError.badRequest(
        'invalidValue',
        `${where}: no user with id ${missing.slice(0, 5).map((x) => `"${x}"`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        'error.common.validation.invalidReferenceResource',
      );
    }
    await this.groups.addMembers(m, groupId, unique);
  }

  private async mutate(
    id: string,
    ifMatch: string | undefined,
    request: ProjectionRequest,
    change: (m: EntityManager, old: Doc) => Promise<{ doc: Doc; membersChanged: boolean }>,
  ): Promise<GroupResult> {
    const projection = new Projection(rt, request);
    try {
      return await this.db.transactionRetryingConflicts(async (m) => {
        const current = await this.requireRow(m, id);
        checkIfMatch(ifMatch, current.version);
        const old = JSON.parse(current.data) as Doc;
        const { doc, membersChanged } = await change(m, old);
        checkRequired(rt, doc);
        checkImmutable(rt, old, doc);
        if (!membersChanged && JSON.stringify(doc) === current.data) return this.result(m, current, old, projection, request);
        const row = this.toRow(id, doc, current.version + 1, current.created, nowIso());
        if (!(await this.groups.updateIfVersion(m, row, current.version))) return undefined;
        return this.result(m, row, doc, projection, request);
      }, () => new ScimError(409, 'The group is being changed by other requests right now; retry'));
    } catch (e) {
      throw this.uniqueness(e, {});
    }
  }

  private uniqueness(e: unknown, doc: Doc): unknown {
    if (!isUniqueViolation(e)) return e;
    const name = typeof doc.displayName === 'string' ? ` "${doc.displayName}"` : '';
    return ScimError.conflict(`A group with displayName${name} already exists (group names are unique, ignoring case)`);
  }

  private toRow(id: string, doc: Doc, version: number, created: string, lastModified: string): GroupEntity {
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

  private async requireRow(m: EntityManager, id: string): Promise<GroupEntity> {
    const row = await this.groups.findById(m, id);
    if (!row) throw ScimError.notFound(`No group with id "${id}"`);
    return row;
  }

  private async result(m: EntityManager, row: GroupListRow, doc: Doc, projection: Projection, request: ProjectionRequest): Promise<GroupResult> {
    const location = this.urls.resource(rt.endpoint, row.id);
    const full: Doc = {
      ...doc,
      id: row.id,
      meta: { resourceType: rt.name, created: row.created, lastModified: row.lastModified, location, version: etagFor(row.version) },
    };
    if (projection.includes('members')) {
      const paging = memberPaging(request);
      if (!paging && (await this.groups.countMembers(m, row.id)) > MAX_MEMBERS_PER_RESPONSE) {
        throw ScimError.badRequest(
          'tooMany',
          `Group "${row.displayName}" has more than ${MAX_MEMBERS_PER_RESPONSE} members; page them with attributes=members[startIndex=1%26count=1000]`,
        );
      }
      const start = paging?.startIndex ?? 1;
      const rows = await this.groups.members(m, row.id, start - 1, paging?.count ?? MAX_MEMBERS_PER_RESPONSE);
      full.members = rows.map((r) => {
        const user = JSON.parse(r.data) as Doc;
        return { value: r.memberId, type: 'User', $ref: this.urls.resource('/Users', r.memberId), display: (user.displayName as string) ?? r.userName };
      });
    }
    return { body: projection.apply(full), version: row.version, location };
  }
}
