import { IdentityProviderEntity } from './identity-provider.entity';
import { signInConfigurationOf } from './sign-in-configuration';

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
    ['only true for the flags', { requiresEncryptedAssertion: 'yes', allowUnsolicitedResponses: 1, requireSignedResponse: true }, { requiresEncryptedAssertion: false, allowUnsolicitedResponses: false, requireSignedResponse: true }],
  ])('should read %s', (_case, doc, expected) => {
    expect(signInConfigurationOf(row(doc), undefined).saml).toMatchObject(expected);
  });

  it('should name no entity id when the IdP has no partnerProviderId', () => {
    expect(signInConfigurationOf(row({}, { partnerProviderId: null }), undefined).saml.entityId).toBe('');
  });
});
