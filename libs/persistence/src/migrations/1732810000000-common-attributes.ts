import { randomBytes } from 'node:crypto';
import { MigrationInterface, QueryRunner } from 'typeorm';

const RESOURCE_TABLES = ['users', 'groups', 'identity_providers', 'mapped_attributes'];

/**
 * IDCS common attributes (libs/scim/src/common-attributes.ts): who created and who last changed each resource
 * (idcsCreatedBy / idcsLastModifiedBy, JSON; NULL for resources written before, as nobody recorded it), and the
 * domain's OCID, made here once so that it is the same for every instance on the database and survives a change of
 * PUBLIC_URL.
 */
export class CommonAttributes1732810000000 implements MigrationInterface {
  name = 'CommonAttributes1732810000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of RESOURCE_TABLES) {
      await q.query(`ALTER TABLE ${t} ADD COLUMN created_by TEXT`);
      await q.query(`ALTER TABLE ${t} ADD COLUMN last_modified_by TEXT`);
    }
    await q.query(`CREATE TABLE identity_domain (ocid VARCHAR(255) PRIMARY KEY)`);
    await q.query(`INSERT INTO identity_domain (ocid) VALUES ('ocid1.domain.oc1..${randomBytes(16).toString('hex')}')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE identity_domain`);
    for (const t of RESOURCE_TABLES) {
      await q.query(`ALTER TABLE ${t} DROP COLUMN last_modified_by`);
      await q.query(`ALTER TABLE ${t} DROP COLUMN created_by`);
    }
  }
}
