import { createJitIdentityProvider, groupsFromAssertion, IDENTITY_PROVIDER_SCHEMA_ID, mappedAttributeBody } from '@app/fixtures';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { ADMIN_ID, ApiResponse, dbQuery, E2E_DB, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

type Doc = Record<string, any>;

const ADMIN_WRITER = { value: ADMIN_ID, type: 'App', display: 'Bootstrap administrator' };
const DOMAIN_OCID = /^ocid1\.domain\.oc1\.\.[0-9a-f]{32}$/;

/** What a client sends back of the read-only common attributes: forged values, none of which may be stored. */
const FORGED_READ_ONLY = {
  id: 'forged-id',
  ocid: 'ocid1.user.oc1..forged',
  meta: { resourceType: 'Forged', created: '2001-01-01T00:00:00Z', version: 'W/"999"' },
  idcsCreatedBy: { value: 'forged-creator', type: 'User', display: 'Mallory' },
  idcsLastModifiedBy: { value: 'forged-modifier', type: 'User', display: 'Mallory' },
  idcsPreventedOperations: ['delete'],
  deleteInProgress: true,
  idcsLastUpgradedInRelease: '99.9.9',
  domainOcid: 'ocid1.domain.oc1..forged',
  compartmentOcid: 'ocid1.compartment.oc1..forged',
  tenancyOcid: 'ocid1.tenancy.oc1..forged',
};

/**
 * IDCS's common attributes (ocid, tags, idcsCreatedBy / idcsLastModifiedBy, domainOcid and the constant ones) on
 * every resource, and read-only attributes ignored in POST and PUT bodies: one mechanism (the resource pipeline)
 * seen from outside, on Users, Groups, IdentityProviders and MappedAttributes alike.
 */
describe(`IDCS common attributes (${E2E_DB})`, () => {
  let s: TestServer;
  let keys: TestKeyPair;
  /** One resource of each kind, made by the bootstrap administrator. */
  const r = {} as Record<'User' | 'Group' | 'IdentityProvider' | 'MappedAttribute', { id: string; path: string }>;
  let idpName: string;

  beforeAll(async () => {
    keys = await makeKeyPair('common-attributes-idp');
    s = await TestServer.start();
    const u = await created('/admin/v1/Users', user('common.user@example.com', { tags: [{ key: 'env', value: 'prod' }] }));
    const g = await created('/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Common Group', members: [{ value: u.id, type: 'User' }], tags: [{ key: 'env', value: 'prod' }] });
    idpName = 'Common IdP';
    const idp = await createJitIdentityProvider(s, {
      partnerName: idpName,
      partnerProviderId: IDP_ENTITY_ID,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: keys.certificateB64,
      settings: {
        nameIdFormat: 'saml-emailaddress',
        allowUnsolicitedResponses: true,
        tags: [{ key: 'env', value: 'prod' }],
        ...groupsFromAssertion([{ idpGroup: 'Staff', value: g.id }]),
        jitUserProvGroupMappingMode: 'explicit',
        jitUserProvGroupAssignmentMethod: 'Merge',
      },
    });
    expectStatus(await s.api('PUT', `/admin/v1/MappedAttributes/${idp.mappedAttributeId}`, { ...mappedAttributeBody(), tags: [{ key: 'env', value: 'prod' }] }), 200);
    r.User = { id: u.id, path: `/admin/v1/Users/${u.id}` };
    r.Group = { id: g.id, path: `/admin/v1/Groups/${g.id}` };
    r.IdentityProvider = { id: idp.idpId, path: `/admin/v1/IdentityProviders/${idp.idpId}` };
    r.MappedAttribute = { id: idp.mappedAttributeId, path: `/admin/v1/MappedAttributes/${idp.mappedAttributeId}` };
  });
  afterAll(() => s?.stop());

  async function created(path: string, body: Record<string, unknown>, token?: string): Promise<Doc> {
    const res = await s.api('POST', path, body, { token });
    expectStatus(res, 201);
    return res.body;
  }
  async function read(path: string, query = ''): Promise<ApiResponse<Doc>> {
    const res = await s.api('GET', `${path}${query}`);
    expectStatus(res, 200);
    return res;
  }
  const all = async (path: string): Promise<Doc> => (await read(path, '?attributeSets=all')).body;
  const stored = async (table: string, id: string) =>
    (await dbQuery<{ data: string; version: number; created_by: string | null; last_modified_by: string | null }>(s, `SELECT data, version, created_by, last_modified_by FROM ${table} WHERE id = $1`, [id]))[0];
  const TABLES = { User: 'users', Group: 'groups', IdentityProvider: 'identity_providers', MappedAttribute: 'mapped_attributes' } as const;
  const KINDS = ['User', 'Group', 'IdentityProvider', 'MappedAttribute'] as const;
  const list = async (endpoint: string, filter: string): Promise<ApiResponse<Doc>> => s.api('GET', `/admin/v1/${endpoint}?filter=${encodeURIComponent(filter)}&attributes=tags`);

  /** Every attribute of a resource type by name, from /Schemas (common ones included), as `attributes=` takes them. */
  async function everyAttribute(kind: (typeof KINDS)[number]): Promise<string> {
    const rt = (await read(`/admin/v1/ResourceTypes/${kind}`)).body;
    const names: string[] = [];
    for (const urn of [rt.schema, ...rt.schemaExtensions.map((e: Doc) => e.schema)]) {
      const schema = (await read(`/admin/v1/Schemas/${encodeURIComponent(urn)}`)).body;
      for (const a of schema.attributes) names.push(urn === rt.schema ? a.name : `${urn}:${a.name}`);
    }
    return names.map(encodeURIComponent).join(',');
  }

  describe('a GET fed back as a PUT', () => {
    const cases = KINDS.flatMap((kind) => [
      [kind, 'attributeSets=all', async (): Promise<string> => '?attributeSets=all'],
      [kind, 'attributes= naming every attribute', async (): Promise<string> => `?attributes=${await everyAttribute(kind)}`],
    ] as const);

    it.each(cases)('should succeed on a %s read with %s, read-only common attributes and all, and change nothing', async (kind, _variant, query) => {
      const full = await all(r[kind].path);
      const got = await read(r[kind].path, await query());
      expect(got.body).toEqual(expect.objectContaining({ id: r[kind].id, ocid: expect.any(String), meta: expect.any(Object), idcsCreatedBy: ADMIN_WRITER, domainOcid: expect.stringMatching(DOMAIN_OCID), tags: [{ key: 'env', value: 'prod' }] }));

      const put = await s.api('PUT', r[kind].path, got.body);

      expectStatus(put, 200);
      // Nothing changed: the same version (ETag) and the same representation.
      expect(put.headers.get('etag')).toBe(got.headers.get('etag'));
      expect(await all(r[kind].path)).toEqual(full);
    });

    it.each(KINDS)('should succeed on a %s read with the default attributes, keeping all it showed', async (kind) => {
      const full = await all(r[kind].path);
      const got = await read(r[kind].path);
      const { meta: _meta, ...shown } = got.body;

      const put = await s.api('PUT', r[kind].path, got.body);

      expectStatus(put, 200);
      const { meta: _after, ...now } = (await read(r[kind].path)).body;
      expect(now).toEqual(shown);
      // A PUT replaces the resource (RFC 7644 §3.5.1): what a default GET leaves out, returned on request only
      // (tags, a group's members), is not asserted by it and goes. Put back for the other tests.
      expectStatus(await s.api('PUT', r[kind].path, full), 200);
      expect(await all(r[kind].path)).toEqual({ ...full, meta: expect.any(Object) });
    });
  });

  describe('read-only attributes in a request body', () => {
    it.each(KINDS.filter((k) => k !== 'MappedAttribute'))('should ignore them in a POST of a %s and store none of them', async (kind) => {
      const bodies = {
        User: user('read-only.post@example.com'),
        Group: { schemas: [GROUP_SCHEMA], displayName: 'Read-only Post' },
        IdentityProvider: { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName: 'Read-only Post IdP', enabled: false },
      };

      const res = await s.api('POST', `/admin/v1/${kind}s`, { ...bodies[kind as keyof typeof bodies], ...FORGED_READ_ONLY });

      expectStatus(res, 201);
      const body = (await all(`/admin/v1/${kind}s/${res.body.id}`)) as Doc;
      expect(body.id).toMatch(/^[0-9a-f]{32}$/);
      expect(body.ocid).toBe(`ocid1.${kind.toLowerCase()}.oc1..${body.id}`);
      expect(body.meta.resourceType).toBe(kind);
      expect(body.idcsCreatedBy).toEqual(ADMIN_WRITER);
      expect(body.idcsLastModifiedBy).toEqual(ADMIN_WRITER);
      expect(body.domainOcid).toMatch(DOMAIN_OCID);
      for (const k of ['idcsPreventedOperations', 'deleteInProgress', 'idcsLastUpgradedInRelease', 'compartmentOcid', 'tenancyOcid']) expect(body[k]).toBeUndefined();
      const row = await stored(TABLES[kind], body.id);
      for (const k of Object.keys(FORGED_READ_ONLY)) expect(Object.keys(JSON.parse(row.data))).not.toContain(k);
      expect(row.data).not.toContain('forged');
    });

    it.each(KINDS)('should ignore them in a PUT of a %s: no new version, the server values stay', async (kind) => {
      const before = await read(r[kind].path, '?attributeSets=all');

      const put = await s.api('PUT', r[kind].path, { ...before.body, ...FORGED_READ_ONLY });

      expectStatus(put, 200);
      expect(put.headers.get('etag')).toBe(before.headers.get('etag'));
      expect(await all(r[kind].path)).toEqual(before.body);
    });

    const readOnlyPaths = ['ocid', 'idcsCreatedBy', 'idcsCreatedBy.value', 'idcsLastModifiedBy.display', 'domainOcid', 'deleteInProgress', 'idcsPreventedOperations', 'meta.created'];
    it.each(KINDS.flatMap((kind) => readOnlyPaths.map((path) => [kind, path] as const)))('should refuse a PATCH of a %s naming %s with 400 mutability, and write nothing', async (kind, path) => {
      const before = await stored(TABLES[kind], r[kind].id);
      const value = path === 'deleteInProgress' ? true : path === 'idcsPreventedOperations' ? ['delete'] : path === 'idcsCreatedBy' ? { value: 'x' } : 'forged';

      const res = await s.api('PATCH', r[kind].path, patch({ op: 'replace', path, value }));

      expectScimError(res, 400, 'mutability');
      expect(res.body.detail).toContain(path);
      expect(await stored(TABLES[kind], r[kind].id)).toEqual(before);
    });
  });

  describe('ocid and domainOcid', () => {
    it.each(KINDS)('should give a %s an ocid derived from its id, and the domain OCID shared by every resource', async (kind) => {
      const body = (await read(r[kind].path)).body;
      expect(body.ocid).toBe(`ocid1.${kind.toLowerCase()}.oc1..${r[kind].id}`);
      expect(body.domainOcid).toBe((await read(r.User.path)).body.domainOcid);
    });

    it.each([
      ['Users', 'User'],
      ['Groups', 'Group'],
      ['IdentityProviders', 'IdentityProvider'],
      ['MappedAttributes', 'MappedAttribute'],
    ] as const)('should find exactly the resource by ocid in /%s', async (endpoint, kind) => {
      const res = await list(endpoint, `ocid eq "ocid1.${kind.toLowerCase()}.oc1..${r[kind].id}"`);
      expectStatus(res, 200);
      expect(res.body.Resources.map((x: Doc) => x.id)).toEqual([r[kind].id]);
      // Control: an OCID of another type names no resource here.
      expect((await list(endpoint, `ocid eq "ocid1.other.oc1..${r[kind].id}"`)).body.totalResults).toBe(0);
    });

    it('should match every resource, or none, by domainOcid', async () => {
      const domainOcid = (await read(r.User.path)).body.domainOcid;
      const everyone = (await read('/admin/v1/Groups', '?count=0')).body.totalResults;
      expect((await list('Groups', `domainOcid eq "${domainOcid}"`)).body.totalResults).toBe(everyone);
      expect((await list('Groups', `domainOcid eq "${domainOcid.replace(/.$/, 'x')}"`)).body.totalResults).toBe(0);
    });

    it('should keep the domain OCID in the database, not in the process', async () => {
      const [row] = await dbQuery<{ ocid: string }>(s, 'SELECT ocid FROM identity_domain');
      expect((await read(r.Group.path)).body.domainOcid).toBe(row.ocid);
    });
  });

  describe('projection of the common attributes', () => {
    it('should return only what attributes= names, with the attributes always returned', async () => {
      expect((await read(r.User.path, '?attributes=ocid')).body).toEqual({ schemas: expect.any(Array), id: r.User.id, userName: 'common.user@example.com', ocid: `ocid1.user.oc1..${r.User.id}` });
      expect((await read(r.Group.path, '?attributes=idcsCreatedBy.value')).body).toEqual({ schemas: expect.any(Array), id: r.Group.id, displayName: 'Common Group', idcsCreatedBy: { value: ADMIN_ID } });
    });

    it('should leave out what excludedAttributes= names', async () => {
      const body = (await read(r.IdentityProvider.path, '?excludedAttributes=idcsCreatedBy,domainOcid')).body;
      expect(body.idcsCreatedBy).toBeUndefined();
      expect(body.domainOcid).toBeUndefined();
      expect(body.idcsLastModifiedBy).toEqual(ADMIN_WRITER);
    });

    it('should return tags on request only (attributes=tags, attributeSets=request or all), as IDCS does', async () => {
      for (const kind of KINDS) {
        expect((await read(r[kind].path)).body.tags).toBeUndefined();
        for (const q of ['?attributes=tags', '?attributeSets=request', '?attributeSets=all']) expect((await read(r[kind].path, q)).body.tags).toEqual([{ key: 'env', value: 'prod' }]);
      }
    });
  });

  describe('/Schemas', () => {
    it.each(KINDS)('should describe the common attributes in the %s core schema', async (kind) => {
      const rt = (await read(`/admin/v1/ResourceTypes/${kind}`)).body;
      const schema = (await read(`/admin/v1/Schemas/${encodeURIComponent(rt.schema)}`)).body;
      const byName = new Map<string, Doc>(schema.attributes.map((a: Doc) => [a.name, a]));
      expect(byName.get('tags')).toEqual(
        expect.objectContaining({
          type: 'complex',
          multiValued: true,
          mutability: 'readWrite',
          returned: 'request',
          subAttributes: [expect.objectContaining({ name: 'key', required: true }), expect.objectContaining({ name: 'value', required: true })],
        }),
      );
      for (const name of ['idcsCreatedBy', 'idcsLastModifiedBy']) {
        expect(byName.get(name)).toEqual(expect.objectContaining({ type: 'complex', mutability: 'readOnly', returned: 'default' }));
        expect(byName.get(name)!.subAttributes.map((a: Doc) => a.name)).toEqual(['value', '$ref', 'type', 'display', 'ocid']);
      }
      for (const name of ['ocid', 'domainOcid']) expect({ name, mutability: byName.get(name)?.mutability }).toEqual({ name, mutability: 'readOnly' });
      // IDCS attributes that never carry a value here are accepted (and ignored) but not published: a schema says
      // what a response can hold.
      for (const name of ['compartmentOcid', 'tenancyOcid', 'deleteInProgress', 'idcsLastUpgradedInRelease', 'idcsPreventedOperations']) expect(byName.has(name)).toBe(false);
    });
  });

  describe('tags', () => {
    const ENDPOINTS = { User: 'Users', Group: 'Groups', IdentityProvider: 'IdentityProviders', MappedAttribute: 'MappedAttributes' } as const;
    const tagsOf = async (kind: (typeof KINDS)[number]): Promise<unknown> => (await read(r[kind].path, '?attributes=tags')).body.tags;

    it.each(KINDS)('should add, filter-remove and replace the tags of a %s with PATCH, and find it by them', async (kind) => {
      const path = r[kind].path;
      expectStatus(await s.api('PATCH', path, patch({ op: 'add', path: 'tags', value: [{ key: 'costCenter', value: 'CC-42' }] })), 200);
      expect(await tagsOf(kind)).toEqual([
        { key: 'env', value: 'prod' },
        { key: 'costCenter', value: 'CC-42' },
      ]);

      // Filters: by key, by value (case-insensitive, as IDCS marks both), by both in one value filter.
      const ids = async (filter: string) => {
        const res = await list(ENDPOINTS[kind], filter);
        expectStatus(res, 200);
        return res.body.Resources.map((x: Doc) => x.id);
      };
      expect(await ids('tags.key eq "COSTCENTER"')).toEqual([r[kind].id]);
      expect(await ids('tags.value eq "cc-42"')).toEqual([r[kind].id]);
      expect(await ids('tags[key eq "costCenter" and value eq "CC-42"]')).toEqual([r[kind].id]);
      expect(await ids('tags[key eq "costCenter" and value eq "prod"]')).toEqual([]);

      expectStatus(await s.api('PATCH', path, patch({ op: 'remove', path: 'tags[key eq "costCenter"]' })), 200);
      expect(await tagsOf(kind)).toEqual([{ key: 'env', value: 'prod' }]);
      expect(await ids('tags.key eq "costCenter"')).toEqual([]);

      expectStatus(await s.api('PATCH', path, patch({ op: 'replace', path: 'tags', value: [{ key: 'env', value: 'stage' }] })), 200);
      expect(await tagsOf(kind)).toEqual([{ key: 'env', value: 'stage' }]);
      expectStatus(await s.api('PATCH', path, patch({ op: 'replace', path: 'tags[key eq "env"].value', value: 'prod' })), 200);
      expect(await tagsOf(kind)).toEqual([{ key: 'env', value: 'prod' }]);
    });

    it.each(KINDS)('should set and replace the tags of a %s with PUT', async (kind) => {
      const current = await all(r[kind].path);
      expectStatus(await s.api('PUT', r[kind].path, { ...current, tags: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] }), 200);
      expect(await tagsOf(kind)).toEqual([
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]);
      expectStatus(await s.api('PUT', r[kind].path, current), 200);
      expect(await tagsOf(kind)).toEqual([{ key: 'env', value: 'prod' }]);
    });

    it('should keep a tag once when it is sent twice, and change nothing when an existing tag is added again', async () => {
      const g = await created('/admin/v1/Groups', {
        schemas: [GROUP_SCHEMA],
        displayName: 'Twice Tagged',
        tags: [
          { key: 'env', value: 'prod' },
          { key: 'ENV', value: 'Prod' },
          { key: 'env', value: 'stage' },
        ],
      });
      const path = `/admin/v1/Groups/${g.id}`;
      const before = await read(path, '?attributes=tags');
      expect(before.body.tags).toEqual([
        { key: 'env', value: 'prod' },
        { key: 'env', value: 'stage' },
      ]);

      const again = await s.api('PATCH', `${path}?attributes=tags`, patch({ op: 'add', path: 'tags', value: [{ key: 'env', value: 'prod' }] }));

      expectStatus(again, 200);
      expect(again.body.tags).toEqual(before.body.tags);
      expect(again.headers.get('etag')).toBe(before.headers.get('etag'));
      // Added again in other case, it is still the same tag (kept once), now spelt as last sent.
      const respelt = await s.api('PATCH', `${path}?attributes=tags`, patch({ op: 'add', path: 'tags', value: [{ key: 'Env', value: 'PROD' }] }));
      expect(respelt.body.tags).toEqual([
        { key: 'Env', value: 'PROD' },
        { key: 'env', value: 'stage' },
      ]);

      // A tag is its key and value together: another key with the same value is another tag, added and removed alone.
      const owner = await s.api('PATCH', `${path}?attributes=tags`, patch({ op: 'add', path: 'tags', value: [{ key: 'owner', value: 'prod' }] }));
      expect(owner.body.tags).toEqual([...respelt.body.tags, { key: 'owner', value: 'prod' }]);
      const removed = await s.api('PATCH', `${path}?attributes=tags`, patch({ op: 'remove', path: 'tags', value: [{ key: 'env', value: 'prod' }] }));
      expect(removed.body.tags).toEqual([
        { key: 'env', value: 'stage' },
        { key: 'owner', value: 'prod' },
      ]);
    });

    it.each([
      ['a tag without value', [{ key: 'env' }], 'invalidValue', 'value'],
      ['a tag without key', [{ value: 'prod' }], 'invalidValue', 'key'],
      ['a tag with an unknown sub-attribute', [{ key: 'env', value: 'prod', colour: 'red' }], 'invalidSyntax', 'colour'],
      ['a tag whose value is not a string', [{ key: 'env', value: 7 }], 'invalidValue', 'string'],
      ['tags that are not objects', ['env=prod'], 'invalidValue', 'object'],
    ])('should refuse %s (400 %s) in POST, PUT and PATCH, and write nothing', async (_case, tags, scimType, mentioned) => {
      const before = await stored('users', r.User.id);
      const usersBefore = (await read('/admin/v1/Users', '?count=0')).body.totalResults;

      const answers = [
        await s.api('POST', '/admin/v1/Users', user('bad.tags@example.com', { tags })),
        await s.api('PUT', r.User.path, { ...(await all(r.User.path)), tags }),
        await s.api('PATCH', r.User.path, patch({ op: 'add', path: 'tags', value: tags })),
      ];

      for (const res of answers) {
        expectScimError(res, 400, scimType);
        expect(res.body.detail).toContain('tags');
        expect(res.body.detail).toContain(mentioned);
      }
      expect(await stored('users', r.User.id)).toEqual(before);
      expect((await read('/admin/v1/Users', '?count=0')).body.totalResults).toBe(usersBefore);
    });
  });

  describe('idcsCreatedBy and idcsLastModifiedBy', () => {
    it('should name the admin client that created a resource and the one that last changed it', async () => {
      const other = await s.tokenWithRoles('UserAdministrator');
      const otherClient = ((await read('/admin/v1/AdminClients')).body as unknown as Doc[]).find((c) => c.name === 'client UserAdministrator')!;
      const g = await created('/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Written By Two' });
      expect(g.idcsCreatedBy).toEqual(ADMIN_WRITER);
      expect(g.idcsLastModifiedBy).toEqual(ADMIN_WRITER);

      const changed = await s.api('PATCH', `/admin/v1/Groups/${g.id}`, patch({ op: 'replace', path: 'displayName', value: 'Written By Two, Changed' }), { token: other });

      expectStatus(changed, 200);
      const otherWriter = { value: otherClient.clientId, type: 'App', display: 'client UserAdministrator' };
      expect(changed.body.idcsCreatedBy).toEqual(ADMIN_WRITER);
      expect(changed.body.idcsLastModifiedBy).toEqual(otherWriter);
      expect((await read(`/admin/v1/Groups/${g.id}`)).body.idcsLastModifiedBy).toEqual(otherWriter);

      // A write that changes nothing is no modification: the previous writer stays.
      const unchanged = await s.api('PUT', `/admin/v1/Groups/${g.id}`, changed.body);
      expectStatus(unchanged, 200);
      expect(unchanged.body.idcsLastModifiedBy).toEqual(otherWriter);
      expect(unchanged.headers.get('etag')).toBe(changed.headers.get('etag'));
    });

    it('should name a provisioning token as an App, and find what it created by idcsCreatedBy.value', async () => {
      const t = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Okta SCIM' });
      expectStatus(t, 201);
      const tokenWriter = { value: t.body.id, type: 'App', display: 'Okta SCIM' };

      const u = await created('/admin/v1/Users', user('provisioned@example.com'), t.body.token);
      const g = await created('/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Provisioned Group', members: [{ value: u.id }] }, t.body.token);

      for (const body of [u, g, (await read(`/admin/v1/Users/${u.id}`)).body, (await read(`/admin/v1/Groups/${g.id}`)).body]) {
        expect(body.idcsCreatedBy).toEqual(tokenWriter);
        expect(body.idcsLastModifiedBy).toEqual(tokenWriter);
      }
      const byToken = await list('Users', `idcsCreatedBy.value eq "${t.body.id}"`);
      expect(byToken.body.Resources.map((x: Doc) => x.id)).toEqual([u.id]);
      const byType = await list('Groups', `idcsLastModifiedBy.display eq "Okta SCIM" and idcsLastModifiedBy.type eq "app"`);
      expect(byType.body.Resources.map((x: Doc) => x.id)).toEqual([g.id]);

      // Deleting the user changes its group (a membership fewer): the group was last modified by whoever deleted it.
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${u.id}`), 204);
      expect((await read(`/admin/v1/Groups/${g.id}`)).body.idcsLastModifiedBy).toEqual(ADMIN_WRITER);
    });

    it('should name the identity provider of a JIT sign-in as the App that created the user and changed its groups', async () => {
      const metadata = await s.raw('GET', '/fed/v1/metadata');
      const idp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys);
      const groupBefore = await read(r.Group.path);
      const nameId = 'jit.common@example.com';
      const response = await idp.signedResponse({ InResponseTo: undefined, NameID: nameId }, { firstName: ['Jit'], familyName: ['Common'], email: [nameId], groups: ['Staff'] });

      const signIn = await fetch(`${s.baseUrl}/fed/v1/sp/sso`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ SAMLResponse: response }).toString(),
      });

      expect(signIn.status).toBe(303);
      const idpWriter = {
        value: r.IdentityProvider.id,
        $ref: `${s.publicUrl}/admin/v1/IdentityProviders/${r.IdentityProvider.id}`,
        type: 'App',
        display: idpName,
        ocid: `ocid1.identityprovider.oc1..${r.IdentityProvider.id}`,
      };
      const found = await list('Users', `userName eq "${nameId}"`);
      const jitUser = (await read(`/admin/v1/Users/${found.body.Resources[0].id}`)).body;
      expect(jitUser.idcsCreatedBy).toEqual(idpWriter);
      expect(jitUser.idcsLastModifiedBy).toEqual(idpWriter);
      const group = await read(r.Group.path);
      expect(group.headers.get('etag')).not.toBe(groupBefore.headers.get('etag'));
      expect(group.body.idcsCreatedBy).toEqual(ADMIN_WRITER);
      expect(group.body.idcsLastModifiedBy).toEqual(idpWriter);
      expect((await list('Users', `idcsCreatedBy.ocid eq "${idpWriter.ocid}"`)).body.Resources.map((x: Doc) => x.id)).toEqual([jitUser.id]);

      // An administrator's later change of the user is theirs.
      const renamed = await s.api('PATCH', `/admin/v1/Users/${jitUser.id}`, patch({ op: 'replace', path: 'displayName', value: 'Renamed' }));
      expectStatus(renamed, 200);
      expect(renamed.body.idcsCreatedBy).toEqual(idpWriter);
      expect(renamed.body.idcsLastModifiedBy).toEqual(ADMIN_WRITER);
    });

    it('should name the administrator who created an identity provider as the creator of its MappedAttribute too', async () => {
      const mapped = (await read(r.MappedAttribute.path)).body;
      expect(mapped.idcsCreatedBy).toEqual(ADMIN_WRITER);
      const [row] = await dbQuery<{ created_by: string }>(s, 'SELECT created_by FROM mapped_attributes WHERE id = $1', [r.MappedAttribute.id]);
      expect(JSON.parse(row.created_by)).toEqual(ADMIN_WRITER);
    });
  });
});
