import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('identity_providers')
export class IdentityProviderEntity {
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
}
