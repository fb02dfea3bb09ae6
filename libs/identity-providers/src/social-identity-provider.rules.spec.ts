import { Doc, ScimError } from '@app/scim';
import { canonicalServiceProviderName, prepareSocialSettings, socialRedirectUrl } from './identity-provider-rules';

function refusal(social: Doc, before?: Doc): string | undefined {
  try {
    prepareSocialSettings(social, before);
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(ScimError);
    expect((e as ScimError).scimType).toBe('invalidValue');
    return (e as ScimError).detail;
  }
}

describe('social identity provider rules', () => {
  describe(socialRedirectUrl.name, () => {
    it.each([
      ['https://id.example.com', 'https://id.example.com/oauth2/v1/social/callback'],
      ['https://id.example.com:443', 'https://id.example.com/oauth2/v1/social/callback'],
      ['https://id.example.com:8443/tenant/', 'https://id.example.com:8443/tenant/oauth2/v1/social/callback'],
      ['http://localhost:3000', 'http://localhost:3000/oauth2/v1/social/callback'],
    ])('should make %s into %s', (base, expected) => {
      expect(socialRedirectUrl(base)).toBe(expected);
    });
  });

  describe(canonicalServiceProviderName.name, () => {
    it.each([
      ['OpenIDConnect', 'OpenIDConnect'],
      ['OpenID Connect', 'OpenIDConnect'],
      ['openid connect', 'OpenIDConnect'],
      ['OIDC', 'OpenIDConnect'],
      ['oidc', 'OpenIDConnect'],
      ['Google', 'Google'],
      ['Open ID Connect', 'Open ID Connect'],
    ])('should store %s as %s', (given, stored) => {
      expect(canonicalServiceProviderName(given)).toBe(stored);
    });
  });

  describe(prepareSocialSettings.name, () => {
    it.each<[string, Doc]>([
      ['https endpoints', { discoveryUrl: 'https://idp.example.com/.well-known/openid-configuration', authzUrl: 'https://idp.example.com/a', accessTokenUrl: 'https://idp.example.com/t', profileUrl: 'https://idp.example.com/u' }],
      ['http on 127.0.0.1', { accessTokenUrl: 'http://127.0.0.1:9000/token' }],
      ['http on ::1', { accessTokenUrl: 'http://[::1]:9000/token' }],
      ['http on localhost, in any case', { accessTokenUrl: 'http://LOCALHOST/token' }],
      ['scope tokens', { scope: ['openid', 'https://graph.example.com/User.Read'], adminScope: ['admin:read'] }],
      ['clock skew at the bounds', { clockSkewInSeconds: 600 }],
      ['no clock skew', { clockSkewInSeconds: 0 }],
    ])('should accept %s', (_case, social) => {
      expect(refusal(social)).toBeUndefined();
    });

    it.each<[string, Doc, RegExp]>([
      ['http elsewhere', { discoveryUrl: 'http://idp.example.com/.well-known/openid-configuration' }, /^discoveryUrl must be an absolute https URL/],
      ['http on a name that only starts like loopback', { authzUrl: 'http://localhost.example.com/a' }, /^authzUrl must/],
      ['http on 127.0.0.2', { authzUrl: 'http://127.0.0.2/a' }, /^authzUrl must/],
      ['a relative URL', { profileUrl: '/userinfo' }, /^profileUrl must/],
      ['another scheme', { accessTokenUrl: 'javascript:alert(1)' }, /^accessTokenUrl must/],
      ['a refresh token URL over http', { refreshTokenUrl: 'http://idp.example.com/r' }, /^refreshTokenUrl must/],
      ['two scopes in one item', { scope: ['openid', 'email profile'] }, /^scope\[1\] must be one scope token/],
      ['a quote in a scope', { adminScope: ['a"b'] }, /^adminScope\[0\] must be one scope token/],
      ['a clock skew above 600', { clockSkewInSeconds: 601 }, /^clockSkewInSeconds must be between 0 and 600 seconds \(got 601\)/],
      ['a negative clock skew', { clockSkewInSeconds: -5 }, /^clockSkewInSeconds must be between 0 and 600/],
    ])('should refuse %s', (_case, social, detail) => {
      expect(refusal(social)).toMatch(detail);
    });

    it('should drop a redirectUrl given and store the OpenID Connect spellings as one', () => {
      const social: Doc = { serviceProviderName: 'OIDC', redirectUrl: 'https://attacker.example/cb' };
      prepareSocialSettings(social, undefined);
      expect(social).toEqual({ serviceProviderName: 'OpenIDConnect' });
    });

    it('should keep a spelling stored before the rule, and judge no value already stored again', () => {
      const before: Doc = { serviceProviderName: 'OpenID Connect', authzUrl: 'authzUrl', scope: ['a b'], clockSkewInSeconds: 3600 };
      const social: Doc = { ...before, serviceProviderName: 'oidc', scope: ['a b', 'email'] };
      expect(refusal(social, before)).toBeUndefined();
      expect(social.serviceProviderName).toBe('OpenID Connect');
      expect(refusal({ ...before, authzUrl: 'http://other.example.com' }, before)).toMatch(/^authzUrl must/);
    });

    it('should name attributes as the caller says', () => {
      expect(() => prepareSocialSettings({ clockSkewInSeconds: 700 }, undefined, (n) => `ext:${n}`)).toThrow(/^ext:clockSkewInSeconds must/);
    });
  });
});
