import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AuditEventEntity, AuditModule } from '@app/audit';
import { AUTH_ENTITIES, AuthModule } from '@app/auth';
import { GROUP_ENTITIES, GroupsModule } from '@app/groups';
import { IdentityProviderEntity, IdentityProvidersModule } from '@app/identity-providers';
import { IdempotencyModule, RetryTokenEntity } from '@app/idempotency';
import { FederatedIdentityEntity, JitConfigurationModule, JitSignInInputEntity, MappedAttributeEntity } from '@app/jit';
import { MetricsModule } from '@app/metrics';
import { OIDC_ENTITIES, OidcModule } from '@app/oidc';
import { PersistenceModule } from '@app/persistence';
import { SAML_ENTITIES, SamlModule } from '@app/saml';
import { ScimExceptionFilter, ScimModule } from '@app/scim';
import { USER_ENTITIES, UsersModule } from '@app/users';
import { HealthController } from './health.controller';
import { HttpDrain } from './http-drain';
import { logCorrelationId } from './log-lines';
import { MetricsController, ResourceGauges } from './metrics.controller';

export const ENTITIES = [...AUTH_ENTITIES, ...USER_ENTITIES, ...GROUP_ENTITIES, AuditEventEntity, MappedAttributeEntity, IdentityProviderEntity, ...SAML_ENTITIES, ...OIDC_ENTITIES, FederatedIdentityEntity, JitSignInInputEntity, RetryTokenEntity];

@Module({})
export class AppModule implements NestModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        { module: ConfigHolder, global: true, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] },
        PersistenceModule.forRoot(ENTITIES),
        MetricsModule,
        ScimModule,
        AuthModule,
        AuditModule,
        UsersModule,
        GroupsModule,
        JitConfigurationModule,
        IdentityProvidersModule,
        SamlModule,
        OidcModule,
        IdempotencyModule,
      ],
      controllers: [HealthController, MetricsController],
      providers: [{ provide: APP_FILTER, useClass: ScimExceptionFilter }, ResourceGauges, HttpDrain],
    };
  }

  /** Nest middleware runs after the app's body parsers (see logCorrelationId) and before the guards, whose lines it covers. */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(logCorrelationId()).forRoutes('{*path}');
  }
}

@Module({})
class ConfigHolder {}
