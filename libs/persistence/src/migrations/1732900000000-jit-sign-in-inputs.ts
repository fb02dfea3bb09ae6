import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The last verified sign-in inputs of each user per IdP, for the JIT change-impact report: only the assertion values
 * (or OpenID Connect claims) some mapping, group rule, lookup or gate of that IdP reads, as JSON. Gone with the user
 * or the IdP, and after the retention the IdP's JIT policy sets.
 */
export class JitSignInInputs1732900000000 implements MigrationInterface {
  name = 'JitSignInInputs1732900000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE jit_sign_in_inputs (
        idp_id VARCHAR(32) NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
        user_id VARCHAR(32) NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        inputs TEXT NOT NULL,
        updated VARCHAR(30) NOT NULL,
        PRIMARY KEY (idp_id, user_id)
      )`,
      `CREATE INDEX ix_jit_sign_in_inputs_updated ON jit_sign_in_inputs (idp_id, updated)`,
      `CREATE INDEX ix_jit_sign_in_inputs_user ON jit_sign_in_inputs (user_id)`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE jit_sign_in_inputs');
  }
}
