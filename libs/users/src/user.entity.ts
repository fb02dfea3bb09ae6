import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { WriterColumns } from '@app/scim';
import { UserSignInEntity } from './user-sign-ins';
import { UserAttributeSourceEntity } from './user-attribute-sources';

@Entity('users')
export class UserEntity extends WriterColumns {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'user_name', type: 'varchar', length: 1024 }) userName!: string;
  @Column({ name: 'user_name_lower', type: 'varchar', length: 1024 }) userNameLower!: string;
  @Column({ name: 'external_id', type: 'varchar', length: 1024, nullable: true }) externalId!: string | null;
  @Column({ name: 'display_name_lower', type: 'varchar', length: 1024, nullable: true }) displayNameLower!: string | null;
  @Column({ name: 'given_name_lower', type: 'varchar', length: 1024, nullable: true }) givenNameLower!: string | null;
  @Column({ name: 'family_name_lower', type: 'varchar', length: 1024, nullable: true }) familyNameLower!: string | null;
  @Column({ type: 'boolean' }) active!: boolean;
  /** Absent from rows read without it (it is never selected by default) and from writes that leave it alone. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255, nullable: true, select: false }) passwordHash?: string | null;
  /** The writable SCIM representation (without password), as JSON. */
  @Column({ type: 'text' }) data!: string;
  @Column({ type: 'integer' }) version!: number;
  @Column({ type: 'varchar', length: 30 }) created!: string;
  @Column({ name: 'last_modified', type: 'varchar', length: 30 }) lastModified!: string;
}

/** Index rows for multi-valued attributes (emails, phoneNumbers), so filters on them use an index. */
@Entity('user_attribute_values')
export class UserAttributeValueEntity {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  @Column({ type: 'varchar', length: 32 }) attribute!: string;
  @Column({ type: 'varchar', length: 1024, nullable: true }) value!: string | null;
  @Column({ name: 'value_lower', type: 'varchar', length: 1024, nullable: true }) valueLower!: string | null;
  @Column({ type: 'varchar', length: 64, nullable: true }) type!: string | null;
  @Column({ name: 'is_primary', type: 'boolean' }) isPrimary!: boolean;
  /** emails[].verified and emails[].secondary (IDCS), filterable like primary; false for phone numbers. */
  @Column({ name: 'is_verified', type: 'boolean', default: false }) isVerified!: boolean;
  @Column({ name: 'is_secondary', type: 'boolean', default: false }) isSecondary!: boolean;
}

export const USER_ENTITIES = [UserEntity, UserAttributeValueEntity, UserSignInEntity, UserAttributeSourceEntity];
