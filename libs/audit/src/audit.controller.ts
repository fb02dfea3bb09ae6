import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Access, RequireAccess } from '@app/auth';
import { Doc, parseListQuery, parseProjection, ScimApi } from '@app/scim';
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

  // meta.location of every event points here.
  @Get(':id')
  @ScimApi.get('AuditEvent')
  get(@Param('id') id: string, @Query() q: QueryParams): Promise<Doc> {
    return this.audit.get(id, parseProjection(q));
  }
}
