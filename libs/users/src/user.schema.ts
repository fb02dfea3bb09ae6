import { attr, complex, ScimResourceType, ScimSchema } from '@app/scim/core';

export const USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ORACLE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';

const multiValuedContact = (name: string, description: string, types: string[], example: string) =>
  complex(
    name,
    description,
    [
      attr('value', 'string', `The ${name === 'emails' ? 'email address' : 'phone number'}`, { required: true, example }),
      attr('type', 'string', 'Kind of value', { canonicalValues: types, example: types[0] }),
      attr('primary', 'boolean', 'The preferred value; at most one value is primary'),
    ],
    { multiValued: true },
  );

export const USER_SCHEMA: ScimSchema = {
  id: USER_SCHEMA_ID,
  name: 'User',
  description: 'User account (RFC 7643 §4.1)',
  attributes: [
    attr('userName', 'string', 'Unique identifier for sign-in, unique case-insensitively', {
      required: true,
      uniqueness: 'server',
      returned: 'always',
      example: 'bjensen@example.com',
    }),
    complex('name', 'Components of the user\'s name', [
      attr('formatted', 'string', 'Full name for display', { example: 'Ms. Barbara J Jensen III' }),
      attr('familyName', 'string', 'Family name', { example: 'Jensen' }),
      attr('givenName', 'string', 'Given name', { example: 'Barbara' }),
      attr('middleName', 'string', 'Middle name'),
      attr('honorificPrefix', 'string', 'Title prefix, e.g. "Ms."'),
      attr('honorificSuffix', 'string', 'Suffix, e.g. "III"'),
    ]),
    attr('displayName', 'string', 'Name for display', { example: 'Babs Jensen' }),
    attr('nickName', 'string', 'Casual name'),
    attr('profileUrl', 'reference', 'Profile page URL', { referenceTypes: ['external'] }),
    attr('title', 'string', 'Job title', { example: 'Tour Guide' }),
    attr('userType', 'string', 'Relationship to the organisation', {
      canonicalValues: ['Contractor', 'Employee', 'Intern', 'Temp', 'External', 'Service', 'Generic'],
    }),
    attr('preferredLanguage', 'string', 'Preferred language, e.g. "en-US"'),
    attr('locale', 'string', 'Locale for localisation, e.g. "en-US"'),
    attr('timezone', 'string', 'IANA time zone, e.g. "Europe/Paris"'),
    attr('active', 'boolean', 'Whether the user may sign in; false deactivates the account', { example: true }),
    attr('password', 'string', 'Password; stored hashed, never returned', { mutability: 'writeOnly', returned: 'never', caseExact: true }),
    multiValuedContact('emails', 'Email addresses', ['work', 'home', 'other', 'recovery'], 'bjensen@example.com'),
    multiValuedContact('phoneNumbers', 'Phone numbers', ['work', 'home', 'mobile', 'fax', 'pager', 'other'], '+1 555 555 5555'),
    complex(
      'addresses',
      'Postal addresses',
      [
        attr('formatted', 'string', 'Full address for display'),
        attr('streetAddress', 'string', 'Street'),
        attr('locality', 'string', 'City'),
        attr('region', 'string', 'State or region'),
        attr('postalCode', 'string', 'Postal code'),
        attr('country', 'string', 'ISO 3166-1 alpha-2 country code'),
        attr('type', 'string', 'Kind of address', { canonicalValues: ['work', 'home', 'other'] }),
        attr('primary', 'boolean', 'The preferred address'),
      ],
      { multiValued: true },
    ),
    complex(
      'groups',
      'Groups the user belongs to; change memberships through the Group resource',
      [
        attr('value', 'string', 'Group id', { mutability: 'readOnly', caseExact: true }),
        attr('$ref', 'reference', 'Group URI', { mutability: 'readOnly', referenceTypes: ['Group'] }),
        attr('display', 'string', 'Group displayName', { mutability: 'readOnly' }),
        attr('type', 'string', 'Membership type', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
      { multiValued: true, mutability: 'readOnly', returned: 'request' },
    ),
  ],
};

export const ENTERPRISE_USER_SCHEMA: ScimSchema = {
  id: ENTERPRISE_USER_SCHEMA_ID,
  name: 'EnterpriseUser',
  description: 'Enterprise user extension (RFC 7643 §4.3)',
  attributes: [
    attr('employeeNumber', 'string', 'Employee number', { example: '701984' }),
    attr('costCenter', 'string', 'Cost centre'),
    attr('organization', 'string', 'Organisation', { example: 'Acme' }),
    attr('division', 'string', 'Division'),
    attr('department', 'string', 'Department', { example: 'Tour Operations' }),
    complex('manager', 'The user\'s manager', [
      attr('value', 'string', 'Manager\'s user id', { caseExact: true }),
      attr('$ref', 'reference', 'Manager URI', { mutability: 'readOnly', referenceTypes: ['User'] }),
      attr('displayName', 'string', 'Manager\'s display name', { mutability: 'readOnly' }),
    ]),
  ],
};

export const ORACLE_USER_SCHEMA: ScimSchema = {
  id: ORACLE_USER_SCHEMA_ID,
  name: 'OracleUserExtension',
  description: 'Oracle IDCS user extension: provisioning attributes',
  attributes: [
    attr('isFederatedUser', 'boolean', 'The user authenticates at an external identity provider', { example: false }),
    attr('creationMechanism', 'string', 'How the user was created', {
      mutability: 'immutable',
      returned: 'request',
      canonicalValues: ['bulk', 'api', 'adsync', 'idcsui', 'import', 'authsync', 'selfreg', 'samljit'],
    }),
    complex(
      'syncedFromApp',
      'Where the user is synchronised from (for JIT: the identity provider)',
      [
        attr('value', 'string', 'Id of the source', { required: true, caseExact: true }),
        attr('type', 'string', 'Kind of source', { required: true, mutability: 'immutable', canonicalValues: ['IdentitySource', 'App', 'IdentityProvider'] }),
        attr('$ref', 'reference', 'URI of the source', { mutability: 'readOnly', referenceTypes: ['uri'] }),
        attr('display', 'string', 'Name of the source', { mutability: 'readOnly' }),
      ],
    ),
  ],
};

export const USER_RESOURCE_TYPE: ScimResourceType = {
  name: 'User',
  endpoint: '/Users',
  description: 'User accounts',
  schema: USER_SCHEMA,
  schemaExtensions: [
    { schema: ENTERPRISE_USER_SCHEMA, required: false },
    { schema: ORACLE_USER_SCHEMA, required: false },
  ],
};

export const USER_EXAMPLE = {
  schemas: [USER_SCHEMA_ID, ENTERPRISE_USER_SCHEMA_ID],
  userName: 'bjensen@example.com',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  displayName: 'Babs Jensen',
  emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
  active: true,
  [ENTERPRISE_USER_SCHEMA_ID]: { employeeNumber: '701984', department: 'Tour Operations' },
};

USER_RESOURCE_TYPE.example = USER_EXAMPLE;
