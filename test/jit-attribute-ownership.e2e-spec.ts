import { createGroup, createJitIdentityProvider, postSamlResponse, startSamlSignIn, TUTORIAL_MAPPINGS } from '@app/fixtures';
import { JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID } from '@app/jit';
import { ATTRIBUTE_SOURCES_SCHEMA_ID } from '@app/users';
import { makeKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { ADMIN_ID, dbQuery, E2E_DB, expectStatus, patch, TestServer } from './support/server';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SOURCES = `${ATTRIBUTE_SOURCES_SCHEMA_ID}:attributeSources`;

type Authority = 'jit' | 'initial' | 'defer';

/**
 * Attribute ownership (issue 16, item 2), with real signed SAML responses: each mapping authority with a SCIM client
 * (a provisioning token) and JIT writing the same attribute in both orders; Overwrite keeping the memberships JIT did
 * not grant; the source of each attribute on the user resource and in the sso.login audit event.
 */
describe(`Attribute ownership: JIT and SCIM together (${E2E_DB})`, () => {
  let s: TestServer;
  let saml: TestIdp;
  let idpId: string;
  let mappedAttributeId: string;
  let scimToken: string;
  let scimTokenId: string;
  const group: Record<string, string> = {};

  beforeAll(async () => {
    const keys = await makeKeyPair('ownership-idp');
    s = await TestServer.start();
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    saml = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys, 'https://owner.idp.test/metadata');
    for (const name of ['Owned Engineers', 'Owned Alpha', 'Owned Manual', 'Owned Scim']) group[name] = await createGroup(s, name);
    ({ idpId, mappedAttributeId } = await createJitIdentityProvider(s, {
      partnerName: 'Ownership SAML',
      partnerProviderId: 'https://owner.idp.test/metadata',
      idpSsoUrl: 'https://owner.idp.test/sso',
      signingCertificate: keys.certificateB64,
      attributeMappings: [...TUTORIAL_MAPPINGS, { idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.title)' }],
      settings: {
        jitUserProvGroupAssertionAttributeEnabled: true,
        jitUserProvGroupSAMLAttributeName: 'groups',
        jitUserProvGroupMappingMode: 'implicit',
        jitUserProvGroupAssignmentMethod: 'Overwrite',
        jitUserProvIgnoreErrorOnAbsentGroups: true,
      },
    }));
    const token = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Okta SCIM' });
    expectStatus(token, 201);
    scimToken = token.body.token;
    scimTokenId = token.body.id;
  });
  afterAll(() => s?.stop());

  async function signIn(nameId: string, o: { title?: string; groups?: string[] } = {}): Promise<void> {
    const started = await startSamlSignIn(s.baseUrl, idpId);
    const attributes: Record<string, string[]> = { firstName: ['Owen'], familyName: ['Ership'], email: [nameId] };
    if (o.title !== undefined) attributes.title = [o.title];
    if (o.groups) attributes.groups = o.groups;
    const res = await postSamlResponse(s.baseUrl, await saml.signedResponse({ NameID: nameId, InResponseTo: started.requestId }, attributes));
    if (res.status !== 303) throw new Error(`sign-in of ${nameId} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }

  /** The SCIM client (provisioning token) writes. */
  const scim = (method: string, path: string, body?: unknown) => s.api(method, path, body, { token: scimToken });
  const userOf = async (userName: string, attributes = 'title,groups') =>
    (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributes=${encodeURIComponent(attributes)}`)).body.Resources[0];
  const sourceOf = async (userId: string, attribute: string) => {
    const res = await s.api('GET', `/admin/v1/Users/${userId}?attributes=${encodeURIComponent(SOURCES)}`);
    expectStatus(res, 200);
    return ((res.body[ATTRIBUTE_SOURCES_SCHEMA_ID]?.attributeSources ?? []) as { attribute: string; sourceType: string }[]).find((x) => x.attribute === attribute);
  };
  const setAuthority = async (authority: Authority) => {
    const res = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedAttributeId}`, patch({ op: 'replace', path: JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID, value: { attributeAuthorities: [{ idcsAttributeName: 'title', authority }] } }));
    expectStatus(res, 200);
  };

  describe('JIT first, then a SCIM client', () => {
    /** JIT creates (title A), signs in again (B), a SCIM client sets C, JIT signs in again (D). */
    it.each<[Authority, string, string]>([
      // jit: JIT writes at every sign-in, over the SCIM client's value.
      ['jit', 'B', 'D'],
      // initial: JIT wrote only when it created the user.
      ['initial', 'A', 'C'],
      // defer: JIT overwrites its own value, never the SCIM client's.
      ['defer', 'B', 'C'],
    ])('should, with authority %s, leave title %s after the second sign-in and %s at the end', async (authority, afterSecond, atEnd) => {
      await setAuthority(authority);
      const userName = `jitfirst.${authority}@acme.test`;
      await signIn(userName, { title: 'A' });
      const id = (await userOf(userName)).id;
      expect((await sourceOf(id, 'title'))).toMatchObject({ sourceType: 'jit', sourceId: idpId, sourceName: 'Ownership SAML' });
      await signIn(userName, { title: 'B' });
      expect((await userOf(userName)).title).toBe(afterSecond);
      expectStatus(await scim('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'title', value: 'C' })), 200);
      expect(await sourceOf(id, 'title')).toMatchObject({ sourceType: 'scim', sourceId: scimTokenId, sourceName: 'Okta SCIM' });
      await signIn(userName, { title: 'D' });
      expect((await userOf(userName)).title).toBe(atEnd);
      expect((await sourceOf(id, 'title'))?.sourceType).toBe(atEnd === 'D' ? 'jit' : 'scim');
    });
  });

  describe('a SCIM client first, then JIT', () => {
    /** A SCIM client creates the user (title S), JIT signs in (J1); the SCIM client clears the title, JIT signs in (J2). */
    it.each<[Authority, string, string | undefined]>([
      ['jit', 'J1', 'J2'],
      // initial: the user was not created by JIT, so JIT never sets the title.
      ['initial', 'S', undefined],
      // defer: the SCIM client's value stays; once it is empty, JIT may set it.
      ['defer', 'S', 'J2'],
    ])('should, with authority %s, leave title %s after the first sign-in and %s once the SCIM client cleared it', async (authority, afterFirst, atEnd) => {
      await setAuthority(authority);
      const userName = `scimfirst.${authority}@acme.test`;
      const created = await scim('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], userName, title: 'S', name: { givenName: 'Owen', familyName: 'Ership' }, emails: [{ value: userName, type: 'work', primary: true }] });
      expectStatus(created, 201);
      const id = created.body.id;
      await signIn(userName, { title: 'J1' });
      expect((await userOf(userName)).title).toBe(afterFirst);
      expectStatus(await scim('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'remove', path: 'title' })), 200);
      await signIn(userName, { title: 'J2' });
      expect((await userOf(userName)).title).toBe(atEnd);
    });

    it('should name, in the sso.login event, the source of each value the sign-in replaced', async () => {
      await setAuthority('jit');
      const userName = 'audited.owner@acme.test';
      const created = await scim('POST', '/admin/v1/Users', { schemas: [USER_SCHEMA], userName, title: 'Set by SCIM', name: { givenName: 'Owen', familyName: 'Ership' }, emails: [{ value: userName, type: 'work', primary: true }] });
      expectStatus(created, 201);
      await signIn(userName, { title: 'Set by JIT' });
      const [row] = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'sso.login' AND actor_id = $1", [created.body.id]);
      const change = JSON.parse(row.data).changes.find((c: { attribute: string }) => c.attribute === 'title');
      expect(change).toMatchObject({ oldValue: '"Set by SCIM"', newValue: '"Set by JIT"' });
      expect(JSON.parse(change.replacedSource)).toMatchObject({ sourceType: 'scim', sourceId: scimTokenId, sourceName: 'Okta SCIM' });
    });
  });

  it('should show the source of each attribute only on request, and describe both extensions under /Schemas', async () => {
    await setAuthority('jit');
    const userName = 'shown.sources@acme.test';
    await signIn(userName, { title: 'Engineer' });
    const id = (await userOf(userName)).id;
    expectStatus(await s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'replace', path: 'displayName', value: 'Owen E.' })), 200);

    const plain = await s.api('GET', `/admin/v1/Users/${id}`);
    expect(plain.body[ATTRIBUTE_SOURCES_SCHEMA_ID]).toBeUndefined();
    expect(plain.body.schemas).not.toContain(ATTRIBUTE_SOURCES_SCHEMA_ID);

    const shown = await s.api('GET', `/admin/v1/Users/${id}?attributes=${encodeURIComponent(ATTRIBUTE_SOURCES_SCHEMA_ID)}`);
    expectStatus(shown, 200);
    expect(shown.body.schemas).toContain(ATTRIBUTE_SOURCES_SCHEMA_ID);
    const byAttribute = new Map<string, any>(shown.body[ATTRIBUTE_SOURCES_SCHEMA_ID].attributeSources.map((x: any) => [x.attribute, x]));
    for (const attribute of ['userName', 'name.givenName', 'name.familyName', 'emails', 'title']) expect({ attribute, ...byAttribute.get(attribute) }).toMatchObject({ attribute, sourceType: 'jit', sourceId: idpId, sourceName: 'Ownership SAML' });
    expect(byAttribute.get('displayName')).toMatchObject({ sourceType: 'admin', sourceId: ADMIN_ID });
    expect(typeof byAttribute.get('displayName').updated).toBe('string');

    // In lists too, and gone with the user.
    const listed = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&attributes=${encodeURIComponent(SOURCES)}`);
    expect(listed.body.Resources[0][ATTRIBUTE_SOURCES_SCHEMA_ID].attributeSources).toEqual(shown.body[ATTRIBUTE_SOURCES_SCHEMA_ID].attributeSources);
    expectStatus(await s.api('DELETE', `/admin/v1/Users/${id}`), 204);
    expect(await dbQuery(s, 'SELECT attribute FROM user_attribute_sources WHERE user_id = $1', [id])).toEqual([]);

    const userSchema = await s.api('GET', `/admin/v1/Schemas/${ATTRIBUTE_SOURCES_SCHEMA_ID}`);
    expectStatus(userSchema, 200);
    expect(userSchema.body.attributes[0]).toMatchObject({ name: 'attributeSources', returned: 'request', mutability: 'readOnly', multiValued: true });
    const mappedSchema = await s.api('GET', `/admin/v1/Schemas/${JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID}`);
    expectStatus(mappedSchema, 200);
    expect(mappedSchema.body.attributes[0].subAttributes.map((a: { name: string }) => a.name)).toEqual(['idcsAttributeName', 'authority']);
  });

  it('should list the MappedAttribute extension in schemas only when set, and refuse authorities it cannot apply', async () => {
    expectStatus(await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedAttributeId}`, patch({ op: 'remove', path: JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID })), 200);
    const plain = await s.api('GET', `/admin/v1/MappedAttributes/${mappedAttributeId}`);
    expect(plain.body.schemas).toEqual(['urn:ietf:params:scim:schemas:oracle:idcs:MappedAttribute']);
    // As the README shows it.
    const set = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedAttributeId}`, patch({ op: 'add', path: JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID, value: { attributeAuthorities: [{ idcsAttributeName: 'title', authority: 'defer' }, { idcsAttributeName: 'name.givenName', authority: 'initial' }] } }));
    expectStatus(set, 200);
    expect(set.body.schemas).toEqual(['urn:ietf:params:scim:schemas:oracle:idcs:MappedAttribute', JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID]);

    for (const [entries, detail] of [
      [[{ idcsAttributeName: 'nickName', authority: 'defer' }], 'idcsAttributeName names no attributeMappings entry'],
      [[{ idcsAttributeName: 'title', authority: 'always' }], 'authority must be one of jit, initial, defer'],
      [[{ idcsAttributeName: 'title', authority: 'jit' }, { idcsAttributeName: 'title', authority: 'defer' }], 'is listed twice'],
    ] as const) {
      const bad = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedAttributeId}`, patch({ op: 'replace', path: JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID, value: { attributeAuthorities: entries } }));
      expect(bad.status).toBe(400);
      expect(bad.body.scimType).toBe('invalidValue');
      expect(bad.body.detail).toContain(detail);
    }
    // A mapping an authority names cannot be dropped without it.
    const dropped = await s.api('PATCH', `/admin/v1/MappedAttributes/${mappedAttributeId}`, patch({ op: 'replace', path: 'attributeMappings', value: TUTORIAL_MAPPINGS }));
    expect(dropped.status).toBe(400);
    expect(dropped.body.detail).toContain('(title): idcsAttributeName names no attributeMappings entry');
  });

  it('should make Overwrite remove only the memberships JIT granted, keeping those an administrator or a SCIM client granted', async () => {
    await setAuthority('jit');
    const userName = 'member.owner@acme.test';
    await signIn(userName, { groups: ['Owned Engineers', 'Owned Alpha'] });
    const id = (await userOf(userName)).id;
    const [jitGranted] = await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM group_members WHERE member_id = $1 AND granted_by_idp = $2', [id, idpId]);
    expect(Number(jitGranted.n)).toBe(2);
    expectStatus(await s.api('PATCH', `/admin/v1/Groups/${group['Owned Manual']}`, patch({ op: 'add', path: 'members', value: [{ value: id }] })), 200);
    expectStatus(await scim('PATCH', `/admin/v1/Groups/${group['Owned Scim']}`, patch({ op: 'add', path: 'members', value: [{ value: id }] })), 200);
    // An administrator adding a membership JIT had granted makes it the administrator's.
    expectStatus(await s.api('PATCH', `/admin/v1/Groups/${group['Owned Engineers']}`, patch({ op: 'add', path: 'members', value: [{ value: id }] })), 200);

    await signIn(userName, { groups: [] });

    const names = ((await userOf(userName)).groups as { display: string }[]).map((g) => g.display).sort();
    expect(names).toEqual(['Owned Engineers', 'Owned Manual', 'Owned Scim']);
    const [row] = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'sso.login' AND actor_id = $1 ORDER BY timestamp DESC", [id]);
    expect(JSON.parse(JSON.parse(row.data).details).groupsLeft).toEqual([{ id: group['Owned Alpha'], displayName: 'Owned Alpha' }]);
  });
});
