import { Injectable } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { Database } from '@app/persistence';
import { ListQuery, RawListTable, ResolvedPath, runRawListQuery, SqlCollection, SqlExpr, SqlMapping, VERSIONED_COLUMNS, VersionedTable } from '@app/scim';
import { USER_RESOURCE_TYPE } from './user.schema';
import { UserAttributeValueEntity, UserEntity } from './user.entity';
import { UserIndexRow } from './user-row';
import { LAST_SUCCESSFUL_LOGIN_PATH } from './user-sign-ins';

const INDEXED_MULTI_VALUED = new Set(['emails', 'phoneNumbers']);

const COLUMNS: Record<string, SqlExpr> = {
  ...VERSIONED_COLUMNS,
  userName: { expr: 'r.user_name_lower', lowered: true },
  externalId: { expr: 'r.external_id' },
  displayName: { expr: 'r.display_name_lower', lowered: true },
  'name.givenName': { expr: 'r.given_name_lower', lowered: true },
  'name.familyName': { expr: 'r.family_name_lower', lowered: true },
  active: { expr: 'r.active' },
};

/** Extension attributes kept outside the document: the last sign-in (user_sign_ins, user-sign-ins.ts). */
const EXTENSION_COLUMNS: Record<string, SqlExpr> = {
  [LAST_SUCCESSFUL_LOGIN_PATH]: { expr: '(SELECT si.last_sign_in_at FROM user_sign_ins si WHERE si.user_id = r.id)' },
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
  column: (p: ResolvedPath) => (p.extension ? EXTENSION_COLUMNS[p.canonical] : COLUMNS[p.canonical]),
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
            case 'verified':
              return { expr: `${a}.is_verified` };
            case 'secondary':
              return { expr: `${a}.is_secondary` };
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

/** How JIT finds the user a sign-in designates (IDCS userMappingStoreAttribute). */
export type UserLookupAttribute = 'userName' | 'emails.value' | 'externalId';

/** Index rows per INSERT: 8 parameters each, well under SQLite's and PostgreSQL's bind-parameter limits. */
const INDEX_ROWS_PER_INSERT = 500;

/** Queries over the users tables, in small named methods; transactions are the caller's. */
@Injectable()
export class UsersRepository {
  /** Row-level statements of the users table, for the resource pipeline. */
  readonly table: VersionedTable<UserEntity>;

  constructor(private readonly db: Database) {
    this.table = new VersionedTable(UserEntity, () => db.dialect);
  }

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
      const rows = await m.find(UserEntity, { where: { id: In(ids.slice(i, i + 500)) }, select: ['id'] });
      rows.forEach((r) => out.set(r.id, r));
    }
    return out;
  }

  /**
   * Up to two users whose `attribute` equals `value` (ignoring case for userName and emails; a primary email
   * only): two mean the value is ambiguous.
   */
  findByLookup(m: EntityManager, attribute: UserLookupAttribute, value: string): Promise<UserEntity[]> {
    const qb = m.createQueryBuilder(UserEntity, 'r');
    switch (attribute) {
      case 'emails.value':
        qb.where(
          `EXISTS (SELECT 1 FROM user_attribute_values v WHERE v.user_id = r.id AND v.attribute = 'emails' AND v.is_primary = :yes AND v.value_lower = :value)`,
          { yes: true, value: value.toLowerCase() },
        );
        break;
      case 'externalId':
        qb.where('r.external_id = :value', { value });
        break;
      default:
        qb.where('r.user_name_lower = :value', { value: value.toLowerCase() });
    }
    return qb.limit(2).getMany();
  }

  /** One page of users (what a SCIM response needs of each row) and the number of matches. */
  list(m: EntityManager, query: ListQuery): Promise<{ rows: UserListRow[]; total: number }> {
    return runRawListQuery(this.db.sql(m), LIST_TABLE, USER_RESOURCE_TYPE, USER_SQL_MAPPING, this.db.dialect, query) as Promise<{ rows: UserListRow[]; total: number }>;
  }

  /** Replaces the index rows of a user, in batches that stay under each driver's bind-parameter limit. */
  async writeIndexRows(m: EntityManager, userId: string, rows: UserIndexRow[], isNew: boolean): Promise<void> {
    if (!isNew) await m.delete(UserAttributeValueEntity, { userId });
    for (let i = 0; i < rows.length; i += INDEX_ROWS_PER_INSERT) {
      // updateEntity(false): no read-back of the generated ids and defaulted flags, which nothing uses.
      await m
        .createQueryBuilder()
        .insert()
        .into(UserAttributeValueEntity)
        .values(rows.slice(i, i + INDEX_ROWS_PER_INSERT).map((v) => ({ ...v, userId })))
        .updateEntity(false)
        .execute();
    }
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
