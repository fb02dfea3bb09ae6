import { Controller, Get, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Access, RequireAccess } from '@app/auth';
import { Doc, parseListQuery, ScimApi } from '@app/scim';
import { AuditService } from './audit.service';

type QueryParams = Record<string, unknown>;

/** Read-only audit trail (IDCS /admin/v1/AuditEvents). */
@ApiTags('AuditEvents')
@RequireAccess(Access.audit)
@Controller('admin/v1/AuditEvents')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ScimApi.list('AuditEvent')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.audit.list(parseListQuery(q));
  }
}
