import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `emails[].verified` and `emails[].secondary` (IDCS, filterable there) get index columns beside `is_primary`, so
 * filters such as `emails[verified eq true]` use the index rows as `emails.primary` does. No backfill: until now
 * both attributes were refused, so no stored user has either.
 */
export class UserEmailFlags1732820000000 implements MigrationInterface {
  name = 'UserEmailFlags1732820000000';

  async up(q: QueryRunner): Promise<void> {
    const no = q.connection.options.type === 'postgres' ? 'false' : '0';
    await q.query(`ALTER TABLE user_attribute_values ADD COLUMN is_verified BOOLEAN NOT NULL DEFAULT ${no}`);
    await q.query(`ALTER TABLE user_attribute_values ADD COLUMN is_secondary BOOLEAN NOT NULL DEFAULT ${no}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE user_attribute_values DROP COLUMN is_secondary');
    await q.query('ALTER TABLE user_attribute_values DROP COLUMN is_verified');
  }
}
