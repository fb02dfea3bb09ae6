import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metadata refresh of identity providers (an extension beyond IDCS): one lease row per IdP that names a
 * metadataUrl. The instance whose conditional UPDATE moves `lease_until` from the past to the next due time reads
 * the IdP's metadata for that interval; `settings` is a digest of the refresh settings it was claimed under, so
 * that a change of them makes the IdP due at once. Gone with the IdP.
 */
export class IdpMetadataRefresh1732890000000 implements MigrationInterface {
  name = 'IdpMetadataRefresh1732890000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE idp_metadata_refresh (
      idp_id VARCHAR(32) NOT NULL PRIMARY KEY REFERENCES identity_providers(id) ON DELETE CASCADE,
      settings VARCHAR(64) NOT NULL,
      lease_until VARCHAR(30) NOT NULL,
      holder VARCHAR(32) NOT NULL
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE idp_metadata_refresh');
  }
}
