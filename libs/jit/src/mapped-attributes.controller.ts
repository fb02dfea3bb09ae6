import { All, Body, Controller, Get, Headers, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { actorOf } from '@app/audit';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { Doc, parseListQuery, parseProjection, ScimApi, ScimError, setResourceHeaders } from '@app/scim';
import { MAPPED_ATTRIBUTE_EXAMPLE } from './mapped-attribute.schema';
import { Actor, MappedAttributesService } from './mapped-attributes.service';

type QueryParams = Record<string, unknown>;

// The one actorOf: it takes the request id request-id.ts checked, not the raw header (a 200-character
// opc-request-id overflowed the audit column: a 500 on PostgreSQL).
export { actorOf } from '@app/audit';

/** IDCS /admin/v1/MappedAttributes: list, search, get, PUT, PATCH; no POST or DELETE (405), as in IDCS. */
@ApiTags('MappedAttributes')
@RequireAccess(Access.identityProviders)
@Controller('admin/v1/MappedAttributes')
export class MappedAttributesController {
  constructor(private readonly mapped: MappedAttributesService) {}

  @Get()
  @ScimApi.list('MappedAttribute')
  list(@Query() q: QueryParams): Promise<Doc> {
    return this.mapped.list(parseListQuery(q));
  }

  @Post('.search')
  @ScimApi.search('MappedAttribute')
  search(@Body() body: QueryParams): Promise<Doc> {
    return this.mapped.list(parseListQuery(body ?? {}, true));
  }

  @Get(':id')
  @ScimApi.get('MappedAttribute')
  async get(@Param('id') id: string, @Query() q: QueryParams, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.mapped.get(id, parseProjection(q));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Put(':id')
  @ScimApi.replace('MappedAttribute', MAPPED_ATTRIBUTE_EXAMPLE)
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.mapped.replace(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  @Patch(':id')
  @ScimApi.patch('MappedAttribute', {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', path: 'attributeMappings', value: MAPPED_ATTRIBUTE_EXAMPLE.attributeMappings }],
  })
  async patch(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Query() q: QueryParams, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<Doc> {
    const r = await this.mapped.patch(id, body, ifMatch, parseProjection(q), actorOf(req));
    setResourceHeaders(res, r.version);
    return r.body;
  }

  /** Mapped attributes live and die with their identity provider. */
  @All(['', ':id'])
  @ApiExcludeEndpoint()
  notAllowed(@Res({ passthrough: true }) res: Response): never {
    res.setHeader('Allow', 'GET, PUT, PATCH');
    throw new ScimError(405, 'MappedAttributes are created and deleted together with their identity provider; use PUT or PATCH to change one');
  }
}
