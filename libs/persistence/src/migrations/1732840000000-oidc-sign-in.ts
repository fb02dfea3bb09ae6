import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * OpenID Connect sign-in (SOCIAL identity providers).
 * - `oidc_sign_in_flows`: one row per authorization request sent and not yet answered, keyed by its `state`.
 *   `browser_binding` is the S256 challenge of the PKCE verifier that only the browser which started the flow holds
 *   (in an HttpOnly cookie): a callback carried into another browser cannot present it. Deleted by the callback
 *   that consumes it (single use), or once expired.
 * - `federated_identities`: which local user an IdP's subject (`sub`) is, written by the sign-in that created or
 *   linked the user. One subject per user and IdP, one user per subject; gone with the user or the IdP.
 */
export class OidcSignIn1732840000000 implements MigrationInterface {
  name = 'OidcSignIn1732840000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE oidc_sign_in_flows (
        state VARCHAR(64) NOT NULL PRIMARY KEY,
        idp_id VARCHAR(32) NOT NULL,
        browser_binding VARCHAR(64) NOT NULL,
        nonce VARCHAR(64) NOT NULL,
        relay_state VARCHAR(2048),
        expires_at VARCHAR(30) NOT NULL
      )`,
      `CREATE INDEX ix_oidc_sign_in_flows_expires ON oidc_sign_in_flows (expires_at)`,
      `CREATE TABLE federated_identities (
        idp_id VARCHAR(32) NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
        subject VARCHAR(255) NOT NULL,
        user_id VARCHAR(32) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created VARCHAR(30) NOT NULL,
        PRIMARY KEY (idp_id, subject)
      )`,
      `CREATE UNIQUE INDEX ux_federated_identities_user ON federated_identities (idp_id, user_id)`,
      `CREATE INDEX ix_federated_identities_user ON federated_identities (user_id)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE federated_identities');
    await q.query('DROP TABLE oidc_sign_in_flows');
  }
}
