import * as common from 'oci-common';
import { IdentityDomainsClient, models } from 'oci-identitydomains';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { ociClient, ociError } from './support/oci-sdk';
import { dbQuery, GROUP_SCHEMA, PATCH_SCHEMA, TestServer } from './support/server';

// Spelled out, not imported from the libs: the server must not be compared with itself.
const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
const SOCIAL = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider';
const SOCIAL_IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:SocialIdentityProvider';
const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** The SDK's HTTP client, keeping every response body as it came over the wire. */
class RecordingHttpClient extends common.FetchHttpClient {
  readonly bodies: string[] = [];
  override async send(...args: Parameters<common.FetchHttpClient['send']>): Promise<Response> {
    const res = await super.send(...args);
    this.bodies.push(await res.clone().text());
    return res;
  }
}

/**
 * Oracle's own TypeScript SDK (`oci-identitydomains`, unmodified) manages an OpenID Connect identity provider
 * (IDCS type SOCIAL, serviceProviderName OpenIDConnect) through IdentityProviders and through
 * SocialIdentityProviders, the two views of one resource: what one endpoint creates the other reads and changes,
 * with one version; the consumerSecret goes in, is stored sealed, and never comes back.
 */
describe('OCI TypeScript SDK (oci-identitydomains) against SocialIdentityProviders and social IdentityProviders', () => {
  let s: TestServer;
  let client: IdentityDomainsClient;
  let wire: RecordingHttpClient;
  let authorization: string;
  let callback: string;
  let group: models.Group;

  const storedSecret = async (id: string): Promise<{ data: string; consumer_secret: string }> =>
    (await dbQuery<{ data: string; consumer_secret: string }>(s, 'SELECT data, consumer_secret FROM identity_providers WHERE id = $1', [id]))[0];
  const openSecret = (id: string, envelope: string) => secretBoxFor(s.app.get<AppConfig>(APP_CONFIG).secrets).open(envelope, `identity_providers/${id}/consumerSecret`, 'test');
  /** Nothing the server sent, to the SDK or to a plain GET, holds the secret. */
  const expectNeverReturned = async (id: string, secret: string) => {
    expect(wire.bodies.length).toBeGreaterThan(0);
    for (const body of wire.bodies) expect(body).not.toContain(secret);
    for (const path of [`/admin/v1/SocialIdentityProviders/${id}?attributeSets=all&attributes=consumerSecret`, `/admin/v1/IdentityProviders/${id}?attributeSets=all&attributes=${SOCIAL}:consumerSecret`]) {
      const raw = await s.api('GET', path);
      expect(raw.status).toBe(200);
      expect(raw.text).not.toContain(secret);
      expect(raw.text).not.toContain('consumerSecret');
    }
    const row = await storedSecret(id);
    expect(row.data).not.toContain(secret);
    expect(row.consumer_secret).toMatch(/^kek:v1:/);
    expect(row.consumer_secret).not.toContain(secret);
    expect(openSecret(id, row.consumer_secret)).toBe(secret);
  };

  beforeAll(async () => {
    const warn = console.warn;
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).startsWith('Request cannot be retried')) warn(...args);
    });
    s = await TestServer.start();
    client = ociClient(s);
    wire = new RecordingHttpClient(null);
    (client as unknown as { _httpClient: common.HttpClient })._httpClient = wire;
    authorization = `Bearer ${await s.token()}`;
    callback = `${s.publicUrl}/oauth2/v1/social/callback`;
    group = (await client.createGroup({ authorization, group: { schemas: [GROUP_SCHEMA], displayName: 'SDK social users' } })).group;
  });
  afterAll(async () => {
    client?.close();
    await s?.stop();
    jest.restoreAllMocks();
  });

  const socialIdp = (name: string, extra: Partial<models.SocialIdentityProvider> = {}): models.SocialIdentityProvider => ({
    schemas: [SOCIAL_IDP_SCHEMA],
    name,
    enabled: true,
    showOnLogin: true,
    accountLinkingEnabled: true,
    registrationEnabled: false,
    serviceProviderName: 'OpenIDConnect',
    consumerKey: `${name}-client-id`,
    consumerSecret: `${name}-client-secret`,
    discoveryUrl: 'https://login.example.test/.well-known/openid-configuration',
    scope: ['openid', 'email', 'profile'],
    clockSkewInSeconds: 30,
    socialJitProvisioningEnabled: true,
    jitProvGroupStaticListEnabled: true,
    jitProvAssignedGroups: [{ value: group.id! }],
    relayIdpParamMappings: [{ relayParamKey: 'prompt', relayParamValue: 'login' }],
    ...extra,
  });

  describe('through SocialIdentityProviders', () => {
    let id: string;
    let etag: string;

    it('creates an OpenID Connect provider and gets the model back with its ETag, without the secret', async () => {
      const res = await client.createSocialIdentityProvider({ authorization, socialIdentityProvider: socialIdp('SDK OIDC', { serviceProviderName: 'OpenID Connect' }) });
      const idp = res.socialIdentityProvider;
      expect(idp).toMatchObject({
        schemas: [SOCIAL_IDP_SCHEMA],
        name: 'SDK OIDC',
        enabled: true,
        showOnLogin: true,
        serviceProviderName: 'OpenIDConnect',
        consumerKey: 'SDK OIDC-client-id',
        redirectUrl: callback,
        scope: ['openid', 'email', 'profile'],
        clockSkewInSeconds: 30,
        relayIdpParamMappings: [{ relayParamKey: 'prompt', relayParamValue: 'login' }],
      });
      expect(idp.consumerSecret).toBeUndefined();
      // `$ref` of the group comes back as the SDK's `ref`.
      expect(idp.jitProvAssignedGroups).toEqual([{ value: group.id, ref: `${s.publicUrl}/admin/v1/Groups/${group.id}`, display: 'SDK social users' }]);
      expect(idp.meta).toMatchObject({ resourceType: 'SocialIdentityProvider', location: `${s.publicUrl}/admin/v1/SocialIdentityProviders/${idp.id}` });
      expect(res.etag).toBe(idp.meta?.version);
      id = idp.id!;
      etag = res.etag!;
      await expectNeverReturned(id, 'SDK OIDC-client-secret');
    });

    it('gets, lists and searches it', async () => {
      const got = await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id });
      expect(got.socialIdentityProvider).toMatchObject({ id, name: 'SDK OIDC', redirectUrl: callback });
      expect(got.socialIdentityProvider.meta?.version).toBe(etag);

      const listed = await client.listSocialIdentityProviders({ authorization, filter: 'serviceProviderName eq "OpenIDConnect" and name eq "SDK OIDC"', sortBy: 'name', sortOrder: models.SortOrder.Descending });
      expect(listed.socialIdentityProviders.totalResults).toBe(1);
      expect(listed.socialIdentityProviders.resources.map((r) => r.id)).toEqual([id]);

      const searched = await client.searchSocialIdentityProviders({
        authorization,
        socialIdentityProviderSearchRequest: { schemas: [SEARCH_SCHEMA], filter: 'name sw "SDK"', sortBy: 'name', sortOrder: models.SortOrder.Ascending, startIndex: 1, count: 10, attributes: ['consumerKey'] },
      });
      expect(searched.socialIdentityProviders.resources.map((r) => [r.name, r.consumerKey, r.scope])).toEqual([['SDK OIDC', 'SDK OIDC-client-id', undefined]]);
    });

    it('patches it with the SDK upper-case ops and If-Match, and refuses a stale ETag', async () => {
      const res = await client.patchSocialIdentityProvider({
        authorization,
        socialIdentityProviderId: id,
        ifMatch: etag,
        patchOp: {
          schemas: [PATCH_SCHEMA],
          operations: [
            { op: models.Operations.Op.Replace, path: 'scope', value: ['openid', 'email'] },
            { op: models.Operations.Op.Replace, path: 'consumerSecret', value: 'rotated-by-patch' },
            { op: models.Operations.Op.Add, path: 'description', value: 'staff sign-in' },
          ],
        },
      });
      expect(res.socialIdentityProvider).toMatchObject({ scope: ['openid', 'email'], description: 'staff sign-in' });
      expect(res.etag).not.toBe(etag);
      const stale = await ociError(client.patchSocialIdentityProvider({ authorization, socialIdentityProviderId: id, ifMatch: etag, patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'enabled', value: false }] } }));
      expect(stale.statusCode).toBe(412);
      etag = res.etag!;
      await expectNeverReturned(id, 'rotated-by-patch');
    });

    it('replaces it (PUT) from the model it read, keeping the secret it cannot read back', async () => {
      const read = (await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id })).socialIdentityProvider;
      const res = await client.putSocialIdentityProvider({ authorization, socialIdentityProviderId: id, ifMatch: etag, socialIdentityProvider: { ...read, enabled: false, showOnLogin: false } });
      expect(res.socialIdentityProvider).toMatchObject({ id, enabled: false, showOnLogin: false, description: 'staff sign-in', redirectUrl: callback });
      expect(res.socialIdentityProvider.meta?.created).toBe(read.meta?.created);
      expect(res.etag).not.toBe(etag);
      etag = res.etag!;
      await expectNeverReturned(id, 'rotated-by-patch');

      const immutable = await ociError(client.putSocialIdentityProvider({ authorization, socialIdentityProviderId: id, socialIdentityProvider: { ...read, serviceProviderName: 'Google' } }));
      expect(immutable.statusCode).toBe(400);
      expect(immutable.message).toMatch(/serviceProviderName" is immutable/);
    });

    it('is the same resource through IdentityProviders: one version, changed there, seen here', async () => {
      const asIdp = await client.getIdentityProvider({ authorization, identityProviderId: id });
      expect(asIdp.identityProvider).toMatchObject({ id, partnerName: 'SDK OIDC', type: models.IdentityProvider.Type.Social, enabled: false, shownOnLoginPage: false });
      expect(asIdp.identityProvider.meta?.version).toBe(etag);
      const social = asIdp.identityProvider.urnIetfParamsScimSchemasOracleIdcsExtensionSocialIdentityProvider;
      expect(social).toMatchObject({ serviceProviderName: 'OpenIDConnect', redirectUrl: callback, scope: ['openid', 'email'] });
      expect(social?.consumerSecret).toBeUndefined();
      expect(asIdp.identityProvider.jitUserProvAttributes?.value).toBeTruthy();

      const patched = await client.patchIdentityProvider({
        authorization,
        identityProviderId: id,
        ifMatch: etag,
        patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'partnerName', value: 'SDK OIDC renamed' }] },
      });
      const seen = await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id });
      expect(seen.socialIdentityProvider.name).toBe('SDK OIDC renamed');
      expect(seen.socialIdentityProvider.meta?.version).toBe(patched.etag);
      etag = patched.etag!;
    });

    it('deletes it, with its MappedAttribute', async () => {
      const mappedId = (await client.getIdentityProvider({ authorization, identityProviderId: id })).identityProvider.jitUserProvAttributes!.value;
      const res = await client.deleteSocialIdentityProvider({ authorization, socialIdentityProviderId: id, ifMatch: etag, forceDelete: true });
      expect(res.opcRequestId).toBeTruthy();
      expect((await ociError(client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id }))).statusCode).toBe(404);
      expect((await ociError(client.getIdentityProvider({ authorization, identityProviderId: id }))).statusCode).toBe(404);
      expect((await ociError(client.getMappedAttribute({ authorization, mappedAttributeId: mappedId }))).statusCode).toBe(404);
    });
  });

  describe('through IdentityProviders', () => {
    let id: string;
    let etag: string;

    it('creates an OpenID Connect provider as a SOCIAL IdentityProvider, which SocialIdentityProviders then shows', async () => {
      const res = await client.createIdentityProvider({
        authorization,
        identityProvider: {
          schemas: [IDP_SCHEMA, SOCIAL],
          partnerName: 'SDK IdP OIDC',
          type: models.IdentityProvider.Type.Social,
          enabled: true,
          urnIetfParamsScimSchemasOracleIdcsExtensionSocialIdentityProvider: {
            serviceProviderName: 'oidc',
            consumerKey: 'idp-client-id',
            consumerSecret: 'idp-client-secret',
            accountLinkingEnabled: false,
            registrationEnabled: false,
            discoveryUrl: 'https://accounts.example.test/.well-known/openid-configuration',
            redirectUrl: 'https://ignored.example.test/callback',
            scope: ['openid'],
          },
        },
      });
      const idp = res.identityProvider;
      expect(idp.type).toBe(models.IdentityProvider.Type.Social);
      expect(idp.urnIetfParamsScimSchemasOracleIdcsExtensionSocialIdentityProvider).toMatchObject({ serviceProviderName: 'OpenIDConnect', redirectUrl: callback });
      expect(idp.meta?.location).toBe(`${s.publicUrl}/admin/v1/IdentityProviders/${idp.id}`);
      id = idp.id!;
      etag = res.etag!;
      await expectNeverReturned(id, 'idp-client-secret');

      const seen = await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id });
      // shownOnLoginPage was never set: the view reads it as false, as the login page does.
      expect(seen.socialIdentityProvider).toMatchObject({ name: 'SDK IdP OIDC', showOnLogin: false, serviceProviderName: 'OpenIDConnect', redirectUrl: callback, scope: ['openid'] });
      expect(seen.socialIdentityProvider.meta?.version).toBe(etag);
      const listed = await client.listIdentityProviders({ authorization, filter: `type eq "SOCIAL" and ${SOCIAL}:serviceProviderName eq "OpenIDConnect"` });
      expect(listed.identityProviders.resources.map((r) => r.id)).toContain(id);
      const searched = await client.searchIdentityProviders({ authorization, identityProviderSearchRequest: { schemas: [SEARCH_SCHEMA], filter: 'partnerName eq "SDK IdP OIDC"' } });
      expect(searched.identityProviders.resources.map((r) => r.id)).toEqual([id]);
    });

    it('takes a GET of the view back as a PUT without a new version', async () => {
      const read = await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id });
      const res = await client.putSocialIdentityProvider({ authorization, socialIdentityProviderId: id, socialIdentityProvider: read.socialIdentityProvider });
      expect(res.etag).toBe(etag);
    });

    it('is changed through SocialIdentityProviders and read back through IdentityProviders', async () => {
      const patched = await client.patchSocialIdentityProvider({
        authorization,
        socialIdentityProviderId: id,
        ifMatch: etag,
        patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'showOnLogin', value: true }, { op: models.Operations.Op.Add, path: 'scope', value: ['email'] }] },
      });
      const asIdp = await client.getIdentityProvider({ authorization, identityProviderId: id });
      expect(asIdp.identityProvider.shownOnLoginPage).toBe(true);
      expect(asIdp.identityProvider.urnIetfParamsScimSchemasOracleIdcsExtensionSocialIdentityProvider?.scope).toEqual(['openid', 'email']);
      expect(asIdp.identityProvider.meta?.version).toBe(patched.etag);

      const put = await client.putIdentityProvider({
        authorization,
        identityProviderId: id,
        ifMatch: patched.etag,
        identityProvider: { ...asIdp.identityProvider, description: 'set through IdentityProviders' },
      });
      expect(put.identityProvider.description).toBe('set through IdentityProviders');
      const seen = await client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id });
      expect(seen.socialIdentityProvider.description).toBe('set through IdentityProviders');
      expect(seen.socialIdentityProvider.meta?.version).toBe(put.etag);
      etag = put.etag!;
      await expectNeverReturned(id, 'idp-client-secret');
    });

    it('deletes it through IdentityProviders', async () => {
      await client.deleteIdentityProvider({ authorization, identityProviderId: id, ifMatch: etag });
      expect((await ociError(client.getSocialIdentityProvider({ authorization, socialIdentityProviderId: id }))).statusCode).toBe(404);
    });
  });
});
