import { attr, complex, ScimResourceType } from '@app/scim';
import { JIT_POLICY_MAPPED_ATTRIBUTE_SCHEMA } from './attribute-mappings';

export const MAPPED_ATTRIBUTE_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:MappedAttribute';

export const MAPPED_ATTRIBUTE_RESOURCE_TYPE: ScimResourceType = {
  name: 'MappedAttribute',
  endpoint: '/MappedAttributes',
  description: 'Attribute mappings; each SAML identity provider has one for its JIT provisioning (created and deleted with it)',
  schema: {
    id: MAPPED_ATTRIBUTE_SCHEMA_ID,
    name: 'MappedAttribute',
    description: 'IDCS MappedAttribute',
    attributes: [
      attr('idcsResourceType', 'string', 'Domain resource the mappings write to', {
        required: true,
        mutability: 'immutable',
        caseExact: true,
        canonicalValues: ['User', 'Group', 'Container'],
        example: 'User',
      }),
      attr('refResourceType', 'string', 'Kind of resource owning the mapping', {
        required: true,
        mutability: 'readOnly',
        caseExact: true,
        canonicalValues: ['AccountObjectClass', 'App', 'ManagedObjectClass', 'IdentityProvider'],
        example: 'IdentityProvider',
      }),
      attr('refResourceID', 'string', 'Id of the owning resource (the identity provider)', { required: true, mutability: 'readOnly', caseExact: true }),
      attr('direction', 'string', 'inbound: from the source into the domain', {
        required: true,
        mutability: 'immutable',
        caseExact: true,
        canonicalValues: ['inbound', 'outbound'],
        example: 'inbound',
      }),
      complex(
        'attributeMappings',
        'Mappings, applied in order (the last one for a target wins)',
        [
          attr('idcsAttributeName', 'string', 'Target User attribute path, e.g. name.givenName or emails[primary eq true and type eq "work"].value', {
            required: true,
            caseExact: true,
            example: 'name.givenName',
          }),
          attr('managedObjectAttributeName', 'string', 'Source expression: $(assertion.<name>), $(assertion.fed.nameidvalue), "constant", #concat/#upper/#lower/#toBoolean/#trim', {
            required: true,
            caseExact: true,
            example: '$(assertion.firstName)',
          }),
          attr('required', 'boolean', 'Sign-in fails when the value is missing'),
          attr('appliesToActions', 'string', 'When the mapping applies (absent: always)', { multiValued: true, canonicalValues: ['create', 'update'] }),
          attr('samlFormat', 'string', 'Assertion attribute NameFormat', { caseExact: true }),
        ],
        { multiValued: true },
      ),
    ],
  },
  schemaExtensions: [{ schema: JIT_POLICY_MAPPED_ATTRIBUTE_SCHEMA, required: false }],
};

export const MAPPED_ATTRIBUTE_EXAMPLE = {
  schemas: [MAPPED_ATTRIBUTE_SCHEMA_ID],
  idcsResourceType: 'User',
  direction: 'inbound',
  attributeMappings: [
    { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
    { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
    { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
    { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
  ],
};

/** What a new identity provider's mapping starts with: the NameID becomes the user name (as the IDCS console's first row). */
export const DEFAULT_JIT_MAPPINGS = [{ idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' }];

MAPPED_ATTRIBUTE_RESOURCE_TYPE.example = MAPPED_ATTRIBUTE_EXAMPLE;
