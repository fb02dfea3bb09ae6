import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clients, tokens, users, groups and memberships. Lower-cased copies of case-insensitive attributes
 * carry B-tree indexes so SCIM filters (eq, sw, ranges) and sorts use them; on PostgreSQL these columns
 * use the "C" collation so that prefix ranges follow code-point order, as on SQLite.
 */
export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const ci = pg ? 'VARCHAR(1024) COLLATE "C"' : 'VARCHAR(1024)';
    const bool = 'BOOLEAN';
    const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
    const statements = [
      `CREATE TABLE oauth_clients (
        id VARCHAR(32) PRIMARY KEY,
        client_id VARCHAR(128) NOT NULL UNIQUE,
        name VARCHAR(255) NOT NULL,
        secret_hash VARCHAR(255) NOT NULL,
        roles TEXT NOT NULL,
        created VARCHAR(30) NOT NULL,
        disabled ${bool} NOT NULL DEFAULT ${pg ? 'false' : '0'}
      )`,
      `CREATE TABLE provisioning_tokens (
        id VARCHAR(32) PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        token_hash VARCHAR(64) NOT NULL UNIQUE,
        roles TEXT NOT NULL,
        created VARCHAR(30) NOT NULL,
        created_by VARCHAR(128) NOT NULL,
        expires_at VARCHAR(30),
        revoked_at VARCHAR(30)
      )`,
      `CREATE TABLE signing_keys (
        kid VARCHAR(64) PRIMARY KEY,
        purpose VARCHAR(32) NOT NULL,
        secret TEXT NOT NULL,
        created VARCHAR(30) NOT NULL
      )`,
      `CREATE TABLE users (
        id VARCHAR(32) PRIMARY KEY,
        user_name VARCHAR(1024) NOT NULL,
        user_name_lower ${ci} NOT NULL,
        external_id VARCHAR(1024),
        display_name_lower ${ci},
        given_name_lower ${ci},
        family_name_lower ${ci},
        active ${bool} NOT NULL,
        password_hash VARCHAR(255),
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        created VARCHAR(30) NOT NULL,
        last_modified VARCHAR(30) NOT NULL
      )`,
      `CREATE UNIQUE INDEX ux_users_user_name_lower ON users (user_name_lower)`,
      `CREATE INDEX ix_users_external_id ON users (external_id)`,
      `CREATE INDEX ix_users_display_name_lower ON users (display_name_lower)`,
      `CREATE INDEX ix_users_given_name_lower ON users (given_name_lower)`,
      `CREATE INDEX ix_users_family_name_lower ON users (family_name_lower, id)`,
      `CREATE INDEX ix_users_created ON users (created)`,
      `CREATE INDEX ix_users_last_modified ON users (last_modified)`,
      `CREATE TABLE user_attribute_values (
        id ${serial},
        user_id VARCHAR(32) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        attribute VARCHAR(32) NOT NULL,
        value VARCHAR(1024),
        value_lower ${ci},
        type VARCHAR(64),
        is_primary ${bool} NOT NULL
      )`,
      `CREATE INDEX ix_uav_user ON user_attribute_values (user_id)`,
      `CREATE INDEX ix_uav_value ON user_attribute_values (attribute, value_lower)`,
      `CREATE TABLE groups (
        id VARCHAR(32) PRIMARY KEY,
        display_name VARCHAR(1024) NOT NULL,
        display_name_lower ${ci} NOT NULL,
        external_id VARCHAR(1024),
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        created VARCHAR(30) NOT NULL,
        last_modified VARCHAR(30) NOT NULL
      )`,
      `CREATE UNIQUE INDEX ux_groups_display_name_lower ON groups (display_name_lower)`,
      `CREATE INDEX ix_groups_external_id ON groups (external_id)`,
      `CREATE INDEX ix_groups_created ON groups (created)`,
      `CREATE TABLE group_members (
        group_id VARCHAR(32) NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        member_id VARCHAR(32) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created VARCHAR(30) NOT NULL,
        PRIMARY KEY (group_id, member_id)
      )`,
      `CREATE INDEX ix_group_members_member ON group_members (member_id)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['group_members', 'groups', 'user_attribute_values', 'users', 'signing_keys', 'provisioning_tokens', 'oauth_clients']) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
