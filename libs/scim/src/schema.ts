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
  /**
   * IDCS `idcsCompositeKey`: the sub-attributes that identify a value of a multi-valued complex attribute; a value
   * repeating an earlier one's key is the same value, kept once.
   */
  idcsCompositeKey?: string[];
  /**
   * An IDCS attribute that never carries a value here (e.g. compartmentOcid): read-only, so ignored in requests and
   * refused in PATCH like any read-only attribute, but left out of the published schemas (/Schemas, OpenAPI), which
   * describe what a response can hold.
   */
  neverSet?: true;
  /** Example for the OpenAPI document. */
  example?: unknown;
  /** Longest string value accepted, in UTF-16 code units, when it differs from the default (8192; see coerceValue). Not shown in /Schemas (not an RFC 7643 characteristic). */
  maxLength?: number;
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

const ro = { mutability: 'readOnly' as const };

/** The sub-attributes of idcsCreatedBy / idcsLastModifiedBy (OCI SDK model `IdcsCreatedBy`). */
function writerAttributes(what: string): ScimAttribute[] {
  return [
    attr('value', 'string', `Id of the User or App that ${what} the resource`, { ...ro, required: true, caseExact: true }),
    // Only identity providers (JIT sign-ins) are writers that are resources of this API.
    attr('$ref', 'reference', `URI of the resource that ${what} it, when that is a resource of this API`, { ...ro, referenceTypes: ['IdentityProvider'] }),
    attr('type', 'string', 'User or App (admin clients, provisioning tokens and identity providers signing users in are Apps)', { ...ro, canonicalValues: ['User', 'App'] }),
    attr('display', 'string', `Name of the User or App that ${what} it`, { ...ro, caseExact: true }),
    attr('ocid', 'string', `OCID of the resource that ${what} it, when that is a resource of this API`, { ...ro, caseExact: true }),
  ];
}

/**
 * The attributes IDCS adds to every resource (OCI SDK models of User, Group, IdentityProvider, MappedAttribute),
 * with IDCS's mutability and `returned`. Read-only ones are ignored in a POST or PUT body (RFC 7644 §3.5.1), and a
 * PATCH naming one is refused. Which of them carry a value here: docs/idcs-compatibility.md, "Common attributes".
 */
export const IDCS_COMMON_ATTRIBUTES: ScimAttribute[] = [
  // IDCS marks ocid immutable; here the server issues it from the id, so a client can never set it.
  attr('ocid', 'string', 'OCID of the resource: ocid1.<resource type>.oc1..<id>', { ...ro, caseExact: true, uniqueness: 'global' }),
  complex('idcsCreatedBy', 'The User or App that created the resource', writerAttributes('created'), ro),
  complex('idcsLastModifiedBy', 'The User or App that last changed the resource', writerAttributes('last changed'), ro),
  attr('idcsPreventedOperations', 'string', 'Operations only an internal client may perform on the resource (never any here)', {
    ...ro,
    multiValued: true,
    returned: 'request',
    canonicalValues: ['replace', 'update', 'delete'],
    neverSet: true,
  }),
  complex(
    'tags',
    'Key/value tags on the resource',
    [attr('key', 'string', 'Key or name of the tag', { required: true }), attr('value', 'string', 'Value of the tag', { required: true })],
    { multiValued: true, returned: 'request', idcsCompositeKey: ['key', 'value'] },
  ),
  attr('deleteInProgress', 'boolean', 'Whether the resource is being deleted (never: deletion is synchronous here)', { ...ro, neverSet: true }),
  attr('idcsLastUpgradedInRelease', 'string', 'Release in which the resource was last upgraded (never set here)', { ...ro, returned: 'request', neverSet: true }),
  attr('domainOcid', 'string', 'OCID of the identity domain the resource lives in', ro),
  attr('compartmentOcid', 'string', 'OCI compartment of the resource (no OCI compartment here: never set)', { ...ro, neverSet: true }),
  attr('tenancyOcid', 'string', 'OCI tenancy of the resource (no OCI tenancy here: never set)', { ...ro, neverSet: true }),
];

/**
 * Attributes every resource carries (RFC 7643 §3.1, and IDCS's common attributes). They are not part of any
 * schema's `attributes`.
 */
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
  ...IDCS_COMMON_ATTRIBUTES,
];

/** The common attributes the published schemas describe (/Schemas, OpenAPI): those that can carry a value here. */
export const PUBLISHED_COMMON_ATTRIBUTES: ScimAttribute[] = COMMON_ATTRIBUTES.filter((a) => !a.neverSet);

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
