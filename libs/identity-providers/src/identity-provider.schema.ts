import { JIT_POLICY_EXTENSION_SCHEMA, SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID } from '@app/jit';
import { attr, complex, MAX_RESOURCE_BYTES, ScimResourceType, ScimSchema } from '@app/scim';
import { TRUST_EXTENSION_SCHEMA } from './trust-extension.schema';

export const IDENTITY_PROVIDER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
export const SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID = SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID;
export const X509_IDENTITY_PROVIDER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:x509:IdentityProvider';

/** IDCS's identity provider types. IWA and LOCAL are IDCS's own (Windows bridge, the domain's sign-in page). */
export const IDENTITY_PROVIDER_TYPES = ['SAML', 'SOCIAL', 'X509'] as const;

export const NAME_ID_FORMATS: Record<string, string> = {
  'saml-emailaddress': 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'saml-x509': 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName',
  'saml-kerberos': 'urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos',
  'saml-persistent': 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'saml-transient': 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'saml-unspecified': 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  'saml-windowsnamequalifier': 'urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName',
  'saml-none': '',
};

/** The extended key usages of the x509 extension's ekuValues (OCI SDK enum), matched ignoring case. */
export const X509_EKU_VALUES = ['SERVER_AUTH', 'CLIENT_AUTH', 'CODE_SIGNING', 'EMAIL_PROTECTION', 'TIME_STAMPING', 'OCSP_SIGNING'] as const;

const s = (name: string, description: string, options = {}) => attr(name, 'string', description, options);
const b = (name: string, description: string, options = {}) => attr(name, 'boolean', description, options);
const groupRef = (name: string, description: string, extra: ReturnType<typeof attr>[]) =>
  complex(
    name,
    description,
    [
      ...extra,
      s('value', 'Id of the domain group', { required: true, caseExact: true }),
      attr('$ref', 'reference', 'URI of the group', { mutability: 'readOnly', referenceTypes: ['Group'] }),
      s('display', 'displayName of the group', { mutability: 'readOnly' }),
    ],
    { multiValued: true },
  );

/**
 * Social (OAuth 2.0 / OpenID Connect) identity providers, as the OCI SDK model extension-social-identity-provider
 * describes them. Stored and returned here; sign-in through them comes with OpenID Connect support.
 * consumerSecret is write-only: IDCS returns it (encrypted), we never do, and it is kept encrypted in a column of
 * its own, outside the stored representation. IDCS marks it required; it is checked as required on write instead
 * (a stored secret satisfies a PUT that leaves it out), since the representation never holds it.
 */
export const SOCIAL_IDENTITY_PROVIDER_SCHEMA: ScimSchema = {
  id: SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID,
  name: 'SocialIdentityProvider',
  description: 'Social identity provider (OAuth 2.0 / OpenID Connect) settings',
  attributes: [
    s('serviceProviderName', 'Provider type: Google, Facebook, Microsoft, Apple, LinkedIn, X, OpenIDConnect (a generic OpenID Connect provider; "OpenID Connect" and "OIDC" are stored as OpenIDConnect) or a registered custom type', {
      required: true,
      mutability: 'immutable',
      caseExact: true,
      example: 'Google',
    }),
    s('consumerKey', 'Client id at the provider', { required: true, caseExact: true }),
    s('consumerSecret', 'Client secret at the provider; required to create a social IdP; write-only, stored encrypted', {
      mutability: 'writeOnly',
      returned: 'never',
      caseExact: true,
    }),
    b('accountLinkingEnabled', 'Link a signed-in account to an existing user', { required: true }),
    b('registrationEnabled', 'Let unknown users register', { required: true }),
    s('status', 'Provider status', { caseExact: true, canonicalValues: ['created', 'deleted'] }),
    s('discoveryUrl', 'OpenID Connect discovery URL (https, or http on a loopback host, for SOCIAL identity providers)', { caseExact: true }),
    s('authzUrl', 'Authorization endpoint URL (https, or http on a loopback host, for SOCIAL identity providers)', { caseExact: true }),
    s('accessTokenUrl', 'Token endpoint URL (https, or http on a loopback host, for SOCIAL identity providers)', { caseExact: true }),
    s('profileUrl', 'User profile (userinfo) URL (https, or http on a loopback host, for SOCIAL identity providers)', { caseExact: true }),
    // readWrite as IDCS has it: Oracle's Terraform test sends a placeholder with a SAML IdP, and gets it back.
    s('redirectUrl', 'Redirect URL to register at the provider. For a SOCIAL identity provider always <PUBLIC_URL>/oauth2/v1/social/callback: a value given is ignored', { caseExact: true }),
    // Not in IDCS's extension: the SocialIdentityProviders view has it, and it is kept here.
    s('refreshTokenUrl', 'Refresh token endpoint URL (SocialIdentityProviders\' refreshTokenUrl)', { caseExact: true }),
    s('scope', 'Scopes to request, one token each (no spaces)', { multiValued: true, caseExact: true, example: ['openid', 'email', 'profile'] }),
    s('adminScope', 'Admin scopes to request', { multiValued: true, caseExact: true }),
    b('clientCredentialInPayload', 'Send the client credentials in the token request body (client_secret_post) instead of HTTP Basic'),
    attr('clockSkewInSeconds', 'integer', 'Allowed clock skew, 0 to 600 seconds'),
    s('idAttribute', 'Claim used for account linking', { mutability: 'immutable', caseExact: true }),
    s('appleDevId', 'Apple developer id', { caseExact: true }),
    s('appleKeyId', 'Apple private key id', { caseExact: true }),
    complex(
      'relayIdpParamMappings',
      'Parameters relayed to the provider',
      [s('relayParamKey', 'Parameter name', { required: true, caseExact: true }), s('relayParamValue', 'Parameter value', { caseExact: true })],
      { multiValued: true },
    ),
    b('autoRedirectEnabled', 'Send users straight to this provider from the sign-in page'),
    b('socialJitProvisioningEnabled', 'Create users at their first sign-in'),
    b('jitProvGroupStaticListEnabled', 'Assign the groups of jitProvAssignedGroups to created users'),
    groupRef('jitProvAssignedGroups', 'Groups every user created through this provider is assigned', []),
  ],
};

/** X.509 certificate sign-in settings (OCI SDK model extension-x509-identity-provider), stored as data. */
const X509_IDENTITY_PROVIDER_SCHEMA: ScimSchema = {
  id: X509_IDENTITY_PROVIDER_SCHEMA_ID,
  name: 'X509IdentityProvider',
  description: 'X.509 certificate sign-in settings (stored; certificate sign-in is not implemented)',
  attributes: [
    s('certMatchAttribute', 'Certificate attribute matched against userMatchAttribute', { required: true }),
    s('userMatchAttribute', 'User attribute that must match the certificate attribute', { required: true }),
    s('otherCertMatchAttribute', 'Further conditions on other certificate attributes'),
    s('signingCertificateChain', 'Aliases of the certificates that chain the client certificate', { required: true, multiValued: true }),
    b('ocspEnabled', 'Check revocation with OCSP'),
    s('ocspServerName', 'OCSP server alias'),
    s('ocspResponderURL', 'OCSP responder URL'),
    b('ocspAllowUnknownResponseStatus', 'Allow access when OCSP answers UNKNOWN or does not answer in time'),
    attr('ocspRevalidateTime', 'integer', 'Revalidate the OCSP status after this many hours'),
    b('ocspEnableSignedResponse', 'Require signed OCSP responses'),
    s('ocspTrustCertChain', 'OCSP trusted certificate chain', { multiValued: true }),
    b('crlEnabled', 'Check revocation with CRLs'),
    b('crlCheckOnOCSPFailureEnabled', 'Fall back on the CRL when OCSP fails'),
    s('crlLocation', 'CRL location URL'),
    attr('crlReloadDuration', 'integer', 'Fetch the CRL every this many minutes'),
    b('ekuValidationEnabled', 'Check the certificate\'s extended key usages'),
    s('ekuValues', 'Extended key usages required', { multiValued: true, canonicalValues: [...X509_EKU_VALUES] }),
  ],
};

export const IDENTITY_PROVIDER_RESOURCE_TYPE: ScimResourceType = {
  name: 'IdentityProvider',
  endpoint: '/IdentityProviders',
  description: 'Identity providers (SAML 2.0; social and X.509 ones stored with their extensions) and their Just-In-Time provisioning settings',
  schema: {
    id: IDENTITY_PROVIDER_SCHEMA_ID,
    name: 'IdentityProvider',
    description: 'IDCS IdentityProvider',
    attributes: [
      s('partnerName', 'Unique name of the identity provider', { required: true, uniqueness: 'server', returned: 'always', example: 'Okta' }),
      b('enabled', 'Whether users may sign in through it', { required: true, example: true }),
      s('description', 'What it is for'),
      s('type', 'Kind of identity provider (default SAML). SAML sign-in uses SAML identity providers only; SOCIAL and X509 ones are stored with their extension', {
        mutability: 'immutable',
        returned: 'always',
        caseExact: true,
        canonicalValues: [...IDENTITY_PROVIDER_TYPES],
        example: 'SAML',
      }),
      s('metadata', 'The IdP\'s SAML metadata XML (an EntityDescriptor, or an aggregate from which partnerProviderId picks the IdP); on write it fills partnerProviderId, idpSsoUrl, signingCertificate and logout URLs not given explicitly, and the trust extension\'s signingCertificates', {
        caseExact: true,
        // Real documents exceed the 8,192 characters of other strings (Entra ID 14–25 KB, AD FS 31–97 KB): up to the request body limit.
        maxLength: MAX_RESOURCE_BYTES,
      }),
      s('partnerProviderId', 'Entity ID (Issuer) of the IdP', { uniqueness: 'server', caseExact: true, example: 'http://www.okta.com/exk1fcia6d6EMsf331d8' }),
      s('tenantProviderId', 'Our SP entity ID as this IdP sees it', { mutability: 'readOnly', caseExact: true }),
      attr('idpSsoUrl', 'reference', 'IdP single sign-on URL', { referenceTypes: ['external'], example: 'https://example.okta.com/app/exk1/sso/saml' }),
      attr('logoutRequestUrl', 'reference', 'IdP single logout request URL', { referenceTypes: ['external'] }),
      attr('logoutResponseUrl', 'reference', 'IdP single logout response URL', { referenceTypes: ['external'] }),
      s('signingCertificate', 'IdP signing certificate (base64 DER or PEM)', { caseExact: true }),
      s('encryptionCertificate', 'IdP encryption certificate (base64 DER or PEM)', { caseExact: true }),
      s('nameIdFormat', 'NameID format requested: one of the short tokens, or a format URI as IdP metadata carries it. Other values are stored, and sign-in through the IdP is refused until it names a format', {
        caseExact: true,
        canonicalValues: Object.keys(NAME_ID_FORMATS),
        example: 'saml-emailaddress',
      }),
      b('includeSigningCertInSignature', 'Include our certificate in AuthnRequest signatures'),
      s('authnRequestBinding', 'Binding to send AuthnRequests with', { canonicalValues: ['Redirect', 'Post'], example: 'Redirect' }),
      s('logoutBinding', 'Binding for logout messages', { canonicalValues: ['Redirect', 'Post'] }),
      b('logoutEnabled', 'Single logout with this IdP'),
      s('signatureHashAlgorithm', 'Signature hash algorithm; SHA-1 is accepted only when set here explicitly', { canonicalValues: ['SHA-1', 'SHA-256'], example: 'SHA-256' }),
      attr('iconUrl', 'reference', 'Icon shown on the login page', { referenceTypes: ['external'] }),
      b('shownOnLoginPage', 'Offer it on the login page'),
      b('requireForceAuthn', 'Ask the IdP to re-authenticate the user (ForceAuthn)'),
      b('requiresEncryptedAssertion', 'Reject assertions that are not encrypted'),
      b('samlHoKRequired', 'Holder-of-key subject confirmation required'),
      // Not in IDCS: IdP-initiated (unsolicited) responses cannot be bound to a request we sent, so they are off unless an administrator opts in.
      b('allowUnsolicitedResponses', 'Accept IdP-initiated (unsolicited) responses, which answer no AuthnRequest of ours; default false'),
      // Not in IDCS: most IdPs sign only the assertion (always required); this also requires the Response to be signed.
      b('requireSignedResponse', 'Also require the Response element to be signed (the assertion must always be signed); default false'),
      s('requestedAuthenticationContext', 'Authentication context classes to request', { multiValued: true, caseExact: true }),
      s('userMappingMethod', 'How a signed-in user is found. CorrelationPolicyRule is stored, but sign-in through the IdP is refused while it is set', {
        canonicalValues: ['NameIDToUserAttribute', 'AssertionAttributeToUserAttribute', 'CorrelationPolicyRule'],
        example: 'NameIDToUserAttribute',
      }),
      s('userMappingStoreAttribute', 'User attribute path matched against the NameID or assertion attribute. Any User attribute is stored; sign-in finds users by userName, emails.value (primary email) or externalId', {
        example: 'userName',
      }),
      s('assertionAttribute', 'Assertion attribute matched when userMappingMethod is AssertionAttributeToUserAttribute', { caseExact: true }),
      complex(
        'correlationPolicy',
        'The IDCS correlation policy that finds users (userMappingMethod CorrelationPolicyRule); stored only',
        [
          s('type', 'What the reference is to', { required: true, mutability: 'immutable', caseExact: true, canonicalValues: ['Policy'] }),
          s('value', 'Policy id', { required: true, caseExact: true }),
          attr('$ref', 'reference', 'Policy URI (no Policies resource here: never set)', { mutability: 'readOnly', referenceTypes: ['uri'] }),
          s('display', 'Policy display name', { mutability: 'readOnly' }),
        ],
      ),
      s('succinctId', 'Short unique id of the identity provider', { uniqueness: 'server', caseExact: true }),
      s('serviceInstanceIdentifier', 'serviceInstanceIdentifier of the App hosting this IdP; never returned, kept when a PUT leaves it out', {
        returned: 'never',
        uniqueness: 'server',
      }),
      b('jitUserProvEnabled', 'Just-In-Time provisioning on', { example: true }),
      b('jitUserProvCreateUserEnabled', 'JIT creates users who do not exist yet', { example: true }),
      b('jitUserProvAttributeUpdateEnabled', 'JIT updates mapped attributes of existing users at each sign-in', { example: true }),
      complex(
        'jitUserProvAttributes',
        'The MappedAttribute holding this IdP\'s attribute mappings; set by the service',
        [s('value', 'MappedAttribute id', { required: true, caseExact: true, mutability: 'immutable' }), attr('$ref', 'reference', 'MappedAttribute URI', { mutability: 'immutable', referenceTypes: ['MappedAttribute'] })],
        { mutability: 'immutable' },
      ),
      b('jitUserProvGroupAssertionAttributeEnabled', 'Derive group memberships from an assertion attribute'),
      s('jitUserProvGroupSAMLAttributeName', 'Assertion attribute holding group names', { caseExact: true, example: 'groups' }),
      s('jitUserProvGroupMappingMode', 'explicit: through jitUserProvGroupMappings; implicit: asserted value = group displayName', {
        canonicalValues: ['explicit', 'implicit'],
        example: 'explicit',
      }),
      groupRef('jitUserProvGroupMappings', 'IdP group → domain group (at most 250)', [s('idpGroup', 'Group name as the IdP asserts it', { required: true, caseExact: true })]),
      b('jitUserProvGroupStaticListEnabled', 'Also assign the groups of jitUserProvAssignedGroups'),
      groupRef('jitUserProvAssignedGroups', 'Groups every JIT user is assigned', []),
      s('jitUserProvGroupAssignmentMethod', 'Overwrite: memberships become exactly the derived groups; Merge: add without removing others', {
        canonicalValues: ['Overwrite', 'Merge'],
        example: 'Merge',
      }),
      b('jitUserProvIgnoreErrorOnAbsentGroups', 'Skip asserted groups that do not exist (true) or fail the sign-in (false); defaults to true for explicit, false for implicit mode'),
    ],
  },
  schemaExtensions: [
    { schema: SOCIAL_IDENTITY_PROVIDER_SCHEMA, required: false },
    { schema: X509_IDENTITY_PROVIDER_SCHEMA, required: false },
    { schema: TRUST_EXTENSION_SCHEMA, required: false },
    { schema: JIT_POLICY_EXTENSION_SCHEMA, required: false },
  ],
};

export const IDENTITY_PROVIDER_EXAMPLE = {
  schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
  partnerName: 'Okta',
  type: 'SAML',
  enabled: true,
  partnerProviderId: 'http://www.okta.com/exk1fcia6d6EMsf331d8',
  idpSsoUrl: 'https://example.okta.com/app/example/exk1fcia6d6EMsf331d8/sso/saml',
  signingCertificate: 'MIIDpDCCAoygAwIBAgIGAV2ka+55MA0GCSqGSIb3DQEBCwUAMIGSMQswCQYD...',
  nameIdFormat: 'saml-emailaddress',
  authnRequestBinding: 'Redirect',
  signatureHashAlgorithm: 'SHA-256',
  userMappingMethod: 'NameIDToUserAttribute',
  userMappingStoreAttribute: 'userName',
  jitUserProvEnabled: true,
  jitUserProvCreateUserEnabled: true,
  jitUserProvAttributeUpdateEnabled: true,
  jitUserProvGroupAssertionAttributeEnabled: true,
  jitUserProvGroupSAMLAttributeName: 'groups',
  jitUserProvGroupMappingMode: 'explicit',
  jitUserProvGroupMappings: [{ idpGroup: 'Admins', value: '4bce9b677ab447f18b65ba7bf9a61c21' }],
  jitUserProvGroupAssignmentMethod: 'Merge',
  jitUserProvIgnoreErrorOnAbsentGroups: true,
};

IDENTITY_PROVIDER_RESOURCE_TYPE.example = IDENTITY_PROVIDER_EXAMPLE;
