import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Binds each outstanding AuthnRequest to the browser that started it (login CSRF): `browser_binding` is the
 * SHA-256 of a random secret that only that browser holds, in an HttpOnly cookie set by initiatesso. The ACS
 * requires the cookie of the request a response answers. Rows written before this migration get '' (the column
 * must have a default to be added NOT NULL on SQLite), which no cookie hashes to: those few requests, at most
 * 15 minutes old, fail and their users start again.
 */
export class SamlRequestBinding1732860000000 implements MigrationInterface {
  name = 'SamlRequestBinding1732860000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE saml_request_ids ADD COLUMN browser_binding VARCHAR(64) NOT NULL DEFAULT ''`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE saml_request_ids DROP COLUMN browser_binding');
  }
}
