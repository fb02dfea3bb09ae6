/**
 * `npm run bench:jit-impact`: the JIT change-impact report (POST /admin/v1/IdentityProviders/{id}/jitImpact) over
 * BENCH_USERS users (100,000) whose last sign-in inputs are stored, for a Merge → Overwrite switch that affects every
 * one of them: wall time of the report and peak RSS of the server process. Targets: under 30 s and under 300 MB.
 * On SQLite and PostgreSQL (BENCH_DIALECTS).
 *
 * Users are seeded in SQL from the row the server itself stored for one user created through the API (so the
 * documents are what UsersService writes), each a member of a group the IdP does not map, with stored inputs asserting
 * a mapped group.
 */
import { randomUUID } from 'node:crypto';
import { createJitIdentityProvider, groupsFromAssertion } from '../libs/fixtures/src';
import { adminApi } from '../libs/fixtures/src/admin-api';
import { makeKeyPair } from '../test/support/certs';
import { currentCommit, Dialect, freshDatabase, getToken, insertRows, machineInfo, round, RssSampler, Server, table, writeResults } from './support';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const TARGET_SECONDS = 30;
const TARGET_RSS_MB = 300;
const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Result {
  dialect: Dialect;
  users: number;
  usersWithInputs: number;
  affectedUsers: number;
  reportSeconds: number;
  rssPeakMb: number;
  rssBeforeMb: number;
  seedSeconds: number;
}

async function benchDialect(dialect: Dialect): Promise<Result> {
  const db = await freshDatabase(dialect);
  const server = await Server.start(db.url);
  try {
    const token = await getToken(server);
    const api = adminApi(server.baseUrl, token);
    const groupIds: Record<string, string> = {};
    for (const displayName of ['Bench Admins', 'Bench Manual']) {
      const res = await api.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName });
      if (res.status !== 201) throw new Error(`group: ${res.status} ${res.text}`);
      groupIds[displayName] = res.body.id;
    }
    const { idpId } = await createJitIdentityProvider(api, {
      partnerName: 'Bench IdP',
      partnerProviderId: 'https://bench.idp.test/metadata',
      idpSsoUrl: 'https://bench.idp.test/sso',
      signingCertificate: (await makeKeyPair('bench-impact-idp')).certificateB64,
      settings: { ...groupsFromAssertion([{ idpGroup: 'Admins', value: groupIds['Bench Admins'] }]), jitUserProvGroupAssignmentMethod: 'Merge' },
    });
    const template = await api.api('POST', '/admin/v1/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'template@bench.test',
      name: { givenName: 'Tem', familyName: 'Plate' },
      emails: [{ value: 'template@bench.test', type: 'work', primary: true }],
    });
    if (template.status !== 201) throw new Error(`user: ${template.status} ${template.text}`);
    const [row] = await db.query<Record<string, unknown>>('SELECT * FROM users WHERE id = ?', [template.body.id]);
    const [valueRow] = await db.query<Record<string, unknown>>('SELECT * FROM user_attribute_values WHERE user_id = ?', [template.body.id]);

    const seedStart = Date.now();
    await db.query(dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN');
    const now = new Date().toISOString();
    const batch = 5_000;
    for (let start = 0; start < USERS; start += batch) {
      const users: Record<string, unknown>[] = [];
      const values: Record<string, unknown>[] = [];
      const members: Record<string, unknown>[] = [];
      const inputs: Record<string, unknown>[] = [];
      for (let i = start; i < Math.min(USERS, start + batch); i++) {
        const id = randomUUID().replace(/-/g, '');
        const userName = `user${i}@bench.test`;
        const doc = JSON.parse(String(row.data));
        doc.userName = userName;
        doc.emails[0].value = userName;
        users.push({ ...row, id, user_name: userName, user_name_lower: userName, data: JSON.stringify(doc), created: now, last_modified: now });
        const v = { ...valueRow, user_id: id, value: userName, value_lower: userName };
        delete (v as Record<string, unknown>).id;
        values.push(v);
        // Granted by this IdP's JIT: Overwrite removes only memberships JIT granted (attribute ownership, issue 16).
        members.push({ group_id: groupIds['Bench Manual'], member_id: id, created: now, granted_by_idp: idpId });
        inputs.push({ idp_id: idpId, user_id: id, inputs: JSON.stringify({ nameId: userName, issuer: 'https://bench.idp.test/metadata', attributes: { firstName: ['Tem'], familyName: ['Plate'], email: [userName], groups: ['Admins'] } }), updated: now });
      }
      await insertRows(db, dialect, 'users', Object.keys(row) as never[], users as never[]);
      await insertRows(db, dialect, 'user_attribute_values', Object.keys(values[0]) as never[], values as never[]);
      await insertRows(db, dialect, 'group_members', ['group_id', 'member_id', 'created', 'granted_by_idp'] as never[], members as never[]);
      await insertRows(db, dialect, 'jit_sign_in_inputs', ['idp_id', 'user_id', 'inputs', 'updated'] as never[], inputs as never[]);
    }
    await db.query('COMMIT');
    if (dialect === 'postgres') await db.query('ANALYZE');
    const seedSeconds = round((Date.now() - seedStart) / 1000, 1);

    const rss = new RssSampler(server);
    const rssBeforeMb = round(rss.sample(), 0);
    const started = Date.now();
    const report = await api.api('POST', `/admin/v1/IdentityProviders/${idpId}/jitImpact?count=50`, {
      identityProvider: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'jitUserProvGroupAssignmentMethod', value: 'Overwrite' }] },
    });
    const reportSeconds = round((Date.now() - started) / 1000, 2);
    rss.stop();
    if (report.status !== 200) throw new Error(`jitImpact: ${report.status} ${report.text}`);
    if (report.body.affectedUsers !== USERS) throw new Error(`expected ${USERS} affected users, the report says ${report.body.affectedUsers}`);
    return { dialect, users: USERS, usersWithInputs: report.body.usersWithInputs, affectedUsers: report.body.affectedUsers, reportSeconds, rssPeakMb: round(rss.peak, 0), rssBeforeMb, seedSeconds };
  } finally {
    await server.stop();
    await db.close();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const began = Date.now();
  const results: Result[] = [];
  for (const dialect of DIALECTS) {
    console.log(`\n== ${dialect}: seeding ${USERS} users with stored sign-in inputs…`);
    results.push(await benchDialect(dialect));
  }
  console.log(
    '\n' +
      table(
        ['dialect', 'users', 'affected', 'report s', `target < ${TARGET_SECONDS} s`, 'RSS peak MB', `target < ${TARGET_RSS_MB} MB`, 'RSS before MB', 'seed s'],
        results.map((r) => [r.dialect, r.users, r.affectedUsers, r.reportSeconds, r.reportSeconds < TARGET_SECONDS ? 'met' : 'MISSED', r.rssPeakMb, r.rssPeakMb < TARGET_RSS_MB ? 'met' : 'MISSED', r.rssBeforeMb, r.seedSeconds]),
      ),
  );
  writeResults('jit-impact', new Date().toISOString().slice(0, 10), { benchSeconds: round((Date.now() - began) / 1000, 0), commit: currentCommit(), machine: machineInfo(), results } as never, ['BENCH_USERS', 'BENCH_DIALECTS', 'BENCH_SERVER_MAIN']);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
