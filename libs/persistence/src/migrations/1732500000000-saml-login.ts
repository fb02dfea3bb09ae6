import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What SAML sign-in shares between server instances: outstanding AuthnRequest ids (InResponseTo), the ids of
 * assertions already accepted (replay cache), and browser sessions. Times are ISO-8601 UTC strings like every
 * other timestamp column, so `expires_at < :now` compares correctly as text on both dialects.
 */
export class SamlLogin1732500000000 implements MigrationInterface {
  name = 'SamlLogin1732500000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE saml_request_ids (
        id VARCHAR(128) PRIMARY KEY,
        idp_id VARCHAR(32) NOT NULL,
        created VARCHAR(30) NOT NULL,
        expires_at VARCHAR(30) NOT NULL
      )`,
      `CREATE INDEX ix_saml_request_ids_expires ON saml_request_ids (expires_at)`,
      `CREATE TABLE saml_assertion_ids (
        idp_id VARCHAR(32) NOT NULL,
        assertion_id VARCHAR(256) NOT NULL,
        expires_at VARCHAR(30) NOT NULL,
        PRIMARY KEY (idp_id, assertion_id)
      )`,
      `CREATE INDEX ix_saml_assertion_ids_expires ON saml_assertion_ids (expires_at)`,
      `CREATE TABLE sessions (
        id VARCHAR(64) PRIMARY KEY,
        user_id VARCHAR(32) NOT NULL,
        idp_id VARCHAR(32),
        created VARCHAR(30) NOT NULL,
        expires_at VARCHAR(30) NOT NULL
      )`,
      `CREATE INDEX ix_sessions_user ON sessions (user_id)`,
      `CREATE INDEX ix_sessions_expires ON sessions (expires_at)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['sessions', 'saml_assertion_ids', 'saml_request_ids']) await q.query(`DROP TABLE ${t}`);
  }
}
