import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('oauth_clients')
export class OAuthClientEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'client_id', type: 'varchar', length: 128 }) clientId!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ name: 'secret_hash', type: 'varchar', length: 255 }) secretHash!: string;
  @Column({ type: 'simple-json' }) roles!: string[];
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ type: 'boolean', default: false }) disabled!: boolean;
}

@Entity('provisioning_tokens')
export class ProvisioningTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ name: 'token_hash', type: 'varchar', length: 64 }) tokenHash!: string;
  @Column({ type: 'simple-json' }) roles!: string[];
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'created_by', type: 'varchar', length: 128 }) createdBy!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30, nullable: true }) expiresAt!: string | null;
  @Column({ name: 'revoked_at', type: 'varchar', length: 30, nullable: true }) revokedAt!: string | null;
}

@Entity('signing_keys')
export class SigningKeyEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) kid!: string;
  @Column({ type: 'varchar', length: 32 }) purpose!: string;
  /** Encrypted at rest: a SecretBox envelope sealed with `signingKeySecretContext(kid)`, never the key itself. */
  @Column({ type: 'text' }) secret!: string;
  @Column({ type: 'varchar', length: 30 }) created!: string;
}

/** What a `signing_keys.secret` is bound to when sealed: its row, so that a secret moved to another row does not open. */
export function signingKeySecretContext(kid: string): string {
  return `signing_keys/${kid}`;
}

export const AUTH_ENTITIES = [OAuthClientEntity, ProvisioningTokenEntity, SigningKeyEntity];
