import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { actorOf } from '@app/audit';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { Doc, parseListQuery, parseProjection, ScimApi, setResourceHeaders } from '@app/scim';
import { GROUP_EXAMPLE, GROUP_PATCH_EXAMPLE } from './group.schema';
import { GroupsService } from './groups.service';

type QueryParams = Record<string, unknown>;

/** SCIM /admin/v1/Groups (RFC 7644 §3). */
@ApiTags('Groups')
@RequireAccess(Access.usersAndGroups)
@Controller('admin/v1/Groups')
export class GroupsController {
  constructor(private readonly groups: GroupsService) {}

  @Get()
  @ScimApi.list('Group')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.groups.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('Group')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.groups.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('Group')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.groups.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post()
  @ScimApi.create('Group', GROUP_EXAMPLE)
  async create(@Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.groups.create(body, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version, r.location);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('Group', GROUP_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.groups.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('Group', GROUP_PATCH_EXAMPLE)
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.groups.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Delete(':id')
  @ScimApi.delete('Group')
  @ApiQuery({ name: 'forceDelete', required: false, type: Boolean, description: 'Also remove references to the group (e.g. JIT group mappings of identity providers)' })
  delete(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthenticatedRequest, @Query('forceDelete') forceDelete?: string): Promise<void> {
    return this.groups.delete(id, ifMatch, actorOf(req), /^true$/i.test(forceDelete ?? ''));
  }
}
