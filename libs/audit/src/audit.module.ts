import { Global, Module } from '@nestjs/common';
import { ScimRegistry } from '@app/scim';
import { AuditController } from './audit.controller';
import { AUDIT_EVENT_RESOURCE_TYPE } from './audit.schema';
import { AuditService } from './audit.service';

@Global()
@Module({ controllers: [AuditController], providers: [AuditService], exports: [AuditService] })
export class AuditModule {
  constructor(registry: ScimRegistry) {
    registry.register(AUDIT_EVENT_RESOURCE_TYPE);
  }
}
