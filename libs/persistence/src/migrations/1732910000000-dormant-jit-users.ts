import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dormant JIT users (issue 16):
 * - `user_sign_ins`: each user's last successful sign-in (when, through which IdP), written in the sign-in's
 *   transaction. Kept outside `users.data` so that a sign-in gives the user no new version (an administrator's
 *   If-Match stays valid). Gone with the user; the IdP reference is cleared with the IdP.
 * - `dormant_user_deactivations`: users an IdP's dormant-user policy deactivated, when, and the version it left
 *   them at: the policy deletes a user only if it is still that version (nobody reactivated or changed it since).
 * - `job_leases`: one row per scheduled job that must run on one instance at a time; the instance whose conditional
 *   UPDATE moves `lease_until` from the past to the future runs it (libs/persistence job-leases.ts).
 */
export class DormantJitUsers1732910000000 implements MigrationInterface {
  name = 'DormantJitUsers1732910000000';

  async up(q: QueryRunner): Promise<void> {
    const statements = [
      `CREATE TABLE user_sign_ins (
        user_id VARCHAR(32) NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        idp_id VARCHAR(32) NULL REFERENCES identity_providers(id) ON DELETE SET NULL,
        last_sign_in_at VARCHAR(30) NOT NULL
      )`,
      `CREATE INDEX ix_user_sign_ins_idp ON user_sign_ins (idp_id)`,
      `CREATE TABLE dormant_user_deactivations (
        user_id VARCHAR(32) NOT NULL PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        idp_id VARCHAR(32) NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE,
        deactivated_at VARCHAR(30) NOT NULL,
        user_version INTEGER NOT NULL
      )`,
      `CREATE INDEX ix_dormant_user_deactivations_idp ON dormant_user_deactivations (idp_id, deactivated_at)`,
      `CREATE TABLE job_leases (
        job VARCHAR(64) NOT NULL PRIMARY KEY,
        lease_until VARCHAR(30) NOT NULL,
        holder VARCHAR(32) NOT NULL
      )`,
    ];
    for (const s of statements) await q.query(s);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['job_leases', 'dormant_user_deactivations', 'user_sign_ins']) await q.query(`DROP TABLE ${t}`);
  }
}
