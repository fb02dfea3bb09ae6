import { Controller, Get, Header, Param, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ScimError } from './errors';
import { MAX_PAGE_SIZE } from './list-query';
import { MAX_BODY_BYTES } from './body.middleware';
import { MAX_RESOURCE_BYTES, valueCapsByResourceType } from './limits';
import { MAX_PATCH_OPERATIONS } from './patch';
import { ScimRegistry } from './registry';
import { COMMON_ATTRIBUTES, SCIM_SCHEMAS, ScimAttribute, ScimResourceType, ScimSchema } from './schema';
import { SCIM_MEDIA } from './scim-api.decorators';
import { PublicUrl } from './public-url';

function attributeJson(a: ScimAttribute): Record<string, unknown> {
  const { example: _example, subAttributes, ...rest } = a;
  return { ...rest, ...(subAttributes ? { subAttributes: subAttributes.map(attributeJson) } : {}) };
}

/** RFC 7644 §4 discovery, generated from the registered resource types so it describes exactly what is implemented. */
const LIST = (what: string, example: Record<string, unknown>) =>
  ApiOkResponse({
    description: `List of ${what}`,
    content: { [SCIM_MEDIA]: { schema: { type: 'object', example: { schemas: [SCIM_SCHEMAS.listResponse], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [example] } } } },
  });
const ONE = (what: string, example: Record<string, unknown>) =>
  ApiOkResponse({ description: what, content: { [SCIM_MEDIA]: { schema: { type: 'object', example } } } });
/** Our extension of ServiceProviderConfig carrying the limits this server enforces. */
const LIMITS_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits';

const RT_EXAMPLE = { schemas: [SCIM_SCHEMAS.resourceType], id: 'User', name: 'User', endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' };
const SCHEMA_EXAMPLE = { schemas: [SCIM_SCHEMAS.schema], id: 'urn:ietf:params:scim:schemas:core:2.0:User', name: 'User', attributes: [] };

@ApiTags('Discovery')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing or invalid bearer token' })
@Controller('admin/v1')
export class DiscoveryController {
  constructor(
    private readonly registry: ScimRegistry,
    private readonly publicUrl: PublicUrl,
  ) {}

  @Get('ServiceProviderConfig')
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'What this SCIM service supports' })
  @ONE('Service provider configuration (RFC 7643 §5)', { schemas: [SCIM_SCHEMAS.serviceProviderConfig], patch: { supported: true }, filter: { supported: true, maxResults: 1000 } })
  serviceProviderConfig(): Record<string, unknown> {
    return {
      // RFC 7643 §3: every schema whose attributes the resource carries is listed, extensions included.
      schemas: [SCIM_SCHEMAS.serviceProviderConfig, LIMITS_SCHEMA],
      documentationUri: `${this.publicUrl.base}/api-docs`,
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_PAGE_SIZE },
      changePassword: { supported: true },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: `Access token from ${this.publicUrl.base}/oauth2/v1/token (client_credentials), or a provisioning token`,
          specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
          primary: true,
        },
      ],
      [LIMITS_SCHEMA]: {
        maxBodyBytes: MAX_BODY_BYTES,
        maxPatchOperations: MAX_PATCH_OPERATIONS,
        maxResourceBytes: MAX_RESOURCE_BYTES,
        // Per resource type and attribute: the most values one request may name (all operations of a PATCH
        // together) and, except Group members (rows, paged on read), the most a resource may hold.
        maxValues: valueCapsByResourceType(this.registry.all()),
      },
      meta: { resourceType: 'ServiceProviderConfig', location: `${this.publicUrl.base}/admin/v1/ServiceProviderConfig` },
    };
  }

  @Get('ResourceTypes')
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'Resource types served by this API' })
  @LIST('resource types', RT_EXAMPLE)
  resourceTypes(): Record<string, unknown> {
    const list = this.registry.all().map((rt) => this.resourceTypeJson(rt));
    return { schemas: [SCIM_SCHEMAS.listResponse], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
  }

  @Get('ResourceTypes/:name')
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'One resource type' })
  @ONE('The resource type', RT_EXAMPLE)
  @ApiResponse({ status: 404, description: 'No such resource type' })
  resourceType(@Param('name') name: string): Record<string, unknown> {
    const rt = this.registry.all().find((r) => r.name.toLowerCase() === name.toLowerCase());
    if (!rt) throw ScimError.notFound(`No resource type named "${name}"`);
    return this.resourceTypeJson(rt);
  }

  @Get('Schemas')
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'Schemas of the resource types' })
  @LIST('schemas', SCHEMA_EXAMPLE)
  schemas(): Record<string, unknown> {
    const list = this.allSchemas().map((s) => this.schemaJson(s));
    return { schemas: [SCIM_SCHEMAS.listResponse], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
  }

  @Get('Schemas/:id')
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'One schema, by URN' })
  @ONE('The schema', SCHEMA_EXAMPLE)
  @ApiResponse({ status: 404, description: 'No such schema' })
  schema(@Req() req: Request, @Param('id') id: string): Record<string, unknown> {
    const s = this.allSchemas().find((x) => x.id.toLowerCase() === decodeURIComponent(id).toLowerCase());
    if (!s) throw ScimError.notFound(`No schema "${id}" (${req.path})`);
    return this.schemaJson(s);
  }

  private allSchemas(): ScimSchema[] {
    const seen = new Map<string, ScimSchema>();
    for (const rt of this.registry.all()) for (const s of [rt.schema, ...rt.schemaExtensions.map((e) => e.schema)]) seen.set(s.id, s);
    return [...seen.values()];
  }

  private resourceTypeJson(rt: ScimResourceType): Record<string, unknown> {
    return {
      schemas: [SCIM_SCHEMAS.resourceType],
      id: rt.name,
      name: rt.name,
      endpoint: rt.endpoint,
      description: rt.description,
      schema: rt.schema.id,
      schemaExtensions: rt.schemaExtensions.map((e) => ({ schema: e.schema.id, required: e.required })),
      meta: { resourceType: 'ResourceType', location: `${this.publicUrl.base}/admin/v1/ResourceTypes/${rt.name}` },
    };
  }

  private schemaJson(s: ScimSchema): Record<string, unknown> {
    const isCore = this.registry.all().some((rt) => rt.schema.id === s.id);
    return {
      schemas: [SCIM_SCHEMAS.schema],
      id: s.id,
      name: s.name,
      description: s.description,
      attributes: [...(isCore ? COMMON_ATTRIBUTES.filter((a) => a.name !== 'id') : []), ...s.attributes].map(attributeJson),
      meta: { resourceType: 'Schema', location: `${this.publicUrl.base}/admin/v1/Schemas/${s.id}` },
    };
  }
}
