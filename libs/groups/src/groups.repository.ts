import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database, nowIso } from '@app/persistence';
import { ListQuery, RawListTable, ResolvedPath, runRawListQuery, SqlCollection, SqlExpr, SqlFragment, SqlMapping } from '@app/scim';
import { GROUP_RESOURCE_TYPE } from './group.schema';
import { GroupEntity, GroupMemberEntity } from './group.entity';

const COLUMNS: Record<string, SqlExpr> = {
  id: { expr: 'r.id' },
  displayName: { expr: 'r.display_name_lower', lowered: true },
  externalId: { expr: 'r.external_id' },
  'meta.created': { expr: 'r.created' },
  'meta.lastModified': { expr: 'r.last_modified' },
  // The ETag, W/"<version>", as meta.version shows it.
  'meta.version': { expr: `('W/"' || r.version || '"')` },
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

@Injectable()
export class GroupsRepository {
  constructor(private readonly db: Database) {}

  findById(m: EntityManager, id: string): Promise<GroupEntity | null> {
    return m.findOneBy(GroupEntity, { id });
  }

  /** One page of groups (what a SCIM response needs of each row) and the number of matches. */
  list(m: EntityManager, query: ListQuery): Promise<{ rows: GroupListRow[]; total: number }> {
    return runRawListQuery(this.db.sql(m), LIST_TABLE, GROUP_RESOURCE_TYPE, GROUP_SQL_MAPPING, this.db.dialect, query) as Promise<{ rows: GroupListRow[]; total: number }>;
  }

  insert(m: EntityManager, row: GroupEntity): Promise<unknown> {
    return m.insert(GroupEntity, row);
  }

  async updateIfVersion(m: EntityManager, row: GroupEntity, expectedVersion: number): Promise<boolean> {
    const { id, ...changes } = row;
    const r = await m.createQueryBuilder().update(GroupEntity).set(changes).where('id = :id AND version = :v', { id, v: expectedVersion }).execute();
    return !!r.affected;
  }

  async delete(m: EntityManager, id: string): Promise<void> {
    await m.delete(GroupEntity, { id });
  }

  /** Adds memberships; existing ones are left as they are (idempotent, no read of current members). */
  async addMembers(m: EntityManager, groupId: string, memberIds: string[]): Promise<void> {
    const created = nowIso();
    for (let i = 0; i < memberIds.length; i += 300) {
      const values = memberIds.slice(i, i + 300).map((memberId) => ({ groupId, memberId, created }));
      await m.createQueryBuilder().insert().into(GroupMemberEntity).values(values).orIgnore().execute();
    }
  }

  async removeMembers(m: EntityManager, groupId: string, memberIds: string[]): Promise<void> {
    for (let i = 0; i < memberIds.length; i += 500) {
      await m
        .createQueryBuilder()
        .delete()
        .from(GroupMemberEntity)
        .where('group_id = :groupId AND member_id IN (:...ids)', { groupId, ids: memberIds.slice(i, i + 500) })
        .execute();
    }
  }

  /** Removes the memberships matching a condition built over `membersCollection('gm', …)`. */
  async removeMembersWhere(m: EntityManager, groupId: string, condition: SqlFragment): Promise<void> {
    await m
      .createQueryBuilder()
      .delete()
      .from(GroupMemberEntity)
      .where(`group_id = :groupId AND member_id IN (SELECT gm.member_id FROM group_members gm WHERE gm.group_id = :groupId AND ${condition.sql})`, {
        ...condition.params,
        groupId,
      })
      .execute();
  }

  async removeAllMembers(m: EntityManager, groupId: string): Promise<void> {
    await m.delete(GroupMemberEntity, { groupId });
  }

  countMembers(m: EntityManager, groupId: string): Promise<number> {
    return m.count(GroupMemberEntity, { where: { groupId } });
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
