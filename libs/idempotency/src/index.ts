export * from './retry-token.entity';
export * from './retry-tokens';
export * from './retry-token.interceptor';
export * from './idempotency.module';
