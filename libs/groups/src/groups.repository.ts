import { Injectable } from '@nestjs/common';
import { EntityManager, In, IsNull, Not } from 'typeorm';
import { Database, nowIso } from '@app/persistence';
import { ListQuery, RawListTable, ResolvedPath, ResourceWriter, runRawListQuery, SqlCollection, SqlExpr, SqlFragment, SqlMapping, VERSIONED_COLUMNS, VersionedTable, writerColumn } from '@app/scim';
import { GROUP_RESOURCE_TYPE } from './group.schema';
import { GroupEntity, GroupMemberEntity } from './group.entity';

const COLUMNS: Record<string, SqlExpr> = {
  ...VERSIONED_COLUMNS,
  displayName: { expr: 'r.display_name_lower', lowered: true },
  externalId: { expr: 'r.external_id' },
};

let aliasCounter = 0;

/** Membership rows of a group (alias `m`), usable inside EXISTS or directly in a DELETE. */
export function membersCollection(alias: string, groupIdExpr: string): SqlCollection {
  return {
    from: `group_members ${alias}`,
    on: `${alias}.group_id = ${groupIdExpr}`,
    value: (sub) => {
      switch (sub?.name) {
        case 'value':
          return { expr: `${alias}.member_id` };
        case 'type':
          return { expr: `'user'`, lowered: true };
        case 'display':
          return { expr: `(SELECT COALESCE(u.display_name_lower, u.user_name_lower) FROM users u WHERE u.id = ${alias}.member_id)`, lowered: true };
        default:
          return { expr: 'NULL' };
      }
    },
  };
}

/** The columns of a group that a list response is built from. */
export type GroupListRow = Pick<GroupEntity, 'id' | 'displayName' | 'data' | 'version' | 'created' | 'lastModified'>;

const LIST_TABLE: RawListTable<keyof GroupListRow> = {
  table: 'groups',
  columns: { id: 'id', displayName: 'display_name', data: 'data', version: 'version', created: 'created', lastModified: 'last_modified' },
};

export const GROUP_SQL_MAPPING: SqlMapping = {
  documentColumn: 'r.data',
  column: (p: ResolvedPath) => (p.extension ? undefined : COLUMNS[p.canonical]),
  collection: (p: ResolvedPath) => (!p.extension && p.attribute.name === 'members' ? membersCollection(`gm${aliasCounter++ % 1000}`, 'r.id') : undefined),
};

export interface MemberRow {
  memberId: string;
  userName: string;
  data: string;
}

/** Rows per statement: a handful of parameters each, well under every driver's bind-parameter limit. */
const BATCH = 500;

/** A group as JIT needs it to map asserted group names and ids. */
export type GroupName = Pick<GroupEntity, 'id' | 'displayName' | 'displayNameLower'>;

/**
 * Queries over the groups tables; transactions are the caller's. Membership rows are written only through
 * GroupMemberships, which keeps the groups' versions right.
 */
@Injectable()
export class GroupsRepository {
  /** Row-level statements of the groups table, for the resource pipeline. */
  readonly table: VersionedTable<GroupEntity>;

  constructor(private readonly db: Database) {
    this.table = new VersionedTable(GroupEntity, () => db.dialect);
  }

  findById(m: EntityManager, id: string): Promise<GroupEntity | null> {
    return m.findOneBy(GroupEntity, { id });
  }

  /** Groups by id, with their names. */
  async namesByIds(m: EntityManager, ids: string[]): Promise<GroupName[]> {
    const out: GroupName[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      out.push(...(await m.find(GroupEntity, { where: { id: In(ids.slice(i, i + BATCH)) }, select: ['id', 'displayName', 'displayNameLower'] })));
    }
    return out;
  }

  /** Groups by displayName, ignoring case (names given lower-cased). */
  async namesByLowerNames(m: EntityManager, lowerNames: string[]): Promise<GroupName[]> {
    const out: GroupName[] = [];
    for (let i = 0; i < lowerNames.length; i += BATCH) {
      out.push(...(await m.find(GroupEntity, { where: { displayNameLower: In(lowerNames.slice(i, i + BATCH)) }, select: ['id', 'displayName', 'displayNameLower'] })));
    }
    return out;
  }

  /** One page of groups (what a SCIM response needs of each row) and the number of matches. */
  list(m: EntityManager, query: ListQuery): Promise<{ rows: GroupListRow[]; total: number }> {
    return runRawListQuery(this.db.sql(m), LIST_TABLE, GROUP_RESOURCE_TYPE, GROUP_SQL_MAPPING, this.db.dialect, query) as Promise<{ rows: GroupListRow[]; total: number }>;
  }

  /** Gives each group a new version, last modified `by` someone, for a membership change made outside the group's own write. */
  async bumpVersions(m: EntityManager, groupIds: string[], by: ResourceWriter | undefined): Promise<void> {
    const now = nowIso();
    const ids = [...new Set(groupIds)].sort();
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      // PostgreSQL locks the rows of one UPDATE in no set order: two sign-ins joining the same two groups could
      // each lock one and wait for the other (a deadlock, detected only after a second). Locking them in id order
      // first makes every writer queue in the same order; with the lock the UPDATE itself takes, which leaves
      // membership inserts (their foreign-key check) free.
      if (this.db.dialect === 'postgres') {
        await m.createQueryBuilder(GroupEntity, 'g').select('g.id').where({ id: In(batch) }).orderBy('g.id').setLock('for_no_key_update').getMany();
      }
      await m
        .createQueryBuilder()
        .update(GroupEntity)
        .set({ version: () => 'version + 1', lastModified: now, lastModifiedBy: writerColumn(by) })
        .where({ id: In(batch) })
        .execute();
    }
  }

  /** The groups a user is a direct member of. */
  async groupIdsOf(m: EntityManager, userId: string): Promise<string[]> {
    return (await m.find(GroupMemberEntity, { where: { memberId: userId }, select: ['groupId'] })).map((r) => r.groupId);
  }

  /** The direct memberships of a user, with the identity provider whose JIT granted each (null: not JIT). */
  membershipsOf(m: EntityManager, userId: string): Promise<Pick<GroupMemberEntity, 'groupId' | 'grantedByIdp'>[]> {
    return m.find(GroupMemberEntity, { where: { memberId: userId }, select: ['groupId', 'grantedByIdp'] });
  }

  /** The member ids of a group. */
  async memberIds(m: EntityManager, groupId: string): Promise<string[]> {
    return (await m.find(GroupMemberEntity, { where: { groupId }, select: ['memberId'] })).map((r) => r.memberId);
  }

  /** Inserts memberships (granted by an IdP's JIT, or by anyone else: null), skipping existing ones; returns how many were new. */
  async insertMembers(m: EntityManager, groupId: string, memberIds: string[], grantedByIdp: string | null = null): Promise<number> {
    const created = nowIso();
    let added = 0;
    for (let i = 0; i < memberIds.length; i += BATCH) {
      const values = memberIds.slice(i, i + BATCH).map((memberId) => ({ groupId, memberId, created, grantedByIdp }));
      const [sql, params] = m.createQueryBuilder().insert().into(GroupMemberEntity).values(values).orIgnore().getQueryAndParameters();
      added += await this.affected(m, sql, params);
    }
    return added;
  }

  /** Deletes the given memberships of a group; returns how many there were. */
  async deleteMembers(m: EntityManager, groupId: string, memberIds: string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < memberIds.length; i += BATCH) {
      const r = await m.createQueryBuilder().delete().from(GroupMemberEntity).where({ groupId, memberId: In(memberIds.slice(i, i + BATCH)) }).execute();
      removed += r.affected ?? 0;
    }
    return removed;
  }

  /** Makes existing memberships granted by JIT memberships of whoever writes now (an administrator, a SCIM client); returns how many. */
  async clearJitGrants(m: EntityManager, groupId: string, memberIds: string[]): Promise<number> {
    let cleared = 0;
    for (let i = 0; i < memberIds.length; i += BATCH) {
      const r = await m
        .createQueryBuilder()
        .update(GroupMemberEntity)
        .set({ grantedByIdp: null })
        .where({ groupId, memberId: In(memberIds.slice(i, i + BATCH)), grantedByIdp: Not(IsNull()) })
        .execute();
      cleared += r.affected ?? 0;
    }
    return cleared;
  }

  /** Deletes the memberships matching a condition built over `membersCollection('gm', …)`; returns how many. */
  async deleteMembersWhere(m: EntityManager, groupId: string, condition: SqlFragment): Promise<number> {
    const r = await m
      .createQueryBuilder()
      .delete()
      .from(GroupMemberEntity)
      .where(`group_id = :groupId AND member_id IN (SELECT gm.member_id FROM group_members gm WHERE gm.group_id = :groupId AND ${condition.sql})`, {
        ...condition.params,
        groupId,
      })
      .execute();
    return r.affected ?? 0;
  }

  /** Deletes all memberships of a user; returns the groups they were in. */
  async deleteMembershipsOf(m: EntityManager, userId: string): Promise<string[]> {
    const groupIds = await this.groupIdsOf(m, userId);
    if (groupIds.length) await m.delete(GroupMemberEntity, { memberId: userId });
    return groupIds;
  }

  countMembers(m: EntityManager, groupId: string): Promise<number> {
    return m.count(GroupMemberEntity, { where: { groupId } });
  }

  /** The number of rows an INSERT wrote (TypeORM reports it for UPDATE and DELETE only). */
  private async affected(m: EntityManager, sql: string, params: unknown[]): Promise<number> {
    if (!m.queryRunner) throw new Error('membership writes run in a transaction');
    const r = await m.queryRunner.query(sql, params, true);
    return r.affected ?? 0;
  }

  /** One page of members with what is needed to display them. */
  async members(m: EntityManager, groupId: string, offset: number, limit: number): Promise<MemberRow[]> {
    const rows: { member_id: string; user_name: string; data: string }[] = await m
      .createQueryBuilder()
      .select(['gm.member_id AS member_id', 'u.user_name AS user_name', 'u.data AS data'])
      .from('group_members', 'gm')
      .innerJoin('users', 'u', 'u.id = gm.member_id')
      .where('gm.group_id = :groupId', { groupId })
      .orderBy('gm.created', 'ASC')
      .addOrderBy('gm.member_id', 'ASC')
      .offset(offset)
      .limit(limit)
      .getRawMany();
    return rows.map((r) => ({ memberId: r.member_id, userName: r.user_name, data: r.data }));
  }
}
