import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An AuthnRequest we sent and whose answer (InResponseTo) has not arrived yet. */
@Entity('saml_request_ids')
export class SamlRequestIdEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 }) id!: string;
  @Column({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
  /** SHA-256 (base64url) of the secret in the HttpOnly cookie of the browser that started the request. */
  @Column({ name: 'browser_binding', type: 'varchar', length: 64 }) browserBinding!: string;
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
  /** The SAML subject and session at the IdP (single logout names them); null for sessions started otherwise. */
  @Column({ name: 'name_id', type: 'varchar', length: 1024, nullable: true }) nameId!: string | null;
  @Column({ name: 'name_id_format', type: 'varchar', length: 256, nullable: true }) nameIdFormat!: string | null;
  @Column({ name: 'name_qualifier', type: 'varchar', length: 1024, nullable: true }) nameQualifier!: string | null;
  @Column({ name: 'sp_name_qualifier', type: 'varchar', length: 1024, nullable: true }) spNameQualifier!: string | null;
  @Column({ name: 'session_index', type: 'varchar', length: 256, nullable: true }) sessionIndex!: string | null;
}

/** A LogoutRequest we sent whose LogoutResponse has not arrived yet (its id is the InResponseTo we accept, once). */
@Entity('saml_logout_requests')
export class SamlLogoutRequestEntity {
  @PrimaryColumn({ type: 'varchar', length: 128 }) id!: string;
  @Column({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
}

export const SAML_ENTITIES = [SamlRequestIdEntity, SamlAssertionIdEntity, SessionEntity, SamlLogoutRequestEntity];
