import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { actorOf } from '@app/audit';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { Doc, parseListQuery, parseProjection, ScimApi, setResourceHeaders } from '@app/scim';
import { USER_EXAMPLE } from './user.schema';
import { UsersService } from './users.service';

type QueryParams = Record<string, unknown>;

/** SCIM /admin/v1/Users (RFC 7644 §3). */
@ApiTags('Users')
@RequireAccess(Access.usersAndGroups)
@Controller('admin/v1/Users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ScimApi.list('User')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.users.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('User')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.users.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('User')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.users.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post()
  @ScimApi.create('User', USER_EXAMPLE)
  async create(@Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.users.create(body, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version, r.location);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('User', USER_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.users.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('User')
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.users.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Delete(':id')
  @ScimApi.delete('User')
  delete(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.users.delete(id, ifMatch, actorOf(req));
  }
}
