import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { actorOf } from '@app/jit';
import { Doc, parseListQuery, parseProjection, ScimApi, setResourceHeaders } from '@app/scim';
import { SOCIAL_IDENTITY_PROVIDER_EXAMPLE } from './social-identity-provider.schema';
import { SocialIdentityProvidersService } from './social-identity-providers.service';

type QueryParams = Record<string, unknown>;

/** IDCS /admin/v1/SocialIdentityProviders: the SOCIAL IdentityProviders, seen through their social settings. */
@ApiTags('SocialIdentityProviders')
@RequireAccess(Access.identityProviders)
@Controller('admin/v1/SocialIdentityProviders')
export class SocialIdentityProvidersController {
  constructor(private readonly social: SocialIdentityProvidersService) {}

  @Get()
  @ScimApi.list('SocialIdentityProvider')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.social.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('SocialIdentityProvider')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.social.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('SocialIdentityProvider')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.social.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Post()
  @ScimApi.create('SocialIdentityProvider', SOCIAL_IDENTITY_PROVIDER_EXAMPLE)
  async create(@Body() body: unknown, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.social.create(body, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version, r.location);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('SocialIdentityProvider', SOCIAL_IDENTITY_PROVIDER_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.social.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('SocialIdentityProvider', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'scope', value: ['openid', 'email', 'profile'] }],
  })
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.social.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Delete(':id')
  @ScimApi.delete('SocialIdentityProvider')
  @ApiQuery({ name: 'forceDelete', required: false, type: Boolean, description: 'Accepted for IDCS compatibility; the IdP and its MappedAttribute are always deleted together' })
  delete(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.social.delete(id, ifMatch, actorOf(req));
  }
}
