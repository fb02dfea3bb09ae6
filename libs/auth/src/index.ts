export * from './roles';
export * from './entities';
export * from './secret-hash';
export * from './access-tokens';
export * from './clients.service';
export * from './provisioning-tokens.service';
export * from './admin-auth.guard';
export * from './auth.module';
