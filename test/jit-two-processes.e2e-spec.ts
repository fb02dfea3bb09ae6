import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adminApi, clientCredentialsToken, createGroup, createJitIdentityProvider, groupsFromAssertion, mappedAttributeBody, TUTORIAL_MAPPINGS } from '@app/fixtures';
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

  it("should judge the next sign-in on either instance by an administrator's change made through the other", async () => {
    const bases = ports.map((p) => `http://127.0.0.1:${p}`);
    const admins = await Promise.all(bases.map(async (b) => adminApi(b, await clientCredentialsToken(b, ADMIN_ID, ADMIN_SECRET))));
    const keys = await makeKeyPair('config-change-idp');
    const { idpId, mappedAttributeId } = await createJitIdentityProvider(admins[0], {
      partnerName: 'Changed on the other instance',
      partnerProviderId: 'https://changed.idp.test/metadata',
      idpSsoUrl: 'https://changed.idp.test/sso',
      signingCertificate: keys.certificateB64,
      settings: { allowUnsolicitedResponses: true },
    });
    const metadata = await (await fetch(`${bases[0]}/fed/v1/metadata`)).text();
    const publicUrl = `http://localhost:${ports[0]}`;
    const testIdp = new TestIdp(metadata, { entityId: `${publicUrl}/fed`, acsUrl: `${publicUrl}/fed/v1/sp/sso` }, keys, 'https://changed.idp.test/metadata');
    const signIn = async (instance: number, title: string) => {
      const response = await testIdp.signedResponse({ NameID: 'changed.user@example.com', InResponseTo: undefined }, { firstName: ['Changed'], familyName: ['User'], email: ['changed.user@example.com'], title: [title] });
      const res = await fetch(`${bases[instance]}/fed/v1/sp/sso`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: response }).toString() });
      await res.text();
      return res.status;
    };
    const titleOf = async () => (await admins[0].api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "changed.user@example.com"')}`)).body.Resources[0]?.title;

    // Both instances have judged a sign-in by this IdP (and keep its configuration).
    expect([await signIn(0, 'First'), await signIn(1, 'First')]).toEqual([303, 303]);
    expect(await titleOf()).toBeUndefined();

    // A new mapping, written through instance 1, is applied by instance 0 at its next sign-in.
    const mappings = [...TUTORIAL_MAPPINGS, { idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.title)' }];
    expect((await admins[1].api('PUT', `/admin/v1/MappedAttributes/${mappedAttributeId}`, mappedAttributeBody(mappings))).status).toBe(200);
    expect(await signIn(0, 'Mapped')).toBe(303);
    expect(await titleOf()).toBe('Mapped');

    // Disabled through instance 0: instance 1 refuses at once; enabled through instance 1: instance 0 signs in again.
    const enabled = (value: boolean) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'enabled', value }] });
    expect((await admins[0].api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, enabled(false))).status).toBe(200);
    expect(await signIn(1, 'Refused')).not.toBe(303);
    expect((await admins[1].api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, enabled(true))).status).toBe(200);
    expect(await signIn(0, 'Again')).toBe(303);
    expect(await titleOf()).toBe('Again');
  });
});
