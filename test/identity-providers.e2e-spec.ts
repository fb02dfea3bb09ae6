import * as samlify from 'samlify';
import { IDENTITY_PROVIDER_SCHEMA_ID, MAPPED_ATTRIBUTE_SCHEMA_ID, mappedAttributeBody } from '@app/fixtures';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer } from './support/server';

samlify.setSchemaValidator({ validate: async () => 'not needed: we only read the metadata samlify writes' });

function idp(partnerName: string, cert: TestKeyPair, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
    partnerName,
    type: 'SAML',
    enabled: true,
    partnerProviderId: `http://www.okta.com/${partnerName}`,
    idpSsoUrl: `https://okta.example.com/app/${partnerName}/sso/saml`,
    signingCertificate: cert.certificateB64,
    nameIdFormat: 'saml-emailaddress',
    ...extra,
  };
}

describe('IdentityProviders and MappedAttributes', () => {
  let s: TestServer;
  let cert: TestKeyPair;
  let admins: string;
  let ociAdmins: string;

  beforeAll(async () => {
    s = await TestServer.start();
    cert = await makeKeyPair('okta');
    admins = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OCI Administrators' })).body.id;
    ociAdmins = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OCI Admins' })).body.id;
  });
  afterAll(() => s.stop());

  describe('the OCI + Okta JIT tutorial configuration', () => {
    it('should be created purely through the REST API and read back exactly as set', async () => {
      const jit = {
        jitUserProvEnabled: true,
        jitUserProvCreateUserEnabled: true,
        jitUserProvAttributeUpdateEnabled: true,
        jitUserProvGroupAssertionAttributeEnabled: true,
        jitUserProvGroupSAMLAttributeName: 'groups',
        jitUserProvGroupMappingMode: 'explicit',
        jitUserProvGroupMappings: [
          { idpGroup: 'Administrators', value: admins },
          { idpGroup: 'Admins', value: ociAdmins },
        ],
        jitUserProvGroupAssignmentMethod: 'Merge',
        jitUserProvIgnoreErrorOnAbsentGroups: true,
      };
      const created = await s.api('POST', '/admin/v1/IdentityProviders', idp('Okta-Tutorial', cert, jit));
      expectStatus(created, 201);
      expect(created.headers.get('location')).toBe(created.body.meta.location);
      const mappedId = created.body.jitUserProvAttributes.value;
      expect(created.body.jitUserProvAttributes.$ref).toMatch(new RegExp(`/admin/v1/MappedAttributes/${mappedId}$`));

      const mappings = [
        { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
        { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
        { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
        { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
      ];
      const ma = await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`);
      expectStatus(ma, 200);
      expect(ma.body).toMatchObject({ idcsResourceType: 'User', direction: 'inbound', refResourceType: 'IdentityProvider', refResourceID: created.body.id });
      const put = await s.api('PUT', `/admin/v1/MappedAttributes/${mappedId}`, mappedAttributeBody(mappings));
      expectStatus(put, 200);

      const readIdp = await s.api('GET', `/admin/v1/IdentityProviders/${created.body.id}`);
      expectStatus(readIdp, 200);
      expect(readIdp.body).toMatchObject({ ...jit, jitUserProvGroupMappings: jit.jitUserProvGroupMappings.map((m) => ({ ...m, $ref: expect.stringMatching(`/admin/v1/Groups/${m.value}$`) })) });
      expect(readIdp.body.jitUserProvGroupMappings.map((m: { display: string }) => m.display)).toEqual(['OCI Administrators', 'OCI Admins']);
      const readMa = await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`);
      expect(readMa.body.attributeMappings).toEqual(mappings);
    });
  });

  describe('validation', () => {
    it.each<[string, Record<string, unknown>, RegExp]>([
      ['JIT on without create or update', { jitUserProvEnabled: true }, /jitUserProvCreateUserEnabled or jitUserProvAttributeUpdateEnabled/],
      ['group assertion without attribute name', { jitUserProvGroupAssertionAttributeEnabled: true }, /jitUserProvGroupSAMLAttributeName/],
      ['static list without groups', { jitUserProvGroupStaticListEnabled: true }, /jitUserProvAssignedGroups/],
      ['an unknown assignment method', { jitUserProvGroupAssignmentMethod: 'Replace' }, /Overwrite, Merge/],
      ['an unknown mapping mode', { jitUserProvGroupMappingMode: 'magic' }, /explicit, implicit/],
      ['an unknown group in a mapping', { jitUserProvGroupMappings: [{ idpGroup: 'x', value: '0123456789abcdef0123456789abcdef' }] }, /jitUserProvGroupMappings\[0\]\.value: no group/],
      ['an unknown static group', { jitUserProvAssignedGroups: [{ value: 'nope' }] }, /jitUserProvAssignedGroups\[0\]\.value: no group/],
      ['more than 250 group mappings', { jitUserProvGroupMappings: Array.from({ length: 251 }, (_, i) => ({ idpGroup: `g${i}`, value: 'x' })) }, /At most 250/],
      ['a SOCIAL type without the social extension', { type: 'SOCIAL' }, /type SOCIAL are described by their extension/],
      ['an unknown type', { type: 'OIDC' }, /type must be one of SAML, SOCIAL, X509/],
      ['a bad binding', { authnRequestBinding: 'Artifact' }, /authnRequestBinding must be one of Redirect, Post/],
      ['a relative SSO URL', { idpSsoUrl: '/sso' }, /idpSsoUrl must be an absolute/],
      ['a certificate that is not one', { signingCertificate: 'bm90IGEgY2VydA==' }, /signingCertificate/],
      ['an enabled IdP without entity ID', { partnerProviderId: undefined }, /needs partnerProviderId/],
      ['assertion-attribute user mapping without the attribute', { userMappingMethod: 'AssertionAttributeToUserAttribute' }, /assertionAttribute/],
      ['a service-set jitUserProvAttributes', { jitUserProvAttributes: { value: 'x' } }, /set by the service/],
      ['a partnerName over 255 characters', { partnerName: 'N'.repeat(256) }, /"partnerName" must be at most 255 characters long \(got 256\)/],
      ['a partnerProviderId over 1024 characters', { partnerProviderId: `urn:${'x'.repeat(1021)}` }, /"partnerProviderId" must be at most 1024 characters long \(got 1025\)/],
    ])('should refuse %s and write nothing', async (_title, extra, detail) => {
      const before = (await s.api('GET', '/admin/v1/IdentityProviders?count=0')).body.totalResults;
      const res = await s.api('POST', '/admin/v1/IdentityProviders', idp(`Bad-${Math.random().toString(36).slice(2)}`, cert, extra));
      expect(res.status).toBe(400);
      expect(res.body.detail).toMatch(detail);
      expect((await s.api('GET', '/admin/v1/IdentityProviders?count=0')).body.totalResults).toBe(before);
      expect((await s.api('GET', '/admin/v1/MappedAttributes?count=0')).body.totalResults).toBe(before);
    });

    it('should report an expired or not yet valid certificate in the detail', async () => {
      const expired = await makeKeyPair('old', new Date('2020-01-01'), new Date('2021-01-01'));
      const future = await makeKeyPair('new', new Date(Date.now() + 30 * 86_400_000), new Date(Date.now() + 400 * 86_400_000));
      const a = await s.api('POST', '/admin/v1/IdentityProviders', idp('Expired', expired));
      expectScimError(a, 400, 'invalidValue');
      expect(a.body.detail).toMatch(/expired/i);
      const b = await s.api('POST', '/admin/v1/IdentityProviders', idp('Future', future));
      expectScimError(b, 400, 'invalidValue');
      expect(b.body.detail).toMatch(/not valid yet/i);
    });

    it('should default ignore-absent-groups by mapping mode', async () => {
      const explicit = await s.api('POST', '/admin/v1/IdentityProviders', idp('Defaults-Explicit', cert));
      expect(explicit.body).toMatchObject({ jitUserProvGroupMappingMode: 'explicit', jitUserProvIgnoreErrorOnAbsentGroups: true, jitUserProvGroupAssignmentMethod: 'Overwrite' });
      const implicit = await s.api('POST', '/admin/v1/IdentityProviders', idp('Defaults-Implicit', cert, { jitUserProvGroupMappingMode: 'IMPLICIT' }));
      expect(implicit.body).toMatchObject({ jitUserProvGroupMappingMode: 'implicit', jitUserProvIgnoreErrorOnAbsentGroups: false });
    });

    it('should keep partnerName and partnerProviderId unique', async () => {
      expectStatus(await s.api('POST', '/admin/v1/IdentityProviders', idp('Unique-One', cert)), 201);
      expectScimError(await s.api('POST', '/admin/v1/IdentityProviders', idp('UNIQUE-one', cert, { partnerProviderId: 'urn:other' })), 409, 'uniqueness');
      expectScimError(await s.api('POST', '/admin/v1/IdentityProviders', idp('Unique-Two', cert, { partnerProviderId: 'http://www.okta.com/Unique-One' })), 409, 'uniqueness');
    });

    it('should refuse changes to type and jitUserProvAttributes (mutability), and If-Match mismatches (412)', async () => {
      const created = (await s.api('POST', '/admin/v1/IdentityProviders', idp('Immutable', cert))).body;
      const url = `/admin/v1/IdentityProviders/${created.id}`;
      expectScimError(await s.api('PATCH', url, patch({ op: 'replace', path: 'type', value: 'SOCIAL' })), 400);
      expectScimError(await s.api('PATCH', url, patch({ op: 'replace', path: 'jitUserProvAttributes.value', value: 'abc' })), 400, 'mutability');
      expectScimError(await s.api('PATCH', url, patch({ op: 'replace', path: 'enabled', value: false }), { headers: { 'if-match': 'W/"99"' } }), 412);
      const ok = await s.api('PATCH', url, patch({ op: 'Replace', path: 'jitUserProvGroupAssignmentMethod', value: 'merge' }), { headers: { 'if-match': created.meta.version } });
      expectStatus(ok, 200);
      expect(ok.body.jitUserProvGroupAssignmentMethod).toBe('Merge');
      const put = await s.api('PUT', url, { ...idp('Immutable', cert), description: 'replaced' });
      expectStatus(put, 200);
      expect(put.body.jitUserProvAttributes).toEqual(created.jitUserProvAttributes);
      expect(put.body.jitUserProvGroupAssignmentMethod).toBe('Overwrite');
    });
  });

  describe('metadata import', () => {
    it("should fill the SAML fields from a real IdP's metadata (samlify) unless given explicitly", async () => {
      const keys = await makeKeyPair('samlify-idp');
      const md = samlify
        .IdentityProvider({
          entityID: 'https://idp.samlify.test/metadata',
          signingCert: keys.certificatePem,
          privateKey: keys.privateKeyPem,
          singleSignOnService: [
            { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://idp.samlify.test/sso/post' },
            { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://idp.samlify.test/sso/redirect' },
          ],
          singleLogoutService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://idp.samlify.test/slo' }],
        })
        .getMetadata();
      const res = await s.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName: 'From-Metadata', enabled: true, metadata: md, authnRequestBinding: 'Post' });
      expectStatus(res, 201);
      expect(res.body).toMatchObject({
        partnerProviderId: 'https://idp.samlify.test/metadata',
        idpSsoUrl: 'https://idp.samlify.test/sso/post',
        signingCertificate: keys.certificateB64,
        logoutRequestUrl: 'https://idp.samlify.test/slo',
      });
      const explicit = await s.api('POST', '/admin/v1/IdentityProviders', {
        schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
        partnerName: 'From-Metadata-2',
        enabled: false,
        metadata: md.replace('https://idp.samlify.test/metadata', 'https://idp2.samlify.test/metadata'),
        idpSsoUrl: 'https://explicit.example/sso',
      });
      expectStatus(explicit, 201);
      expect(explicit.body.idpSsoUrl).toBe('https://explicit.example/sso');
      expect(explicit.body.partnerProviderId).toBe('https://idp2.samlify.test/metadata');
    });

    it.each<[string, string, RegExp]>([
      ['not well-formed', '<EntityDescriptor', /well-formed|metadata/i],
      ['a DOCTYPE', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "x">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>', /DOCTYPE/],
      [
        'SP metadata',
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="sp"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>',
        /IDPSSODescriptor/,
      ],
    ])('should refuse metadata that is %s', async (_title, md, detail) => {
      const res = await s.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName: `Bad-MD-${Math.random()}`, enabled: false, metadata: md });
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(detail);
    });
  });

  describe('MappedAttributes', () => {
    let idpId: string;
    let mappedId: string;
    beforeAll(async () => {
      const created = (await s.api('POST', '/admin/v1/IdentityProviders', idp('Mapping-Owner', cert))).body;
      idpId = created.id;
      mappedId = created.jitUserProvAttributes.value;
    });

    it('should allow neither POST nor DELETE (405)', async () => {
      expectScimError(await s.api('POST', '/admin/v1/MappedAttributes', { schemas: [MAPPED_ATTRIBUTE_SCHEMA_ID], idcsResourceType: 'User', direction: 'inbound' }), 405);
      expectScimError(await s.api('DELETE', `/admin/v1/MappedAttributes/${mappedId}`), 405);
    });

    it('should find the mapping of an IdP by refResourceID', async () => {
      const res = await s.api('GET', `/admin/v1/MappedAttributes?filter=${encodeURIComponent(`refResourceID eq "${idpId}"`)}`);
      expect(res.body.totalResults).toBe(1);
      expect(res.body.Resources[0].id).toBe(mappedId);
    });

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['an unknown target', { idcsAttributeName: 'shoeSize', managedObjectAttributeName: '$(assertion.x)' }, /attributeMappings\[1\] \(shoeSize\): idcsAttributeName/],
      ['a read-only target', { idcsAttributeName: 'groups', managedObjectAttributeName: '$(assertion.x)' }, /attributeMappings\[1\] \(groups\)/],
      ['the password', { idcsAttributeName: 'password', managedObjectAttributeName: '$(assertion.x)' }, /attributeMappings\[1\] \(password\)/],
      ['a complex target', { idcsAttributeName: 'name', managedObjectAttributeName: '$(assertion.x)' }, /sub-attribute/],
      ['a syntax error', { idcsAttributeName: 'displayName', managedObjectAttributeName: '#concat($(assertion.a), "b"' }, /attributeMappings\[1\] \(displayName\): managedObjectAttributeName has a syntax error: .* at position \d+/],
      ['an unknown function', { idcsAttributeName: 'displayName', managedObjectAttributeName: '#shout("x")' }, /unknown function "#shout" \(known: .*\) at position 1/],
      ['a bad action', { idcsAttributeName: 'displayName', managedObjectAttributeName: '"x"', appliesToActions: ['delete'] }, /appliesToActions/],
    ])('should refuse %s, naming the mapping and the position', async (_title, bad, detail) => {
      const before = await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`);
      const res = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedId}`, patch({ op: 'add', path: 'attributeMappings', value: [bad] }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(detail);
      const after = await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`);
      expect(after.body.meta.version).toBe(before.body.meta.version);
    });

    it('should accept value paths, extension URNs, constants and functions', async () => {
      const mappings = [
        { idcsAttributeName: 'userName', managedObjectAttributeName: '#lower($(assertion.fed.nameidvalue))' },
        { idcsAttributeName: 'phoneNumbers[type eq "mobile"].value', managedObjectAttributeName: '$(assertion.mobile)', required: false, appliesToActions: ['create'] },
        { idcsAttributeName: 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:isFederatedUser', managedObjectAttributeName: '#toBoolean("true")' },
        { idcsAttributeName: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization', managedObjectAttributeName: 'ACME' },
        { idcsAttributeName: 'displayName', managedObjectAttributeName: '#concat($(assertion.firstName), " ", #upper($(assertion.familyName)))' },
      ];
      const res = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedId}`, patch({ op: 'replace', path: 'attributeMappings', value: mappings }));
      expectStatus(res, 200);
      expect(res.body.attributeMappings).toEqual(mappings);
      expectScimError(await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedId}`, patch({ op: 'replace', path: 'direction', value: 'outbound' })), 400, 'mutability');
    });

    it('should be deleted together with its IdP', async () => {
      expect((await s.api('DELETE', `/admin/v1/IdentityProviders/${idpId}`)).status).toBe(204);
      expectScimError(await s.api('GET', `/admin/v1/IdentityProviders/${idpId}`), 404);
      expectScimError(await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`), 404);
    });
  });

  describe('group references', () => {
    it('should refuse to delete a group a JIT mapping references, unless forceDelete=true removes the references', async () => {
      const g = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Referenced' })).body.id;
      const created = (await s.api('POST', '/admin/v1/IdentityProviders', idp('Referencing', cert, { jitUserProvGroupMappings: [{ idpGroup: 'R', value: g }], jitUserProvGroupStaticListEnabled: true, jitUserProvAssignedGroups: [{ value: g }] }))).body;
      const refused = await s.api('DELETE', `/admin/v1/Groups/${g}`);
      expectScimError(refused, 409);
      expect(refused.body.detail).toMatch(/Referencing.*forceDelete=true/);
      expectStatus(await s.api('GET', `/admin/v1/Groups/${g}`), 200);
      expect((await s.api('DELETE', `/admin/v1/Groups/${g}?forceDelete=true`)).status).toBe(204);
      const after = await s.api('GET', `/admin/v1/IdentityProviders/${created.id}`);
      expect(after.body.jitUserProvGroupMappings).toBeUndefined();
      expect(after.body.jitUserProvAssignedGroups).toBeUndefined();
      expect(after.body.jitUserProvGroupStaticListEnabled).toBe(false);
    });
  });

  describe('roles and audit', () => {
    it('should let SecurityAdministrator write, Auditor read, and UserAdministrator do neither', async () => {
      const sec = await s.tokenWithRoles('SecurityAdministrator');
      const aud = await s.tokenWithRoles('Auditor');
      const usr = await s.tokenWithRoles('UserAdministrator');
      const created = await s.api('POST', '/admin/v1/IdentityProviders', idp('By-SecAdmin', cert), { token: sec });
      expectStatus(created, 201);
      expectStatus(await s.api('GET', `/admin/v1/IdentityProviders/${created.body.id}`, undefined, { token: aud }), 200);
      expectStatus(await s.api('GET', `/admin/v1/MappedAttributes/${created.body.jitUserProvAttributes.value}`, undefined, { token: aud }), 200);
      expectScimError(await s.api('PATCH', `/admin/v1/IdentityProviders/${created.body.id}`, patch({ op: 'replace', path: 'enabled', value: false }), { token: aud }), 403);
      expectScimError(await s.api('GET', '/admin/v1/IdentityProviders', undefined, { token: usr }), 403);
      expectScimError(await s.api('PUT', `/admin/v1/MappedAttributes/${created.body.jitUserProvAttributes.value}`, { schemas: [MAPPED_ATTRIBUTE_SCHEMA_ID] }, { token: usr }), 403);
      expectScimError(await s.api('GET', '/admin/v1/IdentityProviders', undefined, { token: null }), 401);
    });

    it('should record who created, changed and deleted an IdP, and what changed', async () => {
      const sec = await s.tokenWithRoles('SecurityAdministrator');
      const created = (await s.api('POST', '/admin/v1/IdentityProviders', idp('Audited', cert), { token: sec })).body;
      await s.api('PATCH', `/admin/v1/IdentityProviders/${created.id}`, patch({ op: 'replace', path: 'description', value: 'now described' }), { token: sec, headers: { 'opc-request-id': 'corr-audit-1' } });
      await s.api('DELETE', `/admin/v1/IdentityProviders/${created.id}`, undefined, { token: sec });
      const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`adminResourceId eq "${created.id}"`)}&sortBy=timestamp`, undefined, { token: await s.tokenWithRoles('Auditor') });
      expectStatus(events, 200);
      expect(events.body.Resources.map((e: { eventId: string }) => e.eventId)).toEqual(['admin.IdentityProvider.create', 'admin.IdentityProvider.update', 'admin.IdentityProvider.delete']);
      const update = events.body.Resources[1];
      expect(update.actorType).toBe('Client');
      expect(update.actorId).toMatch(/^client-/);
      expect(update.correlationId).toBe('corr-audit-1');
      expect(update.changes).toEqual([{ attribute: 'description', oldValue: 'null', newValue: '"now described"' }]);
    });
  });

  it('should describe IdentityProvider and MappedAttribute in discovery', async () => {
    const types = (await s.api('GET', '/admin/v1/ResourceTypes')).body.Resources.map((r: { name: string }) => r.name);
    expect(types).toEqual(expect.arrayContaining(['IdentityProvider', 'MappedAttribute']));
    const schemas = (await s.api('GET', '/admin/v1/Schemas')).body.Resources.map((r: { id: string }) => r.id);
    expect(schemas).toEqual(expect.arrayContaining([IDENTITY_PROVIDER_SCHEMA_ID, MAPPED_ATTRIBUTE_SCHEMA_ID]));
  });
});
