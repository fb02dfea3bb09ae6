import { makeKeyPair, TestKeyPair } from './support/certs';
import { createJitIdentityProvider, groupsFromAssertion, IDENTITY_PROVIDER_SCHEMA_ID, mappedAttributeBody } from '@app/fixtures';
import { IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { ApiResponse, dbQuery, E2E_DB, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';


type Doc = Record<string, any>;

const refs = (...ids: string[]) => ids.map((value) => ({ value, type: 'User' }));
const sorted = (xs: string[]) => [...xs].sort();

/** How many answers had each status, with one example body per status other than 200: short enough to read in a failure. */
function tally(answers: ApiResponse[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const a of answers) {
    out[a.status] = ((out[a.status] as number | undefined) ?? 0) + 1;
    if (a.status !== 200) out[`${a.status} e.g.`] ??= a.text.slice(0, 160);
  }
  return out;
}

/** The same JSON value with the keys of every object in reverse order (a client free to order keys as it likes). */
function reversedKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reversedKeys) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversedKeys(x)])) as T;
  return v;
}

/**
 * The write pipeline every admin resource shares (read, check If-Match, change, compare, write a new version), seen
 * from outside: a write that changes nothing keeps the version, a write reported as failed leaves nothing behind,
 * races between writers end in SCIM answers and consistent rows, and JIT sign-ins version the groups they change.
 */
describe(`Resource write pipeline (${E2E_DB})`, () => {
  let s: TestServer;
  let keys: TestKeyPair;

  beforeAll(async () => {
    keys = await makeKeyPair('resource-pipeline-idp');
    s = await TestServer.start();
  });
  afterAll(() => s?.stop());

  async function created(path: string, body: Record<string, unknown>): Promise<Doc> {
    const res = await s.api('POST', path, body);
    expectStatus(res, 201);
    return res.body;
  }
  const newUser = async (userName: string, extra: Record<string, unknown> = {}): Promise<string> => (await created('/admin/v1/Users', user(userName, extra))).id;
  const newGroup = async (displayName: string, extra: Record<string, unknown> = {}): Promise<Doc> => created('/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName, ...extra });

  async function groupDoc(id: string): Promise<Doc> {
    const res = await s.api('GET', `/admin/v1/Groups/${id}`);
    expectStatus(res, 200);
    return res.body;
  }
  async function memberIds(groupId: string): Promise<string[]> {
    const res = await s.api('GET', `/admin/v1/Groups/${groupId}?attributes=members`);
    expectStatus(res, 200);
    return sorted(((res.body.members ?? []) as { value: string }[]).map((m) => m.value));
  }
  const storedRow = async (table: string, id: string) => (await dbQuery(s, `SELECT version, last_modified, data FROM ${table} WHERE id = $1`, [id]))[0];
  const auditRows = async (resourceId: string) => Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM audit_events WHERE resource_id = $1', [resourceId]))[0].n);

  /** Fields an IdP needs to be created enabled, with a unique name and entity ID. */
  const idpBody = (n: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
    partnerName: `Pipeline IdP ${n}`,
    enabled: true,
    partnerProviderId: `https://${n}.pipeline.test`,
    idpSsoUrl: `https://${n}.pipeline.test/sso`,
    signingCertificate: keys.certificateB64,
    ...extra,
  });

  describe('a PUT or PATCH that changes nothing', () => {
    interface Subject {
      path: string;
      table: string;
      /** What a client reads before writing it back: for a group, its members too (not returned by default). */
      read: () => Promise<Doc>;
    }
    type Write = (current: Doc) => ['PUT' | 'PATCH', unknown];
    const subjects: Record<string, Subject> = {};
    let member1: string;
    let member2: string;
    let outsider: string;

    async function subject(path: string, table: string, id: string, withMembers = false): Promise<Subject> {
      const read = async () => {
        const res = await s.api('GET', `${path}/${id}`);
        expectStatus(res, 200);
        if (!withMembers) return res.body;
        const members = await s.api('GET', `${path}/${id}?attributes=members`);
        expectStatus(members, 200);
        return { ...res.body, members: members.body.members };
      };
      return { path: `${path}/${id}`, table, read };
    }

    beforeAll(async () => {
      member1 = await newUser('noop.member1@example.com');
      member2 = await newUser('noop.member2@example.com');
      outsider = await newUser('noop.outsider@example.com');
      const userId = await newUser('noop.user@example.com', { displayName: 'No Op', title: 'Engineer', name: { givenName: 'No', familyName: 'Op' } });
      const group = await newGroup('No-op Group', { externalId: 'noop-ext', members: refs(member1, member2) });
      const mappedGroup = await newGroup('No-op Mapped');
      const idp = await created(
        '/admin/v1/IdentityProviders',
        idpBody('noop', {
          jitUserProvEnabled: true,
          jitUserProvCreateUserEnabled: true,
          jitUserProvGroupAssertionAttributeEnabled: true,
          jitUserProvGroupSAMLAttributeName: 'groups',
          jitUserProvGroupMappings: [{ idpGroup: 'Admins', value: mappedGroup.id }],
        }),
      );
      const mappedId = idp.jitUserProvAttributes.value as string;
      expectStatus(await s.api('PUT', `/admin/v1/MappedAttributes/${mappedId}`, mappedAttributeBody()), 200);
      subjects.Users = await subject('/admin/v1/Users', 'users', userId);
      subjects.Groups = await subject('/admin/v1/Groups', 'groups', group.id, true);
      subjects.IdentityProviders = await subject('/admin/v1/IdentityProviders', 'identity_providers', idp.id);
      subjects.MappedAttributes = await subject('/admin/v1/MappedAttributes', 'mapped_attributes', mappedId);
    });

    const cases: [string, string, Write][] = [
      ['Users', 'PUT of the representation read', (c) => ['PUT', c]],
      ['Users', 'PUT of it with the keys of every object reversed', (c) => ['PUT', reversedKeys(c)]],
      ['Users', 'PATCH replacing an attribute with its value', (c) => ['PATCH', patch({ op: 'replace', path: 'title', value: c.title })]],
      ['Users', 'PATCH replacing a complex attribute with its value, keys reversed', (c) => ['PATCH', patch({ op: 'replace', path: 'name', value: reversedKeys(c.name) })]],
      ['Users', 'PATCH without path, keys reversed', (c) => ['PATCH', patch({ op: 'replace', value: { title: c.title, displayName: c.displayName } })]],
      ['Groups', 'PUT of the representation read', (c) => ['PUT', c]],
      ['Groups', 'PUT of it with the keys of every object reversed and the members in another order', (c) => ['PUT', { ...reversedKeys(c), members: reversedKeys([...c.members].reverse()) }]],
      ['Groups', 'PATCH replacing an attribute with its value', (c) => ['PATCH', patch({ op: 'replace', path: 'displayName', value: c.displayName })]],
      ['Groups', 'PATCH without path, keys reversed', (c) => ['PATCH', patch({ op: 'replace', value: { externalId: c.externalId, displayName: c.displayName } })]],
      ['Groups', 'PATCH removing members[value eq "nonexistent"]', () => ['PATCH', patch({ op: 'remove', path: 'members[value eq "nonexistent"]' })]],
      ['Groups', 'PATCH removing a user who is not a member', () => ['PATCH', patch({ op: 'remove', path: 'members', value: refs(outsider) })]],
      ['Groups', 'PATCH removing, by filter, a user who is not a member', () => ['PATCH', patch({ op: 'remove', path: `members[value eq "${outsider}"]` })]],
      ['Groups', 'PATCH adding a user who already is a member', () => ['PATCH', patch({ op: 'add', path: 'members', value: refs(member1) })]],
      ['IdentityProviders', 'PUT of the representation read', (c) => ['PUT', c]],
      ['IdentityProviders', 'PUT of it with the keys of every object reversed', (c) => ['PUT', reversedKeys(c)]],
      ['IdentityProviders', 'PATCH replacing an attribute with its value', (c) => ['PATCH', patch({ op: 'replace', path: 'enabled', value: c.enabled })]],
      [
        'IdentityProviders',
        'PATCH replacing the group mappings with their values, keys reversed',
        (c) => ['PATCH', patch({ op: 'replace', path: 'jitUserProvGroupMappings', value: c.jitUserProvGroupMappings.map((g: Doc) => ({ value: g.value, idpGroup: g.idpGroup })) })],
      ],
      ['MappedAttributes', 'PUT of the representation read', (c) => ['PUT', c]],
      ['MappedAttributes', 'PUT of it with the keys of every object reversed', (c) => ['PUT', reversedKeys(c)]],
      ['MappedAttributes', 'PATCH replacing an attribute with its value', (c) => ['PATCH', patch({ op: 'replace', path: 'direction', value: c.direction })]],
      ['MappedAttributes', 'PATCH replacing the mappings with their values, keys reversed', (c) => ['PATCH', patch({ op: 'replace', path: 'attributeMappings', value: reversedKeys(c.attributeMappings) })]],
    ];

    it.each(cases)('should keep the version of %s on a %s, and write nothing', async (resource, _title, write) => {
      const { path, table, read } = subjects[resource];
      const before = await read();
      const rowBefore = await storedRow(table, before.id);
      const auditBefore = await auditRows(before.id);
      const [method, body] = write(before);

      const res = await s.api(method, path, body);

      expectStatus(res, 200);
      expect(res.body.meta.version).toBe(before.meta.version);
      expect(res.headers.get('etag')).toBe(before.meta.version);
      expect(await read()).toEqual(before);
      expect(await storedRow(table, before.id)).toEqual(rowBefore);
      expect(await auditRows(before.id)).toBe(auditBefore);
      if (resource === 'Groups') expect(await memberIds(before.id)).toEqual(sorted([member1, member2]));
    });

    it('should still give a new version to a PATCH that does change something (control)', async () => {
      const { path, read } = subjects.Groups;
      const before = await read();
      const res = await s.api('PATCH', path, patch({ op: 'add', path: 'members', value: refs(outsider) }));
      expectStatus(res, 200);
      expect(res.body.meta.version).not.toBe(before.meta.version);
      expectStatus(await s.api('PATCH', path, patch({ op: 'remove', path: `members[value eq "${outsider}"]` })), 200);
      expect(await memberIds(before.id)).toEqual(sorted([member1, member2]));
    });
  });

  describe('PATCH /Groups/{id} without If-Match, under contention', () => {
    it('should commit every rename-and-add it answers 200 and nothing of one it reports as failed, one new version per commit', async () => {
      const n = 20;
      const users = await Promise.all(Array.from({ length: n }, (_, i) => newUser(`contended.${i}@example.com`)));
      const group = await newGroup('Contended');
      const names = users.map((_, i) => `Contended ${i}`);

      const answers = await Promise.all(
        users.map((id, i) => s.api('PATCH', `/admin/v1/Groups/${group.id}`, patch({ op: 'replace', path: 'displayName', value: names[i] }, { op: 'add', path: 'members', value: refs(id) }))),
      );

      const ok = answers.map((a, i) => (a.status === 200 ? i : -1)).filter((i) => i >= 0);
      // A change reported as failed must not have been committed, and one reported as done must have been.
      const members = await memberIds(group.id);
      expect({ committedButReportedFailed: members.filter((m) => !ok.some((i) => users[i] === m)).length, reportedDoneButMissing: ok.filter((i) => !members.includes(users[i])).length }).toEqual({
        committedButReportedFailed: 0,
        reportedDoneButMissing: 0,
      });
      const after = await groupDoc(group.id);
      if (ok.length) expect(ok.map((i) => names[i])).toContain(after.displayName);
      else expect(after.displayName).toBe('Contended');
      expect(after.meta.version).toBe(`W/"${1 + ok.length}"`);
      // Contention may refuse a change that also renames (409, retry), but never with a server error.
      expect([...new Set(answers.filter((a) => a.status !== 200 && a.status !== 409).map((a) => `${a.status} ${a.text.slice(0, 160)}`))]).toEqual([]);
      for (const a of answers) if (a.status === 409) expectScimError(a, 409);
    });

    it('should apply every concurrent PATCH that only adds or removes members: none fails, none is lost', async () => {
      const n = 20;
      const leaving = await Promise.all(Array.from({ length: n }, (_, i) => newUser(`leaving.${i}@example.com`)));
      const joining = await Promise.all(Array.from({ length: n }, (_, i) => newUser(`joining.${i}@example.com`)));
      const group = await newGroup('Turnover', { members: refs(...leaving) });
      const url = `/admin/v1/Groups/${group.id}`;

      const answers = await Promise.all([
        ...leaving.map((id) => s.api('PATCH', url, patch({ op: 'remove', path: `members[value eq "${id}"]` }))),
        ...joining.map((id) => s.api('PATCH', url, patch({ op: 'add', path: 'members', value: refs(id) }))),
      ]);

      const members = await memberIds(group.id);
      const removed = (i: number) => answers[i].status === 200;
      const added = (i: number) => answers[n + i].status === 200;
      // First the rule that was broken: what was answered as failed must not have been committed.
      expect({
        removalsCommittedButReportedFailed: leaving.filter((id, i) => !removed(i) && !members.includes(id)).length,
        additionsCommittedButReportedFailed: joining.filter((id, i) => !added(i) && members.includes(id)).length,
        removalsReportedDoneButMissing: leaving.filter((id, i) => removed(i) && members.includes(id)).length,
        additionsReportedDoneButMissing: joining.filter((id, i) => added(i) && !members.includes(id)).length,
      }).toEqual({ removalsCommittedButReportedFailed: 0, additionsCommittedButReportedFailed: 0, removalsReportedDoneButMissing: 0, additionsReportedDoneButMissing: 0 });
      expect((await groupDoc(group.id)).meta.version).toBe(`W/"${1 + answers.filter((a) => a.status === 200).length}"`);
      // Then the stronger one: changes that only touch members do not conflict with each other, so none fails.
      expect(tally(answers)).toEqual({ 200: 2 * n });
      expect(members).toEqual(sorted(joining));
    });
  });

  describe('DELETE /Users/{id} racing PATCH /Groups/{id} that adds the same user', () => {
    it('should answer each PATCH 200 or a SCIM 4xx, never 5xx, and leave memberships that match the answers', async () => {
      const group = await newGroup('Race Target');
      const url = `/admin/v1/Groups/${group.id}`;
      const outcomes: { victim: string; bystander: string; patch: ApiResponse; del: ApiResponse }[] = [];
      const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
      for (let i = 0; i < 30; i++) {
        const [victim, bystander] = await Promise.all([newUser(`victim.${i}@example.com`), newUser(`bystander.${i}@example.com`)]);
        // The PATCH adds a bystander too: whether it is a member afterwards tells whether the PATCH committed.
        // Which one wins depends on the store and on which request arrives first: alternate the order, and start the
        // second 0 to 3 ms later, so that runs see both outcomes and the overlap between them.
        const add = () => s.api('PATCH', url, patch({ op: 'add', path: 'members', value: refs(victim, bystander) }));
        const remove = () => s.api('DELETE', `/admin/v1/Users/${victim}`);
        const delay = Math.floor(i / 2) % 4;
        const [p, d] = i % 2 ? await Promise.all([add(), after(delay).then(remove)]) : (await Promise.all([remove(), after(delay).then(add)])).reverse();
        outcomes.push({ victim, bystander, patch: p, del: d });
      }

      const unexpected: string[] = [];
      for (const { victim, patch: p, del } of outcomes) {
        if (del.status !== 204) unexpected.push(`DELETE ${del.status} ${del.text.slice(0, 200)}`);
        if (p.status === 200) continue;
        if (![400, 404, 409].includes(p.status)) unexpected.push(`PATCH ${p.status} ${p.text.slice(0, 200)}`);
        else if (p.status === 400 && (p.body?.scimType !== 'invalidValue' || !String(p.body?.detail).includes(victim))) unexpected.push(`PATCH 400 without invalidValue naming ${victim}: ${p.text}`);
      }
      expect([...new Set(unexpected)]).toEqual([]);
      for (const { patch: p } of outcomes) if (p.status !== 200) expectScimError(p, p.status);

      const orphans = await dbQuery(s, 'SELECT gm.member_id FROM group_members gm WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = gm.member_id)');
      expect(orphans).toEqual([]);
      const added = outcomes.filter((o) => o.patch.status === 200);
      expect(await memberIds(group.id)).toEqual(sorted(added.map((o) => o.bystander)));
      // Each PATCH let through is one version, and the DELETE that then took its victim out of the group another.
      expect((await groupDoc(group.id)).meta.version).toBe(`W/"${1 + 2 * added.length}"`);
      for (const { victim } of outcomes) expectStatus(await s.api('GET', `/admin/v1/Users/${victim}`), 404);
    });
  });

  describe('POST /IdentityProviders without partnerName', () => {
    const counts = async () => ({
      idps: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM identity_providers'))[0].n),
      mapped: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM mapped_attributes'))[0].n),
      audit: Number((await dbQuery<{ n: number | string }>(s, 'SELECT count(*) AS n FROM audit_events'))[0].n),
    });

    it.each([
      ['missing', (b: Record<string, unknown>) => delete b.partnerName],
      ['null', (b: Record<string, unknown>) => (b.partnerName = null)],
      ['empty', (b: Record<string, unknown>) => (b.partnerName = '')],
    ])('should refuse a partnerName %s with 400 invalidValue naming it, and write nothing', async (_title, alter) => {
      const body = idpBody('nameless');
      alter(body);
      const before = await counts();

      const res = await s.api('POST', '/admin/v1/IdentityProviders', body);

      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/partnerName/);
      expect(await counts()).toEqual(before);
    });

    it('should create the same identity provider once it has a partnerName (control)', async () => {
      const idp = await created('/admin/v1/IdentityProviders', idpBody('named'));
      expect(idp.partnerName).toBe('Pipeline IdP named');
    });
  });

  describe('JIT sign-in through /fed/v1/sp/sso', () => {
    let idp: TestIdp;
    const group: Record<'admins' | 'staff' | 'manual' | 'bystanders', Doc> = {} as never;

    beforeAll(async () => {
      const metadata = await s.raw('GET', '/fed/v1/metadata');
      idp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys);
      group.admins = await newGroup('JIT Admins');
      group.staff = await newGroup('JIT Staff');
      group.manual = await newGroup('JIT Manual');
      group.bystanders = await newGroup('JIT Bystanders', { members: refs(await newUser('jit.bystander@example.com')) });
      await createJitIdentityProvider(s, {
        partnerName: 'Pipeline IdP jit',
        partnerProviderId: IDP_ENTITY_ID,
        idpSsoUrl: 'https://idp.samlify.test/sso',
        signingCertificate: keys.certificateB64,
        settings: {
          nameIdFormat: 'saml-emailaddress',
          allowUnsolicitedResponses: true,
          ...groupsFromAssertion([
            { idpGroup: 'Admins', value: group.admins.id },
            { idpGroup: 'Staff', value: group.staff.id },
          ]),
          jitUserProvGroupMappingMode: 'explicit',
          jitUserProvGroupAssignmentMethod: 'Overwrite',
        },
      });
    });

    /** An IdP-initiated sign-in with a really signed response; the user then has exactly the asserted groups' memberships. */
    async function signIn(nameId: string, groups: string[]): Promise<void> {
      const response = await idp.signedResponse({ InResponseTo: undefined, NameID: nameId }, { firstName: ['Jit'], familyName: ['Member'], email: [nameId], groups });
      const res = await fetch(`${s.baseUrl}/fed/v1/sp/sso`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ SAMLResponse: response }).toString(),
      });
      if (res.status !== 303) throw new Error(`sign-in of ${nameId} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    }
    const userIdOf = async (userName: string): Promise<string> =>
      (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.Resources[0].id;
    const metas = async () => Object.fromEntries(await Promise.all(Object.entries(group).map(async ([k, g]) => [k, (await groupDoc(g.id)).meta]))) as Record<keyof typeof group, Doc>;

    it('should give a group a new ETag and lastModified when a sign-in makes a user join it, and leave other groups alone', async () => {
      const before = await metas();

      await signIn('jit.joiner@example.com', ['Admins']);

      const joiner = await userIdOf('jit.joiner@example.com');
      expect(await memberIds(group.admins.id)).toEqual([joiner]);
      const after = await metas();
      expect(after.admins.version).not.toBe(before.admins.version);
      expect(after.admins.lastModified > before.admins.lastModified).toBe(true);
      expect({ staff: after.staff, manual: after.manual, bystanders: after.bystanders }).toEqual({ staff: before.staff, manual: before.manual, bystanders: before.bystanders });
      // The old ETag no longer describes the group: a write conditioned on it is refused, and changes nothing.
      expectScimError(await s.api('PATCH', `/admin/v1/Groups/${group.admins.id}`, patch({ op: 'replace', path: 'displayName', value: 'Stale' }), { headers: { 'if-match': before.admins.version } }), 412);
      expect((await groupDoc(group.admins.id)).displayName).toBe('JIT Admins');
    });

    it('should give every group a user leaves (Overwrite) or joins a new ETag and lastModified', async () => {
      const leaver = await newUser('jit.leaver@example.com');
      for (const g of [group.admins, group.manual]) expectStatus(await s.api('PATCH', `/admin/v1/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: refs(leaver) })), 200);
      const before = await metas();

      await signIn('jit.leaver@example.com', ['Staff']);

      expect(await memberIds(group.admins.id)).not.toContain(leaver);
      // JIT Manual is mapped from nothing and an administrator granted it: Overwrite removes only memberships JIT
      // granted (attribute ownership), so the membership and the group's ETag stay.
      expect(await memberIds(group.manual.id)).toContain(leaver);
      expect(await memberIds(group.staff.id)).toContain(leaver);
      const after = await metas();
      for (const k of ['admins', 'staff'] as const) {
        expect({ group: k, changed: after[k].version !== before[k].version, later: after[k].lastModified > before[k].lastModified }).toEqual({ group: k, changed: true, later: true });
      }
      expect({ manual: after.manual, bystanders: after.bystanders }).toEqual({ manual: before.manual, bystanders: before.bystanders });
    });

    it('should keep every ETag when a sign-in changes no membership', async () => {
      await signIn('jit.steady@example.com', ['Staff']);
      const before = await metas();

      await signIn('jit.steady@example.com', ['Staff']);

      expect(await metas()).toEqual(before);
    });
  });
});
