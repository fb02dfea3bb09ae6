import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AuditEventEntity, AuditModule } from '@app/audit';
import { AUTH_ENTITIES, AuthModule } from '@app/auth';
import { GROUP_ENTITIES, GroupsModule } from '@app/groups';
import { IdentityProviderEntity, IdentityProvidersModule } from '@app/identity-providers';
import { JitConfigurationModule, MappedAttributeEntity } from '@app/jit';
import { PersistenceModule } from '@app/persistence';
import { SAML_ENTITIES, SamlModule } from '@app/saml';
import { ScimExceptionFilter, ScimModule } from '@app/scim';
import { USER_ENTITIES, UsersModule } from '@app/users';
import { HealthController } from './health.controller';

export const ENTITIES = [...AUTH_ENTITIES, ...USER_ENTITIES, ...GROUP_ENTITIES, AuditEventEntity, MappedAttributeEntity, IdentityProviderEntity, ...SAML_ENTITIES];

@Module({})
export class AppModule {
  static forConfig(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        { module: ConfigHolder, global: true, providers: [{ provide: APP_CONFIG, useValue: config }], exports: [APP_CONFIG] },
        PersistenceModule.forRoot(ENTITIES),
        ScimModule,
        AuthModule,
        AuditModule,
        UsersModule,
        GroupsModule,
        JitConfigurationModule,
        IdentityProvidersModule,
        SamlModule,
      ],
      controllers: [HealthController],
      providers: [{ provide: APP_FILTER, useClass: ScimExceptionFilter }],
    };
  }
}

@Module({})
class ConfigHolder {}
