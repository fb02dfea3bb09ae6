import { IdentityDomainsClient, models } from 'oci-identitydomains';
import { ociClient, ociError } from './support/oci-sdk';
import { GROUP_SCHEMA, PATCH_SCHEMA, TestServer, USER_SCHEMA } from './support/server';

const SEARCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ORACLE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';

/**
 * Oracle's own TypeScript SDK (`oci-identitydomains` 2.139.1, unmodified) drives the admin API over HTTP:
 * what it sends (paths, query parameters, upper-case enums, model serialisation) must be accepted, and what we
 * answer must come back through its deserialisers and error handling as an IDCS client expects.
 */
describe('OCI TypeScript SDK (oci-identitydomains) against the admin API', () => {
  let s: TestServer;
  let client: IdentityDomainsClient;
  let authorization: string;

  beforeAll(async () => {
    // The SDK's retrier prints "Request cannot be retried" with a stack for every error answer; the tests assert those errors.
    const warn = console.warn;
    jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).startsWith('Request cannot be retried')) warn(...args);
    });
    s = await TestServer.start();
    client = ociClient(s);
    authorization = `Bearer ${await s.token()}`;
  });
  afterAll(async () => {
    client?.close();
    await s?.stop();
    jest.restoreAllMocks();
  });

  const newUser = (userName: string, extra: Partial<models.User> = {}): models.User => ({
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: 'Sdk', familyName: userName.split('@')[0] },
    emails: [{ value: userName, type: models.UserEmails.Type.Work, primary: true }],
    ...extra,
  });

  describe('Users', () => {
    let aliceId: string;
    let aliceEtag: string;

    it('creates a user and returns the model with its ETag', async () => {
      const res = await client.createUser({ authorization, user: newUser('sdk.alice@example.com', { displayName: 'Alice' }) });
      expect(res.user.id).toBeTruthy();
      expect(res.user.userName).toBe('sdk.alice@example.com');
      expect(res.user.displayName).toBe('Alice');
      expect(res.user.name?.givenName).toBe('Sdk');
      expect(res.user.emails).toEqual([{ value: 'sdk.alice@example.com', type: 'work', primary: true }]);
      expect(res.user.active).toBe(true);
      expect(res.user.schemas).toContain(USER_SCHEMA);
      // Extensions come back under the SDK's camel-cased property for the URN.
      expect(res.user.urnIetfParamsScimSchemasOracleIdcsExtensionUserUser?.isFederatedUser).toBe(false);
      expect(res.user.meta?.resourceType).toBe('User');
      expect(res.user.meta?.location).toBe(`${s.publicUrl}/admin/v1/Users/${res.user.id}`);
      expect(res.etag).toBe(res.user.meta?.version);
      expect(res.user.password).toBeUndefined();
      // The SDK sends an opc-request-id with every call; we echo it back for it to expose.
      expect(res.opcRequestId).toMatch(/^[A-Za-z0-9_-]+$/);
      aliceId = res.user.id!;
      aliceEtag = res.etag!;
    });

    it('gets the user by id, with attributes and attributeSets', async () => {
      const res = await client.getUser({ authorization, userId: aliceId });
      expect(res.user.id).toBe(aliceId);
      expect(res.user.userName).toBe('sdk.alice@example.com');
      // The SDK does not read ETag on GET; meta.version carries the same value.
      expect(res.user.meta?.version).toBe(aliceEtag);

      const narrow = await client.getUser({ authorization, userId: aliceId, attributes: 'displayName' });
      expect(narrow.user.displayName).toBe('Alice');
      expect(narrow.user.userName).toBe('sdk.alice@example.com'); // returned always
      expect(narrow.user.emails).toBeUndefined();

      const all = await client.getUser({ authorization, userId: aliceId, attributeSets: [models.AttributeSets.All] });
      expect(all.user.emails).toHaveLength(1);
      // `request` attributes come with the "all" set (no groups yet: an empty multi-valued attribute is left out).
      expect(all.user.urnIetfParamsScimSchemasOracleIdcsExtensionUserUser?.creationMechanism).toBe('api');
      expect(all.user.groups).toBeUndefined();
    });

    it('refuses a duplicate userName with a 409 OciError carrying our code and message', async () => {
      const e = await ociError(client.createUser({ authorization, user: newUser('SDK.Alice@example.com') }));
      expect(e.statusCode).toBe(409);
      expect(e.serviceCode).toBe('Conflict');
      expect(e.message).toMatch(/already exists/);
    });

    it('answers an unknown id with a 404 OciError', async () => {
      const e = await ociError(client.getUser({ authorization, userId: 'no-such-user-id' }));
      expect(e.statusCode).toBe(404);
      expect(e.serviceCode).toBe('NotFound');
      expect(e.message).toBe('No user with id "no-such-user-id"');
      expect(e.operationName).toBe('getUser');
      expect(e.opcRequestId).toMatch(/^[A-Za-z0-9_-]+$/);
    });

    it('answers a missing or bad token with a 401 OciError', async () => {
      const e = await ociError(client.getUser({ authorization: 'Bearer not-a-token', userId: aliceId }));
      expect(e.statusCode).toBe(401);
      expect(e.serviceCode).toBe('NotAuthenticated');
      expect(typeof e.message).toBe('string');
    });

    it('lists users with a filter, sorting (upper-case SortOrder), paging and attributes', async () => {
      await client.createUser({ authorization, user: newUser('sdk.bob@example.com') });
      await client.createUser({ authorization, user: newUser('sdk.carol@example.com') });

      const one = await client.listUsers({ authorization, filter: 'userName eq "sdk.bob@example.com"' });
      expect(one.users.schemas).toEqual([LIST_SCHEMA]);
      expect(one.users.totalResults).toBe(1);
      expect(one.users.resources.map((u) => u.userName)).toEqual(['sdk.bob@example.com']);

      const sorted = await client.listUsers({
        authorization,
        filter: 'userName sw "sdk."',
        sortBy: 'userName',
        sortOrder: models.SortOrder.Descending,
        startIndex: 1,
        count: 2,
        attributes: 'userName',
      });
      expect(sorted.users.totalResults).toBe(3);
      expect(sorted.users.startIndex).toBe(1);
      expect(sorted.users.itemsPerPage).toBe(2);
      expect(sorted.users.resources.map((u) => u.userName)).toEqual(['sdk.carol@example.com', 'sdk.bob@example.com']);
      expect(sorted.users.resources[0].emails).toBeUndefined();

      // The SDK's own paging parameter `limit` means the same as `count`.
      const limited = await client.listUsers({ authorization, sortBy: 'userName', sortOrder: models.SortOrder.Ascending, limit: 1, startIndex: 2 });
      expect(limited.users.resources.map((u) => u.userName)).toEqual(['sdk.bob@example.com']);
    });

    it('answers an invalid filter with a 400 OciError', async () => {
      const e = await ociError(client.listUsers({ authorization, filter: 'userName zz "x"' }));
      expect(e.statusCode).toBe(400);
      expect(e.serviceCode).toBe('InvalidParameter');
      expect(e.message.length).toBeGreaterThan(10);
    });

    it('searches users with POST .search', async () => {
      const res = await client.searchUsers({
        authorization,
        userSearchRequest: {
          schemas: [SEARCH_SCHEMA],
          filter: 'userName sw "sdk." and userName ne "sdk.bob@example.com"',
          sortBy: 'userName',
          sortOrder: models.SortOrder.Ascending,
          startIndex: 1,
          count: 10,
          attributes: ['displayName'],
          attributeSets: [models.UserSearchRequest.AttributeSets.Always],
        },
      });
      expect(res.users.totalResults).toBe(2);
      expect(res.users.resources.map((u) => u.userName)).toEqual(['sdk.alice@example.com', 'sdk.carol@example.com']);
      expect(res.users.resources[0].displayName).toBe('Alice');
      expect(res.users.resources[0].emails).toBeUndefined();
    });

    it('patches a user with the SDK upper-case ops and If-Match', async () => {
      const res = await client.patchUser({
        authorization,
        userId: aliceId,
        ifMatch: aliceEtag,
        patchOp: {
          schemas: [PATCH_SCHEMA],
          operations: [
            { op: models.Operations.Op.Replace, path: 'displayName', value: 'Alice Patched' },
            { op: models.Operations.Op.Add, path: 'title', value: 'Engineer' },
            { op: models.Operations.Op.Remove, path: 'name.givenName' },
          ],
        },
      });
      expect(res.user.displayName).toBe('Alice Patched');
      expect(res.user.title).toBe('Engineer');
      expect(res.user.name?.givenName).toBeUndefined();
      expect(res.etag).toBe(res.user.meta?.version);
      expect(res.etag).not.toBe(aliceEtag);

      // The old ETag no longer matches.
      const stale = await ociError(
        client.patchUser({
          authorization,
          userId: aliceId,
          ifMatch: aliceEtag,
          patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'title', value: 'Late' }] },
        }),
      );
      expect(stale.statusCode).toBe(412);
      expect(stale.serviceCode).toBe('PreconditionFailed');
      aliceEtag = res.etag!;
    });

    it('replaces a user (PUT) from the model it read', async () => {
      const read = await client.getUser({ authorization, userId: aliceId });
      const user: models.User = { ...read.user, displayName: 'Alice Replaced', title: undefined, nickName: 'Al' };
      const res = await client.putUser({ authorization, userId: aliceId, ifMatch: read.user.meta?.version, user });
      expect(res.user.id).toBe(aliceId);
      expect(res.user.displayName).toBe('Alice Replaced');
      expect(res.user.nickName).toBe('Al');
      expect(res.user.title).toBeUndefined();
      expect(res.user.schemas).toContain(ORACLE_USER_SCHEMA);
      expect(res.user.meta?.created).toBe(read.user.meta?.created);
      expect(res.etag).toBe(res.user.meta?.version);
      aliceEtag = res.etag!;
      // creationMechanism (immutable, returned on request) was not in what the SDK read, and survives the PUT.
      const all = await client.getUser({ authorization, userId: aliceId, attributeSets: [models.AttributeSets.All] });
      expect(all.user.urnIetfParamsScimSchemasOracleIdcsExtensionUserUser?.creationMechanism).toBe('api');
    });

    it('deletes a user; reading it then gives 404', async () => {
      const carol = await client.listUsers({ authorization, filter: 'userName eq "sdk.carol@example.com"' });
      const id = carol.users.resources[0].id!;
      const res = await client.deleteUser({ authorization, userId: id, forceDelete: true });
      expect(res.opcRequestId).toMatch(/^[A-Za-z0-9_-]+$/);
      const e = await ociError(client.getUser({ authorization, userId: id }));
      expect(e.statusCode).toBe(404);
      const again = await ociError(client.deleteUser({ authorization, userId: id }));
      expect(again.statusCode).toBe(404);
      expect(again.serviceCode).toBe('NotFound');
    });
  });

  it('echoes a well-formed opc-request-id and replaces a malformed one', async () => {
    const echoed = await s.api('GET', '/admin/v1/Users?count=1', undefined, { headers: { 'opc-request-id': 'MY_trace-0123' } });
    expect(echoed.headers.get('opc-request-id')).toBe('MY_trace-0123');
    const replaced = await s.api('GET', '/admin/v1/Users/nobody', undefined, { headers: { 'opc-request-id': 'bad id;<x>' } });
    expect(replaced.status).toBe(404);
    expect(replaced.headers.get('opc-request-id')).toMatch(/^[A-F0-9]{32}$/);
  });

  describe('Groups', () => {
    let groupId: string;
    let groupEtag: string;
    let memberId: string;

    beforeAll(async () => {
      const member = await client.createUser({ authorization, user: newUser('sdk.member@example.com', { displayName: 'Member' }) });
      memberId = member.user.id!;
    });

    it('creates a group', async () => {
      const res = await client.createGroup({
        authorization,
        group: { schemas: [GROUP_SCHEMA], displayName: 'SDK Engineers', externalId: 'ext-eng' },
      });
      expect(res.group.id).toBeTruthy();
      expect(res.group.displayName).toBe('SDK Engineers');
      expect(res.group.externalId).toBe('ext-eng');
      expect(res.group.meta?.resourceType).toBe('Group');
      expect(res.etag).toBe(res.group.meta?.version);
      groupId = res.group.id!;
      groupEtag = res.etag!;
    });

    it('refuses a duplicate displayName with a 409 OciError', async () => {
      const e = await ociError(client.createGroup({ authorization, group: { schemas: [GROUP_SCHEMA], displayName: 'sdk engineers' } }));
      expect(e.statusCode).toBe(409);
      expect(e.serviceCode).toBe('Conflict');
      expect(e.message.length).toBeGreaterThan(10);
    });

    it('gets the group; an unknown id is a 404 OciError', async () => {
      const res = await client.getGroup({ authorization, groupId });
      expect(res.group.displayName).toBe('SDK Engineers');
      expect(res.group.meta?.version).toBe(groupEtag);
      const e = await ociError(client.getGroup({ authorization, groupId: 'no-such-group-id' }));
      expect(e.statusCode).toBe(404);
      expect(e.serviceCode).toBe('NotFound');
      expect(e.message).toMatch(/no-such-group-id/);
    });

    it('adds a member with PATCH and returns it when members are asked for', async () => {
      const res = await client.patchGroup({
        authorization,
        groupId,
        ifMatch: groupEtag,
        attributes: 'members',
        patchOp: {
          schemas: [PATCH_SCHEMA],
          operations: [{ op: models.Operations.Op.Add, path: 'members', value: [{ value: memberId, type: models.GroupMembers.Type.User }] }],
        },
      });
      expect(res.group.members).toHaveLength(1);
      expect(res.group.members![0].value).toBe(memberId);
      expect(res.group.members![0].type).toBe('User');
      expect(res.group.members![0].display).toBe('Member');
      // `$ref` comes back as the SDK's `ref`.
      expect(res.group.members![0].ref).toBe(`${s.publicUrl}/admin/v1/Users/${memberId}`);
      // Only the requested attributes (and those returned always) come back, so no meta here; the ETag header still does.
      expect(res.group.meta).toBeUndefined();
      expect(res.etag).not.toBe(groupEtag);
      groupEtag = res.etag!;
      expect((await client.getGroup({ authorization, groupId })).group.meta?.version).toBe(groupEtag);

      const user = await client.getUser({ authorization, userId: memberId, attributes: 'groups' });
      expect(user.user.groups?.map((g) => g.value)).toEqual([groupId]);
      expect(user.user.groups?.[0].display).toBe('SDK Engineers');
    });

    it('lists groups with a filter and searches them', async () => {
      await client.createGroup({ authorization, group: { schemas: [GROUP_SCHEMA], displayName: 'SDK Admins' } });

      const listed = await client.listGroups({
        authorization,
        filter: 'displayName eq "SDK Engineers"',
        attributes: 'displayName,members',
      });
      expect(listed.groups.totalResults).toBe(1);
      expect(listed.groups.resources[0].id).toBe(groupId);
      expect(listed.groups.resources[0].members?.map((m) => m.value)).toEqual([memberId]);

      const byMember = await client.listGroups({ authorization, filter: `members.value eq "${memberId}"` });
      expect(byMember.groups.resources.map((g) => g.displayName)).toEqual(['SDK Engineers']);

      const searched = await client.searchGroups({
        authorization,
        groupSearchRequest: {
          schemas: [SEARCH_SCHEMA],
          filter: 'displayName sw "SDK"',
          sortBy: 'displayName',
          sortOrder: models.SortOrder.Descending,
          attributeSets: [models.GroupSearchRequest.AttributeSets.Default],
        },
      });
      expect(searched.groups.totalResults).toBe(2);
      expect(searched.groups.resources.map((g) => g.displayName)).toEqual(['SDK Engineers', 'SDK Admins']);
    });

    it('replaces a group (PUT) from the model it read', async () => {
      const read = await client.getGroup({ authorization, groupId, attributeSets: [models.AttributeSets.All] });
      expect(read.group.members?.map((m) => m.value)).toEqual([memberId]);
      const group: models.Group = { ...read.group, displayName: 'SDK Engineering', externalId: undefined };
      const res = await client.putGroup({ authorization, groupId, ifMatch: read.group.meta?.version, group, attributes: 'members' });
      expect(res.group.displayName).toBe('SDK Engineering');
      expect(res.group.externalId).toBeUndefined();
      expect(res.group.members?.map((m) => m.value)).toEqual([memberId]);
      expect(res.etag).not.toBe(read.group.meta?.version);

      const removed = await client.patchGroup({
        authorization,
        groupId,
        attributes: 'members',
        patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Remove, path: `members[value eq "${memberId}"]` }] },
      });
      expect(removed.group.members ?? []).toEqual([]);
    });

    it('deletes a group; reading it then gives 404', async () => {
      await client.deleteGroup({ authorization, groupId });
      const e = await ociError(client.getGroup({ authorization, groupId }));
      expect(e.statusCode).toBe(404);
      const listed = await client.listGroups({ authorization, filter: 'displayName sw "SDK"' });
      expect(listed.groups.resources.map((g) => g.displayName)).toEqual(['SDK Admins']);
    });
  });
});
