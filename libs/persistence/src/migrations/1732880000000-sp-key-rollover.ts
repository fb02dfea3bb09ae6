import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SAML SP key rollover and certificate expiry notices.
 * - `saml_sp_keys`: what each SP key in `signing_keys` is for. One row per (key, use): `use` is signing or
 *   encryption, `status` next (published in our metadata, not used yet), active (signs AuthnRequests / the first
 *   key assertions are decrypted with) or previous (still decrypts what was encrypted to it; no longer published).
 *   A retired key has no row left, and its `signing_keys` row is deleted with it. At most one active and one next
 *   key per use (partial unique indexes). A database from before this migration has `saml-sp-1` for both uses: the
 *   server adopts it on first use.
 * - `saml_sp_key_set`: one row whose `version` every change of `saml_sp_keys` increments in the same transaction;
 *   each instance compares it with the key set it holds in memory, so that no instance keeps a retired key.
 * - `certificate_expiry_notices`: one row per (certificate holder, certificate, threshold) whose warning was given;
 *   its primary key is what makes exactly one instance audit and log each warning.
 */
export class SpKeyRollover1732880000000 implements MigrationInterface {
  name = 'SpKeyRollover1732880000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE saml_sp_keys (
        kid VARCHAR(64) NOT NULL REFERENCES signing_keys(kid) ON DELETE CASCADE,
        key_use VARCHAR(16) NOT NULL,
        status VARCHAR(16) NOT NULL,
        since VARCHAR(30) NOT NULL,
        PRIMARY KEY (kid, key_use)
      )`,
      `CREATE UNIQUE INDEX ux_saml_sp_keys_active ON saml_sp_keys (key_use) WHERE status = 'active'`,
      `CREATE UNIQUE INDEX ux_saml_sp_keys_next ON saml_sp_keys (key_use) WHERE status = 'next'`,
      `CREATE TABLE saml_sp_key_set (
        id INTEGER NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL
      )`,
      `INSERT INTO saml_sp_key_set (id, version) VALUES (1, 1)`,
      `CREATE TABLE certificate_expiry_notices (
        holder VARCHAR(100) NOT NULL,
        fingerprint VARCHAR(95) NOT NULL,
        threshold_days INTEGER NOT NULL,
        not_after VARCHAR(30) NOT NULL,
        notified VARCHAR(30) NOT NULL,
        PRIMARY KEY (holder, fingerprint, threshold_days)
      )`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE certificate_expiry_notices');
    await q.query('DROP TABLE saml_sp_key_set');
    await q.query('DROP TABLE saml_sp_keys');
  }
}
