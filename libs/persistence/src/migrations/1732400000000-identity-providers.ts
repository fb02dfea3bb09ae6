import { MigrationInterface, QueryRunner } from 'typeorm';

/** Identity providers, their attribute mappings, and the audit trail. */
export class IdentityProviders1732400000000 implements MigrationInterface {
  name = 'IdentityProviders1732400000000';

  async up(q: QueryRunner): Promise<void> {
    const pg = q.connection.options.type === 'postgres';
    const ci = pg ? 'VARCHAR(255) COLLATE "C"' : 'VARCHAR(255)';
    const statements = [
      `CREATE TABLE identity_providers (
        id VARCHAR(32) PRIMARY KEY,
        partner_name VARCHAR(255) NOT NULL,
        partner_name_lower ${ci} NOT NULL,
        partner_provider_id VARCHAR(1024),
        type VARCHAR(16) NOT NULL,
        enabled BOOLEAN NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        created VARCHAR(30) NOT NULL,
        last_modified VARCHAR(30) NOT NULL
      )`,
      `CREATE UNIQUE INDEX ux_idp_partner_name_lower ON identity_providers (partner_name_lower)`,
      // NULLs do not collide in a unique index on either dialect, so IdPs without an entity ID yet are fine.
      `CREATE UNIQUE INDEX ux_idp_partner_provider_id ON identity_providers (partner_provider_id)`,
      `CREATE TABLE mapped_attributes (
        id VARCHAR(32) PRIMARY KEY,
        ref_resource_type VARCHAR(64) NOT NULL,
        ref_resource_id VARCHAR(32) NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        created VARCHAR(30) NOT NULL,
        last_modified VARCHAR(30) NOT NULL
      )`,
      `CREATE UNIQUE INDEX ux_mapped_attributes_ref ON mapped_attributes (ref_resource_type, ref_resource_id)`,
      `CREATE TABLE audit_events (
        id VARCHAR(32) PRIMARY KEY,
        timestamp VARCHAR(30) NOT NULL,
        event_id VARCHAR(128) NOT NULL,
        outcome VARCHAR(16) NOT NULL,
        actor_id VARCHAR(255),
        resource_type VARCHAR(64),
        resource_id VARCHAR(64),
        correlation_id VARCHAR(128),
        data TEXT NOT NULL
      )`,
      `CREATE INDEX ix_audit_timestamp ON audit_events (timestamp)`,
      `CREATE INDEX ix_audit_resource ON audit_events (resource_id)`,
      `CREATE INDEX ix_audit_event_id ON audit_events (event_id, timestamp)`,
      `CREATE INDEX ix_audit_correlation ON audit_events (correlation_id)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['audit_events', 'mapped_attributes', 'identity_providers']) await q.query(`DROP TABLE ${t}`);
  }
}
