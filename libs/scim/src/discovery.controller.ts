import { All, applyDecorators, Controller, Get, Header, Param, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ScimError } from './errors';
import { MAX_PAGE_SIZE, parseProjection, ProjectionRequest } from './list-query';
import { MAX_BODY_BYTES } from './body.middleware';
import { MAX_RESOURCE_BYTES, valueCapsByResourceType } from './limits';
import { MAX_PATCH_OPERATIONS } from './patch';
import { ScimRegistry } from './registry';
import { PUBLISHED_COMMON_ATTRIBUTES, SCIM_SCHEMAS, ScimAttribute, ScimResourceType, ScimSchema } from './schema';
import { DISCOVERY_SCHEMAS, DISCOVERY_TYPES, LIMITS_SCHEMA } from './discovery-schemas';
import { Projection } from './projection';
import { projectionQueries, SCIM_MEDIA } from './scim-api.decorators';
import { PublicUrl } from './public-url';

/** The RFC 7643 §7 characteristics of an attribute, and nothing else: strict clients refuse unknown keys here too. */
function attributeJson(a: ScimAttribute): Record<string, unknown> {
  const { name, type, multiValued, description, required, canonicalValues, caseExact, mutability, returned, uniqueness, referenceTypes, subAttributes } = a;
  return {
    name,
    type,
    multiValued,
    description,
    required,
    ...(canonicalValues ? { canonicalValues } : {}),
    caseExact,
    mutability,
    returned,
    uniqueness,
    ...(referenceTypes ? { referenceTypes } : {}),
    ...(subAttributes ? { subAttributes: subAttributes.map(attributeJson) } : {}),
  };
}

type Doc = Record<string, unknown>;

/** `attributes` / `excludedAttributes` / `attributeSets` (RFC 7644 §3.9, §4) by the Projection every resource uses. */
function project(rt: ScimResourceType, request: ProjectionRequest, full: Doc): Doc {
  return new Projection(rt, request).apply(full);
}

function projectionOf(rt: ScimResourceType, query: Record<string, unknown>): ProjectionRequest {
  // RFC 7644 §4: these endpoints take no filter; a service provider SHOULD answer 403 rather than ignore it.
  if (query.filter !== undefined) throw new ScimError(403, `The discovery endpoints take no filter; read all ${rt.name} resources and select on the client`);
  return parseProjection(query);
}

/** RFC 7644 §4: the discovery endpoints are read-only; other methods are 405, with the method that is allowed. */
function readOnlyEndpoint(req: Request): never {
  req.res?.setHeader('Allow', 'GET');
  throw new ScimError(405, `${req.method} is not supported on ${req.path}; discovery endpoints are read with GET`);
}

/** RFC 7644 §4 discovery, generated from the registered resource types so it describes exactly what is implemented. */
const LIST = (what: string, example: Record<string, unknown>) =>
  ApiOkResponse({
    description: `List of ${what}`,
    content: { [SCIM_MEDIA]: { schema: { type: 'object', example: { schemas: [SCIM_SCHEMAS.listResponse], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [example] } } } },
  });
const ONE = (what: string, example: Record<string, unknown>) =>
  ApiOkResponse({ description: what, content: { [SCIM_MEDIA]: { schema: { type: 'object', example } } } });

const PROJECTION = () => applyDecorators(...projectionQueries);

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
  @PROJECTION()
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'What this SCIM service supports' })
  @ONE('Service provider configuration (RFC 7643 §5)', { schemas: [SCIM_SCHEMAS.serviceProviderConfig], patch: { supported: true }, filter: { supported: true, maxResults: 1000 } })
  serviceProviderConfig(@Query() query: Record<string, unknown>): Record<string, unknown> {
    const rt = DISCOVERY_TYPES.serviceProviderConfig;
    return project(rt, projectionOf(rt, query), {
      schemas: [SCIM_SCHEMAS.serviceProviderConfig, LIMITS_SCHEMA.id],
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
      // returned: request (LIMITS_SCHEMA): only when asked for, so that strict clients get RFC 7643 §5 alone.
      [LIMITS_SCHEMA.id]: {
        maxBodyBytes: MAX_BODY_BYTES,
        maxPatchOperations: MAX_PATCH_OPERATIONS,
        maxResourceBytes: MAX_RESOURCE_BYTES,
        // Per resource type and attribute: the most values one request may name (all operations of a PATCH
        // together) and, except Group members (rows, paged on read), the most a resource may hold.
        maxValues: valueCapsByResourceType(this.registry.all()),
      },
      meta: { resourceType: 'ServiceProviderConfig', location: `${this.publicUrl.base}/admin/v1/ServiceProviderConfig` },
    });
  }

  @Get('ResourceTypes')
  @PROJECTION()
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'Resource types served by this API' })
  @LIST('resource types', RT_EXAMPLE)
  resourceTypes(@Query() query: Record<string, unknown>): Record<string, unknown> {
    const request = projectionOf(DISCOVERY_TYPES.resourceType, query);
    const list = this.registry.all().map((rt) => project(DISCOVERY_TYPES.resourceType, request, this.resourceTypeJson(rt)));
    return { schemas: [SCIM_SCHEMAS.listResponse], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
  }

  @Get('ResourceTypes/:name')
  @PROJECTION()
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'One resource type' })
  @ONE('The resource type', RT_EXAMPLE)
  @ApiResponse({ status: 404, description: 'No such resource type' })
  resourceType(@Param('name') name: string, @Query() query: Record<string, unknown>): Record<string, unknown> {
    const request = projectionOf(DISCOVERY_TYPES.resourceType, query);
    const rt = this.registry.all().find((r) => r.name.toLowerCase() === name.toLowerCase());
    if (!rt) throw ScimError.notFound(`No resource type named "${name}"`);
    return project(DISCOVERY_TYPES.resourceType, request, this.resourceTypeJson(rt));
  }

  @Get('Schemas')
  @PROJECTION()
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'Schemas of the resource types' })
  @LIST('schemas', SCHEMA_EXAMPLE)
  schemas(@Query() query: Record<string, unknown>): Record<string, unknown> {
    const request = projectionOf(DISCOVERY_TYPES.schema, query);
    const list = this.allSchemas().map((s) => project(DISCOVERY_TYPES.schema, request, this.schemaJson(s)));
    return { schemas: [SCIM_SCHEMAS.listResponse], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list };
  }

  @Get('Schemas/:id')
  @PROJECTION()
  @Header('Content-Type', SCIM_MEDIA)
  @ApiOperation({ summary: 'One schema, by URN' })
  @ONE('The schema', SCHEMA_EXAMPLE)
  @ApiResponse({ status: 404, description: 'No such schema' })
  schema(@Req() req: Request, @Param('id') id: string, @Query() query: Record<string, unknown>): Record<string, unknown> {
    const request = projectionOf(DISCOVERY_TYPES.schema, query);
    const s = this.allSchemas().find((x) => x.id.toLowerCase() === decodeURIComponent(id).toLowerCase());
    if (!s) throw ScimError.notFound(`No schema "${id}" (${req.path})`);
    return project(DISCOVERY_TYPES.schema, request, this.schemaJson(s));
  }

  @All(['ServiceProviderConfig', 'ResourceTypes', 'ResourceTypes/:name', 'Schemas', 'Schemas/:id'])
  @ApiExcludeEndpoint()
  readOnly(@Req() req: Request): never {
    return readOnlyEndpoint(req);
  }

  /** The schemas of the registered resource types and their extensions, then those of discovery itself (RFC 7643 §8.7.2). */
  private allSchemas(): ScimSchema[] {
    const seen = new Map<string, ScimSchema>();
    for (const rt of this.registry.all()) for (const s of [rt.schema, ...rt.schemaExtensions.map((e) => e.schema)]) seen.set(s.id, s);
    for (const s of DISCOVERY_SCHEMAS) seen.set(s.id, s);
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
      attributes: [...(isCore ? PUBLISHED_COMMON_ATTRIBUTES.filter((a) => a.name !== 'id') : []), ...s.attributes].map(attributeJson),
      meta: { resourceType: 'Schema', location: `${this.publicUrl.base}/admin/v1/Schemas/${s.id}` },
    };
  }
}
