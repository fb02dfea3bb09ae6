import { dbQuery, TestServer } from './support/server';

/**
 * The audit rows anonymous senders can make us write (refused sign-ins and refused logout messages) are kept 90
 * days; administrative events are kept whatever their age.
 */
describe('Retention of refused SSO events', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await TestServer.start();
  });
  afterAll(() => s?.stop());

  it('should drop refused sso.login and sso.logout events older than 90 days at the next refusal, and keep the rest', async () => {
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const recent = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const rows: [string, string, string, string][] = [
      ['old-login', 'sso.login', 'failure', old],
      ['old-logout', 'sso.logout', 'failure', old],
      ['old-success', 'sso.logout', 'success', old],
      ['old-admin', 'admin.User.create', 'success', old],
      ['recent-logout', 'sso.logout', 'failure', recent],
    ];
    for (const [id, event, outcome, at] of rows) {
      await dbQuery(s, 'INSERT INTO audit_events (id, timestamp, event_id, outcome, data) VALUES ($1, $2, $3, $4, $5)', [id, at, event, outcome, '{}']);
    }
    // A refused logout message (not a SAML message at all): audited as a failure, which sweeps.
    const res = await s.raw('GET', '/fed/v1/sp/slo?SAMLRequest=not-a-saml-message');
    expect(res.status).toBeGreaterThanOrEqual(400);
    const left = (await dbQuery<{ id: string }>(s, 'SELECT id FROM audit_events WHERE id IN ($1, $2, $3, $4, $5) ORDER BY id', rows.map((r) => r[0]))).map((r) => r.id);
    expect(left).toEqual(['old-admin', 'old-success', 'recent-logout']);
  });
});
