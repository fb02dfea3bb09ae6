import { ApiResponse, dbQuery, E2E_DB, expectScimError, expectStatus, patch, TestServer } from './support/server';

// Spelled out, not imported from the libs: the server must not be compared with itself.
const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
const SOCIAL = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider';
const SOCIAL_IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:SocialIdentityProvider';

type Body = Record<string, any>;

/** A SocialIdentityProviders body for a generic OpenID Connect provider, `extra` on top. */
const oidc = (name: string, extra: Body = {}): Body => ({
  schemas: [SOCIAL_IDP_SCHEMA],
  name,
  enabled: true,
  showOnLogin: true,
  accountLinkingEnabled: true,
  registrationEnabled: false,
  serviceProviderName: 'OpenIDConnect',
  consumerKey: `${name}-client`,
  consumerSecret: `${name}-secret`,
  discoveryUrl: 'https://login.example.test/.well-known/openid-configuration',
  scope: ['openid', 'email', 'profile'],
  ...extra,
});

describe(`SocialIdentityProviders (${E2E_DB})`, () => {
  let s: TestServer;
  let callback: string;

  const social = (method: string, path = '', body?: unknown, headers?: Record<string, string>) => s.api(method, `/admin/v1/SocialIdentityProviders${path}`, body, { headers });
  const idps = (method: string, path = '', body?: unknown, headers?: Record<string, string>) => s.api(method, `/admin/v1/IdentityProviders${path}`, body, { headers });
  const create = async (name: string, extra: Body = {}): Promise<Body> => {
    const res = await social('POST', '', oidc(name, extra));
    expectStatus(res, 201);
    return res.body;
  };
  const count = async () => (await idps('GET', '?count=0')).body.totalResults as number;
  const names = (res: ApiResponse) => (res.body.Resources as Body[]).map((r) => r.name);

  beforeAll(async () => {
    s = await TestServer.start();
    callback = `${s.publicUrl}/oauth2/v1/social/callback`;
    // A SAML IdP, which the social view must never show.
    expectStatus(await idps('POST', '', { schemas: [IDP_SCHEMA], partnerName: 'Corp SAML', enabled: false }), 201);
  });
  afterAll(() => s?.stop());

  describe('create', () => {
    it('should create a SOCIAL IdentityProvider and its MappedAttribute, answering in the view', async () => {
      const res = await social('POST', '', oidc('Corp OIDC', { serviceProviderName: 'OpenID Connect', redirectUrl: 'https://attacker.example/cb' }));
      expectStatus(res, 201);
      const id = res.body.id as string;
      expect(res.headers.get('location')).toBe(`${s.publicUrl}/admin/v1/SocialIdentityProviders/${id}`);
      expect(res.headers.get('etag')).toBe(res.body.meta.version);
      expect(res.body).toMatchObject({
        schemas: [SOCIAL_IDP_SCHEMA],
        name: 'Corp OIDC',
        enabled: true,
        showOnLogin: true,
        serviceProviderName: 'OpenIDConnect',
        redirectUrl: callback,
        scope: ['openid', 'email', 'profile'],
        meta: { resourceType: 'SocialIdentityProvider', location: res.headers.get('location') },
      });
      expect(res.body).not.toHaveProperty('consumerSecret');
      expect(res.text).not.toContain('Corp OIDC-secret');

      const seen = await idps('GET', `/${id}`);
      expectStatus(seen, 200);
      expect(seen.body).toMatchObject({ type: 'SOCIAL', partnerName: 'Corp OIDC', shownOnLoginPage: true, [SOCIAL]: { serviceProviderName: 'OpenIDConnect', redirectUrl: callback } });
      expect(seen.body.meta.version).toBe(res.body.meta.version);
      const mapped = await s.api('GET', `/admin/v1/MappedAttributes/${seen.body.jitUserProvAttributes.value}`);
      expectStatus(mapped, 200);
      expect(mapped.body.refResourceID).toBe(id);

      // What was stored: not the redirect URL sent, not the secret in clear.
      const [row] = await dbQuery<{ data: string; consumer_secret: string }>(s, 'SELECT data, consumer_secret FROM identity_providers WHERE id = $1', [id]);
      expect(row.data).not.toMatch(/attacker|redirectUrl|Corp OIDC-secret/);
      expect(row.consumer_secret).toMatch(/^kek:v1:/);
    });

    it.each<[string, Body, string, RegExp]>([
      ['an http discoveryUrl off loopback', { discoveryUrl: 'http://login.example.test/.well-known/openid-configuration' }, 'invalidValue', /^discoveryUrl must be an absolute https URL \(plain http only on a loopback host/],
      ['a relative authzUrl', { authzUrl: '/authorize' }, 'invalidValue', /^authzUrl must be an absolute https URL/],
      ['an ftp accessTokenUrl', { accessTokenUrl: 'ftp://login.example.test/token' }, 'invalidValue', /^accessTokenUrl must be an absolute https URL/],
      ['a profileUrl that is no URL', { profileUrl: 'profileUrl' }, 'invalidValue', /^profileUrl must be/],
      ['scopes in one item', { scope: ['openid email'] }, 'invalidValue', /^scope\[0\] must be one scope token.*\["openid", "email"\]/],
      ['a clock skew over ten minutes', { clockSkewInSeconds: 601 }, 'invalidValue', /^clockSkewInSeconds must be between 0 and 600 seconds \(got 601\)/],
      ['a negative clock skew', { clockSkewInSeconds: -1 }, 'invalidValue', /^clockSkewInSeconds must be between 0 and 600/],
      ['no showOnLogin (required by IDCS)', { showOnLogin: undefined }, 'invalidValue', /Missing required attribute\(s\): showOnLogin/],
      ['no name', { name: undefined }, 'invalidValue', /Missing required attribute\(s\): name/],
      ['no consumerSecret', { consumerSecret: undefined }, 'invalidValue', /Missing required attribute\(s\): consumerSecret/],
      ['an IdentityProvider attribute', { partnerName: 'x' }, 'invalidSyntax', /Unknown attribute "partnerName" for resource type SocialIdentityProvider/],
      ['a status IDCS does not know', { status: 'paused' }, 'invalidValue', /status must be one of created, deleted/],
    ])('should refuse %s with a detail naming the view\'s attribute, and write nothing', async (_case, extra, scimType, detail) => {
      const before = await count();
      const res = await social('POST', '', oidc(`Bad-${Math.random().toString(36).slice(2)}`, extra));
      expectScimError(res, 400, scimType);
      expect(res.body.detail).toMatch(detail);
      expect(await count()).toBe(before);
    });

    it.each([['127.0.0.1', 'http://127.0.0.1:8080/.well-known/openid-configuration'], ['::1', 'http://[::1]:8080/.well-known/openid-configuration'], ['localhost', 'http://localhost/.well-known/openid-configuration']])(
      'should accept plain http on the loopback host %s',
      async (_host, url) => {
        const res = await social('POST', '', oidc(`Loopback-${Math.random().toString(36).slice(2)}`, { discoveryUrl: url }));
        expectStatus(res, 201);
        expect(res.body.discoveryUrl).toBe(url);
      },
    );

    it('should replay a retried create (opc-retry-token) with the view\'s answer', async () => {
      const headers = { 'opc-retry-token': `social-${Math.random().toString(36).slice(2)}` };
      const first = await social('POST', '', oidc('Retried'), headers);
      expectStatus(first, 201);
      const again = await social('POST', '', oidc('Retried'), headers);
      expectStatus(again, 201);
      expect(again.body).toEqual(first.body);
      expect(again.body.schemas).toEqual([SOCIAL_IDP_SCHEMA]);
      expect(again.headers.get('location')).toBe(`${s.publicUrl}/admin/v1/SocialIdentityProviders/${first.body.id}`);
    });

    it('should refuse a name another identity provider has, ignoring case', async () => {
      await create('Taken');
      const before = await count();
      expectScimError(await social('POST', '', oidc('TAKEN')), 409, 'uniqueness');
      expectScimError(await social('POST', '', oidc('corp saml')), 409, 'uniqueness');
      expect(await count()).toBe(before);
    });

    it('should apply the social rules to IdentityProviders writes too, naming the extension attribute', async () => {
      const res = await idps('POST', '', {
        schemas: [IDP_SCHEMA, SOCIAL],
        partnerName: 'Via IdentityProviders',
        type: 'SOCIAL',
        enabled: true,
        [SOCIAL]: { serviceProviderName: 'oidc', consumerKey: 'k', consumerSecret: 's', accountLinkingEnabled: false, registrationEnabled: false, authzUrl: 'http://idp.example.test/authorize' },
      });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(new RegExp(`^${SOCIAL}:authzUrl must be an absolute https URL`));
    });
  });

  describe('read, list and search', () => {
    let google: Body;
    let corp: Body;

    beforeAll(async () => {
      google = await create('Google', { serviceProviderName: 'Google', discoveryUrl: undefined, showOnLogin: false, description: 'consumer accounts' });
      corp = (await social('GET', `?filter=${encodeURIComponent('name eq "Corp OIDC"')}`)).body.Resources[0];
    });

    it('should list SOCIAL identity providers only, with their view', async () => {
      const res = await social('GET', '?count=1000');
      expectStatus(res, 200);
      expect(res.body.totalResults).toBe(res.body.Resources.length);
      expect(names(res)).toEqual(expect.arrayContaining(['Corp OIDC', 'Google']));
      expect(names(res)).not.toContain('Corp SAML');
      for (const r of res.body.Resources as Body[]) {
        expect(r.schemas).toEqual([SOCIAL_IDP_SCHEMA]);
        expect(r.meta.location).toBe(`${s.publicUrl}/admin/v1/SocialIdentityProviders/${r.id}`);
        expect(r).not.toHaveProperty('consumerSecret');
        expect(r).not.toHaveProperty('partnerName');
      }
    });

    it.each<[string, string, string[]]>([
      ['name', 'name eq "google"', ['Google']],
      ['serviceProviderName', 'serviceProviderName eq "Google"', ['Google']],
      ['showOnLogin', 'showOnLogin eq false and name sw "G"', ['Google']],
      ['description', 'description co "consumer"', ['Google']],
      ['the resource type of the view', 'meta.resourceType eq "SocialIdentityProvider" and name eq "Google"', ['Google']],
      ['another resource type', 'meta.resourceType eq "IdentityProvider"', []],
      ['a SAML IdP by name', 'name eq "Corp SAML"', []],
    ])('should filter on %s', async (_case, filter, expected) => {
      const res = await social('GET', `?filter=${encodeURIComponent(filter)}`);
      expectStatus(res, 200);
      expect(names(res)).toEqual(expected);
    });

    it('should sort by a view attribute, page, and project', async () => {
      const res = await social('GET', `?filter=${encodeURIComponent('name eq "Google" or name eq "Corp OIDC"')}&sortBy=name&sortOrder=descending&attributes=serviceProviderName`);
      expect(names(res)).toEqual(['Google', 'Corp OIDC']); // name is returned always
      expect(res.body.Resources[0]).toEqual({ schemas: [SOCIAL_IDP_SCHEMA], id: google.id, name: 'Google', serviceProviderName: 'Google' });
      const paged = await social('GET', `?filter=${encodeURIComponent('name eq "Google" or name eq "Corp OIDC"')}&sortBy=name&startIndex=2&count=1`);
      expect(paged.body).toMatchObject({ totalResults: 2, startIndex: 2, itemsPerPage: 1 });
      expect(names(paged)).toEqual(['Google']);
    });

    it('should search with the criteria in the body', async () => {
      const res = await social('POST', '/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'serviceProviderName eq "OpenIDConnect" and name eq "Corp OIDC"', attributes: ['consumerKey'] });
      expectStatus(res, 200);
      expect(res.body.Resources).toEqual([{ schemas: [SOCIAL_IDP_SCHEMA], id: corp.id, name: 'Corp OIDC', consumerKey: 'Corp OIDC-client' }]);
    });

    it.each<[string, string, string, RegExp]>([
      ['an IdentityProvider attribute', 'filter=partnerName eq "Google"', 'invalidFilter', /Unknown attribute "partnerName" in path "partnerName" of resource type SocialIdentityProvider/],
      ['a malformed filter', 'filter=name eq', 'invalidFilter', /not a valid SCIM filter/],
      ['an unknown sortBy', 'sortBy=partnerName', 'invalidPath', /Unknown attribute "partnerName"/],
      ['an unknown attribute to return', 'attributes=partnerName', 'invalidPath', /Unknown attribute "partnerName"/],
    ])('should refuse %s', async (_case, query, scimType, detail) => {
      const [k, v] = query.split('=');
      const res = await social('GET', `?${k}=${encodeURIComponent(v)}`);
      expectScimError(res, 400, scimType);
      expect(res.body.detail).toMatch(detail);
    });

    it('should get one by id, and answer 404 for a SAML IdP or an unknown id', async () => {
      const res = await social('GET', `/${google.id}`);
      expectStatus(res, 200);
      expect(res.headers.get('etag')).toBe(google.meta.version);
      expect(res.body).toMatchObject({ name: 'Google', showOnLogin: false, description: 'consumer accounts', redirectUrl: callback });
      const saml = (await idps('GET', `?filter=${encodeURIComponent('partnerName eq "Corp SAML"')}`)).body.Resources[0];
      const notSocial = await social('GET', `/${saml.id}`);
      expectScimError(notSocial, 404);
      expect(notSocial.body.detail).toMatch(/is of type SAML, not SOCIAL: it is served at \/admin\/v1\/IdentityProviders\//);
      expectScimError(await social('GET', '/no-such-id'), 404);
      expectScimError(await social('PUT', `/${saml.id}`, oidc('Corp SAML')), 404);
      expectScimError(await social('PATCH', `/${saml.id}`, patch({ op: 'replace', path: 'enabled', value: true })), 404);
      expectScimError(await social('DELETE', `/${saml.id}`), 404);
      expectStatus(await idps('GET', `/${saml.id}`), 200);
    });
  });

  describe('replace and patch', () => {
    it('should keep what only IdentityProviders shows, keep a secret left out, and ignore redirectUrl', async () => {
      const created = await create('Replaced');
      const linked = (await idps('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'jitUserProvEnabled', value: true }, { op: 'replace', path: 'jitUserProvCreateUserEnabled', value: true }))).body.jitUserProvAttributes;
      const read = await social('GET', `/${created.id}`);
      // A GET fed back as a PUT changes nothing.
      const same = await social('PUT', `/${created.id}`, read.body);
      expectStatus(same, 200);
      expect(same.body.meta.version).toBe(read.body.meta.version);

      const { consumerSecret: _s, ...body } = oidc('Replaced', { redirectUrl: 'https://elsewhere.example/cb', scope: ['openid'], description: 'now described' });
      const put = await social('PUT', `/${created.id}`, body, { 'if-match': read.body.meta.version });
      expectStatus(put, 200);
      expect(put.body).toMatchObject({ scope: ['openid'], description: 'now described', redirectUrl: callback });
      const asIdp = (await idps('GET', `/${created.id}`)).body;
      expect(asIdp).toMatchObject({ jitUserProvEnabled: true, jitUserProvCreateUserEnabled: true, description: 'now described', jitUserProvAttributes: linked });
      expect(asIdp.meta.version).toBe(put.body.meta.version);
      const [row] = await dbQuery<{ consumer_secret: string }>(s, 'SELECT consumer_secret FROM identity_providers WHERE id = $1', [created.id]);
      expect(row.consumer_secret).toMatch(/^kek:v1:/);
    });

    it('should refuse a change of serviceProviderName through either endpoint, and accept its other spellings', async () => {
      const created = await create('Immutable');
      const changed = await social('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'serviceProviderName', value: 'Google' }));
      expectScimError(changed, 400, 'mutability');
      expect(changed.body.detail).toMatch(/^"serviceProviderName" is immutable/);
      expectScimError(await social('PUT', `/${created.id}`, oidc('Immutable', { serviceProviderName: 'Apple' })), 400, 'mutability');
      expectScimError(await idps('PATCH', `/${created.id}`, patch({ op: 'replace', path: `${SOCIAL}:serviceProviderName`, value: 'Apple' })), 400, 'mutability');
      const respelled = await social('PUT', `/${created.id}`, oidc('Immutable', { serviceProviderName: 'oidc' }));
      expectStatus(respelled, 200);
      expect(respelled.body.meta.version).toBe(created.meta.version);
    });

    it.each<[string, Body, string, RegExp]>([
      ['an https-less authzUrl', { op: 'replace', path: 'authzUrl', value: 'http://idp.example.test/authorize' }, 'invalidValue', /^authzUrl must be an absolute https URL/],
      ['a scope with a space', { op: 'add', path: 'scope', value: ['offline access'] }, 'invalidValue', /^scope\[3\] must be one scope token/],
      ['a clock skew of an hour', { op: 'replace', path: 'clockSkewInSeconds', value: 3600 }, 'invalidValue', /^clockSkewInSeconds must be between 0 and 600/],
      ['removing a required attribute', { op: 'remove', path: 'consumerKey' }, 'invalidValue', /Missing required attribute\(s\): consumerKey/],
      ['an unknown path', { op: 'replace', path: 'partnerName', value: 'x' }, 'invalidPath', /Unknown attribute "partnerName"/],
    ])('should refuse a PATCH with %s and change nothing', async (_case, op, scimType, detail) => {
      const created = await create(`Patch-${Math.random().toString(36).slice(2)}`);
      const res = await social('PATCH', `/${created.id}`, patch(op));
      expectScimError(res, 400, scimType);
      expect(res.body.detail).toMatch(detail);
      expect((await social('GET', `/${created.id}`)).body.meta.version).toBe(created.meta.version);
    });

    it('should answer 412 when If-Match names another version, on PUT, PATCH and DELETE', async () => {
      const created = await create('Versioned');
      const changed = await idps('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'description', value: 'changed elsewhere' }));
      expectStatus(changed, 200);
      const stale = { 'if-match': created.meta.version };
      expectScimError(await social('PUT', `/${created.id}`, oidc('Versioned'), stale), 412);
      expectScimError(await social('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'enabled', value: false }), stale), 412);
      expectScimError(await social('DELETE', `/${created.id}`, undefined, stale), 412);
      const current = { 'if-match': changed.body.meta.version };
      const ok = await social('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'enabled', value: false }), current);
      expectStatus(ok, 200);
      expect(ok.body).toMatchObject({ enabled: false, description: 'changed elsewhere' });
    });

    it('should keep one audit trail, under IdentityProvider, without the secret', async () => {
      const created = await create('Audited');
      const mappedId = (await idps('GET', `/${created.id}`)).body.jitUserProvAttributes.value as string;
      expectStatus(await social('PATCH', `/${created.id}`, patch({ op: 'replace', path: 'consumerSecret', value: 'rotated-secret' }, { op: 'replace', path: 'description', value: 'rotated' })), 200);
      expectStatus(await social('DELETE', `/${created.id}`), 204);
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`adminResourceId eq "${created.id}"`)}&sortBy=timestamp&count=100`);
      expectStatus(events, 200);
      expect((events.body.Resources as Body[]).map((e) => e.eventId)).toEqual(['admin.IdentityProvider.create', 'admin.IdentityProvider.update', 'admin.IdentityProvider.delete']);
      expect(events.text).not.toMatch(/Audited-secret|rotated-secret/);
      expectScimError(await idps('GET', `/${created.id}`), 404);
      expectScimError(await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`), 404);
    });
  });

  describe('access and discovery', () => {
    it('should need the roles of IdentityProviders', async () => {
      const created = await create('Roles');
      const users = await s.tokenWithRoles('UserAdministrator');
      expect((await s.api('GET', '/admin/v1/SocialIdentityProviders', undefined, { token: users })).status).toBe(403);
      const auditor = await s.tokenWithRoles('Auditor');
      expectStatus(await s.api('GET', `/admin/v1/SocialIdentityProviders/${created.id}`, undefined, { token: auditor }), 200);
      expect((await s.api('PATCH', `/admin/v1/SocialIdentityProviders/${created.id}`, patch({ op: 'replace', path: 'enabled', value: false }), { token: auditor })).status).toBe(403);
      const security = await s.tokenWithRoles('SecurityAdministrator');
      expectStatus(await s.api('PATCH', `/admin/v1/SocialIdentityProviders/${created.id}`, patch({ op: 'replace', path: 'enabled', value: false }), { token: security }), 200);
      expect((await s.api('GET', '/admin/v1/SocialIdentityProviders', undefined, { token: null })).status).toBe(401);
    });

    it('should describe the resource type and its schema', async () => {
      const rt = await s.api('GET', '/admin/v1/ResourceTypes/SocialIdentityProvider');
      expectStatus(rt, 200);
      expect(rt.body).toMatchObject({ name: 'SocialIdentityProvider', endpoint: '/SocialIdentityProviders', schema: SOCIAL_IDP_SCHEMA, schemaExtensions: [] });
      const schema = await s.api('GET', `/admin/v1/Schemas/${SOCIAL_IDP_SCHEMA}`);
      expectStatus(schema, 200);
      const attrs = new Map((schema.body.attributes as Body[]).map((a) => [a.name, a]));
      for (const name of ['name', 'description', 'enabled', 'showOnLogin', 'iconUrl', 'accountLinkingEnabled', 'registrationEnabled', 'consumerKey', 'consumerSecret', 'serviceProviderName', 'status', 'authzUrl', 'accessTokenUrl', 'profileUrl', 'refreshTokenUrl', 'scope', 'adminScope', 'clientCredentialInPayload', 'clockSkewInSeconds', 'discoveryUrl', 'idAttribute', 'redirectUrl', 'relayIdpParamMappings', 'socialJitProvisioningEnabled', 'jitProvGroupStaticListEnabled', 'jitProvAssignedGroups', 'autoRedirectEnabled', 'appleDevId', 'appleKeyId', 'ocid', 'meta']) {
        expect(attrs.has(name)).toBe(true);
      }
      expect(attrs.get('consumerSecret')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
      expect(attrs.get('serviceProviderName')).toMatchObject({ mutability: 'immutable', required: true });
      expect(attrs.get('name')).toMatchObject({ required: true, returned: 'always', uniqueness: 'server' });
      expect(attrs.get('showOnLogin')).toMatchObject({ required: true, type: 'boolean' });
    });
  });
});
