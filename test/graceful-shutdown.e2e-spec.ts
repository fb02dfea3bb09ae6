import { clientCredentialsToken } from '@app/fixtures';
import { ServerProcess, startServerProcess } from './support/server-process';
import { ADMIN_ID, ADMIN_SECRET, freePort, freshDatabase, user } from './support/server';

describe('Graceful shutdown on SIGTERM', () => {
  let drop: () => Promise<void>;
  let databaseUrl: string;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    ({ url: databaseUrl, drop } = await freshDatabase());
  });
  afterAll(async () => {
    for (const p of servers) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await drop?.();
  });

  it('should answer every request in flight, write what they wrote, refuse new ones and exit 0', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = await startServerProcess(port, { DATABASE_URL: databaseUrl });
    servers.push(server);
    const token = await clientCredentialsToken(base, ADMIN_ID, ADMIN_SECRET);

    // Each user carries a password: hashing it (scrypt) keeps each request busy for a while after it arrived.
    const names = Array.from({ length: 20 }, (_, i) => `in.flight.${i}@example.com`);
    const inFlight = names.map((n) =>
      fetch(`${base}/admin/v1/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(user(n, { password: 'Correct-Horse-Battery-9' })),
      }).then(async (res) => ({ status: res.status, body: await res.text(), at: Date.now() })),
    );
    // Signalled once the requests are sent and before they can all have been answered.
    await new Promise((r) => setTimeout(r, 150));
    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(names.map(() => 201));
    // Otherwise the signal came too late to prove anything.
    expect(results.filter((r) => r.at > signalledAt).length).toBeGreaterThan(0);

    // Refused once the server stopped listening (connection refused), whether or not it has exited yet.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    expect(await server.exited).toBe(0);

    // What the answered requests wrote is there when the server starts again on the same database.
    const again = await startServerProcess(port, { DATABASE_URL: databaseUrl });
    servers.push(again);
    const t2 = await clientCredentialsToken(base, ADMIN_ID, ADMIN_SECRET);
    const list = await (await fetch(`${base}/admin/v1/Users?filter=${encodeURIComponent('userName sw "in.flight."')}&count=100&attributes=userName`, { headers: { authorization: `Bearer ${t2}` } })).json();
    expect((list.Resources as { userName: string }[]).map((u) => u.userName).sort()).toEqual([...names].sort());
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
