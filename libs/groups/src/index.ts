export * from './group.schema';
export * from './group.entity';
export * from './groups.repository';
export * from './groups.service';
export * from './groups.module';
export * from './group-references';
export * from './group-memberships';
