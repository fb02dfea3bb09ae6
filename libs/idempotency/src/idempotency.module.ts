import { Module } from '@nestjs/common';
import { CREATE_INTERCEPTOR } from '@app/scim';
import { RetryTokenInterceptor } from './retry-token.interceptor';
import { RetryTokens } from './retry-tokens';

/**
 * Idempotent creates with `opc-retry-token`, for every create route of the admin API: ScimApi.create binds
 * libs/scim's CreateInterception to them, which hands them to the CREATE_INTERCEPTOR provided here.
 */
@Module({
  providers: [RetryTokens, RetryTokenInterceptor, { provide: CREATE_INTERCEPTOR, useExisting: RetryTokenInterceptor }],
  exports: [RetryTokens],
})
export class IdempotencyModule {}
