import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminApi, clientCredentialsToken, createGroup, createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';
import { makeKeyPair } from './support/certs';
import { ADMIN_ID, ADMIN_SECRET, E2E_DB, freePort, freshDatabase } from './support/server';
import { TestIdp } from './support/saml-idp';

const MAIN = join(__dirname, '..', 'dist', 'apps', 'admin-api', 'src', 'main.js');

/** One production server process, as `npm run start:prod` runs it. */
async function startProcess(port: number, env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`server on port ${port} did not start`);
}

/** Simultaneous first sign-ins of one new user, spread over two server processes sharing one PostgreSQL database. */
(E2E_DB === 'postgres' ? describe : describe.skip)('JIT across two server processes on PostgreSQL', () => {
  const procs: ChildProcess[] = [];
  let drop: () => Promise<void>;
  let ports: number[];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const db = await freshDatabase('postgres');
    drop = db.drop;
    ports = [await freePort(), await freePort()];
    // Behind one load balancer both instances share PUBLIC_URL, so both accept responses addressed to it.
    const env = { DATABASE_URL: db.url, PUBLIC_URL: `http://localhost:${ports[0]}`, ADMIN_CLIENT_ID: ADMIN_ID, ADMIN_CLIENT_SECRET: ADMIN_SECRET };
    procs.push(await startProcess(ports[0], env));
    procs.push(await startProcess(ports[1], env));
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await drop?.();
  });

  it('should create exactly one user with consistent memberships and answer no request with a 5xx', async () => {
    const base = `http://127.0.0.1:${ports[0]}`;
    const admin = adminApi(base, await clientCredentialsToken(base, ADMIN_ID, ADMIN_SECRET));
    const keys = await makeKeyPair('two-process-idp');
    const groupId = await createGroup(admin, 'Raced');
    await createJitIdentityProvider(admin, {
      partnerName: 'Two processes',
      partnerProviderId: 'https://idp.samlify.test/metadata',
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: keys.certificateB64,
      settings: { allowUnsolicitedResponses: true, ...groupsFromAssertion([{ idpGroup: 'Racers', value: groupId }]) },
    });

    const metadata = await (await fetch(`${base}/fed/v1/metadata`)).text();
    const publicUrl = `http://localhost:${ports[0]}`;
    const testIdp = new TestIdp(metadata, { entityId: `${publicUrl}/fed`, acsUrl: `${publicUrl}/fed/v1/sp/sso` }, keys);
    const attrs = { firstName: ['Twin'], familyName: ['Racer'], email: ['twin.racer@example.com'], groups: ['Racers'] };
    const responses = await Promise.all(Array.from({ length: 10 }, () => testIdp.signedResponse({ NameID: 'twin.racer@example.com', InResponseTo: undefined }, attrs)));
    const statuses = await Promise.all(
      responses.map(async (r, i) => {
        const res = await fetch(`http://127.0.0.1:${ports[i % 2]}/fed/v1/sp/sso`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ SAMLResponse: r }).toString(),
        });
        await res.text();
        return res.status;
      }),
    );
    expect(statuses).toEqual(statuses.map(() => 303));

    const users = await admin.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "twin.racer@example.com"')}&attributes=groups`);
    expect(users.body.totalResults).toBe(1);
    expect(users.body.Resources[0].groups.map((g: { value: string }) => g.value)).toEqual([groupId]);
    const members = await admin.api('GET', `/admin/v1/Groups/${groupId}?attributes=members`);
    expect(members.body.members).toHaveLength(1);
  });
});
