import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import * as x509 from '@peculiar/x509';
import { mkdtempSync, rmSync } from 'node:fs';
import { sign, verify, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { DataSource } from 'typeorm';
import type { AuditService } from '@app/audit';
import { AUTH_ENTITIES, SigningKeyEntity, signingKeySecretContext } from '@app/auth';
import { AppConfig, parseKeyEncryptionKey, secretBoxFor, SecretsStartupError } from '@app/config';
import { Database, openDataSource } from '@app/persistence';
import { SP_KEY_ID, SP_KEY_PURPOSE, SpKeyService } from './sp-keys.service';

const KEK = parseKeyEncryptionKey('11'.repeat(32))!;
const CONFIG = { publicUrl: 'https://id.example.com:8443', secrets: { source: { kind: 'environment', key: KEK }, previous: [] } } as unknown as AppConfig;
const box = secretBoxFor(CONFIG.secrets);
const seal = (plaintext: string) => box.seal(plaintext, signingKeySecretContext(SP_KEY_ID));
const unseal = (row: SigningKeyEntity) => box.open(row.secret, signingKeySecretContext(row.kid), row.kid);
const YEAR_MS = 365.25 * 86400_000;

// Each test generates real 3072-bit RSA keys, which takes a second or more on a busy machine.
jest.setTimeout(60_000);

let dir: string;
let sources: DataSource[];
let logged: string[];
let audit: { record: jest.Mock };

/** A server instance's view of the store: its own connection to the shared SQLite file. */
async function instance(): Promise<{ db: Database; service: SpKeyService }> {
  const ds = await openDataSource({ type: 'sqlite', path: join(dir, 'identity.sqlite') }, AUTH_ENTITIES);
  sources.push(ds);
  const db = new Database(ds);
  return { db, service: new SpKeyService(db, CONFIG, audit as unknown as AuditService) };
}

async function rows(db: Database): Promise<SigningKeyEntity[]> {
  return db.read((m) => m.find(SigningKeyEntity, { where: { purpose: SP_KEY_PURPOSE } }));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sp-keys-'));
  sources = [];
  logged = [];
  audit = { record: jest.fn(async () => undefined) };
  for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
    jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
  }
});

afterEach(async () => {
  // Whatever a test did, nothing it logged may contain private key material.
  for (const line of logged) expect(line).not.toMatch(/PRIVATE KEY|MII[EG][a-zA-Z0-9+/]{40}/);
  jest.restoreAllMocks();
  for (const ds of sources) await ds.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe(SpKeyService.name, () => {
  describe('credentials', () => {
    it('should generate the key and certificate on first use and store them as sealed JSON in signing_keys', async () => {
      const { db, service } = await instance();

      const creds = await service.credentials();

      const stored = await rows(db);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ kid: SP_KEY_ID, purpose: SP_KEY_PURPOSE });
      expect(stored[0].secret).toMatch(new RegExp(`^kek:v1:${KEK.id}:`));
      expect(stored[0].secret).not.toMatch(/PRIVATE KEY|CERTIFICATE/);
      expect(JSON.parse(unseal(stored[0]))).toEqual({ privateKeyPem: creds.privateKeyPem(), certificatePem: creds.certificatePem });
      expect(creds.privateKeyPem()).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(logged).toEqual([expect.stringMatching(/^Generated the SAML SP signing certificate saml-sp-1 \(CN=id\.example\.com, SHA-256 [0-9A-F:]{95}, valid until 20\d\d-/)]);
    });

    it('should issue a ten-year, self-signed RSA SHA-256 certificate for the PUBLIC_URL host that matches the key', async () => {
      const { service } = await instance();
      const before = Date.now();

      const creds = await service.credentials();
      const cert = new X509Certificate(creds.certificatePem);

      expect(cert.subject).toBe('CN=id.example.com');
      expect(cert.issuer).toBe(cert.subject);
      expect(cert.verify(cert.publicKey)).toBe(true);
      expect(cert.ca).toBe(false);
      expect(cert.publicKey.asymmetricKeyType).toBe('rsa');
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
      expect(new x509.X509Certificate(creds.certificatePem).signatureAlgorithm).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
      const lifetime = new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime();
      expect(lifetime / YEAR_MS).toBeCloseTo(10, 1);
      expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(before);
      expect(cert.checkPrivateKey(creds.privateKey())).toBe(true);
      const signature = sign('sha256', Buffer.from('AuthnRequest'), creds.privateKey());
      expect(verify('sha256', Buffer.from('AuthnRequest'), cert.publicKey, signature)).toBe(true);
      expect(creds.certificateDer).toBe(cert.raw.toString('base64'));
    });

    it('should return the stored credential after a restart instead of generating another', async () => {
      const first = await (await instance()).service.credentials();

      const { db, service } = await instance();
      const again = await service.credentials();

      expect(again.certificatePem).toBe(first.certificatePem);
      expect(again.privateKeyPem()).toBe(first.privateKeyPem());
      expect(await rows(db)).toHaveLength(1);
    });

    it('should give every instance the same credential when they race to create it', async () => {
      const a = await instance();
      const b = await instance();
      const c = await instance();

      const all = await Promise.all([a.service.credentials(), b.service.credentials(), c.service.credentials()]);

      expect(new Set(all.map((x) => x.certificatePem)).size).toBe(1);
      expect(await rows(a.db)).toHaveLength(1);
      expect(JSON.parse(unseal((await rows(a.db))[0])).certificatePem).toBe(all[0].certificatePem);
    });

    it('should generate once for concurrent callers in one instance and then answer from memory', async () => {
      const { db, service } = await instance();
      const writes = jest.spyOn(db, 'transaction');

      const [x, y] = await Promise.all([service.credentials(), service.credentials()]);
      const reads = jest.spyOn(db, 'read');
      const z = await service.credentials();

      expect(y).toBe(x);
      expect(z).toBe(x);
      expect(writes).toHaveBeenCalledTimes(1);
      // Afterwards one read per call: the key-set version, which tells a rollover made by another instance.
      expect(reads).toHaveBeenCalledTimes(1);
    });

    const damaged: [string, () => string, RegExp][] = [
      ['a secret that is not JSON', () => 'not json', /not JSON/],
      ['JSON without the certificate', () => JSON.stringify({ privateKeyPem: '-----BEGIN PRIVATE KEY-----' }), /certificatePem is missing/],
      ['PEM that does not parse', () => JSON.stringify({ privateKeyPem: 'x', certificatePem: 'y' }), /does not parse/],
    ];

    it.each(damaged)('should refuse a stored row with %s, and leave it alone', async (_case, secret, message) => {
      const { db, service } = await instance();
      const sealed = seal(secret());
      await db.transaction((m) => m.insert(SigningKeyEntity, { kid: SP_KEY_ID, purpose: SP_KEY_PURPOSE, secret: sealed, created: new Date().toISOString() }));

      await expect(service.credentials()).rejects.toThrow(message);

      expect((await rows(db))[0].secret).toBe(sealed);
    });

    it('should refuse a row sealed under a key-encryption key it does not hold, naming the key, and leave it alone', async () => {
      const { db } = await instance();
      const other = secretBoxFor({ source: { kind: 'environment', key: parseKeyEncryptionKey('22'.repeat(32))! }, previous: [] });
      const sealed = other.seal(JSON.stringify({ privateKeyPem: 'x', certificatePem: 'y' }), signingKeySecretContext(SP_KEY_ID));
      await db.transaction((m) => m.insert(SigningKeyEntity, { kid: SP_KEY_ID, purpose: SP_KEY_PURPOSE, secret: sealed, created: new Date().toISOString() }));

      const error = await new SpKeyService(db, CONFIG, audit as unknown as AuditService).credentials().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(SecretsStartupError);
      expect((error as Error).message).toContain(`encrypted under key-encryption key ${other.currentKeyId}`);
      expect((await rows(db))[0].secret).toBe(sealed);
    });

    it('should refuse a stored certificate that does not belong to the stored key', async () => {
      const one = await (await instance()).service.credentials();
      const other = await (async () => {
        const keep = dir;
        dir = mkdtempSync(join(tmpdir(), 'sp-keys-'));
        try {
          return await (await instance()).service.credentials();
        } finally {
          dir = keep;
        }
      })();
      const { db, service } = await instance();
      await db.transaction((m) => m.update(SigningKeyEntity, { kid: SP_KEY_ID }, { secret: seal(JSON.stringify({ privateKeyPem: one.privateKeyPem(), certificatePem: other.certificatePem })) }));

      await expect(service.credentials()).rejects.toThrow(/does not belong to the private key/);
    });
  });

  describe('rollover', () => {
    const actor = { correlationId: 'req-1' };
    const status = async (service: SpKeyService) =>
      Object.fromEntries((await service.list()).map((k) => [k.credentials.keyId, k.roles.map((r) => `${r.use}:${r.status}`).sort().join(' ')]));

    it('should stage a next key for one use: published after the active one, not used, and the set version moves on', async () => {
      const { service } = await instance();
      const before = await service.keySet();

      const staged = await service.stage('encryption', actor);
      const after = await service.keySet();

      expect(staged.credentials.keyId).toMatch(/^saml-sp-enc-[0-9a-f]{12}$/);
      expect(after.version).toBeGreaterThan(before.version);
      expect(after.signing.keyId).toBe(SP_KEY_ID);
      expect(after.published('signing').map((c) => c.keyId)).toEqual([SP_KEY_ID]);
      expect(after.published('encryption').map((c) => c.keyId)).toEqual([SP_KEY_ID, staged.credentials.keyId]);
      expect(after.decryption.map((c) => c.keyId)).toEqual([SP_KEY_ID, staged.credentials.keyId]);
      // An encryption certificate: key encipherment, not signatures.
      expect(new x509.X509Certificate(staged.credentials.certificatePem).getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.keyEncipherment);
      expect(audit.record).toHaveBeenCalledWith(expect.anything(), expect.objectContaining({ eventId: 'admin.SpKey.stage', resourceId: staged.credentials.keyId, correlationId: 'req-1' }));
      await expect(service.stage('encryption', actor)).rejects.toMatchObject({ status: 409 });
    });

    it('should activate per use, keep the old key decrypting as previous, then retire it with its private key', async () => {
      const { db, service } = await instance();
      await service.credentials();
      const enc = (await service.stage('encryption', actor)).credentials.keyId;

      await service.activate(enc, actor);

      expect(await status(service)).toEqual({ [SP_KEY_ID]: 'encryption:previous signing:active', [enc]: 'encryption:active' });
      const during = await service.keySet();
      expect(during.decryption.map((c) => c.keyId)).toEqual([enc, SP_KEY_ID]);
      expect(during.published('encryption').map((c) => c.keyId)).toEqual([enc]);
      await expect(service.retire(SP_KEY_ID, actor)).rejects.toMatchObject({ status: 409 });

      const sig = (await service.stage('signing', actor)).credentials.keyId;
      await expect(service.activate(SP_KEY_ID, actor)).rejects.toMatchObject({ status: 409 });
      await service.activate(sig, actor);
      await service.retire(SP_KEY_ID, actor);

      expect(await status(service)).toEqual({ [enc]: 'encryption:active', [sig]: 'signing:active' });
      expect((await service.keySet()).decryption.map((c) => c.keyId)).toEqual([enc]);
      expect((await rows(db)).map((r) => r.kid).sort()).toEqual([enc, sig].sort());
      await expect(service.retire(SP_KEY_ID, actor)).rejects.toMatchObject({ status: 404 });
    });

    it('should let another instance see a change at its next call, without restarting', async () => {
      const one = await instance();
      const two = await instance();
      await one.service.credentials();
      const cached = await two.service.keySet();

      const staged = await one.service.stage('signing', actor);
      await one.service.activate(staged.credentials.keyId, actor);

      const seen = await two.service.keySet();
      expect(seen.version).toBeGreaterThan(cached.version);
      expect(seen.signing.keyId).toBe(staged.credentials.keyId);
    });
  });

  describe('SpCredentials', () => {
    it('should keep the private key out of JSON, util.inspect and its enumerable properties', async () => {
      const creds = await (await instance()).service.credentials();
      const keyBody = creds.privateKeyPem().split('\n')[1];

      for (const shown of [JSON.stringify(creds), inspect(creds, { showHidden: true, depth: 5 }), `${JSON.stringify(Object.entries(creds))}`]) {
        expect(shown).not.toContain('PRIVATE KEY');
        expect(shown).not.toContain(keyBody);
      }
      expect(JSON.parse(JSON.stringify(creds))).toEqual({ keyId: SP_KEY_ID, certificatePem: creds.certificatePem });
    });
  });
});
