import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '@app/config';
import { clientCredentialsToken, PATCH_OP_SCHEMA_ID } from '@app/fixtures';
import { createApp } from '../../apps/admin-api/src/create-app';

export const ADMIN_ID = 'e2e-admin';
export const ADMIN_SECRET = 'e2e-admin-secret-0123456789';
export const PG_ADMIN_URL = process.env.E2E_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type Dialect = 'sqlite' | 'postgres';
export const E2E_DB: Dialect = process.env.E2E_DB === 'postgres' ? 'postgres' : 'sqlite';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A fresh, empty database of the dialect under test: an SQLite file, or a new PostgreSQL database. */
export async function freshDatabase(dialect: Dialect = E2E_DB): Promise<{ url: string; drop: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'idd-e2e-'));
    return { url: `sqlite:${join(dir, 'identity.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `e2e_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A real server on loopback over a real database, with helpers to call it. */
export class TestServer {
  private tokenCache = new Map<string, string>();

  private constructor(
    readonly app: NestExpressApplication,
    readonly baseUrl: string,
    readonly databaseUrl: string,
    private readonly dropDb: () => Promise<void>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<TestServer> {
    const db = await freshDatabase();
    const port = await freePort();
    const config = loadConfig({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      ADMIN_CLIENT_ID: ADMIN_ID,
      ADMIN_CLIENT_SECRET: ADMIN_SECRET,
      LOG_LEVEL: 'error',
      ...env,
    });
    const app = await createApp(config, { logger: ['fatal', 'error'] });
    await app.listen(port, '127.0.0.1');
    return new TestServer(app, `http://127.0.0.1:${port}`, db.url, db.drop);
  }

  get publicUrl(): string {
    return this.baseUrl.replace('127.0.0.1', 'localhost');
  }

  async stop(): Promise<void> {
    await this.app.close();
    await this.dropDb();
  }

  async raw(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<ApiResponse> {
    const res = await fetch(this.baseUrl + path, { method, headers: init.headers, body: init.body });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, headers: res.headers, body, text };
  }

  /** Client credentials for the bootstrap administrator (or any client). */
  async token(clientId = ADMIN_ID, secret = ADMIN_SECRET): Promise<string> {
    const cached = this.tokenCache.get(clientId);
    if (cached) return cached;
    const token = await clientCredentialsToken(this.baseUrl, clientId, secret);
    this.tokenCache.set(clientId, token);
    return token;
  }

  /** A token for a new client holding exactly the given roles. */
  async tokenWithRoles(...roles: string[]): Promise<string> {
    const created = await this.api('POST', '/admin/v1/AdminClients', { name: `client ${roles.join('+')}`, roles });
    if (created.status !== 201) throw new Error(`client creation failed: ${created.status} ${created.text}`);
    return this.token(created.body.clientId, created.body.clientSecret);
  }

  /** JSON call to the API with the administrator token unless another is given. */
  async api<T = any>(method: string, path: string, body?: unknown, opts: { token?: string | null; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const token = opts.token === undefined ? await this.token() : opts.token;
    const headers: Record<string, string> = { accept: 'application/scim+json', ...(opts.headers ?? {}) };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] ??= 'application/scim+json';
    return this.raw(method, path, { headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  }
}

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export { GROUP_SCHEMA_ID as GROUP_SCHEMA, PATCH_OP_SCHEMA_ID as PATCH_SCHEMA } from '@app/fixtures';
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * A user body IDCS would accept: userName, a name and the primary email every user needs (IDCS refuses a user
 * without one, error.identity.user.primaryEmailNotSpecified). `extra` replaces any of them, emails included.
 */
export function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [USER_SCHEMA], userName, name: { givenName: 'Test', familyName: 'User' }, emails: [{ value: userName.includes('@') ? userName : `${userName}@example.com`, type: 'work', primary: true }], ...extra };
}

export function patch(...ops: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: [PATCH_OP_SCHEMA_ID], Operations: ops };
}

/** Asserts a SCIM error envelope with the given status and scimType. */
export function expectScimError(res: ApiResponse, status: number, scimType?: string): void {
  if (res.status !== status || (scimType && res.body?.scimType !== scimType)) {
    throw new Error(`expected ${status}${scimType ? ' ' + scimType : ''}, got ${res.status}: ${res.text}`);
  }
  expect(res.body.schemas).toContain(ERROR_SCHEMA);
  expect(res.body.status).toBe(String(status));
  expect(typeof res.body.detail).toBe('string');
  expect(res.body.detail.length).toBeGreaterThan(10);
  // Nothing RFC 7644 §3.12 does not define, bar extensions `schemas` lists: strict SCIM clients refuse unknown keys.
  // (Oracle's `code`/`message` go only to Oracle's SDKs: test/scim-strict.e2e-spec.ts.)
  expect(Object.keys(res.body).filter((k) => !['schemas', 'status', 'scimType', 'detail', ...res.body.schemas.slice(1)].includes(k))).toEqual([]);
}

/** Asserts the status, showing the body when it differs (the detail usually says why). */
export function expectStatus(res: ApiResponse, status: number): void {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 2000)}`);
}

/**
 * Rows of a read-only SQL query against a test server's own database, to check what was stored (hashes, absent
 * plaintext). Placeholders are written $1, $2, … for both dialects.
 */
export async function dbQuery<T = Record<string, unknown>>(s: TestServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const { DataSource } = await import('typeorm');
  const ds = s.app.get(DataSource);
  return ds.query(ds.options.type === 'postgres' ? sql : sql.replace(/\$\d+/g, '?'), params);
}

/**
 * A real server on an existing database: a second instance beside another, or the same one after a restart
 * (`TestServer.start` always makes a fresh database). stop() closes the server but does not drop the
 * database; whoever created it (e.g. with `freshDatabase`) drops it.
 */
export async function startTestServerOn(databaseUrl: string, env: Record<string, string> = {}): Promise<TestServer> {
  const port = await freePort();
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ADMIN_CLIENT_ID: ADMIN_ID,
    ADMIN_CLIENT_SECRET: ADMIN_SECRET,
    LOG_LEVEL: 'error',
    ...env,
  });
  const app = await createApp(config, { logger: ['fatal', 'error'] });
  await app.listen(port, '127.0.0.1');
  // The constructor is private to steer tests towards start(); this helper is the other way in, and keeps the database.
  const construct = TestServer as unknown as new (app: NestExpressApplication, baseUrl: string, databaseUrl: string, dropDb: () => Promise<void>) => TestServer;
  return new construct(app, `http://127.0.0.1:${port}`, databaseUrl, async () => undefined);
}
