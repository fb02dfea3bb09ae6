import { expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, USER_SCHEMA } from './support/server';

/**
 * The request shapes Microsoft Entra ID's provisioning service sends, as published by Microsoft:
 * "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID" (request examples) and
 * "Known issues and resolutions with SCIM 2.0 protocol compliance" (what is sent with and without the
 * aadOptscim062020 flag): capitalised ops, "True"/"False" strings, path-less replace with dotted and URN keys,
 * `Add` through a value filter, member removal with a value list.
 */

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const q = (filter: string) => `?filter=${encodeURIComponent(filter)}`;

describe('Microsoft Entra ID provisioning', () => {
  let s: TestServer;
  let token: string;
  beforeAll(async () => {
    s = await TestServer.start();
    // Entra is configured with a long-lived secret token: a provisioning token.
    const pt = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Microsoft Entra ID' });
    expectStatus(pt, 201);
    token = pt.body.token;
  });
  afterAll(() => s.stop());

  const entra = (method: string, path: string, body?: unknown) => s.api(method, `/admin/v1${path}`, body, { token, headers: { 'content-type': 'application/scim+json; charset=utf-8' } });

  /** Entra's "Create User" request, as in Microsoft's tutorial (including the empty `roles` and the `meta` echo). */
  const createUserBody = (userName: string, externalId: string) => ({
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: `${userName}@testuser.com` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
  });

  it('should answer the connection test (a filter on a random userName) with an empty list', async () => {
    const res = await entra('GET', `/Users${q('userName eq "9f3f4a55-9a17-4d6a-b1c7-2b0c0d1d6a1e"')}`);
    expectStatus(res, 200);
    expect(res.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [], startIndex: 1 });
  });

  it('should create a user from Entra\'s Create User request, ignoring the empty roles and the meta echo', async () => {
    const res = await entra('POST', '/Users', createUserBody('Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1', '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef'));
    expectStatus(res, 201);
    expect(res.body).toMatchObject({
      userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      active: true,
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      emails: [{ primary: true, type: 'work', value: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com' }],
    });
    expect(res.body.roles).toBeUndefined();
    expect(res.body.meta.created).toEqual(expect.any(String));
  });

  it('should still refuse a non-empty value the schema does not allow: a role without the type IDCS requires', async () => {
    const res = await entra('POST', '/Users', { ...createUserBody('Test_User_roles', 'ext-roles'), roles: [{ value: 'Admin', primary: 'True' }] });
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toBe('"roles[0]" needs a "type"');
    expect((await entra('GET', `/Users${q('userName eq "Test_User_roles"')}`)).body.totalResults).toBe(0);
  });

  it.each([
    ['"True"', 'True', true],
    ['"False"', 'False', false],
    ['"true"', 'true', true],
    ['"FALSE"', 'FALSE', false],
  ])('should read active %s in a create as a boolean', async (_label, value, expected) => {
    const userName = `Test_User_active_${value}_${Math.random().toString(36).slice(2, 8)}`;
    const res = await entra('POST', '/Users', { ...createUserBody(userName, `ext-${value}`), active: value, emails: [{ primary: 'True', type: 'work', value: `${userName}@testuser.com` }] });
    expectStatus(res, 201);
    expect(res.body.active).toBe(expected);
    expect(res.body.emails[0].primary).toBe(true);
    const found = await entra('GET', `/Users${q(`userName eq "${userName}" and active eq ${expected}`)}`);
    expect(found.body.totalResults).toBe(1);
  });

  it('should find users by userName and by externalId, as Entra matches them', async () => {
    const created = await entra('POST', '/Users', createUserBody('Test_User_dfeef4c5-5681-4387-b016-bdf221e82081', '7fce0092-d52e-4f76-b727-3955bd72c939'));
    expectStatus(created, 201);
    for (const filter of [
      'userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"',
      'userName eq "test_user_DFEEF4C5-5681-4387-b016-bdf221e82081"',
      'externalId eq "7fce0092-d52e-4f76-b727-3955bd72c939"',
      'emails[type eq "work" and value eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081@testuser.com"]',
    ]) {
      const res = await entra('GET', `/Users${q(filter)}`);
      expectStatus(res, 200);
      expect([filter, res.body.Resources.map((r: { id: string }) => r.id)]).toEqual([filter, [created.body.id]]);
    }
    // externalId is case-exact: another case is another identity.
    expect((await entra('GET', `/Users${q('externalId eq "7FCE0092-D52E-4F76-B727-3955BD72C939"')}`)).body.totalResults).toBe(0);
  });

  describe('PATCH', () => {
    let id: string;
    beforeEach(async () => {
      const res = await entra('POST', '/Users', createUserBody(`Test_User_patch_${Math.random().toString(36).slice(2, 10)}`, `ext-${Math.random()}`));
      expectStatus(res, 201);
      id = res.body.id;
    });

    it('should disable a user with {"op":"Replace","path":"active","value":"False"} (default Entra behaviour)', async () => {
      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
      expectStatus(res, 200);
      expect(res.body.active).toBe(false);
      expect((await entra('GET', `/Users${q(`id eq "${id}" and active eq false`)}`)).body.totalResults).toBe(1);
      const back = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'active', value: 'True' }));
      expect(back.body.active).toBe(true);
    });

    it('should disable a user with {"op":"replace","path":"active","value":false} (aadOptscim062020)', async () => {
      const res = await entra('PATCH', `/Users/${id}`, { Operations: [{ op: 'replace', path: 'active', value: false }], schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] });
      expectStatus(res, 200);
      expect(res.body.active).toBe(false);
    });

    it('should add a single-valued string with a capitalised "Add"', async () => {
      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'nickName', value: 'Babs' }));
      expectStatus(res, 200);
      expect(res.body.nickName).toBe('Babs');
    });

    it('should apply Entra\'s default "replace multiple attributes" request (one Replace per path)', async () => {
      const res = await entra(
        'PATCH',
        `/Users/${id}`,
        patch(
          { op: 'Replace', path: 'displayName', value: 'Pvlo' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
          { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
          { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
          { op: 'Replace', path: 'externalId', value: 'Eqpj' },
          { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: 'Eqpj' },
        ),
      );
      expectStatus(res, 200);
      expect(res.body).toMatchObject({
        displayName: 'Pvlo',
        name: { givenName: 'Gtfd', familyName: 'Pkqf', formatted: 'givenName familyName' },
        externalId: 'Eqpj',
        emails: [{ value: 'TestBcwqnm@test.microsoft.com', type: 'work', primary: true }],
        [ENTERPRISE]: { employeeNumber: 'Eqpj' },
      });
      expect(res.body.meta.version).toBe('W/"2"');
    });

    it('should apply the aadOptscim062020 "replace multiple attributes" request (path-less value with dotted and URN keys)', async () => {
      const res = await entra(
        'PATCH',
        `/Users/${id}`,
        patch(
          { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
          { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' } },
        ),
      );
      expectStatus(res, 200);
      expect(res.body).toMatchObject({
        displayName: 'Bjfe',
        name: { givenName: 'Kkom', familyName: 'Unua', formatted: 'givenName familyName' },
        emails: [{ value: 'TestMhvaes@test.microsoft.com', type: 'work', primary: true }],
        [ENTERPRISE]: { employeeNumber: 'Aklq' },
      });
      expect(res.body.schemas).toContain(ENTERPRISE);
      const found = await entra('GET', `/Users${q(`${ENTERPRISE}:employeeNumber eq "Aklq"`)}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    });

    it('should read "True"/"False" strings in a path-less replace and in value-filtered paths', async () => {
      const res = await entra(
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'Replace', value: { active: 'False' } }, { op: 'Replace', path: 'emails[type eq "work"].verified', value: 'False' }),
      );
      expectStatus(res, 200);
      expect(res.body.active).toBe(false);
      expect(res.body.emails[0].verified).toBe(false);
      // Unmarking the only primary email leaves the user without one, which IDCS refuses, and so does this server.
      const unmarked = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'emails[type eq "work"].primary', value: 'False' }));
      expectScimError(unmarked, 400, 'invalidValue');
      expect(unmarked.body['urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error']).toEqual({ messageId: 'error.identity.user.primaryEmailNotSpecified' });
    });

    it('should create the work email when Entra adds emails[type eq "work"].value to a user without one', async () => {
      // The user keeps a primary email (IDCS requires one): a home one.
      expectStatus(await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'emails', value: [{ type: 'home', value: 'primary.home@testuser.com', primary: 'True' }] })), 200);
      const cleared = await entra('PATCH', `/Users/${id}`, patch({ op: 'Remove', path: 'emails[type eq "work"]' }));
      expectStatus(cleared, 200);
      expect(cleared.body.emails).toEqual([{ type: 'home', value: 'primary.home@testuser.com', primary: true }]);
      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'emails[type eq "work"].value', value: 'new.work@testuser.com' }));
      expectStatus(res, 200);
      expect(res.body.emails).toEqual([
        { type: 'home', value: 'primary.home@testuser.com', primary: true },
        { type: 'work', value: 'new.work@testuser.com' },
      ]);
      const found = await entra('GET', `/Users${q('emails[type eq "work" and value eq "NEW.WORK@testuser.com"]')}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
      // A second Add to the same path changes that email rather than adding another.
      const again = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'emails[type eq "work"].value', value: 'newer.work@testuser.com' }));
      expect(again.body.emails).toEqual([
        { type: 'home', value: 'primary.home@testuser.com', primary: true },
        { type: 'work', value: 'newer.work@testuser.com' },
      ]);
    });

    it('should keep the other emails when adding the work email next to a home one', async () => {
      await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'emails', value: [{ type: 'home', value: 'home@testuser.com', primary: 'True' }] }));
      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: 'emails[type eq "work"].value', value: 'work@testuser.com' }));
      expectStatus(res, 200);
      expect(res.body.emails).toEqual([
        { type: 'home', value: 'home@testuser.com', primary: true },
        { type: 'work', value: 'work@testuser.com' },
      ]);
    });

    it('should change the userName with a single Replace', async () => {
      const res = await entra('PATCH', `/Users/${id}`, patch({ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }));
      expectStatus(res, 200);
      expect(res.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
      expect((await entra('GET', `/Users${q('userName eq "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"')}`)).body.totalResults).toBe(1);
    });

    it('should set and clear the manager in the enterprise extension', async () => {
      const set = await entra('PATCH', `/Users/${id}`, patch({ op: 'Add', path: `${ENTERPRISE}:manager`, value: { value: '2819c223-7f76-453a-919d-413861904646' } }));
      expectStatus(set, 200);
      expect(set.body[ENTERPRISE]).toEqual({ manager: { value: '2819c223-7f76-453a-919d-413861904646' } });
      const cleared = await entra('PATCH', `/Users/${id}`, patch({ op: 'Remove', path: `${ENTERPRISE}:manager` }));
      expectStatus(cleared, 200);
      expect(cleared.body[ENTERPRISE]).toBeUndefined();
    });
  });

  describe('Groups', () => {
    let alice: string;
    let bob: string;
    beforeAll(async () => {
      alice = (await entra('POST', '/Users', createUserBody('Test_User_group_alice', 'ext-group-alice'))).body.id;
      bob = (await entra('POST', '/Users', createUserBody('Test_User_group_bob', 'ext-group-bob'))).body.id;
    });

    const members = async (groupId: string) => {
      const res = await entra('GET', `/Groups/${groupId}?attributes=members`);
      return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
    };

    it('should create a group from Entra\'s request, find it by displayName and get it without members', async () => {
      const created = await entra('POST', '/Groups', { schemas: [GROUP_SCHEMA], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'displayName', meta: { resourceType: 'Group' } });
      expectStatus(created, 201);
      const found = await entra('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "displayName"')}`);
      expectStatus(found, 200);
      expect(found.body.Resources.map((g: { id: string }) => g.id)).toEqual([created.body.id]);
      const got = await entra('GET', `/Groups/${created.body.id}?excludedAttributes=members`);
      expectStatus(got, 200);
      expect(got.body.members).toBeUndefined();
      expect(got.body.externalId).toBe('8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159');
    });

    it('should add members with "$ref": null, rename with Replace, and remove members with a value list', async () => {
      const created = await entra('POST', '/Groups', { schemas: [GROUP_SCHEMA], externalId: 'ext-g1', displayName: 'Entra group', meta: { resourceType: 'Group' } });
      expectStatus(created, 201);
      const gid = created.body.id;

      const added = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: alice }, { $ref: null, value: bob }] }));
      expectStatus(added, 200);
      expect(await members(gid)).toEqual([alice, bob].sort());

      const renamed = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }));
      expectStatus(renamed, 200);
      expect(renamed.body.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');

      const removed = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: alice }] }));
      expectStatus(removed, 200);
      expect(await members(gid)).toEqual([bob]);
      // Only the membership went: the user itself is still there.
      expectStatus(await entra('GET', `/Users/${alice}`), 200);

      // With aadOptscim062020 Entra removes a member through a value filter instead.
      const filtered = await entra('PATCH', `/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${bob}"]` }));
      expectStatus(filtered, 200);
      expect(await members(gid)).toEqual([]);

      const deleted = await entra('DELETE', `/Groups/${gid}`);
      expectStatus(deleted, 204);
      expectStatus(await entra('GET', `/Users/${bob}`), 200);
    });

    it('should remove, with a value list, only the members listed', async () => {
      const created = await entra('POST', '/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Entra group 2', members: [{ value: alice }, { value: bob }] });
      expectStatus(created, 201);
      const res = await entra('PATCH', `/Groups/${created.body.id}`, patch({ op: 'Remove', path: 'members', value: [{ value: bob }, { value: '00000000000000000000000000000000' }] }));
      expectStatus(res, 200);
      expect(await members(created.body.id)).toEqual([alice]);
    });
  });

  it('should delete a user (204) and then report it gone (404)', async () => {
    const created = await entra('POST', '/Users', createUserBody('Test_User_delete', 'ext-delete'));
    expectStatus(created, 201);
    expectStatus(await entra('DELETE', `/Users/${created.body.id}`), 204);
    expectScimError(await entra('GET', `/Users/${created.body.id}`), 404);
  });
});
