import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig, parseKeyEncryptionKey, secretBoxFor } from '@app/config';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { ApiResponse, dbQuery, E2E_DB, expectScimError, expectStatus, freshDatabase, GROUP_SCHEMA, patch, startTestServerOn, TestServer } from './support/server';

// Spelled out, not imported from the libs: the server must not be compared with itself.
const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
const SOCIAL = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider';
const X509 = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:x509:IdentityProvider';

type Body = Record<string, any>;

/** A Terraform acceptance body (test/fixtures/terraform/README.md), with Terraform's interpolation of the group id. */
function terraformBody(step: 'create' | 'update', groupId: string): Body {
  const text = readFileSync(join(__dirname, 'fixtures', 'terraform', `identity-provider.${step}.json`), 'utf8');
  return JSON.parse(text.split('{{groupId}}').join(groupId)) as Body;
}

/** The body without the attributes a response never carries (write-only, returned never). */
function withoutUnreturned(body: Body): Body {
  const { serviceInstanceIdentifier: _never, ...rest } = body;
  const { consumerSecret: _secret, ...social } = body[SOCIAL] ?? {};
  return body[SOCIAL] ? { ...rest, [SOCIAL]: social } : rest;
}

describe(`IdentityProvider bodies IDCS accepts (${E2E_DB})`, () => {
  let s: TestServer;
  let cert: TestKeyPair;
  let groupId: string;

  const idpCount = async () => (await s.api('GET', '/admin/v1/IdentityProviders?count=0')).body.totalResults as number;
  const row = async (id: string) =>
    (await dbQuery<{ data: string; consumer_secret: string | null; succinct_id: string | null; service_instance_identifier: string | null }>(
      s,
      `SELECT data, consumer_secret, succinct_id, service_instance_identifier FROM identity_providers WHERE id = $1`,
      [id],
    ))[0];
  const openSecret = (id: string, envelope: string) =>
    secretBoxFor(s.app.get<AppConfig>(APP_CONFIG).secrets).open(envelope, `identity_providers/${id}/consumerSecret`, 'test');

  /** An enabled SAML IdP with `extra` on top. */
  const saml = (partnerName: string, extra: Body = {}): Body => ({
    schemas: [IDP_SCHEMA],
    partnerName,
    enabled: true,
    partnerProviderId: `https://idp.example.test/${partnerName}`,
    idpSsoUrl: `https://idp.example.test/${partnerName}/sso`,
    signingCertificate: cert.certificateB64,
    ...extra,
  });
  const social = (extra: Body = {}): Body => ({
    serviceProviderName: 'Google',
    consumerKey: 'client-id',
    consumerSecret: 'client-secret',
    accountLinkingEnabled: false,
    registrationEnabled: false,
    ...extra,
  });
  const x509 = (extra: Body = {}): Body => ({ certMatchAttribute: 'subject.CN', userMatchAttribute: 'userName', signingCertificateChain: ['corp-ca'], ...extra });
  const create = (body: Body) => s.api('POST', '/admin/v1/IdentityProviders', body);

  beforeAll(async () => {
    s = await TestServer.start();
    cert = await makeKeyPair('terraform-idp');
    groupId = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Terraform group' })).body.id;
  });
  afterAll(() => s.stop());

  describe("Oracle's Terraform acceptance test for oci_identity_domains_identity_provider", () => {
    it('should create from the body unchanged, apply the update step, and take a GET back as a PUT', async () => {
      const createBody = terraformBody('create', groupId);
      const created = await s.api('POST', '/admin/v1/IdentityProviders?attributeSets=all', createBody);
      expectStatus(created, 201);
      const id = created.body.id as string;
      expect(created.body).toMatchObject(withoutUnreturned({ ...createBody, schemas: expect.arrayContaining([IDP_SCHEMA, SOCIAL, X509]) }));
      expect(created.body.jitUserProvGroupMappings[0]).toMatchObject({ $ref: expect.stringMatching(`/admin/v1/Groups/${groupId}$`), display: 'Terraform group' });
      expect(created.body[SOCIAL].jitProvAssignedGroups[0]).toMatchObject({ value: groupId, $ref: expect.stringMatching(`/admin/v1/Groups/${groupId}$`) });
      expect(created.body).not.toHaveProperty('serviceInstanceIdentifier');
      expect(created.body[SOCIAL]).not.toHaveProperty('consumerSecret');
      const stored = await row(id);
      expect(stored.data).not.toContain('"consumerSecret"');
      expect(stored.consumer_secret).toMatch(/^kek:v1:/);
      expect(openSecret(id, stored.consumer_secret!)).toBe('consumerSecret');
      expect(stored).toMatchObject({ succinct_id: 'succinctId', service_instance_identifier: 'serviceinstanceidentifier' });

      // Terraform's PUT also carries what its state holds from the server's answer (fixtures README).
      const state = { id, ...(created.body.ocid ? { ocid: created.body.ocid } : {}), jitUserProvAttributes: { value: created.body.jitUserProvAttributes.value } };
      const updateBody = { ...terraformBody('update', groupId), ...state };
      const updated = await s.api('PUT', `/admin/v1/IdentityProviders/${id}?attributeSets=all`, updateBody);
      expectStatus(updated, 200);
      const read = await s.api('GET', `/admin/v1/IdentityProviders/${id}?attributeSets=all`);
      expectStatus(read, 200);
      const { ocid: _ocid, ...expected } = withoutUnreturned({ ...updateBody, schemas: expect.arrayContaining([IDP_SCHEMA, SOCIAL, X509]) });
      expect(read.body).toMatchObject(expected);
      expect(read.body).toMatchObject({ userMappingMethod: 'AssertionAttributeToUserAttribute', userMappingStoreAttribute: 'name.givenName', nameIdFormat: 'nameIdFormat2' });
      expect(read.body.jitUserProvAttributes).toEqual(created.body.jitUserProvAttributes);
      const afterUpdate = await row(id);
      expect(openSecret(id, afterUpdate.consumer_secret!)).toBe('consumerSecret2');
      expect(afterUpdate.service_instance_identifier).toBe('serviceinstanceidentifier2');

      // A GET fed back as a PUT changes nothing: no new version, the secret and the never-returned value are kept.
      const putBack = await s.api('PUT', `/admin/v1/IdentityProviders/${id}`, read.body);
      expectStatus(putBack, 200);
      expect(putBack.body.meta.version).toBe(read.body.meta.version);
      const afterPutBack = await row(id);
      expect(afterPutBack).toEqual(afterUpdate);
    });
  });

  describe('attributes IDCS stores', () => {
    it('should store succinctId, return it, find it by filter and keep it unique', async () => {
      const a = await create(saml('Succinct-A', { succinctId: 'sA' }));
      expectStatus(a, 201);
      expect(a.body.succinctId).toBe('sA');
      const found = await s.api('GET', `/admin/v1/IdentityProviders?filter=${encodeURIComponent('succinctId eq "sA"')}`);
      expect(found.body.Resources.map((r: Body) => r.id)).toEqual([a.body.id]);
      const before = await idpCount();
      const dup = await create(saml('Succinct-B', { succinctId: 'sA' }));
      expectScimError(dup, 409, 'uniqueness');
      expect(dup.body.detail).toMatch(/succinctId/);
      expect(await idpCount()).toBe(before);
    });

    it('should store serviceInstanceIdentifier without ever returning it, unique ignoring case, kept by a PUT that leaves it out', async () => {
      const a = await create(saml('Instance-A', { serviceInstanceIdentifier: 'GUID-1' }));
      expectStatus(a, 201);
      const all = await s.api('GET', `/admin/v1/IdentityProviders/${a.body.id}?attributes=serviceInstanceIdentifier&attributeSets=all`);
      expect(all.body).not.toHaveProperty('serviceInstanceIdentifier');
      const dup = await create(saml('Instance-B', { serviceInstanceIdentifier: 'guid-1' }));
      expectScimError(dup, 409, 'uniqueness');
      expect(dup.body.detail).toMatch(/serviceInstanceIdentifier/);
      expectStatus(await s.api('PUT', `/admin/v1/IdentityProviders/${a.body.id}`, saml('Instance-A', { description: 'changed' })), 200);
      expect((await row(a.body.id)).service_instance_identifier).toBe('guid-1');
      expect(JSON.parse((await row(a.body.id)).data).serviceInstanceIdentifier).toBe('GUID-1');
    });

    it('should store correlationPolicy and userMappingMethod CorrelationPolicyRule', async () => {
      const res = await create(saml('Correlation', { userMappingMethod: 'correlationpolicyrule', correlationPolicy: { type: 'Policy', value: 'policy-1', display: 'ignored: read-only' } }));
      expectStatus(res, 201);
      expect(res.body).toMatchObject({ userMappingMethod: 'CorrelationPolicyRule', correlationPolicy: { type: 'Policy', value: 'policy-1' } });
      expect(res.body.correlationPolicy).not.toHaveProperty('display');
    });

    it.each<[string, string, string]>([
      ['a core attribute', 'nickName', 'nickName'],
      ['a sub-attribute, in any case', 'NAME.GIVENNAME', 'name.givenName'],
      ['an extension attribute by its URN', 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:isFederatedUser', 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:isFederatedUser'],
      ['the primary email', 'emails.value', 'emails.value'],
    ])('should store %s as userMappingStoreAttribute', async (_case, given, stored) => {
      const res = await create(saml(`Store-${Math.random().toString(36).slice(2)}`, { userMappingStoreAttribute: given }));
      expectStatus(res, 201);
      expect(res.body.userMappingStoreAttribute).toBe(stored);
    });

    it.each<[string, string, string]>([
      ['saml-persistent', 'SAML-Persistent', 'saml-persistent'],
      ['a format URN, as metadata carries it', 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'],
      ['any other value, as IDCS stores it', 'nameIdFormat', 'nameIdFormat'],
    ])('should store nameIdFormat %s', async (_case, given, stored) => {
      const res = await create(saml(`Format-${Math.random().toString(36).slice(2)}`, { nameIdFormat: given }));
      expectStatus(res, 201);
      expect(res.body.nameIdFormat).toBe(stored);
    });

    it.each<[string, Body, RegExp]>([
      ['a userMappingStoreAttribute that is no User attribute', { userMappingStoreAttribute: 'favouriteColour' }, /userMappingStoreAttribute must be a User attribute.*Unknown attribute "favouriteColour"/],
      ['an unknown sub-attribute as userMappingStoreAttribute', { userMappingStoreAttribute: 'name.nickName' }, /userMappingStoreAttribute must be a User attribute.*Unknown sub-attribute "nickName" of "name"/],
      ['a complex attribute as userMappingStoreAttribute', { userMappingStoreAttribute: 'name' }, /complex User attribute.*e\.g\. name\.formatted/],
      ['an unknown userMappingMethod', { userMappingMethod: 'Magic' }, /userMappingMethod must be one of NameIDToUserAttribute, AssertionAttributeToUserAttribute, CorrelationPolicyRule/],
      ['a correlationPolicy of another type', { correlationPolicy: { type: 'Rule', value: 'x' } }, /correlationPolicy\.type must be one of Policy \(got "Rule"\)/],
      ['a correlationPolicy without value', { correlationPolicy: { type: 'Policy' } }, /"correlationPolicy" needs a "value"/],
      ['type IWA', { type: 'IWA' }, /type IWA is not implemented.*Use SAML, SOCIAL, X509/],
      ['an unknown type', { type: 'OIDC' }, /type must be one of SAML, SOCIAL, X509 \(got "OIDC"\)/],
      ['a SOCIAL IdP without its extension', { type: 'SOCIAL' }, /Identity providers of type SOCIAL are described by their extension: give the "urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider" object/],
      ['an X509 IdP without its extension', { type: 'X509' }, /Identity providers of type X509 are described by their extension/],
      ['a social extension without consumerSecret', { [SOCIAL]: social({ consumerSecret: undefined }) }, /Missing required attribute\(s\): urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider:consumerSecret/],
      ['a social extension without consumerKey', { [SOCIAL]: social({ consumerKey: undefined }) }, /Missing required attribute\(s\): urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider:consumerKey/],
      ['an unknown social status', { [SOCIAL]: social({ status: 'paused' }) }, /social:IdentityProvider:status must be one of created, deleted \(got "paused"\)/],
      ['an x509 extension without signingCertificateChain', { [X509]: x509({ signingCertificateChain: undefined }) }, /x509:IdentityProvider:signingCertificateChain/],
      ['an unknown extended key usage', { [X509]: x509({ ekuValues: ['client_auth', 'world_domination'] }) }, /ekuValues\[1\] must be one of SERVER_AUTH, CLIENT_AUTH/],
      ['an unknown attribute of the social extension', { [SOCIAL]: social({ clientSecret: 'x' }) }, /Unknown attribute "clientSecret"/],
    ])('should refuse %s with a detail that says what to fix, and write nothing', async (_case, extra, detail) => {
      const before = await idpCount();
      const res = await create(saml(`Bad-${Math.random().toString(36).slice(2)}`, extra));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBeDefined();
      expect(res.body.detail).toMatch(detail);
      expect(await idpCount()).toBe(before);
    });
  });

  describe('extension schemas', () => {
    it('should store a SOCIAL IdP with its extension, its consumerSecret write-only and encrypted at rest', async () => {
      const res = await create({ schemas: [IDP_SCHEMA, SOCIAL], partnerName: 'Google', type: 'social', enabled: true, [SOCIAL]: social({ scope: ['openid', 'email'], jitProvAssignedGroups: [{ value: groupId }] }) });
      expectStatus(res, 201);
      expect(res.body).toMatchObject({ type: 'SOCIAL', schemas: [IDP_SCHEMA, SOCIAL], [SOCIAL]: { serviceProviderName: 'Google', consumerKey: 'client-id', scope: ['openid', 'email'] } });
      expect(res.text).not.toContain('client-secret');
      const id = res.body.id as string;
      const stored = await row(id);
      expect(stored.data).not.toContain('client-secret');
      expect(stored.consumer_secret).not.toContain('client-secret');
      expect(openSecret(id, stored.consumer_secret!)).toBe('client-secret');

      // Not found by a filter on the secret: it is not in the document the filters read.
      const byFilter = await s.api('GET', `/admin/v1/IdentityProviders?filter=${encodeURIComponent(`${SOCIAL}:consumerSecret eq "client-secret"`)}`);
      expect(byFilter.body.totalResults).toBe(0);

      // The same secret again is no change; a new one is sealed anew; leaving it out keeps it.
      const same = await s.api('PATCH', `/admin/v1/IdentityProviders/${id}`, patch({ op: 'replace', path: `${SOCIAL}:consumerSecret`, value: 'client-secret' }));
      expect(same.body.meta.version).toBe(res.body.meta.version);
      const changed = await s.api('PATCH', `/admin/v1/IdentityProviders/${id}`, patch({ op: 'replace', path: `${SOCIAL}:consumerSecret`, value: 'rotated' }));
      expectStatus(changed, 200);
      expect(changed.body.meta.version).not.toBe(res.body.meta.version);
      expect(openSecret(id, (await row(id)).consumer_secret!)).toBe('rotated');
      const put = await s.api('PUT', `/admin/v1/IdentityProviders/${id}`, changed.body);
      expectStatus(put, 200);
      expect(openSecret(id, (await row(id)).consumer_secret!)).toBe('rotated');
      expectScimError(await s.api('PATCH', `/admin/v1/IdentityProviders/${id}`, patch({ op: 'replace', path: `${SOCIAL}:serviceProviderName`, value: 'Apple' })), 400, 'mutability');

      // The audit trail names the change, never the secret.
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`adminResourceId eq "${id}"`)}&count=100`);
      expect(events.body.totalResults).toBeGreaterThan(0);
      expect(events.text).not.toMatch(/client-secret|rotated/);
    });

    it('should store an X509 IdP with its extension as data', async () => {
      const ext = x509({ ocspEnabled: true, ocspResponderURL: 'http://ocsp.example.test', ocspRevalidateTime: 12, ekuValues: ['client_auth'] });
      const res = await create({ schemas: [IDP_SCHEMA, X509], partnerName: 'Smart cards', type: 'X509', enabled: true, [X509]: ext });
      expectStatus(res, 201);
      expect(res.body).toMatchObject({ type: 'X509', [X509]: ext });
      expect((await s.api('GET', `/admin/v1/IdentityProviders/${res.body.id}`)).body[X509]).toEqual(ext);
    });

    it('should remove a social group reference with forceDelete of the group', async () => {
      const g = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Social JIT group' })).body.id;
      const res = await create({ schemas: [IDP_SCHEMA, SOCIAL], partnerName: 'Social with group', type: 'SOCIAL', enabled: false, [SOCIAL]: social({ jitProvGroupStaticListEnabled: true, jitProvAssignedGroups: [{ value: g }] }) });
      expectStatus(res, 201);
      const refused = await s.api('DELETE', `/admin/v1/Groups/${g}`);
      expect(refused.status).toBe(409);
      expect(refused.body.detail).toMatch(/social:IdentityProvider:jitProvAssignedGroups\[0\]\.value/);
      expect((await s.api('DELETE', `/admin/v1/Groups/${g}?forceDelete=true`)).status).toBe(204);
      const after = (await s.api('GET', `/admin/v1/IdentityProviders/${res.body.id}`)).body[SOCIAL];
      expect(after).not.toHaveProperty('jitProvAssignedGroups');
      expect(after.jitProvGroupStaticListEnabled).toBe(false);
    });

    it('should refuse an unknown group in the social static list', async () => {
      const res = await create({ schemas: [IDP_SCHEMA, SOCIAL], partnerName: 'Social ghost group', type: 'SOCIAL', enabled: false, [SOCIAL]: social({ jitProvAssignedGroups: [{ value: 'nope' }] }) });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/social:IdentityProvider:jitProvAssignedGroups\[0\]\.value: no group with id "nope"/);
    });

    it('should describe both extensions under /Schemas and list them in the ResourceType', async () => {
      const rt = await s.api('GET', '/admin/v1/ResourceTypes/IdentityProvider');
      expect(rt.body.schemaExtensions).toEqual(expect.arrayContaining([{ schema: SOCIAL, required: false }, { schema: X509, required: false }]));
      const socialSchema = await s.api('GET', `/admin/v1/Schemas/${SOCIAL}`);
      expectStatus(socialSchema, 200);
      const attrs = new Map((socialSchema.body.attributes as Body[]).map((a) => [a.name, a]));
      for (const name of ['serviceProviderName', 'consumerKey', 'consumerSecret', 'accountLinkingEnabled', 'registrationEnabled', 'status', 'discoveryUrl', 'authzUrl', 'accessTokenUrl', 'profileUrl', 'redirectUrl', 'scope', 'adminScope', 'clientCredentialInPayload', 'clockSkewInSeconds', 'idAttribute', 'appleDevId', 'appleKeyId', 'relayIdpParamMappings', 'autoRedirectEnabled', 'socialJitProvisioningEnabled', 'jitProvGroupStaticListEnabled', 'jitProvAssignedGroups']) {
        expect(attrs.has(name)).toBe(true);
      }
      expect(attrs.get('consumerSecret')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
      expect(attrs.get('serviceProviderName')).toMatchObject({ mutability: 'immutable', required: true });
      const x509Schema = await s.api('GET', `/admin/v1/Schemas/${X509}`);
      expectStatus(x509Schema, 200);
      expect((x509Schema.body.attributes as Body[]).map((a) => a.name)).toEqual(
        expect.arrayContaining(['certMatchAttribute', 'userMatchAttribute', 'otherCertMatchAttribute', 'signingCertificateChain', 'ocspEnabled', 'ocspServerName', 'ocspResponderURL', 'ocspAllowUnknownResponseStatus', 'ocspRevalidateTime', 'ocspEnableSignedResponse', 'ocspTrustCertChain', 'crlEnabled', 'crlCheckOnOCSPFailureEnabled', 'crlLocation', 'crlReloadDuration', 'ekuValidationEnabled', 'ekuValues']),
      );
      const core = await s.api('GET', `/admin/v1/Schemas/${IDP_SCHEMA}`);
      const coreNames = (core.body.attributes as Body[]).map((a) => a.name);
      expect(coreNames).toEqual(expect.arrayContaining(['succinctId', 'serviceInstanceIdentifier', 'correlationPolicy']));
      expect((core.body.attributes as Body[]).find((a) => a.name === 'type')?.canonicalValues).toEqual(['SAML', 'SOCIAL', 'X509']);
    });
  });

  describe('sign-in through what is stored but cannot be honoured', () => {
    let warn: jest.SpyInstance;
    let idpKeys: TestKeyPair;

    beforeAll(async () => {
      idpKeys = await makeKeyPair('unsupported-idp');
    });
    beforeEach(() => {
      warn = jest.spyOn(Logger.prototype, 'warn');
    });
    afterEach(() => warn.mockRestore());

    const initiate = (idp: string) => fetch(`${s.baseUrl}/fed/v1/sp/initiatesso?idp=${encodeURIComponent(idp)}`, { redirect: 'manual' });
    const logged = (reason: string) => warn.mock.calls.some((args) => String(args[0]).includes(`reason=${reason}`));
    const preview = (id: string) => s.api('POST', `/admin/v1/IdentityProviders/${id}/jitPreview`, { nameId: 'someone@example.com' });

    it.each<[string, () => Body, string, RegExp]>([
      // No discovery document: a provider type without one for every tenant needs discoveryUrl (OpenID Connect).
      ['a SOCIAL IdP without discovery', () => ({ schemas: [IDP_SCHEMA, SOCIAL], partnerName: 'Social sign-in', type: 'SOCIAL', enabled: true, [SOCIAL]: social({ serviceProviderName: 'Facebook' }) }), 'unsupported_oidc_settings', /has no discoveryUrl/],
      ['an X509 IdP', () => ({ schemas: [IDP_SCHEMA, X509], partnerName: 'X509 sign-in', type: 'X509', enabled: true, [X509]: x509() }), 'unsupported_idp_type', /type X509/],
      ['a NameID format that is no URI', () => saml('Format sign-in', { nameIdFormat: 'nameIdFormat' }), 'unsupported_name_id_format', /nameIdFormat "nameIdFormat" is neither/],
      ['a correlation policy', () => saml('Policy sign-in', { userMappingMethod: 'CorrelationPolicyRule' }), 'unsupported_user_mapping', /CorrelationPolicyRule/],
      ['a lookup by name.givenName', () => saml('GivenName sign-in', { userMappingStoreAttribute: 'name.givenName' }), 'unsupported_user_mapping', /userMappingStoreAttribute is "name\.givenName"/],
    ])('should refuse an SP-initiated sign-in through %s with the generic page and the reason in the log, as the JIT preview says', async (_case, body, reason, detail) => {
      const created = await create(body());
      expectStatus(created, 201);
      const res = await initiate(created.body.id);
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      const page = await res.text();
      expect(page).toContain('Sign-in failed');
      expect(page).not.toContain(reason);
      expect(logged(reason)).toBe(true);
      const p = await preview(created.body.id);
      expectStatus(p, 200);
      expect(p.body).toMatchObject({ outcome: 'reject', reason, matchedUser: null });
      expect(p.body.detail).toMatch(detail);
    });

    it('should ask for a NameID format given as a URI as it is', async () => {
      const format = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
      const created = await create(saml('URI format sign-in', { nameIdFormat: format }));
      expectStatus(created, 201);
      const res = await initiate(created.body.id);
      expect(res.status).toBe(302);
      const xml = inflateRawSync(Buffer.from(new URL(res.headers.get('location')!).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
      expect(xml).toContain(`Format="${format}"`);
    });

    it('should refuse a signed response to an IdP whose user mapping sign-in cannot use, write nothing and audit the reason', async () => {
      const metadata = await s.raw('GET', '/fed/v1/metadata');
      const entityId = 'https://idp.unsupported.test/metadata';
      const idp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, idpKeys, entityId);
      const created = await create({
        ...saml('ACS policy', { partnerProviderId: entityId, signingCertificate: idpKeys.certificateB64 }),
        allowUnsolicitedResponses: true,
        userMappingMethod: 'CorrelationPolicyRule',
        jitUserProvEnabled: true,
        jitUserProvCreateUserEnabled: true,
      });
      expectStatus(created, 201);
      const users = async () => (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults as number;
      const before = await users();
      const response = await idp.signedResponse({ InResponseTo: undefined }, { email: ['a@example.com'] });
      const res: ApiResponse = await (async () => {
        const r = await fetch(`${s.baseUrl}/fed/v1/sp/sso`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ SAMLResponse: response }).toString(),
        });
        const text = await r.text();
        return { status: r.status, headers: r.headers, body: text, text };
      })();
      expect([401, 403]).toContain(res.status);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(res.text).toContain('Sign-in failed');
      const correlation = /id="correlation-id">([^<]+)</.exec(res.text)![1];
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`correlationId eq "${correlation}"`)}`);
      expect(events.body.Resources[0]).toMatchObject({ reason: 'unsupported_user_mapping', adminResourceId: created.body.id });
      expect(await users()).toBe(before);
    });
  });

  describe('consumerSecret under a rotated key-encryption key', () => {
    it('should be re-encrypted under the new key at start-up while the old one is in SECRETS_KEK_PREVIOUS', async () => {
      const [kekA, kekB] = [randomBytes(32).toString('base64'), randomBytes(32).toString('hex')];
      const db = await freshDatabase();
      const servers: TestServer[] = [];
      const start = async (env: Record<string, string>) => {
        const server = await startTestServerOn(db.url, { PUBLIC_URL: 'http://id.example.test', ...env });
        servers.push(server);
        return server;
      };
      const stored = async (server: TestServer, id: string) =>
        (await dbQuery<{ consumer_secret: string; version: number }>(server, `SELECT consumer_secret, version FROM identity_providers WHERE id = $1`, [id]))[0];
      try {
        const first = await start({ SECRETS_KEK: kekA });
        const created = await first.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDP_SCHEMA, SOCIAL], partnerName: 'Rotated', type: 'SOCIAL', enabled: false, [SOCIAL]: social({ consumerSecret: 'kept-across-rotation' }) });
        expectStatus(created, 201);
        const before = await stored(first, created.body.id);
        expect(before.consumer_secret).toMatch(new RegExp(`^kek:v1:${parseKeyEncryptionKey(kekA)!.id}:`));
        await first.stop();

        const rotated = await start({ SECRETS_KEK: kekB, SECRETS_KEK_PREVIOUS: kekA });
        const after = await stored(rotated, created.body.id);
        expect(after.consumer_secret).toMatch(new RegExp(`^kek:v1:${parseKeyEncryptionKey(kekB)!.id}:`));
        expect(after.version).toBe(before.version);
        const box = secretBoxFor(rotated.app.get<AppConfig>(APP_CONFIG).secrets);
        expect(box.open(after.consumer_secret, `identity_providers/${created.body.id}/consumerSecret`, 'test')).toBe('kept-across-rotation');
      } finally {
        for (const server of servers) await server.stop().catch(() => undefined);
        await db.drop();
      }
    });
  });
});
