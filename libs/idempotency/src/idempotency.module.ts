import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { RetryTokenInterceptor } from './retry-token.interceptor';
import { RetryTokens } from './retry-tokens';

/** Idempotent creates with `opc-retry-token`, mounted once for every create route of the admin API. */
@Module({
  providers: [RetryTokens, { provide: APP_INTERCEPTOR, useClass: RetryTokenInterceptor }],
  exports: [RetryTokens],
})
export class IdempotencyModule {}
