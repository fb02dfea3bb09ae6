import { Column, Entity, PrimaryColumn } from 'typeorm';
import { WriterColumns } from '@app/scim';

@Entity('mapped_attributes')
export class MappedAttributeEntity extends WriterColumns {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'ref_resource_type', type: 'varchar', length: 64 }) refResourceType!: string;
  @Column({ name: 'ref_resource_id', type: 'varchar', length: 32 }) refResourceId!: string;
  @Column({ type: 'text' }) data!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'last_modified', type: 'varchar', length: 30 }) lastModified!: string;
}
