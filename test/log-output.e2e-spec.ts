import { ServerProcess, startServerProcess } from './support/server-process';
import { ADMIN_ID, freePort, freshDatabase } from './support/server';

/** What the server writes to stdout at start-up and per request, at the default level, as text and as JSON. */
describe('Log output', () => {
  const drops: (() => Promise<void>)[] = [];
  const servers: ServerProcess[] = [];

  async function start(env: Record<string, string>): Promise<{ server: ServerProcess; base: string }> {
    const db = await freshDatabase();
    drops.push(db.drop);
    const port = await freePort();
    const server = await startServerProcess(port, { DATABASE_URL: db.url, LOG_LEVEL: 'log', ...env });
    servers.push(server);
    return { server, base: `http://127.0.0.1:${port}` };
  }

  async function stop(server: ServerProcess): Promise<void> {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }

  afterAll(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    for (const drop of drops) await drop();
  });

  it('should start with the URLs and the bootstrap client, without a line per module or route', async () => {
    const { server } = await start({});
    // main logs the URLs right after listen(), which /health answering does not wait for.
    for (let i = 0; i < 50 && !server.stdout().includes('Database:'); i++) await new Promise((r) => setTimeout(r, 100));
    const lines = server.stdout().split('\n').filter((l) => l.trim() !== '');
    expect(lines.filter((l) => /Mapped \{|InstanceLoader|RoutesResolver|RouterExplorer/.test(l))).toEqual([]);
    expect(lines.some((l) => l.includes(`client_id=${ADMIN_ID}`))).toBe(true);
    expect(lines.some((l) => l.includes('Admin API:'))).toBe(true);
    expect(lines.length).toBeLessThan(15);
    await stop(server);
  });

  it('should write JSON lines carrying the correlation id of the request they are about, when LOG_FORMAT=json', async () => {
    const { server, base } = await start({ LOG_FORMAT: 'json' });
    const res = await fetch(`${base}/oauth2/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${ADMIN_ID}:wrong`).toString('base64')}`, 'opc-request-id': 'log-output-1' },
      body: 'grant_type=client_credentials&scope=urn:opc:idm:__myscopes__',
    });
    expect(res.status).toBe(401);
    await stop(server);
    const records = server
      .stdout()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) expect(r).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), message: expect.anything() }));
    // The refusal's warning, and the audit line written after a database transaction: the id follows the request's work.
    const about = records.filter((r) => r.correlationId === 'log-output-1');
    expect(about).toContainEqual(expect.objectContaining({ level: 'warn', context: 'OAuth', message: expect.stringContaining('Token request refused') }));
    expect(about).toContainEqual(expect.objectContaining({ context: 'Audit', message: expect.stringContaining('oauth.token failure') }));
    // Start-up records are about no request.
    expect(records.find((r) => String(r.message).includes('Admin API:'))).not.toHaveProperty('correlationId');
  });
});
