import { Logger } from '@nestjs/common';
import { request } from 'node:http';
import { dbQuery, E2E_DB, freshDatabase, startTestServerOn, TestServer } from './support/server';

/**
 * Brute-force limits of POST /oauth2/v1/token: per client id and per source address, shared through the database,
 * with the legitimate client kept in. Requests are sent from distinct loopback addresses (127.0.0.x) so that one
 * test can play the attacker and the legitimate client.
 */

interface TokenAnswer {
  status: number;
  retryAfter: string | undefined;
  body: { error?: string; error_description?: string; access_token?: string };
}

function token(s: TestServer, clientId: string, secret: string, from = '127.0.0.1'): Promise<TokenAnswer> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }).toString();
  const url = new URL(s.baseUrl + '/oauth2/v1/token');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress: from, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function newClient(s: TestServer): Promise<{ clientId: string; clientSecret: string }> {
  const created = await s.api('POST', '/admin/v1/AdminClients', { name: 'limits', roles: ['UserAdministrator'] });
  if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
  return created.body;
}

async function statuses(n: number, send: (i: number) => Promise<TokenAnswer>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(i)).status);
  return out;
}

const times = <T>(n: number, value: T): T[] => new Array(n).fill(value);

describe('Token endpoint brute-force limits', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await TestServer.start();
  });

  afterAll(async () => {
    await s?.stop();
  });

  it('should lock a client id after 10 failures with 429, Retry-After and an RFC 6749 body, even for the right secret from a new address', async () => {
    const c = await newClient(s);
    expect(await statuses(10, () => token(s, c.clientId, 'wrong', '127.0.0.2'))).toEqual(times(10, 401));
    const locked = await token(s, c.clientId, 'wrong', '127.0.0.2');
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(locked.body.error).toBe('invalid_client');
    expect(locked.body.error_description).toMatch(/Too many failed attempts for this client/);
    expect((await token(s, c.clientId, c.clientSecret, '127.0.0.3')).status).toBe(429);
  });

  it('should keep the legitimate client in from an address it used before while someone else guesses its secret', async () => {
    const c = await newClient(s);
    expect((await token(s, c.clientId, c.clientSecret, '127.0.0.1')).status).toBe(200);
    expect(await statuses(12, () => token(s, c.clientId, 'wrong', '127.0.0.4'))).toEqual([...times(10, 401), 429, 429]);
    expect((await token(s, c.clientId, c.clientSecret, '127.0.0.1')).status).toBe(200);
    // Its success got in past the lock: the lock (someone else's guessing) stays for everyone else.
    expect((await token(s, c.clientId, 'wrong', '127.0.0.4')).status).toBe(429);
  });

  it('should let one guess through per lock period once it has passed, and not count refused requests', async () => {
    const c = await newClient(s);
    await statuses(10, () => token(s, c.clientId, 'wrong', '127.0.0.5'));
    expect(await statuses(5, () => token(s, c.clientId, 'wrong', '127.0.0.5'))).toEqual(times(5, 429));
    await new Promise((r) => setTimeout(r, 1100)); // the first lock is 1 s: refused requests did not extend it
    expect((await token(s, c.clientId, c.clientSecret, '127.0.0.6')).status).toBe(200);
  });

  it('should forget the failures of a client once it authenticates', async () => {
    const c = await newClient(s);
    expect(await statuses(9, () => token(s, c.clientId, 'wrong', '127.0.0.7'))).toEqual(times(9, 401));
    expect((await token(s, c.clientId, c.clientSecret, '127.0.0.7')).status).toBe(200);
    expect(await statuses(9, () => token(s, c.clientId, 'wrong', '127.0.0.7'))).toEqual(times(9, 401));
  });

  it('should lock a source address after 50 failures, whatever client ids it tries', async () => {
    expect(await statuses(50, (i) => token(s, `no-such-client-${i}`, 'wrong', '127.0.0.8'))).toEqual(times(50, 401));
    const locked = await token(s, 'yet-another-client', 'wrong', '127.0.0.8');
    expect(locked.status).toBe(429);
    expect(locked.body.error_description).toMatch(/source address/);
    expect((await token(s, 'yet-another-client', 'wrong', '127.0.0.9')).status).toBe(401);
  });

  it('should log and audit every failure, quoting the client id', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn');
    try {
      const id = 'evil\nid "quoted"';
      expect((await token(s, id, 'wrong', '127.0.0.10')).status).toBe(401);
      const line = warned.mock.calls.map((c) => String(c[0])).find((m) => m.includes('Token request refused'));
      expect(line).toBe(`Token request refused: reason=invalid_credentials client_id=${JSON.stringify(id)} address=127.0.0.10 correlation=${line!.split('correlation=')[1]}`);
      expect(line).not.toContain('\n');
      const events = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'oauth.token' AND outcome = 'failure'");
      const ours = events.map((e) => JSON.parse(e.data)).filter((e) => JSON.parse(e.details).sourceAddress === '127.0.0.10');
      expect(ours).toHaveLength(1);
      expect(ours[0]).toMatchObject({ reason: 'invalid_credentials', actorType: 'Anonymous' });
      expect(JSON.parse(ours[0].details).clientId).toBe(id);
      expect(ours[0].actorId).toBeUndefined();
    } finally {
      warned.mockRestore();
    }
  });

  it('should audit refusals as rate_limited', async () => {
    const events = await dbQuery<{ data: string }>(s, "SELECT data FROM audit_events WHERE event_id = 'oauth.token'");
    const reasons = events.map((e) => JSON.parse(e.data)).filter((e) => JSON.parse(e.details).sourceAddress === '127.0.0.8').map((e) => e.reason);
    expect(reasons.sort()).toEqual([...times(50, 'invalid_credentials'), 'rate_limited']);
  });
});

(E2E_DB === 'postgres' ? describe : describe.skip)('Token endpoint brute-force limits across instances', () => {
  it('should share one budget between two instances on one database', async () => {
    const db = await freshDatabase();
    const a = await startTestServerOn(db.url);
    const b = await startTestServerOn(db.url);
    try {
      const c = await newClient(a);
      // Alternating instances: with counters per process each would allow 10, i.e. 20 in all.
      expect(await statuses(10, (i) => token(i % 2 ? b : a, c.clientId, 'wrong', '127.0.0.11'))).toEqual(times(10, 401));
      expect((await token(a, c.clientId, 'wrong', '127.0.0.11')).status).toBe(429);
      expect((await token(b, c.clientId, 'wrong', '127.0.0.11')).status).toBe(429);
      // Concurrent guesses on both instances cannot all slip past the check: counting happens before the KDF.
      const d = await newClient(a);
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => token(i % 2 ? b : a, d.clientId, 'wrong', '127.0.0.12')));
      expect(burst.filter((r) => r.status === 401)).toHaveLength(10);
      expect(burst.filter((r) => r.status === 429)).toHaveLength(10);
    } finally {
      await a.stop();
      await b.stop();
      await db.drop();
    }
  });
});
