import { attr, complex, ScimResourceType, ScimSchema } from '@app/scim';
import { OCI_TAGS_SCHEMA } from '@app/users/core';

export const GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ORACLE_GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group';
export const POSIX_GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:posix:Group';
export const REQUESTABLE_GROUP_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:requestable:Group';

export const GROUP_SCHEMA: ScimSchema = {
  id: GROUP_SCHEMA_ID,
  name: 'Group',
  description: 'Group (RFC 7643 §4.2)',
  attributes: [
    attr('displayName', 'string', 'Group name, unique case-insensitively', { required: true, uniqueness: 'server', returned: 'always', example: 'Administrators' }),
    attr('nonUniqueDisplayName', 'string', 'Name for display that, unlike displayName, need not be unique (IDCS)', { returned: 'always', example: 'Admins' }),
    complex(
      'members',
      'Members of the group. Returned only when requested (attributes=members); page with attributes=members[startIndex=1%26count=100]',
      [
        attr('value', 'string', 'Member user id', { required: true, caseExact: true, mutability: 'immutable' }),
        attr('type', 'string', 'Kind of member', { canonicalValues: ['User'], mutability: 'immutable' }),
        attr('$ref', 'reference', 'Member URI', { mutability: 'readOnly', referenceTypes: ['User'] }),
        attr('display', 'string', 'Member display name', { mutability: 'readOnly' }),
        // What IDCS returns besides, so that a group read from IDCS can be PUT here: accepted and ignored.
        attr('name', 'string', 'Member name (IDCS; not returned here, ignored on input)', { mutability: 'readOnly' }),
        attr('ocid', 'string', 'Member OCID (IDCS; not returned here, ignored on input)', { mutability: 'readOnly' }),
        attr('membershipOcid', 'string', 'Membership OCID (IDCS; not returned here, ignored on input)', { mutability: 'readOnly' }),
        attr('dateAdded', 'dateTime', 'When the member was added (IDCS; not returned here, ignored on input)', { mutability: 'readOnly' }),
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
    complex(
      'owners',
      'Owners of the group (stored as data: ownership grants nothing here, and owners are not checked or removed when the user goes)',
      [
        attr('value', 'string', 'Id of the owning user or app', { required: true, caseExact: true }),
        attr('type', 'string', 'Kind of owner', { required: true, canonicalValues: ['User', 'App'], example: 'User' }),
        attr('$ref', 'reference', 'URI of the owner (IDCS; ignored on input)', { mutability: 'readOnly', referenceTypes: ['User', 'uri'] }),
        attr('display', 'string', 'Name of the owner (IDCS; ignored on input)', { mutability: 'readOnly' }),
      ],
      { multiValued: true, returned: 'request' },
    ),
  ],
};

export const POSIX_GROUP_SCHEMA: ScimSchema = {
  id: POSIX_GROUP_SCHEMA_ID,
  name: 'PosixGroup',
  description: 'Oracle IDCS POSIX group attributes (stored as data)',
  attributes: [attr('gidNumber', 'integer', 'Numeric group id', { returned: 'request', example: 500 })],
};

export const REQUESTABLE_GROUP_SCHEMA: ScimSchema = {
  id: REQUESTABLE_GROUP_SCHEMA_ID,
  name: 'RequestableGroup',
  description: 'Oracle IDCS requestable flag (stored as data: this server has no access requests)',
  attributes: [attr('requestable', 'boolean', 'Whether users may request membership in My Apps (IDCS)', { returned: 'request' })],
};

export const GROUP_RESOURCE_TYPE: ScimResourceType = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'Groups of users',
  schema: GROUP_SCHEMA,
  schemaExtensions: [
    { schema: ORACLE_GROUP_SCHEMA, required: false },
    { schema: OCI_TAGS_SCHEMA, required: false },
    { schema: POSIX_GROUP_SCHEMA, required: false },
    { schema: REQUESTABLE_GROUP_SCHEMA, required: false },
  ],
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
