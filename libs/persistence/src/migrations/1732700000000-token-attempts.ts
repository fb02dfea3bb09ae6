import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Brute-force limits of the token endpoint, shared by every instance on the database so that running more
 * instances does not multiply an attacker's budget. `token_attempt_counters` holds one row per (kind, subject):
 * kind is `client` (a client id, or a digest of an id we could never have issued) or `address` (a source address,
 * IPv6 grouped by /64). `token_known_sources` remembers where each client last authenticated, so that someone
 * else's guessing does not lock the legitimate client out. Times are epoch milliseconds (BIGINT), because the
 * limiter computes with them.
 */
export class TokenAttempts1732700000000 implements MigrationInterface {
  name = 'TokenAttempts1732700000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE token_attempt_counters (
        kind VARCHAR(16) NOT NULL,
        subject VARCHAR(160) NOT NULL,
        failures INTEGER NOT NULL,
        last_failure BIGINT NOT NULL,
        blocked_until BIGINT NOT NULL,
        PRIMARY KEY (kind, subject)
      )`,
      `CREATE INDEX ix_token_attempt_counters_last ON token_attempt_counters (last_failure)`,
      `CREATE TABLE token_known_sources (
        client_key VARCHAR(160) NOT NULL,
        address_key VARCHAR(64) NOT NULL,
        last_success BIGINT NOT NULL,
        PRIMARY KEY (client_key, address_key)
      )`,
      `CREATE INDEX ix_token_known_sources_last ON token_known_sources (last_success)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['token_known_sources', 'token_attempt_counters']) await q.query(`DROP TABLE ${t}`);
  }
}
