import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SAML Single Logout (SAML 2.0 Profiles §4.4).
 * - `sessions` gains the NameID (value, Format, NameQualifier, SPNameQualifier) and SessionIndex of the assertion
 *   that started a SAML session: a LogoutRequest we send names them, and one an IdP sends designates sessions by
 *   them. Null for sessions started otherwise (OpenID Connect) or before this migration.
 * - `saml_logout_requests`: the LogoutRequests we sent and whose LogoutResponse has not arrived, so that its
 *   InResponseTo is accepted once, by whichever instance receives it.
 */
export class SessionLogout1732870000000 implements MigrationInterface {
  name = 'SessionLogout1732870000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `ALTER TABLE sessions ADD COLUMN name_id VARCHAR(1024)`,
      `ALTER TABLE sessions ADD COLUMN name_id_format VARCHAR(256)`,
      `ALTER TABLE sessions ADD COLUMN name_qualifier VARCHAR(1024)`,
      `ALTER TABLE sessions ADD COLUMN sp_name_qualifier VARCHAR(1024)`,
      `ALTER TABLE sessions ADD COLUMN session_index VARCHAR(256)`,
      `CREATE INDEX ix_sessions_idp_name_id ON sessions (idp_id, name_id)`,
      `CREATE TABLE saml_logout_requests (
        id VARCHAR(128) PRIMARY KEY,
        idp_id VARCHAR(32) NOT NULL,
        expires_at VARCHAR(30) NOT NULL
      )`,
      `CREATE INDEX ix_saml_logout_requests_expires ON saml_logout_requests (expires_at)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE saml_logout_requests');
    await q.query('DROP INDEX ix_sessions_idp_name_id');
    for (const c of ['session_index', 'sp_name_qualifier', 'name_qualifier', 'name_id_format', 'name_id']) await q.query(`ALTER TABLE sessions DROP COLUMN ${c}`);
  }
}
