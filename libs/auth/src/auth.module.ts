import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccessTokens } from './access-tokens';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminCredentialsController } from './admin-credentials.controller';
import { AdminClients } from './clients.service';
import { ClientSignIn } from './client-sign-in.service';
import { ProvisioningTokens } from './provisioning-tokens.service';
import { TokenAttemptLimiter } from './token-attempts';
import { TokenController } from './token.controller';

@Module({
  controllers: [TokenController, AdminCredentialsController],
  providers: [AccessTokens, AdminClients, ProvisioningTokens, TokenAttemptLimiter, ClientSignIn, { provide: APP_GUARD, useClass: AdminAuthGuard }],
  exports: [AccessTokens, AdminClients, ProvisioningTokens],
})
export class AuthModule {}
