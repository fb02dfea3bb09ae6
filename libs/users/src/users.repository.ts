import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { Database, nowIso } from '@app/persistence';
import { ListQuery, RawListTable, ResolvedPath, runRawListQuery, SqlCollection, SqlExpr, SqlMapping } from '@app/scim';
import { USER_RESOURCE_TYPE } from './user.schema';
import { UserAttributeValueEntity, UserEntity } from './user.entity';

const INDEXED_MULTI_VALUED = new Set(['emails', 'phoneNumbers']);

const COLUMNS: Record<string, SqlExpr> = {
  id: { expr: 'r.id' },
  userName: { expr: 'r.user_name_lower', lowered: true },
  externalId: { expr: 'r.external_id' },
  displayName: { expr: 'r.display_name_lower', lowered: true },
  'name.givenName': { expr: 'r.given_name_lower', lowered: true },
  'name.familyName': { expr: 'r.family_name_lower', lowered: true },
  active: { expr: 'r.active' },
  'meta.created': { expr: 'r.created' },
  'meta.lastModified': { expr: 'r.last_modified' },
  // The ETag, W/"<version>", as meta.version shows it.
  'meta.version': { expr: `('W/"' || r.version || '"')` },
};

/** The columns of a user that a list response is built from. */
export type UserListRow = Pick<UserEntity, 'id' | 'data' | 'version' | 'created' | 'lastModified'>;

const LIST_TABLE: RawListTable<keyof UserListRow> = {
  table: 'users',
  columns: { id: 'id', data: 'data', version: 'version', created: 'created', lastModified: 'last_modified' },
};

let aliasCounter = 0;

/** Where each User attribute lives in SQL: indexed columns, index rows, memberships, else the JSON document. */
export const USER_SQL_MAPPING: SqlMapping = {
  documentColumn: 'r.data',
  column: (p: ResolvedPath) => (p.extension ? undefined : COLUMNS[p.canonical]),
  collection: (p: ResolvedPath): SqlCollection | undefined => {
    const a = `v${aliasCounter++ % 1000}`;
    if (!p.extension && INDEXED_MULTI_VALUED.has(p.attribute.name)) {
      return {
        from: `user_attribute_values ${a}`,
        on: `${a}.user_id = r.id AND ${a}.attribute = '${p.attribute.name}'`,
        value: (sub) => {
          switch (sub?.name) {
            case 'value':
              return { expr: `${a}.value_lower`, lowered: true };
            case 'type':
              return { expr: `${a}.type`, lowered: true };
            case 'primary':
              return { expr: `${a}.is_primary` };
            default:
              return { expr: 'NULL' };
          }
        },
      };
    }
    if (!p.extension && p.attribute.name === 'groups') {
      return {
        from: `group_members ${a}`,
        on: `${a}.member_id = r.id`,
        value: (sub) => {
          switch (sub?.name) {
            case 'value':
              return { expr: `${a}.group_id` };
            case 'display':
              return { expr: `(SELECT g.display_name_lower FROM groups g WHERE g.id = ${a}.group_id)`, lowered: true };
            case 'type':
              return { expr: `'direct'`, lowered: true };
            default:
              return { expr: 'NULL' };
          }
        },
      };
    }
    return undefined;
  },
};

export interface GroupRef {
  value: string;
  display: string;
}

/** Queries over the users tables, in small named methods; transactions are the caller's. */
@Injectable()
export class UsersRepository {
  constructor(private readonly db: Database) {}

  findById(m: EntityManager, id: string): Promise<UserEntity | null> {
    return m.findOneBy(UserEntity, { id });
  }

  async passwordHashOf(m: EntityManager, id: string): Promise<string | null> {
    const row = await m.createQueryBuilder(UserEntity, 'r').select('r.passwordHash').addSelect('r.id').where('r.id = :id', { id }).getOne();
    return row?.passwordHash ?? null;
  }

  async existingIds(m: EntityManager, ids: string[]): Promise<Map<string, UserEntity>> {
    const out = new Map<string, UserEntity>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await m.find(UserEntity, { where: { id: In(ids.slice(i, i + 500)) }, select: ['id', 'userName', 'data'] });
      rows.forEach((r) => out.set(r.id, r));
    }
    return out;
  }

  /** One page of users (what a SCIM response needs of each row) and the number of matches. */
  list(m: EntityManager, query: ListQuery): Promise<{ rows: UserListRow[]; total: number }> {
    return runRawListQuery(this.db.sql(m), LIST_TABLE, USER_RESOURCE_TYPE, USER_SQL_MAPPING, this.db.dialect, query) as Promise<{ rows: UserListRow[]; total: number }>;
  }

  async insert(m: EntityManager, row: UserEntity, values: Omit<UserAttributeValueEntity, 'id' | 'userId'>[]): Promise<void> {
    await m.insert(UserEntity, row);
    if (values.length) await m.insert(UserAttributeValueEntity, values.map((v) => ({ ...v, userId: row.id })));
  }

  /** Writes a new version only if nobody else wrote since `expectedVersion` was read. */
  async updateIfVersion(
    m: EntityManager,
    row: UserEntity,
    expectedVersion: number,
    values: Omit<UserAttributeValueEntity, 'id' | 'userId'>[],
  ): Promise<boolean> {
    const { id, ...changes } = row;
    if (changes.passwordHash === undefined) delete (changes as Partial<UserEntity>).passwordHash;
    const result = await m.createQueryBuilder().update(UserEntity).set(changes).where('id = :id AND version = :v', { id, v: expectedVersion }).execute();
    if (!result.affected) return false;
    await m.delete(UserAttributeValueEntity, { userId: id });
    if (values.length) await m.insert(UserAttributeValueEntity, values.map((v) => ({ ...v, userId: id })));
    return true;
  }

  /** Deletes the user; its memberships go with it (ON DELETE CASCADE), and each group it left gets a new version. */
  async delete(m: EntityManager, id: string): Promise<boolean> {
    // Groups belong to a module that depends on this one, so the statement names the tables itself.
    const [sql, params] = m.connection.driver.escapeQueryWithParameters(
      'UPDATE groups SET version = version + 1, last_modified = :now WHERE id IN (SELECT group_id FROM group_members WHERE member_id = :id)',
      { now: nowIso(), id },
      {},
    );
    await m.query(sql, params);
    const result = await m.delete(UserEntity, { id });
    return !!result.affected;
  }

  /** Direct group memberships of the given users. */
  async groupsOf(m: EntityManager, userIds: string[]): Promise<Map<string, GroupRef[]>> {
    const out = new Map<string, GroupRef[]>();
    if (!userIds.length) return out;
    const rows: { member_id: string; group_id: string; display_name: string }[] = await m
      .createQueryBuilder()
      .select(['gm.member_id AS member_id', 'gm.group_id AS group_id', 'g.display_name AS display_name'])
      .from('group_members', 'gm')
      .innerJoin('groups', 'g', 'g.id = gm.group_id')
      .where('gm.member_id IN (:...ids)', { ids: userIds })
      .orderBy('g.display_name_lower')
      .getRawMany();
    for (const r of rows) {
      const list = out.get(r.member_id) ?? [];
      list.push({ value: r.group_id, display: r.display_name });
      out.set(r.member_id, list);
    }
    return out;
  }
}
