import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Which local user an identity provider's subject is (OpenID Connect `sub`): written by the sign-in that created or
 * linked the user, read first by every later sign-in, so that a changed email or name at the IdP still finds the
 * same person. The database keeps one subject per (IdP, user) and one user per (IdP, subject).
 */
@Entity('federated_identities')
export class FederatedIdentityEntity {
  @PrimaryColumn({ name: 'idp_id', type: 'varchar', length: 32 }) idpId!: string;
  @PrimaryColumn({ type: 'varchar', length: 255 }) subject!: string;
  @Column({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  @Column({ type: 'varchar', length: 30 }) created!: string;
}
