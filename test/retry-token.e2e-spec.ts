import { randomUUID } from 'node:crypto';
import { createServer, connect, Server, Socket } from 'node:net';
import * as common from 'oci-common';
import { IdentityDomainsClient, models } from 'oci-identitydomains';
import { IDENTITY_PROVIDER_SCHEMA_ID } from '@app/fixtures';
import { principalScope, requestDigest, RETRY_TOKEN_TTL_MS, RetryTokens } from '@app/idempotency';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { ociClient, ociError } from './support/oci-sdk';
import {
  ADMIN_ID,
  ApiResponse,
  dbQuery,
  E2E_DB,
  expectScimError,
  expectStatus,
  freePort,
  freshDatabase,
  GROUP_SCHEMA,
  patch,
  PATCH_SCHEMA,
  startTestServerOn,
  TestServer,
  user,
  USER_SCHEMA,
} from './support/server';
import { ServerProcess, startServerProcess } from './support/server-process';

/**
 * `opc-retry-token` (IDCS: an idempotency key valid for 24 hours). Oracle's SDKs send one with every create and,
 * when retries are configured, send the same request again after a network error: the retry must get the first
 * answer, not a 409 for the user it created itself. Each case checks what was stored (one user, one group) as well
 * as what was answered.
 */

const tokenOf = () => randomUUID();

function newUser(userName: string): models.User {
  return {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: 'Retry', familyName: userName.split('@')[0] },
    emails: [{ value: userName, type: models.UserEmails.Type.Work, primary: true }],
  };
}

async function usersNamed(s: TestServer, userName: string): Promise<{ id: string }[]> {
  const res = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  expectStatus(res, 200);
  return res.body.Resources;
}

async function retryTokenRows(s: TestServer): Promise<number> {
  const [row] = await dbQuery<{ n: number | string }>(s, 'SELECT COUNT(*) AS n FROM retry_tokens');
  return Number(row.n);
}

/** The parts of an answer a retry must get again. */
function answerOf(res: ApiResponse) {
  return { status: res.status, location: res.headers.get('location'), etag: res.headers.get('etag'), contentType: res.headers.get('content-type'), text: res.text };
}

/**
 * A TCP proxy in front of the server that lets requests through but loses the answer of the first `lose`
 * connections: once the server starts answering, both sides are cut. The server has done the work; the client
 * sees a network error, as behind a load balancer that drops a connection.
 */
async function answerLosingProxy(port: number, lose: number): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const lossy = connections++ < lose;
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream);
    if (lossy) {
      upstream.once('data', () => {
        client.resetAndDestroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('opc-retry-token (RetryTokenInterceptor)', () => {
  let s: TestServer;
  let client: IdentityDomainsClient;
  let authorization: string;
  let cert: TestKeyPair;

  beforeAll(async () => {
    // The SDK's retrier prints a warning for every error answer and retry; the tests assert those.
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    s = await TestServer.start();
    client = ociClient(s);
    authorization = `Bearer ${await s.token()}`;
    cert = await makeKeyPair('retry-idp');
  });
  afterAll(async () => {
    client?.close();
    await s?.stop();
    jest.restoreAllMocks();
  });

  const withToken = (token: string) => ({ headers: { 'opc-retry-token': token } });

  describe('createUser through the OCI SDK', () => {
    it('should answer the SDK\'s own retry after a lost answer with the first result, and create one user', async () => {
      const proxy = await answerLosingProxy(Number(new URL(s.baseUrl).port), 1);
      const retrying = ociClient(s);
      retrying.endpoint = proxy.url;
      try {
        // No opcRetryToken given: the SDK generates one and sends it again with each attempt.
        const created = await retrying.createUser({
          authorization,
          user: newUser('lost.answer@example.com'),
          retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(3), delayStrategy: new common.FixedTimeDelayStrategy(0) },
        });
        expect(proxy.connections()).toBe(2);
        const stored = await usersNamed(s, 'lost.answer@example.com');
        expect(stored.map((u) => u.id)).toEqual([created.user.id]);
        expect(created.etag).toBe('W/"1"');
        // Control: the same create under another token is a new request, refused as a duplicate.
        const again = await ociError(client.createUser({ authorization, user: newUser('lost.answer@example.com'), opcRetryToken: tokenOf() }));
        expect(again.statusCode).toBe(409);
      } finally {
        retrying.close();
        await proxy.close();
      }
    });

    it('should return the first answer (body and ETag as they were) to a retry, even after the user changed', async () => {
      const opcRetryToken = tokenOf();
      const first = await client.createUser({ authorization, user: newUser('sdk.retried@example.com'), opcRetryToken });
      expect((await client.patchUser({ authorization, userId: first.user.id!, patchOp: { schemas: [PATCH_SCHEMA], operations: [{ op: models.Operations.Op.Replace, path: 'displayName', value: 'Changed' }] } })).etag).toBe('W/"2"');

      const retried = await client.createUser({ authorization, user: newUser('sdk.retried@example.com'), opcRetryToken });
      expect(retried.user).toEqual(first.user);
      expect(retried.etag).toBe(first.etag);
      expect((await usersNamed(s, 'sdk.retried@example.com')).length).toBe(1);
    });

    it('should refuse another user under a token already used, with a 409 the SDK surfaces, and create nothing', async () => {
      const opcRetryToken = tokenOf();
      await client.createUser({ authorization, user: newUser('sdk.first@example.com'), opcRetryToken });
      const e = await ociError(client.createUser({ authorization, user: newUser('sdk.second@example.com'), opcRetryToken }));
      expect(e.statusCode).toBe(409);
      expect(e.message).toMatch(/opc-retry-token was used in the last 24 hours for another request/);
      expect(await usersNamed(s, 'sdk.second@example.com')).toEqual([]);
    });
  });

  describe('the kept answer', () => {
    it('should replay status, Location, ETag, Content-Type and body byte for byte', async () => {
      const token = tokenOf();
      const first = await s.api('POST', '/admin/v1/Users', user('raw.replay'), withToken(token));
      expectStatus(first, 201);
      const retried = await s.api('POST', '/admin/v1/Users', user('raw.replay'), withToken(token));
      expect(answerOf(retried)).toEqual(answerOf(first));
      expect(answerOf(first)).toMatchObject({ status: 201, etag: 'W/"1"', contentType: 'application/scim+json; charset=utf-8' });
      expect(first.headers.get('location')).toBe(first.body.meta.location);
      // Each answer is its own request all the same.
      expect(retried.headers.get('opc-request-id')).not.toBe(first.headers.get('opc-request-id'));
    });

    it('should replay the same body with its keys in another order', async () => {
      const token = tokenOf();
      const body = user('reordered');
      const first = await s.api('POST', '/admin/v1/Users', body, withToken(token));
      expectStatus(first, 201);
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      expect((await s.api('POST', '/admin/v1/Users', reordered, withToken(token))).text).toBe(first.text);
    });

    it.each([
      ['another body', 'first.of.body', '/admin/v1/Users', user('other.body')],
      ['another query (it shapes the answer)', 'first.of.query', '/admin/v1/Users?attributes=userName', user('first.of.query')],
      ['another resource type', 'first.of.type', '/admin/v1/Groups', { schemas: [GROUP_SCHEMA], displayName: 'first.of.type' }],
    ])('should refuse %s under a used token (409) and write nothing', async (_case, first, path, body) => {
      const token = tokenOf();
      expectStatus(await s.api('POST', '/admin/v1/Users', user(first), withToken(token)), 201);
      const refused = await s.api('POST', path, body, withToken(token));
      expectScimError(refused, 409);
      expect(refused.body.detail).toMatch(/another request \(another method, URL or body\)/);
      expect(await usersNamed(s, 'other.body')).toEqual([]);
      const groups = await s.api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('displayName eq "first.of.type"')}`);
      expect(groups.body.totalResults).toBe(0);
    });

    it('should keep the answers of groups and identity providers too: one group, one identity provider and one mapping', async () => {
      const groupToken = tokenOf();
      const group = { schemas: [GROUP_SCHEMA], displayName: 'Retried group' };
      const g1 = await s.api('POST', '/admin/v1/Groups', group, withToken(groupToken));
      expectStatus(g1, 201);
      expect((await s.api('POST', '/admin/v1/Groups', group, withToken(groupToken))).text).toBe(g1.text);
      const groups = await s.api('GET', `/admin/v1/Groups?filter=${encodeURIComponent('displayName eq "Retried group"')}`);
      expect(groups.body.totalResults).toBe(1);

      const idpToken = tokenOf();
      const idp = {
        schemas: [IDENTITY_PROVIDER_SCHEMA_ID],
        partnerName: 'Retried IdP',
        type: 'SAML',
        enabled: true,
        partnerProviderId: 'https://idp.example.com/retried',
        idpSsoUrl: 'https://idp.example.com/retried/sso',
        signingCertificate: cert.certificateB64,
        nameIdFormat: 'saml-emailaddress',
      };
      const i1 = await s.api('POST', '/admin/v1/IdentityProviders', idp, withToken(idpToken));
      expectStatus(i1, 201);
      const i2 = await s.api('POST', '/admin/v1/IdentityProviders', idp, withToken(idpToken));
      expect(i2.text).toBe(i1.text);
      const idps = await s.api('GET', `/admin/v1/IdentityProviders?filter=${encodeURIComponent('partnerName eq "Retried IdP"')}`);
      expect(idps.body.totalResults).toBe(1);
      const mappings = await dbQuery(s, 'SELECT id FROM mapped_attributes WHERE ref_resource_id = $1', [i1.body.id]);
      expect(mappings).toHaveLength(1);
    });
  });

  describe('failures', () => {
    it('should keep no failed answer: the same request under the same token runs again once the cause is gone', async () => {
      const token = tokenOf();
      const blocker = await s.api('POST', '/admin/v1/Users', user('taken.for.now'));
      expectStatus(blocker, 201);
      expectScimError(await s.api('POST', '/admin/v1/Users', user('taken.for.now'), withToken(token)), 409, 'uniqueness');
      expectStatus(await s.api('DELETE', `/admin/v1/Users/${blocker.body.id}`), 204);
      const created = await s.api('POST', '/admin/v1/Users', user('taken.for.now'), withToken(token));
      expectStatus(created, 201);
      expect(created.body.id).not.toBe(blocker.body.id);
    });

    it.each([
      ['empty', ''],
      ['65 characters long', 'a'.repeat(65)],
      ['holding a space', 'my token'],
      ['holding a tab', 'my\ttoken'],
      ['not ASCII', 'jeton-\u00e9'],
    ])('should refuse a token %s with 400 invalidValue and create nothing', async (_case, token) => {
      const res = await s.api('POST', '/admin/v1/Users', user('bad.token'), withToken(token));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/^The opc-retry-token header must be 1 to 64 printable ASCII characters without spaces/);
      expect(await usersNamed(s, 'bad.token')).toEqual([]);
    });

    it('should accept a 64-character token', async () => {
      const token = 'T'.repeat(60) + '-64!';
      expectStatus(await s.api('POST', '/admin/v1/Users', user('long.token'), withToken(token)), 201);
      expectStatus(await s.api('POST', '/admin/v1/Users', user('long.token'), withToken(token)), 201);
    });

    it('should ignore the header on reads and updates, which Oracle\'s SDKs send it with too', async () => {
      const bad = withToken('not a valid token');
      expectStatus(await s.api('GET', '/admin/v1/Users?count=1', undefined, bad), 200);
      const u = await s.api('POST', '/admin/v1/Users', user('updated.with.token'));
      expectStatus(await s.api('PATCH', `/admin/v1/Users/${u.body.id}`, patch({ op: 'replace', path: 'displayName', value: 'Once' }), bad), 200);
      expectStatus(await s.api('POST', '/admin/v1/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], count: 1 }, bad), 200);
    });
  });

  describe('scope', () => {
    it('should keep one principal\'s token apart from the same token of another principal', async () => {
      const token = tokenOf();
      const other = await s.tokenWithRoles('UserAdministrator');
      const mine = await s.api('POST', '/admin/v1/Users', user('scoped.mine'), withToken(token));
      expectStatus(mine, 201);
      // The same request under the same token from another client is not a retry of mine: it runs, and the user exists.
      expectScimError(await s.api('POST', '/admin/v1/Users', user('scoped.mine'), { token: other, ...withToken(token) }), 409, 'uniqueness');
      // For that client the token is still unused (its failure was not kept): another request under it creates.
      expectStatus(await s.api('POST', '/admin/v1/Users', user('scoped.theirs'), { token: other, ...withToken(token) }), 201);
      expect((await s.api('POST', '/admin/v1/Users', user('scoped.mine'), withToken(token))).text).toBe(mine.text);
    });
  });

  describe('concurrency', () => {
    it('should create one user for identical requests sent at the same time, and give each the same answer', async () => {
      const token = tokenOf();
      const answers = await Promise.all(Array.from({ length: 6 }, () => s.api('POST', '/admin/v1/Users', user('sent.six.times'), withToken(token))));
      for (const a of answers) expectStatus(a, 201);
      expect(new Set(answers.map((a) => a.text)).size).toBe(1);
      expect((await usersNamed(s, 'sent.six.times')).map((u) => u.id)).toEqual([answers[0].body.id]);
    });

    it('should take over a token whose holder died before committing (its lease ran out), and create once', async () => {
      const token = tokenOf();
      const body = user('holder.died');
      // A claim left by an instance that crashed mid-create: no answer, lease over.
      const now = Date.now();
      await insertRow(s, principalScope({ kind: 'client', id: ADMIN_ID }), token, requestDigest('POST', '/admin/v1/Users', body), now - 1, now + RETRY_TOKEN_TTL_MS);
      const created = await s.api('POST', '/admin/v1/Users', body, withToken(token));
      expectStatus(created, 201);
      expect((await s.api('POST', '/admin/v1/Users', body, withToken(token))).text).toBe(created.text);
      expect(await usersNamed(s, 'holder.died')).toHaveLength(1);
    });
  });

  describe('sweep', () => {
    it('should drop the oldest answers of a principal over its budget, and keep the newest', async () => {
      const older = tokenOf();
      const newer = tokenOf();
      expectStatus(await s.api('POST', '/admin/v1/Users', user('budget.older'), withToken(older)), 201);
      const kept = await s.api('POST', '/admin/v1/Users', user('budget.newer'), withToken(newer));
      expectStatus(kept, 201);
      const [{ bytes }] = await dbQuery<{ bytes: number | string }>(s, 'SELECT response_bytes AS bytes FROM retry_tokens WHERE token = $1', [newer]);

      // Ten minutes later (the clock moved, not the test: the sweep runs once a minute), with room for one answer only.
      await s.app.get(RetryTokens).sweep(Date.now() + 10 * 60_000, Number(bytes));

      expect((await dbQuery(s, 'SELECT token FROM retry_tokens WHERE token IN ($1, $2)', [older, newer])).map((r) => r.token)).toEqual([newer]);
      expect((await s.api('POST', '/admin/v1/Users', user('budget.newer'), withToken(newer))).text).toBe(kept.text);
    });

    it('should forget tokens after 24 hours: the rows go, and the token is a new one again', async () => {
      const token = tokenOf();
      expectStatus(await s.api('POST', '/admin/v1/Users', user('day.old'), withToken(token)), 201);
      expect(await dbQuery(s, 'SELECT status FROM retry_tokens WHERE token = $1', [token])).toEqual([{ status: 201 }]);

      await s.app.get(RetryTokens).sweep(Date.now() + RETRY_TOKEN_TTL_MS + 60_000);

      expect(await retryTokenRows(s)).toBe(0);
      // Now a new request: the user it would create exists.
      expectScimError(await s.api('POST', '/admin/v1/Users', user('day.old'), withToken(token)), 409, 'uniqueness');
    });
  });
});

/** Writes a claim row as another instance would have (placeholders $n for both dialects). */
async function insertRow(s: TestServer, principal: string, token: string, digest: string, leaseUntil: number, expiresAt: number): Promise<void> {
  const { DataSource } = await import('typeorm');
  const ds = s.app.get(DataSource);
  const sql = `INSERT INTO retry_tokens (principal, token, request_digest, owner, lease_until, expires_at, status, response, response_bytes)
    VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 0)`;
  await ds.query(ds.options.type === 'postgres' ? sql : sql.replace(/\$\d+/g, '?'), [principal, token, digest, randomUUID(), leaseUntil, expiresAt]);
}

// Two instances on one SQLite file is not a supported deployment; PostgreSQL is where instances share a database.
(E2E_DB === 'postgres' ? describe : describe.skip)('opc-retry-token across instances (PostgreSQL, two server processes)', () => {
  /** Instance A: a server process of its own. */
  let a: ServerProcess;
  let aUrl: string;
  /** Instance B: in this process. */
  let b: TestServer;
  let drop: () => Promise<void>;
  let authorization: string;
  let onA: IdentityDomainsClient;
  let onB: IdentityDomainsClient;

  beforeAll(async () => {
    jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const db = await freshDatabase('postgres');
    drop = db.drop;
    // One public URL, as behind a load balancer: tokens name it as issuer and audience, and Location is the same.
    const env = { PUBLIC_URL: 'https://id.example.test' };
    b = await startTestServerOn(db.url, env);
    const port = await freePort();
    aUrl = `http://127.0.0.1:${port}`;
    a = await startServerProcess(port, { ...env, DATABASE_URL: db.url });
    authorization = `Bearer ${await b.token()}`;
    onB = ociClient(b);
    onA = ociClient(b);
    onA.endpoint = aUrl;
  });
  afterAll(async () => {
    onA?.close();
    onB?.close();
    a?.child.kill('SIGTERM');
    await a?.exited;
    await b?.stop();
    await drop?.();
    jest.restoreAllMocks();
  });

  it('should answer a createUser retried on instance B with what instance A answered', async () => {
    const opcRetryToken = tokenOf();
    const first = await onA.createUser({ authorization, user: newUser('two.instances@example.com'), opcRetryToken });
    const retried = await onB.createUser({ authorization, user: newUser('two.instances@example.com'), opcRetryToken });
    expect(retried.user).toEqual(first.user);
    expect(retried.etag).toBe(first.etag);
    expect((await usersNamed(b, 'two.instances@example.com')).map((u) => u.id)).toEqual([first.user.id]);

    const e = await ociError(onB.createUser({ authorization, user: newUser('other.instance@example.com'), opcRetryToken }));
    expect(e.statusCode).toBe(409);
  });

  it('should create one user for identical requests sent to both instances at the same time', async () => {
    const token = tokenOf();
    const headers = { authorization, 'content-type': 'application/scim+json', 'opc-retry-token': token };
    const body = JSON.stringify(user('both.at.once'));
    const send = async (base: string) => {
      const res = await fetch(`${base}/admin/v1/Users`, { method: 'POST', headers, body });
      return { status: res.status, text: await res.text(), etag: res.headers.get('etag'), location: res.headers.get('location') };
    };
    const answers = await Promise.all([aUrl, b.baseUrl, aUrl, b.baseUrl].map(send));
    for (const answer of answers) expect(answer.status).toBe(201);
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(await usersNamed(b, 'both.at.once')).toHaveLength(1);
  });
});
