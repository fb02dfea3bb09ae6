import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `opc-retry-token`s of creates, shared by every instance on the database so that a retry that reaches another
 * instance still gets the first answer. One row per (principal, token): the caller's scope (`client:<id>` or
 * `provisioningToken:<id>`) and the token. `request_digest` is the SHA-256 of the request the token was first used
 * for. While the create runs, `owner` (the attempt holding the token) and `lease_until` say who may write the answer;
 * once it committed, `status` and `response` hold the answer (written in the create's own transaction) and
 * `response_bytes` its size, which the per-principal budget counts. Times are epoch milliseconds (BIGINT).
 */
export class RetryTokens1732830000000 implements MigrationInterface {
  name = 'RetryTokens1732830000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE retry_tokens (
        principal VARCHAR(160) NOT NULL,
        token VARCHAR(64) NOT NULL,
        request_digest VARCHAR(64) NOT NULL,
        owner VARCHAR(36) NOT NULL,
        lease_until BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        status INTEGER,
        response TEXT,
        response_bytes INTEGER NOT NULL,
        PRIMARY KEY (principal, token)
      )`,
      `CREATE INDEX ix_retry_tokens_expires ON retry_tokens (expires_at)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE retry_tokens');
  }
}
