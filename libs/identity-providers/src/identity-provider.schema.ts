import { attr, complex, ScimResourceType } from '@app/scim';

export const IDENTITY_PROVIDER_SCHEMA_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';

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

export const IDENTITY_PROVIDER_RESOURCE_TYPE: ScimResourceType = {
  name: 'IdentityProvider',
  endpoint: '/IdentityProviders',
  description: 'SAML 2.0 identity providers and their Just-In-Time provisioning settings',
  schema: {
    id: IDENTITY_PROVIDER_SCHEMA_ID,
    name: 'IdentityProvider',
    description: 'IDCS IdentityProvider (SAML)',
    attributes: [
      s('partnerName', 'Unique name of the identity provider', { required: true, uniqueness: 'server', returned: 'always', example: 'Okta' }),
      b('enabled', 'Whether users may sign in through it', { required: true, example: true }),
      s('description', 'What it is for'),
      s('type', 'Kind of identity provider; only SAML is implemented', { mutability: 'immutable', returned: 'always', caseExact: true, canonicalValues: ['SAML'], example: 'SAML' }),
      s('metadata', 'The IdP\'s SAML metadata XML; on write it fills partnerProviderId, idpSsoUrl, signingCertificate and logout URLs not given explicitly', {
        caseExact: true,
      }),
      s('partnerProviderId', 'Entity ID (Issuer) of the IdP', { uniqueness: 'server', caseExact: true, example: 'http://www.okta.com/exk1fcia6d6EMsf331d8' }),
      s('tenantProviderId', 'Our SP entity ID as this IdP sees it', { mutability: 'readOnly', caseExact: true }),
      attr('idpSsoUrl', 'reference', 'IdP single sign-on URL', { referenceTypes: ['external'], example: 'https://example.okta.com/app/exk1/sso/saml' }),
      attr('logoutRequestUrl', 'reference', 'IdP single logout request URL', { referenceTypes: ['external'] }),
      attr('logoutResponseUrl', 'reference', 'IdP single logout response URL', { referenceTypes: ['external'] }),
      s('signingCertificate', 'IdP signing certificate (base64 DER or PEM)', { caseExact: true }),
      s('encryptionCertificate', 'IdP encryption certificate (base64 DER or PEM)', { caseExact: true }),
      s('nameIdFormat', 'NameID format requested', { caseExact: true, canonicalValues: Object.keys(NAME_ID_FORMATS), example: 'saml-emailaddress' }),
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
      s('userMappingMethod', 'How a signed-in user is found', {
        canonicalValues: ['NameIDToUserAttribute', 'AssertionAttributeToUserAttribute'],
        example: 'NameIDToUserAttribute',
      }),
      s('userMappingStoreAttribute', 'User attribute matched against the NameID or assertion attribute', {
        canonicalValues: ['userName', 'emails.value', 'externalId'],
        example: 'userName',
      }),
      s('assertionAttribute', 'Assertion attribute matched when userMappingMethod is AssertionAttributeToUserAttribute', { caseExact: true }),
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
  schemaExtensions: [],
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
