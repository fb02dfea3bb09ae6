import { Column, Entity, PrimaryColumn } from 'typeorm';
import { WriterColumns } from '@app/scim';

@Entity('groups')
export class GroupEntity extends WriterColumns {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'display_name', type: 'varchar', length: 1024 }) displayName!: string;
  @Column({ name: 'display_name_lower', type: 'varchar', length: 1024 }) displayNameLower!: string;
  @Column({ name: 'external_id', type: 'varchar', length: 1024, nullable: true }) externalId!: string | null;
  /** The SCIM representation without members, as JSON. */
  @Column({ type: 'text' }) data!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'last_modified', type: 'varchar', length: 30 }) lastModified!: string;
}

@Entity('group_members')
export class GroupMemberEntity {
  @PrimaryColumn({ name: 'group_id', type: 'varchar', length: 32 }) groupId!: string;
  @PrimaryColumn({ name: 'member_id', type: 'varchar', length: 32 }) memberId!: string;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  /** The identity provider whose JIT granted the membership; null when an administrator or a SCIM client did (or unknown). */
  @Column({ name: 'granted_by_idp', type: 'varchar', length: 32, nullable: true }) grantedByIdp!: string | null;
}

export const GROUP_ENTITIES = [GroupEntity, GroupMemberEntity];
