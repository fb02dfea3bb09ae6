import { Global, Module } from '@nestjs/common';
import { CredentialAuditTrail } from '@app/auth';
import { ScimRegistry } from '@app/scim';
import { AuditController } from './audit.controller';
import { AUDIT_EVENT_RESOURCE_TYPE } from './audit.schema';
import { AuditService } from './audit.service';

@Global()
@Module({
  controllers: [AuditController],
  // auth cannot import this lib (it is below it): it asks for a CredentialAuditTrail, and this is it.
  providers: [AuditService, { provide: CredentialAuditTrail, useExisting: AuditService }],
  exports: [AuditService, CredentialAuditTrail],
})
export class AuditModule {
  constructor(registry: ScimRegistry) {
    registry.register(AUDIT_EVENT_RESOURCE_TYPE);
  }
}
