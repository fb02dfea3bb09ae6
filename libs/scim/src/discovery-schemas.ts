import { attr, complex, SCIM_SCHEMAS, ScimAttribute, ScimResourceType, ScimSchema } from './schema';

/**
 * The schemas of the discovery resources themselves (RFC 7643 §5–§7, representations in §8.7.2), and of our
 * extension of ServiceProviderConfig. /Schemas lists them like any other, and they drive `attributes=` /
 * `excludedAttributes=` on the discovery endpoints through the same Projection as every resource.
 */

const ro = { mutability: 'readOnly' } as const;
const roExact = { mutability: 'readOnly', caseExact: true } as const;
const supported = (what: string) => attr('supported', 'boolean', `Whether ${what} is supported.`, { ...ro, required: true });

export const SERVICE_PROVIDER_CONFIG_SCHEMA: ScimSchema = {
  id: SCIM_SCHEMAS.serviceProviderConfig,
  name: 'Service Provider Configuration',
  description: "Schema for representing the service provider's configuration",
  attributes: [
    attr('documentationUri', 'reference', "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.", { ...ro, referenceTypes: ['external'] }),
    complex('patch', 'A complex type that specifies PATCH configuration options.', [supported('the PATCH operation')], { ...ro, required: true }),
    complex(
      'bulk',
      'A complex type that specifies bulk configuration options.',
      [
        supported('the bulk operation'),
        attr('maxOperations', 'integer', 'An integer value specifying the maximum number of operations.', { ...ro, required: true }),
        attr('maxPayloadSize', 'integer', 'An integer value specifying the maximum payload size in bytes.', { ...ro, required: true }),
      ],
      { ...ro, required: true },
    ),
    complex(
      'filter',
      'A complex type that specifies FILTER options.',
      [supported('filtering'), attr('maxResults', 'integer', 'The maximum number of resources returned in a response.', { ...ro, required: true })],
      { ...ro, required: true },
    ),
    complex('changePassword', 'A complex type that specifies configuration options related to changing a password.', [supported('the change password operation')], { ...ro, required: true }),
    complex('sort', 'A complex type that specifies sort result options.', [supported('sorting')], { ...ro, required: true }),
    complex('etag', 'A complex type that specifies ETag configuration options.', [supported('the ETag')], { ...ro, required: true }),
    complex(
      'authenticationSchemes',
      'A complex type that specifies supported authentication scheme properties.',
      [
        attr('type', 'string', 'The authentication scheme.', { ...ro, required: true, canonicalValues: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'] }),
        attr('name', 'string', 'The common authentication scheme name, e.g., HTTP Basic.', { ...ro, required: true }),
        attr('description', 'string', 'A description of the authentication scheme.', { ...ro, required: true }),
        attr('specUri', 'reference', "An HTTP-addressable URL pointing to the authentication scheme's specification.", { ...ro, referenceTypes: ['external'] }),
        attr('documentationUri', 'reference', "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.", { ...ro, referenceTypes: ['external'] }),
        attr('primary', 'boolean', 'Whether this is the preferred authentication scheme.', ro),
      ],
      { ...ro, required: true, multiValued: true },
    ),
  ],
};

/** Our extension of ServiceProviderConfig: the limits this server enforces. */
export const LIMITS_SCHEMA: ScimSchema = {
  id: 'urn:ietf:params:scim:schemas:oracle:idcs:extension:limits',
  name: 'Limits',
  description:
    'Limits this server enforces. Returned only on request (attributes=<this URN>, or attributeSets=all), so that the default ServiceProviderConfig is exactly RFC 7643 §5 for strict SCIM clients.',
  attributes: [
    attr('maxBodyBytes', 'integer', 'The largest request body accepted, in bytes (larger: 413).', { ...ro, returned: 'request' }),
    attr('maxPatchOperations', 'integer', 'The most operations one PATCH request may carry (more: 413).', { ...ro, returned: 'request' }),
    attr('maxResourceBytes', 'integer', 'The largest resource, as JSON, in bytes, so that a resource can always be sent back whole with PUT.', { ...ro, returned: 'request' }),
    attr(
      'maxValues',
      'complex',
      'Per resource type name, per multi-valued attribute path: the most values one request may name (all operations of a PATCH together) and, except Group members (rows, paged on read), the most a resource may hold. Keyed by resource type and attribute, so its sub-attributes are not listed here.',
      { ...ro, returned: 'request' },
    ),
  ],
};

export const RESOURCE_TYPE_SCHEMA: ScimSchema = {
  id: SCIM_SCHEMAS.resourceType,
  name: 'ResourceType',
  description: 'Specifies the schema that describes a SCIM resource type',
  attributes: [
    attr('name', 'string', 'The resource type name.', { ...ro, required: true }),
    attr('description', 'string', "The resource type's human-readable description.", ro),
    attr('endpoint', 'reference', "The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.", { ...ro, required: true, referenceTypes: ['uri'] }),
    attr('schema', 'reference', "The resource type's primary/base schema URI.", { ...roExact, required: true, referenceTypes: ['uri'] }),
    complex(
      'schemaExtensions',
      "A list of URIs of the resource type's schema extensions.",
      [
        attr('schema', 'reference', 'The URI of a schema extension.', { ...roExact, required: true, referenceTypes: ['uri'] }),
        attr('required', 'boolean', 'Whether a schema extension is required for the resource type.', { ...ro, required: true }),
      ],
      { ...ro, multiValued: true },
    ),
  ],
};

/** The attribute definition's own attributes (RFC 7643 §7), shared by `attributes` and `attributes.subAttributes`. */
function attributeDefinition(withSubAttributes: boolean): ScimAttribute[] {
  return [
    attr('name', 'string', "The attribute's name.", { ...roExact, required: true }),
    attr('type', 'string', "The attribute's data type.", { ...ro, required: true, canonicalValues: ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'] }),
    attr('multiValued', 'boolean', 'Whether the attribute is multi-valued.', { ...ro, required: true }),
    attr('description', 'string', "A human-readable description of the attribute.", ro),
    attr('required', 'boolean', 'Whether the attribute is required.', ro),
    attr('canonicalValues', 'string', 'A collection of canonical values.', { ...roExact, multiValued: true }),
    attr('caseExact', 'boolean', 'Whether a string attribute is case sensitive.', ro),
    attr('mutability', 'string', 'Whether the attribute is mutable.', { ...roExact, canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] }),
    attr('returned', 'string', 'When an attribute and associated values are returned in response to a GET request or in response to a PUT, POST, or PATCH request.', {
      ...roExact,
      canonicalValues: ['always', 'never', 'default', 'request'],
    }),
    attr('uniqueness', 'string', 'How the service provider enforces uniqueness of attribute values.', { ...roExact, canonicalValues: ['none', 'server', 'global'] }),
    attr('referenceTypes', 'string', 'The names of the resource types that may be referenced.', { ...roExact, multiValued: true }),
    ...(withSubAttributes ? [complex('subAttributes', 'Used to define the sub-attributes of a complex attribute.', attributeDefinition(false), { ...ro, multiValued: true })] : []),
  ];
}

export const SCHEMA_SCHEMA: ScimSchema = {
  id: SCIM_SCHEMAS.schema,
  name: 'Schema',
  description: 'Specifies the schema attribute',
  attributes: [
    attr('name', 'string', 'The schema name.', ro),
    attr('description', 'string', 'The schema description.', ro),
    complex('attributes', 'A complex attribute that includes the attributes of a schema.', attributeDefinition(true), { ...ro, required: true, multiValued: true }),
  ],
};

/** The discovery resources as resource types, for Projection; not in the registry, so /ResourceTypes does not list them. */
export const DISCOVERY_TYPES = {
  serviceProviderConfig: {
    name: 'ServiceProviderConfig',
    endpoint: '/ServiceProviderConfig',
    description: 'Service provider configuration',
    schema: SERVICE_PROVIDER_CONFIG_SCHEMA,
    schemaExtensions: [{ schema: LIMITS_SCHEMA, required: false }],
  },
  resourceType: { name: 'ResourceType', endpoint: '/ResourceTypes', description: 'Resource type', schema: RESOURCE_TYPE_SCHEMA, schemaExtensions: [] },
  schema: { name: 'Schema', endpoint: '/Schemas', description: 'Schema', schema: SCHEMA_SCHEMA, schemaExtensions: [] },
} satisfies Record<string, ScimResourceType>;

export const DISCOVERY_SCHEMAS: ScimSchema[] = [SERVICE_PROVIDER_CONFIG_SCHEMA, LIMITS_SCHEMA, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA];
