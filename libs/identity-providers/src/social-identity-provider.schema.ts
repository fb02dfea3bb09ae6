import { attr, ScimResourceType } from '@app/scim';
import { SOCIAL_IDENTITY_PROVIDER_SCHEMA } from './identity-provider.schema';

export const SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:SocialIdentityProvider';

/**
 * Attributes of a SocialIdentityProvider that are IdentityProvider core attributes under another name (or the
 * same one): SocialIdentityProvider name → IdentityProvider name. Every other attribute of the view is one of the
 * social extension's, under the same name.
 */
export const SOCIAL_VIEW_CORE_ATTRIBUTES = {
  name: 'partnerName',
  description: 'description',
  enabled: 'enabled',
  showOnLogin: 'shownOnLoginPage',
  iconUrl: 'iconUrl',
} as const;

/**
 * IDCS /admin/v1/SocialIdentityProviders (OCI SDK model social-identity-provider): the SOCIAL identity providers,
 * with the social extension's attributes at the top level. A second view of the IdentityProviders rows, not a
 * resource of its own: same id, version, OCID and audit trail. The extension's attribute definitions are used as
 * they are, so the two views validate, filter and project them alike.
 */
export const SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE: ScimResourceType = {
  name: 'SocialIdentityProvider',
  endpoint: '/SocialIdentityProviders',
  description: 'Social (OAuth 2.0 / OpenID Connect) identity providers: the IdentityProviders of type SOCIAL, with their social settings as top-level attributes',
  schema: {
    id: SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID,
    name: 'SocialIdentityProvider',
    description: 'IDCS SocialIdentityProvider: an IdentityProvider of type SOCIAL seen through its social extension',
    attributes: [
      attr('name', 'string', 'Unique name of the identity provider (its IdentityProvider partnerName)', { required: true, uniqueness: 'server', returned: 'always', example: 'Corp OpenID Connect' }),
      attr('description', 'string', 'What it is for'),
      attr('enabled', 'boolean', 'Whether users may sign in through it', { required: true, example: true }),
      attr('showOnLogin', 'boolean', 'Offer it on the login page (its IdentityProvider shownOnLoginPage; absent there reads as false)', { required: true, example: true }),
      attr('iconUrl', 'reference', 'Icon shown on the login page', { referenceTypes: ['external'] }),
      ...SOCIAL_IDENTITY_PROVIDER_SCHEMA.attributes,
    ],
  },
  schemaExtensions: [],
};

export const SOCIAL_IDENTITY_PROVIDER_EXAMPLE = {
  schemas: [SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID],
  name: 'Corp OpenID Connect',
  enabled: true,
  showOnLogin: true,
  accountLinkingEnabled: true,
  registrationEnabled: false,
  serviceProviderName: 'OpenIDConnect',
  consumerKey: '0oa1fcia6d6EMsf331d8',
  consumerSecret: 'client-secret-from-the-provider',
  discoveryUrl: 'https://login.example.com/.well-known/openid-configuration',
  scope: ['openid', 'email', 'profile'],
  clockSkewInSeconds: 60,
};

SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE.example = SOCIAL_IDENTITY_PROVIDER_EXAMPLE;
