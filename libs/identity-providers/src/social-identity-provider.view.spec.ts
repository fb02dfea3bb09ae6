import { Doc, filterToSql, normalizeResource, ScimError, SqlMapping, VERSIONED_COLUMNS } from '@app/scim';
import { IDENTITY_PROVIDER_RESOURCE_TYPE, IDENTITY_PROVIDER_SCHEMA_ID, SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID } from './identity-provider.schema';
import { SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID, SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE } from './social-identity-provider.schema';
import { identityProviderFilterOf, identityProviderOf, identityProviderSortByOf, isSocialIdentityProvider, socialViewOf } from './social-identity-provider.view';

const EXT = SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID;
/** The IdentityProviders table as its list query maps it (id and meta in columns, the rest in the document). */
const TABLE: SqlMapping = { documentColumn: 'r.data', column: (p) => (VERSIONED_COLUMNS as Record<string, { expr: string }>)[p.canonical] };

/** A stored SOCIAL IdentityProvider document, with what only IdentityProviders shows. */
function stored(extra: Doc = {}, social: Doc = {}): Doc {
  return normalizeResource(IDENTITY_PROVIDER_RESOURCE_TYPE, {
    schemas: [IDENTITY_PROVIDER_SCHEMA_ID, EXT],
    partnerName: 'Corp OIDC',
    type: 'SOCIAL',
    enabled: true,
    description: 'staff sign-in',
    jitUserProvEnabled: true,
    jitUserProvCreateUserEnabled: true,
    jitUserProvAttributes: { value: 'm1', $ref: 'https://id.example.com/admin/v1/MappedAttributes/m1' },
    tags: [{ key: 'team', value: 'iam' }],
    [EXT]: { serviceProviderName: 'OpenIDConnect', consumerKey: 'client', accountLinkingEnabled: true, registrationEnabled: false, scope: ['openid', 'email'], ...social },
    ...extra,
  });
}

describe('SocialIdentityProvider view', () => {
  describe('socialViewOf', () => {
    it('should show the core attributes under the view\'s names and the extension\'s at the top level', () => {
      const view = socialViewOf(stored({ shownOnLoginPage: true, iconUrl: 'https://cdn.example.com/i.png' }));
      expect(view).toEqual({
        schemas: [SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID],
        tags: [{ key: 'team', value: 'iam' }],
        name: 'Corp OIDC',
        description: 'staff sign-in',
        enabled: true,
        showOnLogin: true,
        iconUrl: 'https://cdn.example.com/i.png',
        serviceProviderName: 'OpenIDConnect',
        consumerKey: 'client',
        accountLinkingEnabled: true,
        registrationEnabled: false,
        scope: ['openid', 'email'],
      });
    });

    it('should read an absent shownOnLoginPage as showOnLogin false', () => {
      expect(socialViewOf(stored()).showOnLogin).toBe(false);
    });

    it('should never show a consumerSecret, and should name the view in meta', () => {
      const rendered = { ...stored({}, { consumerSecret: 'leak?' }), id: 'i1', ocid: 'ocid1.identityprovider.oc1..i1', meta: { resourceType: 'IdentityProvider', location: 'https://id.example.com/admin/v1/IdentityProviders/i1', version: 'W/"3"' } };
      const view = socialViewOf(rendered, 'https://id.example.com/admin/v1/SocialIdentityProviders/i1');
      expect(JSON.stringify(view)).not.toContain('leak?');
      expect(view).toMatchObject({
        id: 'i1',
        ocid: 'ocid1.identityprovider.oc1..i1',
        meta: { resourceType: 'SocialIdentityProvider', location: 'https://id.example.com/admin/v1/SocialIdentityProviders/i1', version: 'W/"3"' },
      });
    });
  });

  describe('identityProviderOf', () => {
    it('should make a SOCIAL IdentityProvider of a new view document, the secret in the extension', () => {
      const view = normalizeResource(SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE, {
        schemas: [SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID],
        name: 'Google',
        enabled: false,
        showOnLogin: false,
        serviceProviderName: 'Google',
        consumerKey: 'k',
        consumerSecret: 's',
        accountLinkingEnabled: false,
        registrationEnabled: true,
      });
      expect(identityProviderOf(view)).toEqual({
        type: 'SOCIAL',
        partnerName: 'Google',
        enabled: false,
        shownOnLoginPage: false,
        schemas: [IDENTITY_PROVIDER_SCHEMA_ID, EXT],
        [EXT]: { serviceProviderName: 'Google', consumerKey: 'k', consumerSecret: 's', accountLinkingEnabled: false, registrationEnabled: true },
      });
    });

    it.each<[string, Doc, Doc]>([
      ['a plain SOCIAL IdP', {}, {}],
      ['one shown on the login page', { shownOnLoginPage: true }, {}],
      ['one hidden explicitly', { shownOnLoginPage: false }, {}],
      ['one with social JIT and relayed parameters', {}, { socialJitProvisioningEnabled: true, relayIdpParamMappings: [{ relayParamKey: 'prompt', relayParamValue: 'login' }] }],
    ])('should give back the stored document unchanged from its own view (%s)', (_case, extra, social) => {
      const doc = stored(extra, social);
      expect(normalizeResource(IDENTITY_PROVIDER_RESOURCE_TYPE, identityProviderOf(socialViewOf(doc), doc))).toEqual(doc);
    });

    it('should replace what the view shows and keep what only IdentityProviders shows', () => {
      const old = stored({ shownOnLoginPage: true });
      const view = socialViewOf(old);
      delete view.description;
      delete view.tags;
      view.showOnLogin = false;
      view.scope = ['openid'];
      const doc = identityProviderOf(view, old);
      expect(doc).not.toHaveProperty('description');
      expect(doc).not.toHaveProperty('tags');
      expect(doc).toMatchObject({ shownOnLoginPage: false, jitUserProvEnabled: true, jitUserProvAttributes: { value: 'm1' }, type: 'SOCIAL' });
      expect((doc[EXT] as Doc).scope).toEqual(['openid']);
      // The stored document is not changed in place.
      expect(old.description).toBe('staff sign-in');
    });
  });

  describe('identityProviderFilterOf', () => {
    it.each<[string, string | undefined, string]>([
      ['no filter', undefined, 'type eq "SOCIAL"'],
      ['name', 'name eq "Google"', 'type eq "SOCIAL" and (partnerName eq "Google")'],
      ['a case-insensitive attribute name', 'NAME sw "g"', 'type eq "SOCIAL" and (partnerName sw "g")'],
      ['showOnLogin', 'showOnLogin eq true', 'type eq "SOCIAL" and (shownOnLoginPage eq true)'],
      ['an extension attribute', 'serviceProviderName eq "Google"', `type eq "SOCIAL" and (${EXT}:serviceProviderName eq "Google")`],
      ['and / or / not', 'enabled eq true and (name co "a" or not (consumerKey pr))', `type eq "SOCIAL" and (enabled eq true and (partnerName co "a" or not (${EXT}:consumerKey pr)))`],
      ['a value filter', 'relayIdpParamMappings[relayParamKey eq "prompt"]', `type eq "SOCIAL" and (${EXT}:relayIdpParamMappings[relayParamKey eq "prompt"])`],
      ['common attributes', 'meta.lastModified gt "2024-01-01T00:00:00Z" and id ne "x"', 'type eq "SOCIAL" and (meta.lastModified gt "2024-01-01T00:00:00Z" and id ne "x")'],
      ['a string that needs escapes', 'name eq "say \\"hi\\" \\\\ bye"', 'type eq "SOCIAL" and (partnerName eq "say \\"hi\\" \\\\ bye")'],
      ['meta.resourceType of the view', 'meta.resourceType eq "SocialIdentityProvider"', 'type eq "SOCIAL" and (id pr)'],
      ['meta.resourceType of another type', 'meta.resourceType eq "IdentityProvider"', 'type eq "SOCIAL" and (not (id pr))'],
    ])('should translate %s', (_case, filter, expected) => {
      const translated = identityProviderFilterOf(filter);
      expect(translated).toBe(expected);
      // What IdentityProviders' list then runs: a valid filter over its schema.
      expect(() => filterToSql(IDENTITY_PROVIDER_RESOURCE_TYPE, TABLE, 'sqlite', translated)).not.toThrow();
    });

    it('should run a value filter with a logical expression inside', () => {
      const translated = identityProviderFilterOf('relayIdpParamMappings[relayParamKey eq "a" and relayParamValue eq "b"]');
      expect(() => filterToSql(IDENTITY_PROVIDER_RESOURCE_TYPE, TABLE, 'postgres', translated)).not.toThrow();
    });

    it.each<[string, string, RegExp]>([
      ['an IdentityProvider attribute the view does not have', 'partnerName eq "x"', /Unknown attribute "partnerName" in path "partnerName" of resource type SocialIdentityProvider/],
      ['a malformed filter', 'name eq', /not a valid SCIM filter/],
    ])('should refuse %s, naming the view', (_case, filter, detail) => {
      let error: unknown;
      try {
        identityProviderFilterOf(filter);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScimError);
      expect((error as ScimError).scimType).toBe('invalidFilter');
      expect((error as ScimError).message).toMatch(detail);
    });
  });

  describe('identityProviderSortByOf', () => {
    it.each<[string | undefined, string | undefined]>([
      [undefined, undefined],
      ['name', 'partnerName'],
      ['serviceProviderName', `${EXT}:serviceProviderName`],
      ['meta.created', 'meta.created'],
    ])('should sort %s by %s', (sortBy, expected) => {
      expect(identityProviderSortByOf(sortBy)).toBe(expected);
    });
  });

  describe('isSocialIdentityProvider', () => {
    it('should tell SOCIAL IdPs from the others', () => {
      expect(isSocialIdentityProvider(stored())).toBe(true);
      expect(isSocialIdentityProvider({ type: 'SAML', [EXT]: {} })).toBe(false);
    });
  });
});
