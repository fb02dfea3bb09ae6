export * from './user.schema';
export * from './user.entity';
export * from './user-row';
export * from './user-references';
export * from './users.repository';
export * from './users.service';
export * from './users.module';
