import { PUBLISHED_COMMON_ATTRIBUTES, SCIM_SCHEMAS, ScimAttribute, ScimResourceType } from './schema';

type JsonSchema = Record<string, unknown>;

const TYPE_MAP: Record<string, JsonSchema> = {
  string: { type: 'string' },
  reference: { type: 'string', format: 'uri-reference' },
  binary: { type: 'string', format: 'byte' },
  boolean: { type: 'boolean' },
  integer: { type: 'integer' },
  decimal: { type: 'number' },
  dateTime: { type: 'string', format: 'date-time' },
};

function describe(a: ScimAttribute): string {
  const notes = [
    a.mutability !== 'readWrite' ? a.mutability : '',
    a.returned !== 'default' ? `returned ${a.returned}` : '',
    a.uniqueness !== 'none' ? 'unique' : '',
    a.caseExact ? '' : a.type === 'string' ? 'case-insensitive' : '',
  ].filter(Boolean);
  return notes.length ? `${a.description} (${notes.join(', ')})` : a.description;
}

/** OpenAPI schema of one SCIM attribute, generated from the same definition that validates it. */
function attributeSchema(a: ScimAttribute): JsonSchema {
  let s: JsonSchema;
  if (a.type === 'complex') {
    const properties: Record<string, JsonSchema> = {};
    for (const sub of a.subAttributes ?? []) properties[sub.name] = attributeSchema(sub);
    s = { type: 'object', properties };
    const req = (a.subAttributes ?? []).filter((x) => x.required).map((x) => x.name);
    if (req.length) s.required = req;
  } else {
    s = { ...TYPE_MAP[a.type] };
    if (a.canonicalValues) s.enum = a.canonicalValues;
    if (a.maxLength !== undefined) s.maxLength = a.maxLength;
  }
  const item = s;
  const out: JsonSchema = a.multiValued ? { type: 'array', items: item } : item;
  out.description = describe(a);
  if (a.mutability === 'readOnly') out.readOnly = true;
  if (a.mutability === 'writeOnly' || a.returned === 'never') out.writeOnly = true;
  if (a.example !== undefined) out.example = a.example;
  return out;
}

/** The OpenAPI component schema of a SCIM resource type: core, common and extension attributes. */
export function resourceOpenApiSchema(rt: ScimResourceType, example?: Record<string, unknown>): JsonSchema {
  const properties: Record<string, JsonSchema> = {
    schemas: { type: 'array', items: { type: 'string' }, description: 'Schema URNs of this representation', example: [rt.schema.id] },
  };
  for (const a of [...PUBLISHED_COMMON_ATTRIBUTES, ...rt.schema.attributes]) properties[a.name] = attributeSchema(a);
  for (const ext of rt.schemaExtensions) {
    const extProps: Record<string, JsonSchema> = {};
    for (const a of ext.schema.attributes) extProps[a.name] = attributeSchema(a);
    properties[ext.schema.id] = { type: 'object', description: ext.schema.description, properties: extProps };
  }
  return {
    type: 'object',
    description: rt.description,
    required: ['schemas', ...rt.schema.attributes.filter((a) => a.required).map((a) => a.name)],
    properties,
    ...(example ? { example } : {}),
  };
}

export const SCIM_ERROR_OPENAPI: JsonSchema = {
  type: 'object',
  description:
    'SCIM error (RFC 7644 §3.12). Oracle\'s message extension is present (and listed in `schemas`) when the error has an IDCS message id; `code` and `message` are added only for requests from Oracle\'s SDKs (User-Agent or opc-client-info "Oracle-…SDK/…"), which read them',
  properties: {
    schemas: { type: 'array', items: { type: 'string' }, example: [SCIM_SCHEMAS.error] },
    status: { type: 'string', description: 'HTTP status as a string', example: '400' },
    scimType: {
      type: 'string',
      enum: ['uniqueness', 'mutability', 'invalidFilter', 'invalidPath', 'invalidValue', 'invalidSyntax', 'tooMany', 'noTarget'],
      example: 'invalidFilter',
    },
    detail: { type: 'string', example: 'The filter "userName eq" is not a valid SCIM filter' },
    [SCIM_SCHEMAS.oracleError]: {
      type: 'object',
      description: 'IDCS message extension',
      properties: { messageId: { type: 'string', example: 'error.common.validation.missingReqAttributes' } },
    },
    code: { type: 'string', description: 'OCI service error code; only for Oracle SDK requests', example: 'InvalidParameter' },
    message: { type: 'string', description: 'Same as detail; only for Oracle SDK requests', example: 'The filter "userName eq" is not a valid SCIM filter' },
  },
  required: ['schemas', 'status', 'detail'],
};

export const PATCH_OP_OPENAPI: JsonSchema = {
  type: 'object',
  description: 'SCIM PATCH request (RFC 7644 §3.5.2); `op` is case-insensitive',
  required: ['schemas', 'Operations'],
  properties: {
    schemas: { type: 'array', items: { type: 'string' }, example: [SCIM_SCHEMAS.patchOp] },
    Operations: {
      type: 'array',
      maxItems: 1000,
      items: {
        type: 'object',
        required: ['op'],
        properties: {
          op: { type: 'string', enum: ['add', 'remove', 'replace'], description: 'Case-insensitive' },
          path: { type: 'string', example: 'emails[type eq "work"].value' },
          value: { description: 'New value; an object of attributes when path is absent' },
        },
      },
    },
  },
  example: { schemas: [SCIM_SCHEMAS.patchOp], Operations: [{ op: 'replace', path: 'active', value: false }] },
};

export const SEARCH_REQUEST_OPENAPI: JsonSchema = {
  type: 'object',
  description: 'SCIM search request (RFC 7644 §3.4.3)',
  properties: {
    schemas: { type: 'array', items: { type: 'string' }, example: [SCIM_SCHEMAS.searchRequest] },
    filter: { type: 'string', example: 'userName sw "j"' },
    sortBy: { type: 'string', example: 'userName' },
    sortOrder: { type: 'string', enum: ['ascending', 'descending', 'ASCENDING', 'DESCENDING'] },
    startIndex: { type: 'integer', minimum: 1, example: 1 },
    count: { type: 'integer', minimum: 0, maximum: 1000, example: 50 },
    attributes: { type: 'array', items: { type: 'string' } },
    excludedAttributes: { type: 'array', items: { type: 'string' } },
    attributeSets: { type: 'array', items: { type: 'string', enum: ['all', 'always', 'never', 'request', 'default'] } },
  },
  example: { schemas: [SCIM_SCHEMAS.searchRequest], filter: 'userName sw "j"', sortBy: 'userName', startIndex: 1, count: 50 },
};

export function listResponseOpenApi(ref: string): JsonSchema {
  return {
    type: 'object',
    properties: {
      schemas: { type: 'array', items: { type: 'string' }, example: [SCIM_SCHEMAS.listResponse] },
      totalResults: { type: 'integer', example: 1 },
      startIndex: { type: 'integer', example: 1 },
      itemsPerPage: { type: 'integer', example: 1 },
      Resources: { type: 'array', items: { $ref: ref } },
    },
    required: ['schemas', 'totalResults', 'Resources', 'startIndex', 'itemsPerPage'],
  };
}
