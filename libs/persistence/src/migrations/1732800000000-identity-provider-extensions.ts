import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * IdentityProvider attributes IDCS keeps unique (server), and the social extension's secret:
 * - `succinct_id` and `service_instance_identifier` (lower-cased: IDCS compares it ignoring case) get unique
 *   indexes, so that two instances cannot both accept the same value. NULLs do not collide on either dialect.
 * - `consumer_secret` holds the social extension's consumerSecret as a SecretBox envelope, outside `data`: it is
 *   write-only, so it must be neither returned, nor matched by a filter on the document.
 * Rows written before hold none of them (the API refused these attributes), so nothing is backfilled.
 */
export class IdentityProviderExtensions1732800000000 implements MigrationInterface {
  name = 'IdentityProviderExtensions1732800000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE identity_providers ADD COLUMN succinct_id VARCHAR(255)`,
      `ALTER TABLE identity_providers ADD COLUMN service_instance_identifier VARCHAR(255)`,
      `ALTER TABLE identity_providers ADD COLUMN consumer_secret TEXT`,
      `CREATE UNIQUE INDEX ux_idp_succinct_id ON identity_providers (succinct_id)`,
      `CREATE UNIQUE INDEX ux_idp_service_instance_identifier ON identity_providers (service_instance_identifier)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    const statements = [
      `DROP INDEX ux_idp_service_instance_identifier`,
      `DROP INDEX ux_idp_succinct_id`,
      `ALTER TABLE identity_providers DROP COLUMN consumer_secret`,
      `ALTER TABLE identity_providers DROP COLUMN service_instance_identifier`,
      `ALTER TABLE identity_providers DROP COLUMN succinct_id`,
    ];
    for (const s of statements) await q.query(s);
  }
}
