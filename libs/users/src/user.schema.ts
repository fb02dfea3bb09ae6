import { attr, complex, ScimAttribute, ScimResourceType, ScimSchema } from '@app/scim/core';
import { OCI_TAGS_SCHEMA } from './oci-tags.schema';
import { ATTRIBUTE_SOURCES_SCHEMA } from './attribute-sources';
import {
  ADAPTIVE_USER_SCHEMA,
  CAPABILITIES_USER_SCHEMA,
  DB_CREDENTIALS_USER_SCHEMA,
  PASSWORDLESS_USER_SCHEMA,
  POSIX_USER_SCHEMA,
  SELF_CHANGE_USER_SCHEMA,
  SFF_USER_SCHEMA,
  USER_STATE_SCHEMA,
} from './user-extensions.schema';

export const USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ORACLE_USER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';

/** A multi-valued attribute of RFC 7643 §4.1.2's shape: value, display, type, primary. */
const multiValued = (name: string, description: string, valueType: 'string' | 'reference' | 'binary', types: string[] | undefined, opts: { display?: boolean; typeRequired?: boolean; example?: string } = {}) =>
  complex(
    name,
    description,
    [
      // RFC 7643 §8.7.1: a reference value (photos) points outside the service.
      attr('value', valueType, 'The value', { required: true, ...(valueType === 'reference' ? { referenceTypes: ['external'] } : {}), ...(opts.example ? { example: opts.example } : {}) }),
      ...(opts.display === false ? [] : [attr('display', 'string', 'Name for display')]),
      attr('type', 'string', 'Kind of value', { required: opts.typeRequired === true, ...(types ? { canonicalValues: types, example: types[0] } : {}) }),
      attr('primary', 'boolean', 'The preferred value; at most one value is primary'),
    ],
    { multiValued: true },
  );

/**
 * IDCS's email: besides RFC 7643's value, type and primary, a `secondary` flag (at most one) and `verified`, both
 * filterable like `primary` (index columns). A user needs a primary email (see `checkEmails`).
 */
const EMAILS: ScimAttribute = complex(
  'emails',
  'Email addresses; exactly one is primary (IDCS requires a primary email)',
  [
    attr('value', 'string', 'The email address', { required: true, example: 'bjensen@example.com' }),
    attr('type', 'string', 'Kind of address', { canonicalValues: ['work', 'home', 'other', 'recovery'], example: 'work' }),
    attr('primary', 'boolean', 'The preferred address: exactly one address is primary', { example: true }),
    attr('secondary', 'boolean', 'The secondary address (IDCS): at most one address is secondary'),
    attr('verified', 'boolean', 'Whether the address is verified (set by the administrator; this server sends no verification mail)'),
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
    attr('description', 'string', 'Description of the user (IDCS)', { example: 'Tour guide, Paris office' }),
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
    EMAILS,
    multiValued('phoneNumbers', 'Phone numbers', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other', 'recovery'], { display: false, example: '+1 555 555 5555' }),
    multiValued('ims', 'Instant messaging addresses', 'string', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'], { typeRequired: true }),
    multiValued('photos', 'URLs of photos of the user', 'reference', ['photo', 'thumbnail'], { typeRequired: true, example: 'https://photos.example.com/bjensen.jpg' }),
    multiValued('entitlements', 'Entitlements of the user (stored as data)', 'string', undefined, { typeRequired: true }),
    multiValued('roles', 'Roles of the user (stored as data; administrator roles are granted to API clients, not users)', 'string', undefined, { typeRequired: true }),
    multiValued('x509Certificates', 'X.509 certificates of the user, base64 DER (stored as data)', 'binary', undefined),
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
    attr('provider', 'string', 'Registration provider', { mutability: 'immutable', canonicalValues: ['facebook', 'google', 'IDCS', 'twitter'] }),
    attr('serviceUser', 'boolean', 'Whether the user is a service user (stored as data)', { mutability: 'immutable' }),
    attr('doNotShowGettingStarted', 'boolean', 'Hide the getting-started page (stored as data)'),
    attr('accountRecoveryRequired', 'boolean', 'Prompt the user to set up account recovery (stored as data)', { returned: 'request' }),
    attr('preferredUiLandingPage', 'string', 'Landing page after sign-in (stored as data)', { canonicalValues: ['MyApps', 'MyProfile', 'OciConsole'] }),
    // Instructions for the request they come with (IDCS returns them never): accepted whenever sent, never stored
    // (see dropRequestOnly), hence writeOnly here where IDCS says immutable.
    attr('bypassNotification', 'boolean', 'Skip the notification e-mail for this request. Accepted and never stored or returned: this server sends no e-mail', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    attr('userFlowControlledByExternalClient', 'boolean', 'IDCS: bypass notification and return a user token to the client. Accepted, never stored or returned; no effect here', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    attr('notificationEmailTemplateId', 'string', 'IDCS: e-mail template of the notification for this request. Accepted, never stored or returned; no effect here', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    attr('isAuthenticationDelegated', 'boolean', 'IDCS: delegate authentication to a remote app. Accepted, never stored or returned; users sign in through identity providers here', {
      mutability: 'writeOnly',
      returned: 'never',
    }),
    attr('isGroupMembershipNormalized', 'boolean', 'IDCS internal flag. Accepted, never stored or returned', { mutability: 'writeOnly', returned: 'never' }),
    attr('isGroupMembershipSyncedToUsersGroups', 'boolean', 'IDCS internal flag. Accepted, never stored or returned', { mutability: 'writeOnly', returned: 'never' }),
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
    { schema: USER_STATE_SCHEMA, required: false },
    { schema: OCI_TAGS_SCHEMA, required: false },
    { schema: CAPABILITIES_USER_SCHEMA, required: false },
    { schema: ADAPTIVE_USER_SCHEMA, required: false },
    { schema: DB_CREDENTIALS_USER_SCHEMA, required: false },
    { schema: PASSWORDLESS_USER_SCHEMA, required: false },
    { schema: POSIX_USER_SCHEMA, required: false },
    { schema: SELF_CHANGE_USER_SCHEMA, required: false },
    { schema: SFF_USER_SCHEMA, required: false },
    { schema: ATTRIBUTE_SOURCES_SCHEMA, required: false },
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
