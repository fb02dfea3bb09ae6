import { Column, Entity, PrimaryColumn } from 'typeorm';
import { WriterColumns } from '@app/scim';

@Entity('identity_providers')
export class IdentityProviderEntity extends WriterColumns {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'partner_name', type: 'varchar', length: 255 }) partnerName!: string;
  @Column({ name: 'partner_name_lower', type: 'varchar', length: 255 }) partnerNameLower!: string;
  @Column({ name: 'partner_provider_id', type: 'varchar', length: 1024, nullable: true }) partnerProviderId!: string | null;
  @Column({ type: 'varchar', length: 16 }) type!: string;
  @Column({ type: 'boolean' }) enabled!: boolean;
  @Column({ type: 'text' }) data!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'last_modified', type: 'varchar', length: 30 }) lastModified!: string;
  /** Unique (server) in IDCS: columns of their own so that a unique index keeps them so across instances. */
  @Column({ name: 'succinct_id', type: 'varchar', length: 255, nullable: true }) succinctId?: string | null;
  /** Lower-cased: IDCS compares it ignoring case (caseExact false). */
  @Column({ name: 'service_instance_identifier', type: 'varchar', length: 255, nullable: true }) serviceInstanceIdentifier?: string | null;
  /** The social extension's consumerSecret, a SecretBox envelope (consumerSecretContext); never in `data`. */
  @Column({ name: 'consumer_secret', type: 'text', nullable: true }) consumerSecret?: string | null;
}
