import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An authorization request sent to an OpenID Connect provider and not answered yet, keyed by its `state`.
 * `browserBinding` is the S256 challenge of the PKCE verifier that only the browser which started the flow holds,
 * in an HttpOnly cookie: a callback carried into another browser cannot present it (login CSRF).
 */
@Entity('oidc_sign_in_flows')
export class OidcSignInFlowEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) state!: string;
  @Column({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @Column({ name: 'browser_binding', type: 'varchar', length: 64 }) browserBinding!: string;
  @Column({ type: 'varchar', length: 64 }) nonce!: string;
  @Column({ name: 'relay_state', type: 'varchar', length: 2048, nullable: true }) relayState!: string | null;
  @Column({ name: 'expires_at', type: 'varchar', length: 30 }) expiresAt!: string;
}

export const OIDC_ENTITIES = [OidcSignInFlowEntity];
