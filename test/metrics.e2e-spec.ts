import { createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';
import { makeKeyPair } from './support/certs';
import { TestIdp } from './support/saml-idp';
import { ADMIN_ID, expectStatus, GROUP_SCHEMA, TestServer, user } from './support/server';

/** The value of one series in a Prometheus text exposition, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  let s: TestServer;
  let idpId: string;
  let idp: TestIdp;

  beforeAll(async () => {
    s = await TestServer.start();
    const keys = await makeKeyPair('metrics-idp');
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    idp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, keys);
    const group = await s.api('POST', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'Metered' });
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'Metered IdP',
      partnerProviderId: 'https://idp.samlify.test/metadata',
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: keys.certificateB64,
      settings: { allowUnsolicitedResponses: true, ...groupsFromAssertion([{ idpGroup: 'Meter readers', value: group.body.id }]) },
    }));
  });
  afterAll(() => s?.stop());

  const scrape = async (token?: string | null) => s.raw('GET', '/metrics', { headers: token === null ? {} : { authorization: `Bearer ${token ?? (await s.token())}` } });

  async function acs(nameId: string): Promise<number> {
    const samlResponse = await idp.signedResponse({ NameID: nameId, InResponseTo: undefined }, { firstName: ['Meter'], familyName: ['Reader'], email: [nameId], groups: ['Meter readers'] });
    const res = await fetch(`${s.baseUrl}/fed/v1/sp/sso`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: samlResponse }).toString(),
    });
    await res.text();
    return res.status;
  }

  it('should refuse a scrape without a token, or with a role that may not read the domain settings', async () => {
    expect((await scrape(null)).status).toBe(401);
    expect((await scrape(await s.tokenWithRoles('UserAdministrator'))).status).toBe(403);
    expect((await scrape(await s.tokenWithRoles('Auditor'))).status).toBe(200);
  });

  it('should hold the HTTP, sign-in, JIT, token, pool, SAML queue and event-loop series after a sign-in and a few API calls', async () => {
    const created = await s.api('POST', '/admin/v1/Users', user('metered.user@example.com'));
    expectStatus(created, 201);
    expectStatus(await s.api('GET', `/admin/v1/Users/${created.body.id}`), 200);
    expectStatus(await s.api('GET', '/admin/v1/Users/does-not-exist'), 404);
    expect((await s.raw('GET', '/no/such/route')).status).toBe(404);
    const badToken = await fetch(`${s.baseUrl}/oauth2/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:wrong`).toString('base64')}` },
      body: 'grant_type=client_credentials&scope=urn:opc:idm:__myscopes__',
    });
    expect(badToken.status).toBe(401);
    expect(await acs('first.sign-in@example.com')).toBe(303);
    expect(await acs('first.sign-in@example.com')).toBe(303);

    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = res.text;

    // Requests by route pattern and status: the id in the URL is not a label value, and unknown paths share one.
    expect(sample(m, 'http_request_duration_seconds_count', { method: 'POST', route: '/admin/v1/Users', status: '201' })).toBe(1);
    expect(sample(m, 'http_request_duration_seconds_count', { method: 'GET', route: '/admin/v1/Users/:id', status: '200' })).toBe(1);
    expect(sample(m, 'http_request_duration_seconds_count', { method: 'GET', route: '/admin/v1/Users/:id', status: '404' })).toBe(1);
    expect(sample(m, 'http_request_duration_seconds_count', { method: 'GET', route: '(unmatched)', status: '404' })).toBe(1);
    expect(sample(m, 'http_request_duration_seconds_bucket', { method: 'POST', route: '/admin/v1/Users', status: '201', le: '+Inf' })).toBe(1);
    expect(sample(m, 'http_request_duration_seconds_count', { method: 'POST', route: '/fed/v1/sp/sso', status: '303' })).toBe(2);
    expect(m).not.toContain(created.body.id);
    expect(m).not.toContain('does-not-exist');

    // Sign-ins by IdP and outcome (JIT updates a returning user); the first one joined the mapped group.
    expect(sample(m, 'idd_sso_sign_ins_total', { idp: idpId, outcome: 'created' })).toBe(1);
    expect(sample(m, 'idd_sso_sign_ins_total', { idp: idpId, outcome: 'updated' })).toBe(1);
    expect(sample(m, 'idd_jit_group_changes_total', { idp: idpId, change: 'joined' })).toBe(1);

    // Tokens: the series exist (counted by the token endpoint).
    expect(sample(m, 'idd_oauth_tokens_issued_total')).toBeGreaterThanOrEqual(0);
    expect(m).toContain('# TYPE idd_oauth_token_failures_total counter');

    // Resources read at the scrape: nothing waits on an idle server.
    expect(sample(m, 'idd_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'idd_db_pool_waiting')).toBe(0);
    expect(sample(m, 'idd_saml_validation_queue_depth')).toBe(0);
    expect(sample(m, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(m, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
