import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('audit_events')
export class AuditEventEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ type: 'varchar', length: 30 }) timestamp!: string;
  @Column({ name: 'event_id', type: 'varchar', length: 128 }) eventId!: string;
  @Column({ type: 'varchar', length: 16 }) outcome!: string;
  @Column({ name: 'actor_id', type: 'varchar', length: 255, nullable: true }) actorId!: string | null;
  @Column({ name: 'resource_type', type: 'varchar', length: 64, nullable: true }) resourceType!: string | null;
  @Column({ name: 'resource_id', type: 'varchar', length: 64, nullable: true }) resourceId!: string | null;
  @Column({ name: 'correlation_id', type: 'varchar', length: 128, nullable: true }) correlationId!: string | null;
  /** The SCIM representation, as JSON. */
  @Column({ type: 'text' }) data!: string;
}
