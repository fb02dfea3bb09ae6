import { availableParallelism } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './app-config';
import { parseKeyEncryptionKey, SecretBox, SecretsStartupError } from './secret-box';

const HEX_KEK = 'ab'.repeat(32);
const B64_KEK = Buffer.alloc(32, 7).toString('base64');

describe(loadConfig.name, () => {
  it('should apply the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      database: { type: 'sqlite', path: 'data/identity.sqlite' },
      adminClientId: undefined,
      adminClientSecret: undefined,
      accessTokenTtlSeconds: 3600,
      logLevel: 'log',
      samlValidationThreads: availableParallelism(),
      heapGrowingPercent: 50,
      jitDormantUsersIntervalSeconds: 3600,
      production: false,
      secrets: { source: { kind: 'file', path: resolve('data/secrets.key') }, previous: [] },
    });
    expect(loadConfig({ SAML_VALIDATION_THREADS: '0' }).samlValidationThreads).toBe(0);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(loadConfig({ JIT_DORMANT_USERS_INTERVAL_SECONDS: '0' }).jitDormantUsersIntervalSeconds).toBe(0);
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/idd' }).database).toEqual({ type: 'postgres', url: 'postgres://u:p@db:5432/idd' });
  });

  it('should list every bad value at once, each with a message a person can act on', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        PUBLIC_URL: 'not a url',
        DATABASE_URL: 'mysql://x',
        ADMIN_CLIENT_ID: 'only-id',
        ACCESS_TOKEN_TTL_SECONDS: '0',
        LOG_LEVEL: 'chatty',
        SAML_VALIDATION_THREADS: 'all',
        HEAP_GROWING_PERCENT: '50%',
        JIT_DORMANT_USERS_INTERVAL_SECONDS: '1h',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT must be an integer between 0 and 65535 (got "eighty")',
      'PUBLIC_URL must be an absolute URL such as https://id.example.com (got "not a url")',
      'DATABASE_URL must start with "sqlite:" or "postgres://" (got "mysql:…")',
      'ADMIN_CLIENT_ID and ADMIN_CLIENT_SECRET must be set together (or both left unset to generate credentials)',
      'ACCESS_TOKEN_TTL_SECONDS must be an integer between 1 and 86400 (got "0")',
      'LOG_LEVEL must be one of error, warn, log, debug (got "chatty")',
      'SAML_VALIDATION_THREADS must be an integer between 0 and 64 (got "all")',
      'HEAP_GROWING_PERCENT must be an integer between 0 and 300, 0 for V8\'s own heuristic (got "50%")',
      'JIT_DORMANT_USERS_INTERVAL_SECONDS must be a whole number of seconds from 0 (never on this instance) to 604800 (a week) (got "1h")',
    ]);
  });

  it('should refuse a short bootstrap secret', () => {
    expect(() => loadConfig({ ADMIN_CLIENT_ID: 'admin', ADMIN_CLIENT_SECRET: 'short' })).toThrow(/at least 16 characters/);
  });

  describe('key-encryption keys', () => {
    const PG = 'postgres://u@db:5432/idd';

    it('should take SECRETS_KEK as hex or base64, and SECRETS_KEK_PREVIOUS as a comma-separated list', () => {
      const config = loadConfig({ DATABASE_URL: PG, SECRETS_KEK: HEX_KEK, SECRETS_KEK_PREVIOUS: ` ${B64_KEK} , ${'cd'.repeat(32)}` });

      expect(config.secrets.source).toEqual({ kind: 'environment', key: { id: expect.any(String), key: Buffer.from(HEX_KEK, 'hex') } });
      expect(config.secrets.previous.map((k) => k.key)).toEqual([Buffer.alloc(32, 7), Buffer.from('cd'.repeat(32), 'hex')]);
      expect(parseKeyEncryptionKey(Buffer.alloc(32, 7).toString('base64url'))?.key).toEqual(Buffer.alloc(32, 7));
    });

    it('should refuse a malformed key without showing it', () => {
      const secret = 'my-passphrase-not-a-key';
      let error: ConfigError | undefined;
      try {
        loadConfig({ SECRETS_KEK: secret, SECRETS_KEK_PREVIOUS: `${HEX_KEK},${'ab'.repeat(16)}` });
      } catch (e) {
        error = e as ConfigError;
      }
      expect(error!.problems).toEqual([
        expect.stringMatching(/^SECRETS_KEK_PREVIOUS must be a comma-separated list of keys, each 32 random bytes .* \(entry 2 is not\)$/),
        expect.stringMatching(/^SECRETS_KEK must be 32 random bytes as 64 hex digits or 44 base64 characters/),
      ]);
      expect(error!.message).not.toContain(secret);
    });

    it('should require SECRETS_KEK on PostgreSQL in production mode, and fall back to the insecure development key otherwise', () => {
      expect(() => loadConfig({ DATABASE_URL: PG, NODE_ENV: 'production' })).toThrow(/SECRETS_KEK must be set when NODE_ENV=production on PostgreSQL/);
      expect(loadConfig({ DATABASE_URL: PG, NODE_ENV: 'production', SECRETS_KEK: HEX_KEK }).production).toBe(true);
      expect(loadConfig({ DATABASE_URL: PG }).secrets.source).toEqual({ kind: 'insecure-development' });
      expect(loadConfig({ DATABASE_URL: 'sqlite::memory:' }).secrets.source).toEqual({ kind: 'ephemeral' });
      // The embedded default keeps its key beside the database, in production mode too.
      expect(loadConfig({ DATABASE_URL: 'sqlite:/srv/idd/identity.sqlite', NODE_ENV: 'production' }).secrets.source).toEqual({ kind: 'file', path: '/srv/idd/secrets.key' });
    });
  });
});

describe(SecretBox.name, () => {
  const box = (key: string, ...previous: string[]) => SecretBox.fromConfig({ source: { kind: 'environment', key: parseKeyEncryptionKey(key)! }, previous: previous.map((p) => parseKeyEncryptionKey(p)!) });
  let dir: string;

  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'secret-box-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('seal', () => {
    it('should write a versioned AES-256-GCM envelope naming the key, fresh each time', () => {
      const a = box(HEX_KEK);

      const [one, two] = [a.seal('the secret', 'row-1'), a.seal('the secret', 'row-1')];

      expect(one).toMatch(new RegExp(`^kek:v1:${a.currentKeyId}:[\\w-]{16}:[\\w-]{22}:[\\w-]+$`));
      expect(one).not.toBe(two);
      expect(one).not.toContain(Buffer.from('the secret').toString('base64url'));
      expect(a.open(one, 'row-1', 'x')).toBe('the secret');
    });
  });

  describe('open', () => {
    it('should read values sealed under a previous key, and refuse a key it does not hold', () => {
      const old = box(B64_KEK);
      const sealed = old.seal('the secret', 'row-1');

      expect(box(HEX_KEK, B64_KEK).open(sealed, 'row-1', 'x')).toBe('the secret');
      expect(() => box(HEX_KEK).open(sealed, 'row-1', 'row "1"')).toThrow(SecretsStartupError);
      expect(() => box(HEX_KEK).open(sealed, 'row-1', 'row "1"')).toThrow(`row "1" is encrypted under key-encryption key ${old.currentKeyId}`);
    });

    it.each([
      ['moved to another row', (s: string) => s, 'row-2'],
      ['altered', (s: string) => s.slice(0, -2) + (s.endsWith('AA') ? 'BB' : 'AA'), 'row-1'],
    ])('should refuse a value %s', (_case, change, context) => {
      const a = box(HEX_KEK);

      expect(() => a.open(change(a.seal('the secret', 'row-1')), context, 'x')).toThrow(/does not decrypt .* damaged or was altered/);
    });

    it('should refuse clear text', () => {
      expect(() => box(HEX_KEK).open('c2VjcmV0', 'row-1', 'x')).toThrow('x is not an encrypted value');
    });
  });

  describe('fromConfig', () => {
    it('should generate the embedded key file once, readable by its owner only, and reuse it', () => {
      const path = join(dir, 'data', 'secrets.key');

      const first = SecretBox.fromConfig({ source: { kind: 'file', path }, previous: [] });
      const again = SecretBox.fromConfig({ source: { kind: 'file', path }, previous: [] });

      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(parseKeyEncryptionKey(readFileSync(path, 'utf8'))?.id).toBe(first.currentKeyId);
      expect(again.currentKeyId).toBe(first.currentKeyId);
    });

    it('should refuse to start on a malformed key file, in one line naming it', () => {
      const path = join(dir, 'secrets.key');
      writeFileSync(path, 'not a key\n');

      expect(() => SecretBox.fromConfig({ source: { kind: 'file', path }, previous: [] })).toThrow(
        new SecretsStartupError(`The key-encryption key file ${path} does not hold 32 bytes in base64 or hex: restore it from a backup, or set SECRETS_KEK`),
      );
      expect(readFileSync(path, 'utf8')).toBe('not a key\n');
    });
  });
});
