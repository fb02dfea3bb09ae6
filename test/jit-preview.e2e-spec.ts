import { createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';
import { makeKeyPair } from './support/certs';
import { expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

/** POST /admin/v1/IdentityProviders/{id}/jitPreview: what a sign-in would do, writing nothing. */
describe('JIT preview', () => {
  let s: TestServer;
  let idpId: string;
  let admins: string;
  let manual: string;

  const counts = async () => ({
    users: (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults,
    audit: (await s.api('GET', '/admin/v1/AuditEvents?count=0')).body.totalResults,
    members: (await s.api('GET', `/admin/v1/Groups/${admins}?attributes=members`)).body.members?.length ?? 0,
  });
  const preview = (body: unknown, token?: string) => s.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitPreview`, body, token ? { token } : {});

  beforeAll(async () => {
    s = await TestServer.start();
    const cert = await makeKeyPair('preview-idp');
    admins = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'OCI Admins' })).body.id;
    manual = (await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Manual' })).body.id;
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'Preview IdP',
      partnerProviderId: 'https://idp.preview.test',
      idpSsoUrl: 'https://idp.preview.test/sso',
      signingCertificate: cert.certificateB64,
      settings: { ...groupsFromAssertion([{ idpGroup: 'Admins', value: admins }]), jitUserProvGroupAssignmentMethod: 'Overwrite' },
    }));
  });
  afterAll(() => s.stop());

  it('should show the user a sign-in would create, its attributes and groups, and write nothing', async () => {
    const before = await counts();
    const res = await preview({ nameId: 'new.person@example.com', attributes: { firstName: 'New', familyName: 'Person', email: 'new.person@example.com', groups: ['Admins', 'Ghost'] } });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      outcome: 'create',
      matchedUser: null,
      newUser: { userName: 'new.person@example.com', name: { givenName: 'New', familyName: 'Person' } },
      groupsJoined: [{ value: admins, display: 'OCI Admins' }],
      groupsSkipped: [{ value: 'Ghost', source: 'assertion' }],
    });
    expect(res.body.attributeChanges).toEqual(expect.arrayContaining([{ attribute: 'name.givenName', newValue: 'New' }]));
    expect(await counts()).toEqual(before);
  });

  it('should show old → new values and groups left for an existing user, from an assertion XML', async () => {
    const existing = (await s.api('POST', '/admin/v1/Users', user('old.person@example.com', { name: { givenName: 'Old', familyName: 'Person' } }))).body;
    await s.api('PATCH', `/admin/v1/Groups/${manual}`, patch({ op: 'add', path: 'members', value: [{ value: existing.id }] }));
    const before = await counts();
    const xml = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">
      <saml:Issuer>https://idp.preview.test</saml:Issuer>
      <saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">OLD.PERSON@example.com</saml:NameID></saml:Subject>
      <saml:AttributeStatement>
        <saml:Attribute Name="firstName"><saml:AttributeValue>Renamed</saml:AttributeValue></saml:Attribute>
        <saml:Attribute Name="groups"><saml:AttributeValue>Admins</saml:AttributeValue></saml:Attribute>
      </saml:AttributeStatement>
    </saml:Assertion>`;
    const res = await preview({ assertion: xml });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({
      outcome: 'update',
      matchedUser: { id: existing.id, userName: 'old.person@example.com' },
      // userName follows the NameID's case too (mapping userName ← NameID); familyName is not asserted, so it stays.
      attributeChanges: [
        { attribute: 'userName', oldValue: 'old.person@example.com', newValue: 'OLD.PERSON@example.com' },
        { attribute: 'name.givenName', oldValue: 'Old', newValue: 'Renamed' },
      ],
      groupsJoined: [{ value: admins, display: 'OCI Admins' }],
      // Manual was granted by an administrator: Overwrite removes only memberships JIT granted (attribute ownership).
      groupsLeft: [],
    });
    expect(await counts()).toEqual(before);
    expect((await s.api('GET', `/admin/v1/Users/${existing.id}`)).body.name.givenName).toBe('Old');
  });

  it('should show why a sign-in would be refused', async () => {
    await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: 'jitUserProvCreateUserEnabled', value: false }));
    const res = await preview({ nameId: 'stranger@example.com', attributes: { firstName: 'S' } });
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ outcome: 'reject', reason: 'user_not_found' });
    expect(res.body.detail).toMatch(/stranger@example.com/);
    await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: 'jitUserProvCreateUserEnabled', value: true }));
  });

  it.each<[string, unknown]>([
    ['no nameId or assertion', {}],
    ['attributes that are not strings', { nameId: 'x', attributes: { a: 1 } }],
    ['an assertion with a DOCTYPE', { assertion: '<!DOCTYPE x><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>' }],
    ['an assertion that is not XML', { assertion: '<saml:Assertion' }],
  ])('should refuse %s with a SCIM error', async (_title, body) => {
    expectScimError(await preview(body), 400, 'invalidValue');
  });

  it('should answer 404 for an unknown IdP and 403 without a security role', async () => {
    expectScimError(await s.api('POST', '/admin/v1/IdentityProviders/nope/jitPreview', { nameId: 'x' }), 404);
    expectScimError(await preview({ nameId: 'x' }, await s.tokenWithRoles('UserAdministrator')), 403);
  });

  it.each(['Auditor', 'SecurityAdministrator', 'IdentityDomainAdministrator'])('should let the %s preview, since it writes nothing', async (role) => {
    const token = await s.tokenWithRoles(role);
    const before = await counts();
    const res = await preview({ nameId: 'someone@example.com', attributes: { firstName: 'Some', familyName: 'One', email: 'someone@example.com' } }, token);
    expectStatus(res, 200);
    expect(res.body.outcome).toBe('create');
    expect(await counts()).toEqual(before);
  });

  it('should refuse to guess when several users share the primary email the IdP matches on', async () => {
    await s.api('POST', '/admin/v1/Users', user('twin1', { emails: [{ value: 'twin@example.com', type: 'work', primary: true }] }));
    await s.api('POST', '/admin/v1/Users', user('twin2', { emails: [{ value: 'TWIN@example.com', type: 'work', primary: true }] }));
    await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: 'userMappingStoreAttribute', value: 'emails.value' }));
    try {
      const before = await counts();
      const res = await preview({ nameId: 'twin@example.com' });
      expectStatus(res, 200);
      expect(res.body).toMatchObject({ outcome: 'reject', reason: 'ambiguous_user', matchedUser: null });
      expect(await counts()).toEqual(before);
    } finally {
      await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch({ op: 'replace', path: 'userMappingStoreAttribute', value: 'userName' }));
    }
  });
});
