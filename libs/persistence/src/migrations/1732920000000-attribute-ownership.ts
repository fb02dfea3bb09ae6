import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Attribute ownership (issue 16):
 * - `user_attribute_sources`: per user and attribute path (libs/users attribute-sources.ts says which paths), the
 *   source that last set or cleared it: a JIT sign-in through an IdP (`jit`), a provisioning token's SCIM client
 *   (`scim`) or an admin client (`admin`). Kept outside `users.data`; gone with the user.
 * - `group_members.granted_by_idp`: the IdP whose JIT granted a membership; null for one an administrator or a SCIM
 *   client granted (and for memberships older than this column, whose origin is unknown). JIT removes only the
 *   memberships its own IdP granted.
 */
export class AttributeOwnership1732920000000 implements MigrationInterface {
  name = 'AttributeOwnership1732920000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE user_attribute_sources (
        user_id VARCHAR(32) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        attribute VARCHAR(512) NOT NULL,
        source_type VARCHAR(16) NOT NULL,
        source_id VARCHAR(128) NOT NULL,
        source_name VARCHAR(1024) NULL,
        updated VARCHAR(30) NOT NULL,
        PRIMARY KEY (user_id, attribute)
      )`,
      `ALTER TABLE group_members ADD COLUMN granted_by_idp VARCHAR(32) NULL`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE group_members DROP COLUMN granted_by_idp');
    await q.query('DROP TABLE user_attribute_sources');
  }
}
