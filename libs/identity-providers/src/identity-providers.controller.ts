import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { actorOf } from '@app/jit';
import { Doc, parseListQuery, parseProjection, ScimApi, setResourceHeaders } from '@app/scim';
import { IDENTITY_PROVIDER_EXAMPLE } from './identity-provider.schema';
import { IdentityProvidersService } from './identity-providers.service';

type QueryParams = Record<string, unknown>;

/** IDCS /admin/v1/IdentityProviders (SAML identity providers and their JIT settings). */
@ApiTags('IdentityProviders')
@RequireAccess(Access.identityProviders)
@Controller('admin/v1/IdentityProviders')
export class IdentityProvidersController {
  constructor(private readonly idps: IdentityProvidersService) {}

  @Get()
  @ScimApi.list('IdentityProvider')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.idps.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('IdentityProvider')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.idps.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('IdentityProvider')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post()
  @ScimApi.create('IdentityProvider', IDENTITY_PROVIDER_EXAMPLE)
  async create(@Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.create(body, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version, r.location);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('IdentityProvider', IDENTITY_PROVIDER_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('IdentityProvider', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Overwrite' }],
  })
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.idps.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Delete(':id')
  @ScimApi.delete('IdentityProvider')
  @ApiQuery({ name: 'forceDelete', required: false, type: Boolean, description: 'Accepted for IDCS compatibility; the IdP and its MappedAttribute are always deleted together' })
  delete(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.idps.delete(id, ifMatch, actorOf(req));
  }
}
