/** SCIM 2.0 schema model (RFC 7643 §7), used for discovery, validation, projection, PATCH and filters alike. */
export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface ScimAttribute {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: ScimAttribute[];
  /** Example for the OpenAPI document. */
  example?: unknown;
}

export interface ScimSchema {
  id: string;
  name: string;
  description: string;
  attributes: ScimAttribute[];
}

export interface ScimResourceType {
  name: string;
  endpoint: string;
  description: string;
  schema: ScimSchema;
  schemaExtensions: { schema: ScimSchema; required: boolean }[];
  /** Example representation for the OpenAPI document. */
  example?: Record<string, unknown>;
}

type AttrOptions = Partial<Omit<ScimAttribute, 'name' | 'type' | 'description'>>;

/** Builds an attribute with the RFC 7643 §2.2 defaults, so definitions only state what differs. */
export function attr(name: string, type: AttributeType, description: string, options: AttrOptions = {}): ScimAttribute {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...(type === 'reference' ? { caseExact: true } : {}),
    ...options,
  };
}

export function complex(name: string, description: string, subAttributes: ScimAttribute[], options: AttrOptions = {}): ScimAttribute {
  return attr(name, 'complex', description, { ...options, subAttributes });
}

/** Attributes every resource carries (RFC 7643 §3.1). They are not part of any schema's `attributes`. */
export const COMMON_ATTRIBUTES: ScimAttribute[] = [
  attr('id', 'string', 'Unique identifier of the resource, issued by the service provider.', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', 'string', 'Identifier of the resource as defined by the provisioning client.', { caseExact: true }),
  complex(
    'meta',
    'Resource metadata.',
    [
      attr('resourceType', 'string', 'Name of the resource type.', { mutability: 'readOnly', caseExact: true }),
      attr('created', 'dateTime', 'When the resource was added.', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'When the resource was last changed.', { mutability: 'readOnly' }),
      attr('location', 'reference', 'URI of the resource.', { mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', 'Version of the resource; equals the ETag.', { mutability: 'readOnly', caseExact: true }),
    ],
    { mutability: 'readOnly' },
  ),
];

export const SCIM_SCHEMAS = {
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  searchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  oracleError: 'urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;
