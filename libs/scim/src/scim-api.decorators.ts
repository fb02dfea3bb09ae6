import { applyDecorators, Header, HttpCode } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import { PATCH_OP_OPENAPI, SEARCH_REQUEST_OPENAPI, listResponseOpenApi } from './openapi-schema';
import { IdempotentCreate, RETRY_TOKEN_HEADER } from './idempotent-create';

export const SCIM_MEDIA = 'application/scim+json';
const ERROR_REF = { $ref: '#/components/schemas/ScimError' };
const errors = (...codes: number[]) =>
  codes.map((status) => ApiResponse({ status, description: ERROR_TEXT[status], content: { [SCIM_MEDIA]: { schema: ERROR_REF }, 'application/json': { schema: ERROR_REF } } }));

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (scimType says which part)',
  401: 'Missing, malformed, expired or tampered bearer token',
  403: 'The token lacks the role this operation needs',
  404: 'No resource with this id',
  409: 'Another resource already has a unique value (scimType uniqueness)',
  412: 'If-Match does not match the current version',
  413: 'Body over 1 MiB or more than 1000 PATCH operations',
  415: 'Content-Type is not application/scim+json or application/json',
};

const RETRY_TOKEN_TEXT =
  'Idempotency key (1 to 64 printable ASCII characters, e.g. a UUID). A retry with the same key, body and URL, by the same ' +
  'client, within 24 hours gets the first answer (201) instead of creating again; the same key with another request is refused (409).';

export const projectionQueries = [
  ApiQuery({ name: 'attributes', required: false, description: 'Comma-separated attributes to return (always-returned ones are added), e.g. `userName,emails`' }),
  ApiQuery({ name: 'excludedAttributes', required: false, description: 'Comma-separated attributes to leave out' }),
  ApiQuery({ name: 'attributeSets', required: false, description: 'Comma-separated: all, always, default, request, never' }),
];

const body = (schema: Record<string, unknown>) =>
  ApiBody({ schema, required: true, examples: schema.example ? { example: { value: schema.example } } : undefined });

/** OpenAPI and media-type decorators for the SCIM operations of one resource type, so every resource documents them alike. */
export const ScimApi = {
  list: (name: string) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      ApiBearerAuth(),
      ApiOperation({ summary: `List ${name} resources`, description: 'SCIM list with filter, sorting, paging and attribute projection (RFC 7644 §3.4.2).' }),
      // No `example` on optional query parameters: Swagger UI's "Try it out" would pre-fill and send it.
      ApiQuery({ name: 'filter', required: false, description: 'SCIM filter expression, e.g. `userName eq "bjensen@example.com"`' }),
      ApiQuery({ name: 'sortBy', required: false, description: 'Attribute path to sort by' }),
      ApiQuery({ name: 'sortOrder', required: false, enum: ['ascending', 'descending'], description: 'Case-insensitive' }),
      ApiQuery({ name: 'startIndex', required: false, description: '1-based index of the first result (default 1)' }),
      ApiQuery({ name: 'count', required: false, description: 'Page size (default 100, at most 1000)' }),
      ...projectionQueries,
      ApiResponse({ status: 200, description: 'A page of results', content: { [SCIM_MEDIA]: { schema: listResponseOpenApi(`#/components/schemas/${name}`) } } }),
      ...errors(400, 401, 403),
    ),
  search: (name: string) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      HttpCode(200),
      ApiBearerAuth(),
      ApiOperation({ summary: `Search ${name} resources`, description: 'Same as list, with the criteria in the body (RFC 7644 §3.4.3).' }),
      body(SEARCH_REQUEST_OPENAPI),
      ApiResponse({ status: 200, description: 'A page of results', content: { [SCIM_MEDIA]: { schema: listResponseOpenApi(`#/components/schemas/${name}`) } } }),
      ...errors(400, 401, 403, 413, 415),
    ),
  get: (name: string) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      ApiBearerAuth(),
      ApiOperation({ summary: `Get a ${name}` }),
      ApiParam({ name: 'id', description: `${name} id` }),
      ...projectionQueries,
      ApiResponse({ status: 200, description: `The ${name}; ETag header carries its version`, content: { [SCIM_MEDIA]: { schema: { $ref: `#/components/schemas/${name}` } } } }),
      ...errors(401, 403, 404),
    ),
  create: (name: string, example: Record<string, unknown>) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      IdempotentCreate(),
      ApiBearerAuth(),
      ApiOperation({ summary: `Create a ${name}` }),
      ApiHeader({ name: RETRY_TOKEN_HEADER, required: false, description: RETRY_TOKEN_TEXT }),
      ...projectionQueries,
      ApiBody({ schema: { $ref: `#/components/schemas/${name}` }, examples: { example: { value: example } } }),
      ApiResponse({ status: 201, description: `Created; Location and ETag headers are set`, content: { [SCIM_MEDIA]: { schema: { $ref: `#/components/schemas/${name}` } } } }),
      ...errors(400, 401, 403, 409, 413, 415),
    ),
  replace: (name: string, example: Record<string, unknown>) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      ApiBearerAuth(),
      ApiOperation({ summary: `Replace a ${name}`, description: 'Send If-Match to avoid overwriting a concurrent change.' }),
      ApiParam({ name: 'id', description: `${name} id` }),
      ...projectionQueries,
      ApiBody({ schema: { $ref: `#/components/schemas/${name}` }, examples: { example: { value: example } } }),
      ApiResponse({ status: 200, description: `The replaced ${name}`, content: { [SCIM_MEDIA]: { schema: { $ref: `#/components/schemas/${name}` } } } }),
      ...errors(400, 401, 403, 404, 409, 412, 413, 415),
    ),
  patch: (name: string, example?: Record<string, unknown>) =>
    applyDecorators(
      Header('Content-Type', SCIM_MEDIA),
      ApiBearerAuth(),
      ApiOperation({ summary: `Modify a ${name}`, description: 'SCIM PATCH: add, remove, replace (any case), with or without path, value-filter paths.' }),
      ApiParam({ name: 'id', description: `${name} id` }),
      ...projectionQueries,
      body(example ? { ...PATCH_OP_OPENAPI, example } : PATCH_OP_OPENAPI),
      ApiResponse({ status: 200, description: `The modified ${name}`, content: { [SCIM_MEDIA]: { schema: { $ref: `#/components/schemas/${name}` } } } }),
      ...errors(400, 401, 403, 404, 409, 412, 413, 415),
    ),
  delete: (name: string) =>
    applyDecorators(
      HttpCode(204),
      ApiBearerAuth(),
      ApiOperation({ summary: `Delete a ${name}` }),
      ApiParam({ name: 'id', description: `${name} id` }),
      ApiResponse({ status: 204, description: 'Deleted' }),
      ...errors(401, 403, 404, 412),
    ),
};

export { ApiExtraModels };
