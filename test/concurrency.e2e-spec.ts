import { makeKeyPair } from './support/certs';
import { ApiResponse, dbQuery, E2E_DB, expectScimError, expectStatus, GROUP_SCHEMA, patch, TestServer, user } from './support/server';

const IDP_SCHEMA = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';

type Doc = Record<string, any>;

const refs = (...ids: string[]) => ids.map((value) => ({ value, type: 'User' }));
const sorted = (xs: string[]) => [...xs].sort();

/** The version counter behind an ETag W/"<n>". */
function versionOf(etag: string | null | undefined): number {
  const m = /^W\/"(\d+)"$/.exec(etag ?? '');
  if (!m) throw new Error(`not an ETag of this server: ${etag}`);
  return Number(m[1]);
}

/** How many answers had each status, with one example body per unexpected status: short enough to read in a failure. */
function tally(answers: ApiResponse[], ...expected: number[]): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const a of answers) {
    out[a.status] = ((out[a.status] as number | undefined) ?? 0) + 1;
    if (!expected.includes(a.status)) out[`${a.status} e.g.`] ??= a.text.slice(0, 160);
  }
  return out;
}

/**
 * Many clients writing one resource at the same moment, over real HTTP (Promise.all): what each is answered, and
 * what the stored resource is afterwards, must agree.
 */
describe(`Concurrent writes to one resource (${E2E_DB})`, () => {
  let s: TestServer;
  let certificate: string;

  beforeAll(async () => {
    certificate = (await makeKeyPair('concurrency-idp')).certificateB64;
    s = await TestServer.start();
    // One token for all: 50 requests racing for their first token would each verify the client secret.
    await s.token();
  });
  afterAll(() => s?.stop());

  async function created(path: string, body: Record<string, unknown>): Promise<Doc> {
    const res = await s.api('POST', path, body);
    expectStatus(res, 201);
    return res.body;
  }
  const newUsers = (prefix: string, n: number): Promise<string[]> =>
    Promise.all(Array.from({ length: n }, async (_, i) => (await created('/admin/v1/Users', user(`${prefix}.${i}@example.com`))).id as string));
  const newGroup = (displayName: string, extra: Record<string, unknown> = {}): Promise<Doc> => created('/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName, ...extra });
  async function stored(groupId: string): Promise<{ doc: Doc; members: string[] }> {
    const res = await s.api('GET', `/admin/v1/Groups/${groupId}?attributes=displayName,members,meta`);
    expectStatus(res, 200);
    return { doc: res.body, members: sorted(((res.body.members ?? []) as { value: string }[]).map((m) => m.value)) };
  }
  const count = async (sql: string, params: unknown[]) => Number((await dbQuery<{ n: number | string }>(s, sql, params))[0].n);

  describe('PATCH /Groups/{id} without If-Match', () => {
    it('should apply 50 concurrent member additions: all 200, every member stored, each with its own new version', async () => {
      const users = await newUsers('add', 50);
      const group = await newGroup('Fifty Additions');

      const answers = await Promise.all(users.map((id) => s.api('PATCH', `/admin/v1/Groups/${group.id}`, patch({ op: 'add', path: 'members', value: refs(id) }))));

      expect(tally(answers, 200)).toEqual({ 200: 50 });
      const after = await stored(group.id);
      expect(after.members).toEqual(sorted(users));
      expect(await count('SELECT count(*) AS n FROM group_members WHERE group_id = $1', [group.id])).toBe(50);
      const versions = answers.map((a) => versionOf(a.headers.get('etag')));
      expect(versionOf(after.doc.meta.version)).toBeGreaterThan(versionOf(group.meta.version));
      // Each commit is a version of its own, and the last one is what the group is now.
      expect(new Set(versions).size).toBe(50);
      expect(versionOf(after.doc.meta.version)).toBe(Math.max(...versions));
      for (const a of answers) expect(a.body.meta.version).toBe(a.headers.get('etag'));
    });
  });

  describe('PATCH /Groups/{id} with one If-Match', () => {
    it('should let exactly one of 50 PATCHes from the same ETag through, refuse the rest with 412, and store nothing of theirs', async () => {
      const [kept] = await newUsers('kept', 1);
      const candidates = await newUsers('candidate', 25);
      const group = await newGroup('Guarded', { members: refs(kept) });
      const etag = group.meta.version as string;
      // Even requests rename the group, odd ones add a member of their own.
      const changes = Array.from({ length: 50 }, (_, i) => (i % 2 ? { member: candidates[(i - 1) / 2] } : { name: `Guarded ${i}` }));

      const answers = await Promise.all(
        changes.map((c) =>
          s.api(
            'PATCH',
            `/admin/v1/Groups/${group.id}`,
            c.name ? patch({ op: 'replace', path: 'displayName', value: c.name }) : patch({ op: 'add', path: 'members', value: refs(c.member!) }),
            { headers: { 'if-match': etag } },
          ),
        ),
      );

      expect(tally(answers, 200, 412)).toEqual({ 200: 1, 412: 49 });
      for (const a of answers) if (a.status === 412) expectScimError(a, 412);
      const winner = changes[answers.findIndex((a) => a.status === 200)];
      const after = await stored(group.id);
      expect(after.doc.displayName).toBe(winner.name ?? 'Guarded');
      expect(after.members).toEqual(sorted(winner.member ? [kept, winner.member] : [kept]));
      expect(after.doc.meta.version).toBe(`W/"${versionOf(etag) + 1}"`);
    });
  });

  describe('DELETE with one If-Match', () => {
    interface Target {
      path: string;
      /** Checks what the single successful delete removed, and that nothing was removed or versioned twice. */
      verify: () => Promise<void>;
    }

    const targets: [string, () => Promise<Target>][] = [
      [
        'a group',
        async () => {
          const members = await newUsers('deleted-group-member', 2);
          const group = await newGroup('Deleted Concurrently', { members: refs(...members) });
          return {
            path: `/admin/v1/Groups/${group.id}`,
            verify: async () => {
              expect(await count('SELECT count(*) AS n FROM group_members WHERE group_id = $1', [group.id])).toBe(0);
              for (const id of members) expectStatus(await s.api('GET', `/admin/v1/Users/${id}`), 200);
            },
          };
        },
      ],
      [
        'a user',
        async () => {
          const [id] = await newUsers('deleted-user', 1);
          const group = await newGroup('Left By A Deleted User', { members: refs(id) });
          return {
            path: `/admin/v1/Users/${id}`,
            verify: async () => {
              // The group the user left gets one new version, not one per DELETE that was let through.
              const after = await stored(group.id);
              expect(after.members).toEqual([]);
              expect(after.doc.meta.version).toBe(`W/"${versionOf(group.meta.version) + 1}"`);
            },
          };
        },
      ],
      [
        'an identity provider',
        async () => {
          const idp = await created('/admin/v1/IdentityProviders', {
            schemas: [IDP_SCHEMA],
            partnerName: 'Deleted Concurrently',
            enabled: true,
            partnerProviderId: 'https://deleted.concurrency.test',
            idpSsoUrl: 'https://deleted.concurrency.test/sso',
            signingCertificate: certificate,
          });
          const mappedId = idp.jitUserProvAttributes.value as string;
          return {
            path: `/admin/v1/IdentityProviders/${idp.id}`,
            verify: async () => {
              expectStatus(await s.api('GET', `/admin/v1/MappedAttributes/${mappedId}`), 404);
              expect(await count('SELECT count(*) AS n FROM audit_events WHERE event_id = $1 AND resource_id = $2', ['admin.IdentityProvider.delete', idp.id])).toBe(1);
              expect(await count('SELECT count(*) AS n FROM audit_events WHERE event_id = $1 AND resource_id = $2', ['admin.MappedAttribute.delete', mappedId])).toBe(1);
            },
          };
        },
      ],
    ];

    it.each(targets)('should delete %s once when 20 DELETEs carry the same If-Match: one 204, the rest 404 or 412', async (_title, make) => {
      const target = await make();
      const read = await s.api('GET', target.path);
      expectStatus(read, 200);
      const etag = read.headers.get('etag')!;

      const answers = await Promise.all(Array.from({ length: 20 }, () => s.api('DELETE', target.path, undefined, { headers: { 'if-match': etag } })));

      const t = tally(answers, 204, 404, 412);
      expect({ 204: t[204] ?? 0, unexpected: Object.keys(t).filter((k) => k.endsWith('e.g.')) }).toEqual({ 204: 1, unexpected: [] });
      for (const a of answers) if (a.status !== 204) expectScimError(a, a.status);
      expectStatus(await s.api('GET', target.path), 404);
      await target.verify();
    });
  });
});
