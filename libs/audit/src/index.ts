export * from './audit.schema';
export * from './audit.entity';
export * from './audit.service';
export * from './audit.module';
