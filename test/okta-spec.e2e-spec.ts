import { expectScimError, expectStatus, GROUP_SCHEMA, TestServer, user } from './support/server';

/** The checks of Okta's SCIM 2.0 spec test (runscope "Okta SCIM 2.0 SPEC Test"). */
describe('Okta SCIM 2.0 spec test', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
    await s.api('POST', '/admin/v1/Users', user('existing.one@example.com'));
    await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Everyone' });
  });
  afterAll(() => s.stop());

  it('should list users with count=1&startIndex=1', async () => {
    const res = await s.api('GET', '/admin/v1/Users?count=1&startIndex=1');
    expectStatus(res, 200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    expect(res.body.itemsPerPage).toBe(1);
    expect(res.body.startIndex).toBe(1);
    expect(res.body.totalResults).toBeGreaterThanOrEqual(1);
    expect(res.body.Resources).toHaveLength(1);
    expect(res.body.Resources[0].id).toBeTruthy();
    expect(res.body.Resources[0].userName).toBeTruthy();
  });

  it('should get a user by id', async () => {
    const list = await s.api('GET', '/admin/v1/Users?count=1&startIndex=1');
    const id = list.body.Resources[0].id;
    const res = await s.api('GET', `/admin/v1/Users/${id}`);
    expectStatus(res, 200);
    expect(res.body.id).toBe(id);
    expect(res.headers.get('etag')).toBe(res.body.meta.version);
  });

  it('should find no user for an unknown userName', async () => {
    const res = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "no.such.user@example.com"')}`);
    expectStatus(res, 200);
    expect(res.body.totalResults).toBe(0);
    expect(res.body.Resources).toEqual([]);
  });

  it('should answer 404 with a SCIM error for an unknown id', async () => {
    const res = await s.api('GET', '/admin/v1/Users/010101010101010101010101');
    expectScimError(res, 404);
  });

  it('should create a user (201, active true), refuse a duplicate (409) and find it by upper-cased userName', async () => {
    const created = await s.api('POST', '/admin/v1/Users', user('Okta.Spec@example.com', { active: true }));
    expect(created.status).toBe(201);
    expect(created.body.active).toBe(true);
    expect(created.headers.get('location')).toBe(created.body.meta.location);
    const again = await s.api('POST', '/admin/v1/Users', user('okta.spec@EXAMPLE.com'));
    expectScimError(again, 409, 'uniqueness');
    const found = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "OKTA.SPEC@EXAMPLE.COM"')}`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(created.body.id);
  });

  it('should list groups', async () => {
    const res = await s.api('GET', '/admin/v1/Groups');
    expectStatus(res, 200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].displayName).toBe('Everyone');
  });

  it('should answer 401 with a SCIM error for a bad token', async () => {
    const res = await s.api('GET', '/admin/v1/Users', undefined, { token: 'not-a-valid-token' });
    expectScimError(res, 401);
  });
});
