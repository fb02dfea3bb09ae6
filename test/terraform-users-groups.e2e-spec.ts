import { readFileSync } from 'fs';
import { join } from 'path';
import { dbQuery, expectStatus, TestServer } from './support/server';

/**
 * The bodies Oracle's Terraform provider sends for `oci_identity_domains_user` and `oci_identity_domains_group`
 * (acceptance tests of oracle/terraform-provider-oci; test/fixtures/terraform/README.md says which and how they
 * were derived), sent unchanged: only the provider's interpolations (ids the server issued) are filled in.
 */

const FIXTURES = join(__dirname, 'fixtures', 'terraform');
const U = 'urn:ietf:params:scim:schemas:';
const ENTERPRISE = `${U}extension:enterprise:2.0:User`;
const ORACLE_USER = `${U}oracle:idcs:extension:user:User`;
const USER_STATE = `${U}oracle:idcs:extension:userState:User`;
const OCI_TAGS = `${U}oracle:idcs:extension:OCITags`;
const ADAPTIVE = `${U}oracle:idcs:extension:adaptive:User`;
const CAPABILITIES = `${U}oracle:idcs:extension:capabilities:User`;
const DB_CREDENTIALS = `${U}oracle:idcs:extension:dbCredentials:User`;
const PASSWORDLESS = `${U}oracle:idcs:extension:passwordless:User`;
const POSIX_USER = `${U}oracle:idcs:extension:posix:User`;
const SELF_CHANGE = `${U}oracle:idcs:extension:selfChange:User`;
const SFF = `${U}oracle:idcs:extension:sff:User`;
const ORACLE_GROUP = `${U}oracle:idcs:extension:group:Group`;
const POSIX_GROUP = `${U}oracle:idcs:extension:posix:Group`;
const REQUESTABLE = `${U}oracle:idcs:extension:requestable:Group`;

/** A fixture with its `{{name}}` placeholders filled in; a placeholder without a value drops its key, as the provider omits unset attributes. */
function fixture(name: string, vars: Record<string, string | undefined> = {}): Record<string, any> {
  const fill = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const filled = fill(x);
        if (filled !== undefined) out[k] = filled;
      }
      return out;
    }
    if (typeof v === 'string') {
      const m = /^\{\{(\w+)\}\}$/.exec(v);
      if (m) return vars[m[1]];
    }
    return v;
  };
  return fill(JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'))) as Record<string, any>;
}

/** The provider asks for every attribute (attribute_sets = ["all"]) on create, update and read. */
const ALL = '?attributeSets=all';

describe('Terraform oci_identity_domains_user and oci_identity_domains_group bodies', () => {
  let s: TestServer;
  let managerId: string;
  let userId: string;
  let userDisplay: string;
  beforeAll(async () => {
    s = await TestServer.start();
    const manager = await s.api('POST', `/admin/v1/Users${ALL}`, fixture('user-manager.create.json'));
    expectStatus(manager, 201);
    managerId = manager.body.id;
  });
  afterAll(() => s.stop());

  const stored = async (table: 'users' | 'groups', id: string) => (await dbQuery<{ data: string }>(s, `SELECT data FROM ${table} WHERE id = $1`, [id]))[0].data;

  describe('oci_identity_domains_user', () => {
    it('should create, update and delete the user of the required-only steps', async () => {
      const created = await s.api('POST', `/admin/v1/Users${ALL}`, fixture('user-required.create.json'));
      expectStatus(created, 201);
      expect(created.body.name).toEqual({ familyName: 'familyName' });
      const id = created.body.id as string;
      const updated = await s.api('PUT', `/admin/v1/Users/${id}${ALL}`, fixture('user-required.update.json', { id, ocid: created.body.ocid }));
      expectStatus(updated, 200);
      expect(updated.body.name).toEqual({ familyName: 'familyName2' });
      expect(updated.body.meta.version).toBe('W/"2"');
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${id}?forceDelete=true`), 204);
    });

    it('should create the user of the create-with-optionals step and return what it stores', async () => {
      const res = await s.api('POST', `/admin/v1/Users${ALL}`, fixture('user.create.json', { managerId }));
      expectStatus(res, 201);
      const u = res.body;
      userId = u.id;
      userDisplay = u.displayName;
      expect(u).toMatchObject({
        userName: 'userName',
        description: 'description',
        displayName: 'displayName',
        emails: [{ type: 'work', value: 'value@email.com', primary: true, secondary: false, verified: false }],
        ims: [{ type: 'aim', value: 'value', display: 'display', primary: false }],
        photos: [{ type: 'photo', value: 'https://value.com', display: 'display', primary: false }],
        entitlements: [{ type: 'type', value: 'value', display: 'display', primary: false }],
        roles: [{ type: 'type', value: 'value', display: 'display', primary: false }],
        x509Certificates: [{ display: 'display', primary: false, type: 'type' }],
        [ENTERPRISE]: { employeeNumber: 'employeeNumber', manager: { value: managerId } },
        [OCI_TAGS]: { freeformTags: [{ key: 'freeformKey', value: 'freeformValue' }], definedTags: [{ namespace: 'example-tag-namespace-all', key: 'example-tag', value: 'value' }] },
        [ADAPTIVE]: { riskLevel: 'LOW' },
        [CAPABILITIES]: { canUseApiKeys: false, canUseSmtpCredentials: false },
        [DB_CREDENTIALS]: { dbUserName: 'dbUserName' },
        [PASSWORDLESS]: { factorType: 'EMAIL', factorMethod: 'factorMethod' },
        [POSIX_USER]: { uidNumber: 500, homeDirectory: 'homeDirectory' },
        [SFF]: { sffAuthKeys: 'sffAuthKeys' },
        [USER_STATE]: { maxConcurrentSessions: 10 },
      });
      expect(u[ORACLE_USER]).toEqual({
        isFederatedUser: false,
        provider: 'facebook',
        serviceUser: false,
        doNotShowGettingStarted: false,
        accountRecoveryRequired: true,
        creationMechanism: 'api',
      });
      expect(u.schemas).toEqual(expect.arrayContaining([ENTERPRISE, ORACLE_USER, USER_STATE, OCI_TAGS, ADAPTIVE, CAPABILITIES, DB_CREDENTIALS, PASSWORDLESS, POSIX_USER, SFF]));
      // Request-only instructions and the password: accepted, never returned, never stored as sent.
      expect(u.schemas).not.toContain(SELF_CHANGE);
      expect(u.password).toBeUndefined();
      const data = await stored('users', userId);
      for (const absent of ['bypassNotification', 'allowSelfChange', 'userFlowControlledByExternalClient', 'isGroupMembershipNormalized', 'BEstrO0ng']) expect(data).not.toContain(absent);
    });

    it('should update it with the body of the update step (PUT), keeping the immutable values it leaves out', async () => {
      const current = await s.api('GET', `/admin/v1/Users/${userId}${ALL}`);
      const res = await s.api('PUT', `/admin/v1/Users/${userId}${ALL}`, fixture('user.update.json', { id: userId, ocid: current.body.ocid, managerId }));
      expectStatus(res, 200);
      expect(res.body.meta.version).toBe('W/"2"');
      expect(res.body).toMatchObject({
        description: 'description2',
        userType: 'Employee',
        addresses: [{ type: 'home', country: 'gb', primary: true }],
        [OCI_TAGS]: { freeformTags: [{ key: 'freeformKey2', value: 'freeformValue2' }] },
        [ADAPTIVE]: { riskLevel: 'MEDIUM' },
        [CAPABILITIES]: { canUseApiKeys: true },
        [POSIX_USER]: { uidNumber: 501 },
        [USER_STATE]: { maxConcurrentSessions: 11 },
      });
      // serviceUser (immutable) is not in the provider's update body, and stays.
      expect(res.body[ORACLE_USER]).toMatchObject({ serviceUser: false, provider: 'facebook', doNotShowGettingStarted: true });
      expect(await stored('users', userId)).not.toContain('BEstrO0ng');
    });

    it('should take back what a GET returned as a PUT without a new version', async () => {
      const read = await s.api('GET', `/admin/v1/Users/${userId}${ALL}`);
      expectStatus(read, 200);
      const put = await s.api('PUT', `/admin/v1/Users/${userId}${ALL}`, read.body);
      expectStatus(put, 200);
      expect(put.body.meta.version).toBe(read.body.meta.version);
      expect(put.body).toEqual(read.body);
    });

    it('should find the user with the data source\'s filter and by the new attributes', async () => {
      const ids = async (filter: string) => (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(filter)}`)).body.Resources.map((r: { id: string }) => r.id);
      expect(await ids('userName sw "userName"')).toEqual([userId]);
      // Both users of the test have value@email.com, neither verified.
      expect((await ids('emails[value eq "value@email.com" and verified eq false and secondary eq false]')).sort()).toEqual([managerId, userId].sort());
      expect(await ids('emails.verified eq true')).toEqual([]);
      expect(await ids(`${OCI_TAGS}:freeformTags.key eq "freeformKey2"`)).toEqual([userId]);
      expect(await ids(`${POSIX_USER}:uidNumber eq 501`)).toEqual([userId]);
    });
  });

  describe('oci_identity_domains_group', () => {
    let groupId: string;

    it('should create the group of the create-with-optionals step', async () => {
      const res = await s.api('POST', `/admin/v1/Groups${ALL}`, fixture('group.create.json', { userId }));
      expectStatus(res, 201);
      groupId = res.body.id;
      expect(res.body).toMatchObject({
        displayName: 'displayName',
        nonUniqueDisplayName: 'nonUniqueDisplayName',
        members: [{ value: userId, type: 'User' }],
        [ORACLE_GROUP]: { creationMechanism: 'api', description: 'description', owners: [{ type: 'User', value: userId }] },
        [OCI_TAGS]: { freeformTags: [{ key: 'freeformKey', value: 'freeformValue' }] },
        [POSIX_GROUP]: { gidNumber: 500 },
        [REQUESTABLE]: { requestable: false },
      });
    });

    it('should update it with the body of the update step (PUT)', async () => {
      const current = await s.api('GET', `/admin/v1/Groups/${groupId}${ALL}`);
      const res = await s.api(
        'PUT',
        `/admin/v1/Groups/${groupId}${ALL}`,
        fixture('group.update.json', { id: groupId, ocid: current.body.ocid, userId, userDisplay, userRef: `${s.publicUrl}/admin/v1/Users/${userId}` }),
      );
      expectStatus(res, 200);
      expect(res.body).toMatchObject({
        displayName: 'displayName2',
        nonUniqueDisplayName: 'nonUniqueDisplayName2',
        members: [{ value: userId, type: 'User' }],
        [ORACLE_GROUP]: { creationMechanism: 'api', description: 'description2' },
        [POSIX_GROUP]: { gidNumber: 501 },
        [REQUESTABLE]: { requestable: true },
      });
    });

    it('should take back what a GET returned as a PUT without a new version, and filter on nonUniqueDisplayName', async () => {
      const read = await s.api('GET', `/admin/v1/Groups/${groupId}${ALL}`);
      const put = await s.api('PUT', `/admin/v1/Groups/${groupId}${ALL}`, read.body);
      expectStatus(put, 200);
      expect(put.body.meta.version).toBe(read.body.meta.version);
      expect(put.body).toEqual(read.body);
      const found = await s.api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('nonUniqueDisplayName eq "NONUNIQUEDISPLAYNAME2"')}`);
      expect(found.body.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);
    });

    it('should delete the group and the users with forceDelete, as the provider does', async () => {
      expectStatus(await s.api('DELETE', `/admin/v1/Groups/${groupId}?forceDelete=true`), 204);
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${userId}?forceDelete=true`), 204);
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${managerId}?forceDelete=true`), 204);
    });
  });
});
