import { IdentityProviderEntity } from './identity-provider.entity';
import { nameIdFormatUri, signInConfigurationOf } from './sign-in-configuration';

function row(doc: Record<string, unknown>, columns: Partial<IdentityProviderEntity> = {}): IdentityProviderEntity {
  return {
    id: 'idp1',
    partnerName: 'Okta',
    partnerNameLower: 'okta',
    partnerProviderId: 'https://idp.example.com',
    type: 'SAML',
    enabled: true,
    data: JSON.stringify(doc),
    version: 7,
    created: '2026-01-01T00:00:00Z',
    lastModified: '2026-01-01T00:00:00Z',
    ...columns,
  };
}

describe(signInConfigurationOf.name, () => {
  it('should take identity, enabled and version from the columns, and JIT from the same reading', () => {
    const c = signInConfigurationOf(row({ jitUserProvEnabled: true }, { enabled: false }), { attributeMappings: [{ idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' }] });
    expect(c).toMatchObject({ id: 'idp1', partnerName: 'Okta', enabled: false, version: 7, saml: { entityId: 'https://idp.example.com' } });
    expect(c.jit).toMatchObject({ idpId: 'idp1', idpName: 'Okta', idpEnabled: false, enabled: true });
    expect(c.jit.mappings).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'the defaults of an IdP that sets nothing',
      {},
      { binding: 'Redirect', allowSha1: false, requiresEncryptedAssertion: false, allowUnsolicitedResponses: false, requireSignedResponse: false, nameIdFormat: null, requestedAuthenticationContext: [] },
    ],
    ['the HTTP-POST binding', { authnRequestBinding: 'Post' }, { binding: 'Post' }],
    ['SHA-1, allowed only when set', { signatureHashAlgorithm: 'SHA-1' }, { allowSha1: true }],
    ['SHA-256', { signatureHashAlgorithm: 'SHA-256' }, { allowSha1: false }],
    ['a NameID format, as its URN', { nameIdFormat: 'saml-emailaddress' }, { nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }],
    ['the "none" NameID format, as any', { nameIdFormat: 'saml-none' }, { nameIdFormat: null }],
    ['a NameID format given as a URI, as it is', { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }, { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' }],
    ['only true for the flags', { requiresEncryptedAssertion: 'yes', allowUnsolicitedResponses: 1, requireSignedResponse: true }, { requiresEncryptedAssertion: false, allowUnsolicitedResponses: false, requireSignedResponse: true }],
  ])('should read %s', (_case, doc, expected) => {
    expect(signInConfigurationOf(row(doc), undefined).saml).toMatchObject(expected);
  });

  describe('unsupported', () => {
    it.each<[string, Record<string, unknown>, Partial<IdentityProviderEntity>, string | undefined, RegExp | undefined]>([
      ['nothing for a SAML IdP with defaults', {}, {}, undefined, undefined],
      ['nothing for a short NameID format token or a format URI', { nameIdFormat: 'urn:mace:shibboleth:1.0:nameIdentifier' }, {}, undefined, undefined],
      ['a SOCIAL IdP without a discovery URL', {}, { type: 'SOCIAL' }, 'unsupported_oidc_settings', /has no discoveryUrl/],
      [
        'a SOCIAL IdP whose discovery URL is plain http on another host',
        { 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider': { serviceProviderName: 'OpenIDConnect', discoveryUrl: 'http://idp.example/.well-known/openid-configuration' } },
        { type: 'SOCIAL' },
        'unsupported_oidc_settings',
        /is not an https URL/,
      ],
      [
        'a SOCIAL IdP without its client secret',
        { 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider': { serviceProviderName: 'Google', consumerKey: 'c' } },
        { type: 'SOCIAL' },
        'unsupported_oidc_settings',
        /lacks consumerKey or consumerSecret/,
      ],
      ['the type of an X509 IdP', {}, { type: 'X509' }, 'unsupported_idp_type', /X\.509 certificate sign-in is not implemented/],
      ['a NameID format that is no URI', { nameIdFormat: 'nameIdFormat' }, {}, 'unsupported_name_id_format', /nameIdFormat "nameIdFormat" is neither one of saml-emailaddress.* nor a format URI/],
      ['a correlation policy', { userMappingMethod: 'CorrelationPolicyRule' }, {}, 'unsupported_user_mapping', /CorrelationPolicyRule/],
      ['a lookup attribute sign-in cannot find users by', { userMappingStoreAttribute: 'name.givenName' }, {}, 'unsupported_user_mapping', /"name\.givenName"/],
      ['the type before the NameID format', { nameIdFormat: 'x' }, { type: 'X509' }, 'unsupported_idp_type', undefined],
    ])('should report %s', (_case, doc, columns, reason, detail) => {
      const unsupported = signInConfigurationOf(row(doc, columns), undefined).unsupported;
      expect(unsupported?.reason).toBe(reason);
      if (detail) expect(unsupported?.detail).toMatch(detail);
    });
  });

  describe(nameIdFormatUri.name, () => {
    it.each<[unknown, string | null | undefined]>([
      [undefined, null],
      ['saml-none', null],
      ['saml-x509', 'urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName'],
      ['urn:oasis:names:tc:SAML:2.0:nameid-format:transient', 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient'],
      ['https://example.test/format', 'https://example.test/format'],
      ['nameIdFormat', undefined],
      ['constructor', undefined],
      ['urn: spaced', undefined],
    ])('should read %p as %p', (value, expected) => {
      expect(nameIdFormatUri(value)).toBe(expected);
    });
  });

  it('should name no entity id when the IdP has no partnerProviderId', () => {
    expect(signInConfigurationOf(row({}, { partnerProviderId: null }), undefined).saml.entityId).toBe('');
  });
});
