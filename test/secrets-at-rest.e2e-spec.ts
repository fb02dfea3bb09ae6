import { SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseKeyEncryptionKey } from '@app/config';
import { SpKeyService } from '@app/saml';
import { ADMIN_ID, dbQuery, E2E_DB, expectStatus, freshDatabase, startTestServerOn, TestServer } from './support/server';

// Two key-encryption keys, written the two accepted ways (base64 and hex).
const KEK_A = randomBytes(32).toString('base64');
const KEK_B = randomBytes(32).toString('hex');
const ID_A = parseKeyEncryptionKey(KEK_A)!.id;
const ID_B = parseKeyEncryptionKey(KEK_B)!.id;

// Fixed, because tokens name their issuer and every restart listens on another port.
const PUBLIC_URL = 'http://id.example.test';

jest.setTimeout(120_000);

type Row = { kid: string; purpose: string; secret: string };

const rows = (s: TestServer) => dbQuery<Row>(s, 'SELECT kid, purpose, secret FROM signing_keys ORDER BY kid');

/** What the old code stored in clear: base64 HMAC keys and PEM private keys in JSON. */
function expectNoClearSecrets(all: Row[], kekId: string): void {
  expect(all.map((r) => r.kid)).toEqual(['access-token-hs256-1', 'saml-sp-1']);
  for (const row of all) {
    expect(row.secret).toMatch(new RegExp(`^kek:v1:${kekId}:[\\w-]+:[\\w-]+:[\\w-]+$`));
    expect(row.secret).not.toMatch(/PRIVATE KEY|CERTIFICATE|privateKeyPem|[A-Za-z0-9+/]{43}=/);
  }
}

/** Starts an instance and makes it create both signing_keys rows (access-token key, SAML SP key). */
async function startAndUseKeys(url: string, env: Record<string, string>): Promise<{ server: TestServer; token: string }> {
  const server = await startTestServerOn(url, env);
  const token = await server.token();
  expectStatus(await server.raw('GET', '/fed/v1/metadata'), 200);
  return { server, token };
}

async function expectTokenAccepted(server: TestServer, token: string): Promise<void> {
  expectStatus(await server.api('GET', '/admin/v1/Users?count=1', undefined, { token }), 200);
}

describe(`secrets at rest in signing_keys (${E2E_DB})`, () => {
  let db: { url: string; drop: () => Promise<void> };
  const running: TestServer[] = [];
  const stop = async (s: TestServer) => {
    running.splice(running.indexOf(s), 1);
    await s.stop();
  };
  const start = async (env: Record<string, string>) => {
    const started = await startAndUseKeys(db.url, { PUBLIC_URL, ...env });
    running.push(started.server);
    return started;
  };

  beforeEach(async () => {
    db = await freshDatabase();
  });

  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    await db.drop();
  });

  it('should store both keys encrypted under SECRETS_KEK, and accept its tokens after a restart with the same key', async () => {
    const first = await start({ SECRETS_KEK: KEK_A });
    expectNoClearSecrets(await rows(first.server), ID_A);
    const before = await rows(first.server);
    await stop(first.server);

    const again = await start({ SECRETS_KEK: KEK_A });

    await expectTokenAccepted(again.server, first.token);
    expect(await rows(again.server)).toEqual(before); // nothing rewritten: already under the current key
  });

  it('should refuse to start with a key-encryption key that is not the one the rows were written with, naming both', async () => {
    const first = await start({ SECRETS_KEK: KEK_A });
    const before = await rows(first.server);
    await stop(first.server);

    const refusal = await startTestServerOn(db.url, { PUBLIC_URL, SECRETS_KEK: KEK_B }).then(
      (s) => void running.push(s), // started after all: stopped by afterEach, and the expectation below fails
      (e: Error) => e,
    );

    expect(refusal?.message).toContain(
      `signing_keys row "access-token-hs256-1" is encrypted under key-encryption key ${ID_A}, but the current key (SECRETS_KEK, id ${ID_B}) is another and SECRETS_KEK_PREVIOUS does not hold it`,
    );
    const check = await start({ SECRETS_KEK: KEK_A });
    expect(await rows(check.server)).toEqual(before); // the refused start wrote nothing
  });

  it('should re-encrypt under the new key when rotated with the old one in SECRETS_KEK_PREVIOUS, keeping issued tokens valid', async () => {
    const first = await start({ SECRETS_KEK: KEK_A });
    const metadataBefore = (await first.server.raw('GET', '/fed/v1/metadata')).text;
    await stop(first.server);

    const rotated = await start({ SECRETS_KEK: KEK_B, SECRETS_KEK_PREVIOUS: `${randomBytes(32).toString('hex')},${KEK_A}` });

    expectNoClearSecrets(await rows(rotated.server), ID_B);
    await expectTokenAccepted(rotated.server, first.token);
    expect((await rotated.server.raw('GET', '/fed/v1/metadata')).text).toBe(metadataBefore); // same SP certificate
    await stop(rotated.server);
    // Once rotated, the old key may be dropped from the configuration.
    const later = await start({ SECRETS_KEK: KEK_B });
    await expectTokenAccepted(later.server, first.token);
  });

  it('should encrypt the clear-text rows of a database written before encryption at rest, keeping its keys', async () => {
    const first = await start({ SECRETS_KEK: KEK_A });
    const sp = await first.server.app.get(SpKeyService).credentials();
    // The rows as the code before this change wrote them.
    const hmacKey = randomBytes(32);
    await dbQuery(first.server, 'UPDATE signing_keys SET secret = $1 WHERE kid = $2', [hmacKey.toString('base64'), 'access-token-hs256-1']);
    await dbQuery(first.server, 'UPDATE signing_keys SET secret = $1 WHERE kid = $2', [JSON.stringify({ privateKeyPem: sp.privateKeyPem(), certificatePem: sp.certificatePem }), 'saml-sp-1']);
    await stop(first.server);

    const upgraded = await start({ SECRETS_KEK: KEK_B });

    expectNoClearSecrets(await rows(upgraded.server), ID_B);
    // A token signed with the old clear-text key is accepted: the key was kept, not replaced.
    const issuer = PUBLIC_URL;
    const signedWithOldKey = await new SignJWT({ roles: ['IdentityDomainAdministrator'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'access-token-hs256-1', typ: 'at+jwt' })
      .setSubject(ADMIN_ID)
      .setIssuer(issuer)
      .setAudience(`${issuer}/admin/v1`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(hmacKey);
    await expectTokenAccepted(upgraded.server, signedWithOldKey);
    const kept = await upgraded.server.app.get(SpKeyService).credentials();
    expect(kept.certificatePem).toBe(sp.certificatePem);
    expect(kept.privateKeyPem()).toBe(sp.privateKeyPem());
  });

  if (E2E_DB === 'sqlite') {
    it('should generate the embedded key once beside the database, owner-only, and reuse it at the next start', async () => {
      const first = await start({});
      const keyFile = join(dirname(db.url.slice('sqlite:'.length)), 'secrets.key');
      const kekId = parseKeyEncryptionKey(readFileSync(keyFile, 'utf8'))!.id;
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expectNoClearSecrets(await rows(first.server), kekId);
      await stop(first.server);

      const again = await start({});

      await expectTokenAccepted(again.server, first.token);
      expect(parseKeyEncryptionKey(readFileSync(keyFile, 'utf8'))!.id).toBe(kekId);
    });
  }
});
