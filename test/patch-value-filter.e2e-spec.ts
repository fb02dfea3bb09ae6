import { ApiResponse, expectScimError, expectStatus, patch, TestServer, user } from './support/server';

/**
 * A PATCH whose value-filter path matches no element (README "SCIM PATCH notes"). RFC 7644 §3.5.2.3 says 400
 * noTarget; Microsoft Entra ID sends `Replace emails[type eq "work"].value` for a value the user does not have yet,
 * and IDCS accepts it (Oracle's guides map Entra's `mail` to that path). The rule: only `eq` comparisons joined by
 * `and`, on sub-attributes other than the one written, create the element; everything else is noTarget, and a
 * refused request changes nothing, not even the operations before the refused one.
 */

const q = (filter: string) => `?filter=${encodeURIComponent(filter)}`;

describe('PATCH through a value filter that matches nothing', () => {
  let s: TestServer;
  let entraToken: string;

  beforeAll(async () => {
    s = await TestServer.start();
    const pt = await s.api('POST', '/admin/v1/ProvisioningTokens', { name: 'Microsoft Entra ID' });
    expectStatus(pt, 201);
    entraToken = pt.body.token;
  });
  afterAll(() => s.stop());

  /** A user with a home email only, as a directory creates one before the work address is known. */
  async function homeOnlyUser(): Promise<string> {
    const name = `vf.${Math.random().toString(36).slice(2, 10)}`;
    const res = await s.api('POST', '/admin/v1/Users', user(name, { emails: [{ value: `${name}@home.example`, type: 'home', primary: true }] }));
    expectStatus(res, 201);
    return res.body.id;
  }

  const read = (id: string) => s.api('GET', `/admin/v1/Users/${id}?attributeSets=all`);
  const entra = (id: string, ...ops: Record<string, unknown>[]) => s.api('PATCH', `/admin/v1/Users/${id}`, patch(...ops), { token: entraToken });

  async function expectUnchanged(id: string, before: ApiResponse): Promise<void> {
    const after = await read(id);
    expect(after.body).toEqual(before.body);
    expect(after.body.meta.version).toBe(before.body.meta.version);
    expect(after.headers.get('etag')).toBe(before.headers.get('etag'));
  }

  describe("Entra ID's replace of a value the user does not have", () => {
    it('should create the work email, store it, index it and give the user a new version', async () => {
      const id = await homeOnlyUser();
      const before = await read(id);
      const res = await entra(id, { op: 'Replace', path: 'emails[type eq "work"].value', value: 'x.work@y.example' });
      expectStatus(res, 200);
      expect(res.body.emails).toEqual([
        { value: before.body.emails[0].value, type: 'home', primary: true },
        { type: 'work', value: 'x.work@y.example' },
      ]);
      expect(res.body.meta.version).not.toBe(before.body.meta.version);
      expect((await read(id)).body.emails).toEqual(res.body.emails);
      const found = await s.api('GET', `/admin/v1/Users${q('emails[type eq "work" and value eq "X.WORK@y.example"]')}`);
      expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    });

    it("should apply Entra's usual update bundle to a user that has none of its values", async () => {
      const id = await homeOnlyUser();
      const res = await entra(
        id,
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'bundle@y.example' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
        { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Paris' },
        { op: 'Replace', path: 'addresses[type eq "work"].country', value: 'FR' },
        { op: 'Replace', value: { active: 'False', displayName: 'Bundle User' } },
      );
      expectStatus(res, 200);
      expect(res.body).toMatchObject({
        active: false,
        displayName: 'Bundle User',
        phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }],
        // The second operation finds the address the first one created.
        addresses: [{ type: 'work', locality: 'Paris', country: 'FR' }],
      });
      expect(res.body.emails.map((e: { value: string }) => e.value)).toContain('bundle@y.example');
    });

    it('should change the matching element, and only it, once the user has one', async () => {
      const id = await homeOnlyUser();
      expectStatus(await entra(id, { op: 'Replace', path: 'emails[type eq "work"].value', value: 'first@y.example' }), 200);
      const res = await entra(id, { op: 'Replace', path: 'emails[type eq "work"].value', value: 'second@y.example' });
      expectStatus(res, 200);
      expect(res.body.emails.filter((e: { type: string }) => e.type === 'work')).toEqual([{ type: 'work', value: 'second@y.example' }]);
      expect(res.body.emails).toHaveLength(2);
    });
  });

  describe('the RFC 7644 case: 400 noTarget and nothing written', () => {
    it.each<[string, Record<string, unknown>]>([
      ['a filter with "co"', { op: 'replace', path: 'emails[type co "wor"].value', value: 'x@y.example' }],
      ['a filter with "or"', { op: 'replace', path: 'emails[type eq "work" or type eq "other"].value', value: 'x@y.example' }],
      ['a filter on the sub-attribute being written', { op: 'replace', path: 'emails[value eq "old@y.example"].value', value: 'new@y.example' }],
      ['a filter no element can satisfy', { op: 'replace', path: 'emails[type eq "work" and type eq "other"].value', value: 'x@y.example' }],
      ['a whole-element replace', { op: 'replace', path: 'emails[type eq "work"]', value: { value: 'x@y.example' } }],
      ['a whole-element add', { op: 'add', path: 'addresses[type eq "work"]', value: { locality: 'Paris' } }],
    ])('should refuse %s with 400 noTarget naming the path', async (_title, op) => {
      const id = await homeOnlyUser();
      const before = await read(id);
      const res = await s.api('PATCH', `/admin/v1/Users/${id}`, patch(op));
      expectScimError(res, 400, 'noTarget');
      expect(res.body.detail).toContain(op.path as string);
      await expectUnchanged(id, before);
    });

    it('should apply none of the operations of a request when one of them has no target', async () => {
      const id = await homeOnlyUser();
      const before = await read(id);
      const res = await entra(
        id,
        { op: 'Replace', path: 'displayName', value: 'Never Stored' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'never@y.example' },
        { op: 'Replace', path: 'phoneNumbers[value sw "+33"].type', value: 'work' },
      );
      expectScimError(res, 400, 'noTarget');
      expect(res.body.detail).toContain('phoneNumbers[value sw "+33"].type');
      await expectUnchanged(id, before);
    });

    it('should treat a remove that matches nothing as done, without a new version', async () => {
      const id = await homeOnlyUser();
      const before = await read(id);
      const res = await s.api('PATCH', `/admin/v1/Users/${id}`, patch({ op: 'remove', path: 'emails[type eq "work"]' }));
      expectStatus(res, 200);
      await expectUnchanged(id, before);
    });
  });
});
