import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeKeyPair } from './support/certs';
import { mappedAttributeBody } from './support/jit-fixture';
import { ADMIN_ID, ADMIN_SECRET, E2E_DB, expectStatus, freePort, freshDatabase, GROUP_SCHEMA } from './support/server';
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
    const tokenRes = await fetch(`${base}/oauth2/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${ADMIN_ID}:${ADMIN_SECRET}`).toString('base64') },
      body: 'grant_type=client_credentials',
    });
    const token = (await tokenRes.json()).access_token as string;
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, headers: r.headers, body: await r.json(), text: '' };
    };
    const keys = await makeKeyPair('two-process-idp');
    const group = await api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Raced' });
    const idp = await api('POST', '/admin/v1/IdentityProviders', {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider'],
      partnerName: 'Two processes',
      enabled: true,
      partnerProviderId: 'https://idp.samlify.test/metadata',
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: keys.certificateB64,
      allowUnsolicitedResponses: true,
      jitUserProvEnabled: true,
      jitUserProvCreateUserEnabled: true,
      jitUserProvAttributeUpdateEnabled: true,
      jitUserProvGroupAssertionAttributeEnabled: true,
      jitUserProvGroupSAMLAttributeName: 'groups',
      jitUserProvGroupMappings: [{ idpGroup: 'Racers', value: group.body.id }],
    });
    expectStatus(idp, 201);
    expectStatus(
      await api('PUT', `/admin/v1/MappedAttributes/${idp.body.jitUserProvAttributes.value}`, mappedAttributeBody()),
      200,
    );

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

    const users = await api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "twin.racer@example.com"')}&attributes=groups`);
    expect(users.body.totalResults).toBe(1);
    expect(users.body.Resources[0].groups.map((g: { value: string }) => g.value)).toEqual([group.body.id]);
    const members = await api('GET', `/admin/v1/Groups/${group.body.id}?attributes=members`);
    expect(members.body.members).toHaveLength(1);
  });
});
