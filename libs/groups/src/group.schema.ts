import { attr, complex, ScimResourceType, ScimSchema } from '@app/scim';

export const GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ORACLE_GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group';

export const GROUP_SCHEMA: ScimSchema = {
  id: GROUP_SCHEMA_ID,
  name: 'Group',
  description: 'Group (RFC 7643 §4.2)',
  attributes: [
    attr('displayName', 'string', 'Group name, unique case-insensitively', { required: true, uniqueness: 'server', returned: 'always', example: 'Administrators' }),
    complex(
      'members',
      'Members of the group. Returned only when requested (attributes=members); page with attributes=members[startIndex=1%26count=100]',
      [
        attr('value', 'string', 'Member user id', { required: true, caseExact: true, mutability: 'immutable' }),
        attr('type', 'string', 'Kind of member', { canonicalValues: ['User'], mutability: 'immutable' }),
        attr('$ref', 'reference', 'Member URI', { mutability: 'readOnly', referenceTypes: ['User'] }),
        attr('display', 'string', 'Member display name', { mutability: 'readOnly' }),
      ],
      { multiValued: true, returned: 'request' },
    ),
  ],
};

export const ORACLE_GROUP_SCHEMA: ScimSchema = {
  id: ORACLE_GROUP_SCHEMA_ID,
  name: 'OracleGroupExtension',
  description: 'Oracle IDCS group extension',
  attributes: [
    attr('description', 'string', 'What the group is for', { example: 'Tenant administrators' }),
    attr('creationMechanism', 'string', 'How the group was created', {
      mutability: 'immutable',
      returned: 'request',
      canonicalValues: ['bulk', 'api', 'adsync', 'authsync', 'idcsui', 'import'],
    }),
  ],
};

export const GROUP_RESOURCE_TYPE: ScimResourceType = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Groups of users',
  schema: GROUP_SCHEMA,
  schemaExtensions: [{ schema: ORACLE_GROUP_SCHEMA, required: false }],
};

export const GROUP_EXAMPLE = {
  schemas: [GROUP_SCHEMA_ID, ORACLE_GROUP_SCHEMA_ID],
  displayName: 'Administrators',
  members: [{ value: '2819c223a7f04e8fa2c3a5d8b3e0e6a4', type: 'User' }],
  [ORACLE_GROUP_SCHEMA_ID]: { description: 'Tenant administrators' },
};

export const GROUP_PATCH_EXAMPLE = {
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [
    { op: 'add', path: 'members', value: [{ value: '2819c223a7f04e8fa2c3a5d8b3e0e6a4', type: 'User' }] },
    { op: 'remove', path: 'members[value eq "6d8448a643b94b268d986e9d31e20cbc"]' },
  ],
};

GROUP_RESOURCE_TYPE.example = GROUP_EXAMPLE;
