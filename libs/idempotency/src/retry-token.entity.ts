import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An `opc-retry-token` a principal used for a create, and the create's answer once it committed (migration 1732830000000). */
@Entity('retry_tokens')
export class RetryTokenEntity {
  /** The caller's scope: `client:<id>` or `provisioningToken:<id>`. */
  @PrimaryColumn({ type: 'varchar', length: 160 }) principal!: string;
  @PrimaryColumn({ type: 'varchar', length: 64 }) token!: string;
  /** SHA-256 (hex) of the method, URL and body the token was first used with. */
  @Column({ name: 'request_digest', type: 'varchar', length: 64 }) requestDigest!: string;
  /** The attempt that may write the answer: a retry that takes over an abandoned claim replaces it. */
  @Column({ type: 'varchar', length: 36 }) owner!: string;
  /** Epoch ms; PostgreSQL returns BIGINT as a string. */
  @Column({ name: 'lease_until', type: 'bigint' }) leaseUntil!: number | string;
  @Column({ name: 'expires_at', type: 'bigint' }) expiresAt!: number | string;
  /** The answer's HTTP status; null while the create runs. */
  @Column({ type: 'integer', nullable: true }) status!: number | null;
  /** The answer (KeptAnswer as JSON); null while the create runs. */
  @Column({ type: 'text', nullable: true }) response!: string | null;
  @Column({ name: 'response_bytes', type: 'integer' }) responseBytes!: number;
}
