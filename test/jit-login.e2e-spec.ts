import { createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';
import { IdentityProvidersService } from '@app/identity-providers';
import { JitLoginResult, JitLoginService, VerifiedAssertion } from '@app/jit';
import { makeKeyPair } from './support/certs';
import { ADMIN_ID, dbQuery, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

const ORACLE_USER = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';

/**
 * JitLoginService.signIn, the applier of the JIT planner, through the real application and database: identity
 * providers are configured only through the REST API, and what was (and was not) written is read back from it.
 */
describe(JitLoginService.name, () => {
  let s: TestServer;
  let jit: JitLoginService;
  let certificate: string;
  let idpCount = 0;
  let correlation = 0;
  const group: Record<string, string> = {};

  beforeAll(async () => {
    s = await TestServer.start();
    jit = s.app.get(JitLoginService);
    certificate = (await makeKeyPair('jit-login-idp')).certificateB64;
    for (const displayName of ['OCI Administrators', 'OCI Admins', 'Manual', 'Old', 'Everyone']) {
      const res = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName });
      expectStatus(res, 201);
      group[displayName] = res.body.id;
    }
  });
  afterAll(() => s.stop());

  /** A new SAML IdP with the tutorial's attribute mappings and the given JIT settings, made through the API. */
  async function idp(settings: Record<string, unknown>, mappings?: Record<string, unknown>[]): Promise<string> {
    const n = ++idpCount;
    const { idpId } = await createJitIdentityProvider(s, {
      partnerName: `JIT IdP ${n}`,
      partnerProviderId: `https://idp${n}.jit.test`,
      idpSsoUrl: `https://idp${n}.jit.test/sso`,
      signingCertificate: certificate,
      settings,
      attributeMappings: mappings,
    });
    return idpId;
  }

  /** Explicit mappings Administrators → OCI Administrators, Admins → OCI Admins, Old → Old (the tutorial, plus one). */
  const explicitGroups = () =>
    groupsFromAssertion([
      { idpGroup: 'Administrators', value: group['OCI Administrators'] },
      { idpGroup: 'Admins', value: group['OCI Admins'] },
      { idpGroup: 'Old', value: group.Old },
    ]);

  function assertion(nameId: string, attributes: Record<string, string[]> = {}): VerifiedAssertion {
    return { nameId, nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', issuer: 'https://idp.jit.test', attributes };
  }

  /** What a person with this name asserts: first and family name, email, and the given groups. */
  const person = (nameId: string, first: string, family: string, groups?: string): Record<string, string[]> => ({
    firstName: [first],
    familyName: [family],
    email: [nameId],
    ...(groups === undefined ? {} : { groups: [groups] }),
  });

  /** Signs in as the ACS does, with the JIT configuration of the IdP's one sign-in configuration read. */
  async function signIn(idpId: string, a: VerifiedAssertion): Promise<JitLoginResult & { correlationId: string }> {
    const correlationId = `jit-login-${++correlation}`;
    const config = (await s.app.get(IdentityProvidersService).signInConfiguration({ id: idpId }))!.jit;
    return { ...(await jit.signIn({ config, assertion: a, correlationId })), correlationId };
  }


  const counts = async () => ({
    users: (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults as number,
    audit: (await s.api('GET', '/admin/v1/AuditEvents?count=0')).body.totalResults as number,
    memberships: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM group_members'))[0].n),
  });

  async function userDoc(id: string): Promise<Record<string, any>> {
    const attributes = `userName,name,emails,active,groups,meta,${ORACLE_USER}:isFederatedUser,${ORACLE_USER}:creationMechanism,${ORACLE_USER}:syncedFromApp`;
    const res = await s.api('GET', `/admin/v1/Users/${id}?attributes=${encodeURIComponent(attributes)}`);
    expectStatus(res, 200);
    return res.body;
  }
  const groupNames = async (id: string) => (((await userDoc(id)).groups ?? []) as { display: string }[]).map((g) => g.display).sort();

  async function newUser(userName: string, extra: Record<string, unknown> = {}, groups: string[] = []): Promise<string> {
    const res = await s.api('POST', '/admin/v1/Users', user(userName, extra));
    expectStatus(res, 201);
    for (const g of groups) expectStatus(await s.api('PATCH', `/admin/v1/Groups/${group[g]}`, patch({ op: 'add', path: 'members', value: [{ value: res.body.id }] })), 200);
    return res.body.id;
  }

  async function loginEvent(correlationId: string): Promise<Record<string, any>> {
    const res = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "sso.login" and correlationId eq "${correlationId}"`)}`, undefined, { token: await s.tokenWithRoles('Auditor') });
    expectStatus(res, 200);
    expect(res.body.totalResults).toBe(1);
    return res.body.Resources[0];
  }

  describe('signIn', () => {
    describe('the four flows', () => {
      it('should create a user not found when JIT and creation are on (flow 1)', async () => {
        const idpId = await idp({});
        const r = await signIn(idpId, assertion('flow1@example.com', person('flow1@example.com', 'Flow', 'One')));
        expect(r).toMatchObject({ ok: true, outcome: 'created' });
        expect(await userDoc((r as { userId: string }).userId)).toMatchObject({ userName: 'flow1@example.com', name: { givenName: 'Flow', familyName: 'One' }, active: true });
      });

      it.each([
        ['JIT is off', { jitUserProvEnabled: false }],
        ['creation is off', { jitUserProvCreateUserEnabled: false }],
      ])('should refuse a user not found when %s, writing only the failure audit event (flow 2)', async (_title, settings) => {
        const idpId = await idp(settings);
        const before = await counts();
        const r = await signIn(idpId, assertion('flow2@example.com', person('flow2@example.com', 'Flow', 'Two')));
        expect(r).toMatchObject({ ok: false, reason: 'user_not_found' });
        expect(await counts()).toEqual({ ...before, audit: before.audit + 1 });
        expect(await loginEvent(r.correlationId)).toMatchObject({ outcome: 'failure', reason: 'user_not_found', adminResourceType: 'IdentityProvider', adminResourceId: idpId });
      });

      it('should update the mapped attributes of a user found when update is on (flow 3)', async () => {
        const idpId = await idp({});
        const id = await newUser('flow3@example.com', { name: { givenName: 'Before', familyName: 'Three' } });
        const before = await userDoc(id);
        const r = await signIn(idpId, assertion('flow3@example.com', { firstName: ['After'] }));
        expect(r).toMatchObject({ ok: true, userId: id, outcome: 'updated' });
        const after = await userDoc(id);
        expect(after.name).toEqual({ givenName: 'After', familyName: 'Three' }); // familyName not asserted: kept
        expect(after.meta.version).not.toBe(before.meta.version);
      });

      it.each([
        ['JIT is off', { jitUserProvEnabled: false }],
        ['update is off', { jitUserProvAttributeUpdateEnabled: false }],
      ])('should sign a user found in unchanged when %s (flow 4)', async (_title, settings) => {
        const idpId = await idp({ ...settings, ...explicitGroups() });
        const id = await newUser(`flow4-${idpCount}@example.com`, {}, ['Manual']);
        const before = await userDoc(id);
        const r = await signIn(idpId, assertion(`FLOW4-${idpCount}@example.com`, person('x@example.com', 'Changed', 'Changed', 'Admins')));
        expect(r).toMatchObject({ ok: true, userId: id, outcome: 'unchanged' });
        expect(await userDoc(id)).toEqual(before);
      });
    });

    it('should create and then update the OCI + Okta tutorial user, groups Administrators and Admins mapped explicitly', async () => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvGroupAssignmentMethod: 'Merge', jitUserProvIgnoreErrorOnAbsentGroups: true });
      const first = await signIn(idpId, assertion('tutorial@example.com', person('tutorial@example.com', 'Tuto', 'Rial', 'Administrators, Admins')));
      expect(first).toMatchObject({ ok: true, outcome: 'created' });
      const id = (first as { userId: string }).userId;
      expect(await userDoc(id)).toMatchObject({
        userName: 'tutorial@example.com',
        name: { givenName: 'Tuto', familyName: 'Rial' },
        emails: [{ value: 'tutorial@example.com', type: 'work', primary: true }],
        active: true,
        [ORACLE_USER]: { isFederatedUser: true, creationMechanism: 'samljit', syncedFromApp: { value: idpId } },
      });
      expect(await groupNames(id)).toEqual(['OCI Administrators', 'OCI Admins']);

      const second = await signIn(idpId, assertion('tutorial@example.com', person('tutorial.renamed@example.com', 'Tutor', 'Ial', 'Admins')));
      expect(second).toMatchObject({ ok: true, userId: id, outcome: 'updated' });
      expect(await userDoc(id)).toMatchObject({ name: { givenName: 'Tutor', familyName: 'Ial' }, emails: [{ value: 'tutorial.renamed@example.com', primary: true }] });
      // Merge, but Administrators is covered by an explicit mapping, so it follows the assertion.
      expect(await groupNames(id)).toEqual(['OCI Admins']);
    });

    it.each([
      ['Overwrite', ['Manual', 'OCI Admins']],
      ['Merge', ['Manual', 'OCI Admins']],
    ])('should make memberships follow the assertion with %s', async (method, expected) => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvGroupAssignmentMethod: method });
      const id = await newUser(`members-${method}@example.com`, {}, ['Manual', 'Old']);
      const r = await signIn(idpId, assertion(`members-${method}@example.com`, { groups: ['Admins'] }));
      expect(r).toMatchObject({ ok: true, outcome: 'updated' });
      // Old is explicitly mapped and no longer asserted: it is left in both modes. Manual an administrator granted:
      // Overwrite removes only memberships JIT granted (attribute ownership), so it survives both.
      expect(await groupNames(id)).toEqual(expected);
    });

    it('should add the static groups and resolve implicit names case-insensitively', async () => {
      const idpId = await idp({
        jitUserProvGroupAssertionAttributeEnabled: true,
        jitUserProvGroupSAMLAttributeName: 'groups',
        jitUserProvGroupMappingMode: 'implicit',
        jitUserProvGroupStaticListEnabled: true,
        jitUserProvAssignedGroups: [{ value: group.Everyone }],
      });
      const r = await signIn(idpId, assertion('implicit@example.com', { ...person('implicit@example.com', 'Im', 'Plicit'), groups: ['oci admins', 'MANUAL'] }));
      expect(r).toMatchObject({ ok: true, outcome: 'created' });
      expect(await groupNames((r as { userId: string }).userId)).toEqual(['Everyone', 'Manual', 'OCI Admins']);
    });

    it.each([
      ['a new user', false],
      ['an existing user', true],
    ])('should fail the whole sign-in of %s on an absent group when told to, writing nothing but the failure event', async (_title, exists) => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvIgnoreErrorOnAbsentGroups: false });
      const userName = `absent-${idpCount}@example.com`;
      const id = exists ? await newUser(userName, {}, ['Manual']) : undefined;
      const before = await counts();
      const userBefore = id && (await userDoc(id));
      const r = await signIn(idpId, assertion(userName, person(userName, 'Ab', 'Sent', 'Admins, Ghosts')));
      expect(r).toMatchObject({ ok: false, reason: 'absent_group' });
      expect(await counts()).toEqual({ ...before, audit: before.audit + 1 });
      if (id) expect(await userDoc(id)).toEqual(userBefore);
    });

    it('should skip an absent group when told to ignore it, and report it', async () => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvIgnoreErrorOnAbsentGroups: true });
      const r = await signIn(idpId, assertion('skip@example.com', person('skip@example.com', 'Sk', 'Ip', 'Admins, Ghosts')));
      expect(r).toMatchObject({ ok: true, outcome: 'created' });
      expect(await groupNames((r as { userId: string }).userId)).toEqual(['OCI Admins']);
      expect(JSON.parse((await loginEvent(r.correlationId)).details).groupsSkipped).toEqual([expect.objectContaining({ value: 'Ghosts', source: 'assertion' })]);
    });

    it('should refuse a deactivated user and change nothing', async () => {
      const idpId = await idp(explicitGroups());
      const id = await newUser('inactive@example.com', { active: false });
      const before = await counts();
      const userBefore = await userDoc(id);
      const r = await signIn(idpId, assertion('inactive@example.com', person('inactive@example.com', 'In', 'Active', 'Admins')));
      expect(r).toMatchObject({ ok: false, reason: 'user_inactive' });
      expect(await userDoc(id)).toEqual(userBefore);
      expect(await counts()).toEqual({ ...before, audit: before.audit + 1 });
    });

    it('should refuse a disabled identity provider', async () => {
      const idpId = await idp({ enabled: false });
      const before = await counts();
      expect(await signIn(idpId, assertion('disabled@example.com', person('disabled@example.com', 'Dis', 'Abled')))).toMatchObject({ ok: false, reason: 'idp_disabled' });
      expect(await counts()).toEqual({ ...before, audit: before.audit + 1 });
    });

    it('should find the user by primary email, case-insensitively, when the IdP maps NameID to emails.value', async () => {
      const idpId = await idp({ userMappingStoreAttribute: 'emails.value' }, [{ idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' }]);
      const id = await newUser('by-email', { emails: [{ value: 'by.email@example.com', type: 'work', primary: true }] });
      const r = await signIn(idpId, assertion('BY.EMAIL@example.com', { firstName: ['Mailed'] }));
      expect(r).toMatchObject({ ok: true, userId: id, outcome: 'updated' });
      expect((await userDoc(id)).name.givenName).toBe('Mailed');
    });

    it('should record one sso.login event with NameID, the attribute changes and the groups joined and left', async () => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvGroupAssignmentMethod: 'Overwrite' });
      const id = await newUser('audited@example.com', { name: { givenName: 'Old', familyName: 'Name' } }, ['Manual']);
      const r = await signIn(idpId, assertion('audited@example.com', { firstName: ['New'], groups: ['Admins'] }));
      expect(r).toMatchObject({ ok: true, outcome: 'updated' });
      const event = await loginEvent(r.correlationId);
      expect(event).toMatchObject({ outcome: 'success', actorType: 'User', actorId: id, adminResourceType: 'IdentityProvider', adminResourceId: idpId });
      // The value replaced was the administrator's, who created the user (attribute ownership).
      expect(event.changes).toEqual([{ attribute: 'name.givenName', oldValue: '"Old"', newValue: '"New"', replacedSource: expect.any(String) }]);
      expect(JSON.parse(event.changes[0].replacedSource)).toMatchObject({ sourceType: 'admin', sourceId: ADMIN_ID });
      expect(JSON.parse(event.details)).toEqual({
        protocol: 'saml',
        nameId: 'audited@example.com',
        jit: 'userUpdated',
        groupsJoined: [{ id: group['OCI Admins'], displayName: 'OCI Admins' }],
        // Manual was granted by an administrator: Overwrite leaves it (attribute ownership).
        groupsLeft: [],
        groupsSkipped: [],
      });
      const all = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "sso.login"')}&count=1000`);
      expect(all.body.Resources.filter((e: { correlationId: string }) => e.correlationId === r.correlationId)).toHaveLength(1);
    });

    it('should create exactly one user, with consistent groups, from 10 simultaneous first sign-ins', async () => {
      const idpId = await idp({ ...explicitGroups(), jitUserProvGroupAssignmentMethod: 'Merge' });
      const before = await counts();
      const a = assertion('race@example.com', person('race@example.com', 'Race', 'Condition', 'Administrators, Admins'));
      const results = await Promise.all(Array.from({ length: 10 }, () => signIn(idpId, a)));
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const ids = new Set(results.map((r) => (r as { userId: string }).userId));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.ok && r.outcome === 'created')).toHaveLength(1);
      expect(await counts()).toMatchObject({ users: before.users + 1, memberships: before.memberships + 2 });
      expect(await groupNames([...ids][0])).toEqual(['OCI Administrators', 'OCI Admins']);
      const users = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "race@example.com"')}`);
      expect(users.body.totalResults).toBe(1);
    });
  });
});
