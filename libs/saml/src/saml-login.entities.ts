import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An AuthnRequest we sent and whose answer (InResponseTo) has not arrived yet. */
@Entity('saml_request_ids')
export class SamlRequestIdEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 }) id!: string;
  @Column({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
}

/** An assertion already accepted from an IdP: inserting it is how a sign-in claims it (replay cache). */
@Entity('saml_assertion_ids')
export class SamlAssertionIdEntity {
  @PrimaryColumn({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @PrimaryColumn({ name: 'assertion_id', type: 'varchar', length: 256 }) assertionId!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
}

/** A browser session; `id` is the SHA-256 of the cookie value, so a database dump does not yield live cookies. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  @Column({ name: 'idp_id', type: 'varchar', length: 32, nullable: true }) idpId!: string | null;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
}

export const SAML_ENTITIES = [SamlRequestIdEntity, SamlAssertionIdEntity, SessionEntity];
