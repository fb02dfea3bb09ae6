import 'reflect-metadata'; // @peculiar/x509 (via tsyringe) refuses to load before it
import { Inject, Injectable, Logger } from '@nestjs/common';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { SigningKeyEntity, signingKeySecretContext } from '@app/auth';
import { describeCertificate, ParsedCertificate } from '@app/identity-providers';
import { Database, isUniqueViolation, nowIso } from '@app/persistence';
import { ScimError } from '@app/scim';

/** Row id of the first SP credential in `signing_keys`: one key for signing and for encryption until a rollover. */
export const SP_KEY_ID = 'saml-sp-1';
/** `signing_keys.purpose` of every SP credential. */
export const SP_KEY_PURPOSE = 'saml-sp';

/** What an SP key is used for; each use has its own KeyDescriptor in our metadata and its own rollover. */
export type SpKeyUse = 'signing' | 'encryption';
export const SP_KEY_USES: readonly SpKeyUse[] = ['signing', 'encryption'];
/**
 * Where a key is in its rollover, per use: `next` is published in our metadata so that IdPs learn it before it is
 * used; `active` signs our AuthnRequests (signing) or is the first key assertions are decrypted with (encryption);
 * `previous` was active and still decrypts what an IdP encrypted to it, unpublished, until the key is retired.
 */
export type SpKeyStatus = 'next' | 'active' | 'previous';
export const SP_KEY_STATUSES: readonly SpKeyStatus[] = ['next', 'active', 'previous'];

// 3072 bits rather than 2048: the certificate lives ten years, past 2030, when NIST SP 800-57 retires 2048-bit RSA.
const KEY_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 3072 } as const;
const VALIDITY_YEARS = 10;
// IdPs whose clocks run behind would otherwise see a certificate that is not valid yet in its first minutes.
const BACKDATE_MS = 60 * 60 * 1000;

/** What `signing_keys.secret` holds, sealed (SecretBox), for an SP credential. */
interface StoredSpKey {
  privateKeyPem: string;
  certificatePem: string;
}

/**
 * An SP credential: a certificate anyone may see, and a private key that only signing and decrypting code may
 * read, through `privateKeyPem()` / `privateKey()`. The key is in an ES private field and left out of
 * `JSON.stringify` and `util.inspect`, so logging or returning this object by mistake does not leak it.
 */
export class SpCredentials {
  readonly #privateKeyPem: string;

  constructor(
    /** `signing_keys.kid` of this credential. */
    readonly keyId: string,
    /** The self-signed X.509 certificate, PEM. */
    readonly certificatePem: string,
    privateKeyPem: string,
  ) {
    this.#privateKeyPem = privateKeyPem;
  }

  /** The certificate as base64 DER without armour or whitespace, the form SAML metadata uses. */
  get certificateDer(): string {
    return new X509Certificate(this.certificatePem).raw.toString('base64');
  }

  /** The private key, PKCS#8 PEM, for node-saml's `privateKey` / `decryptionPvk`. Never log it or send it anywhere. */
  privateKeyPem(): string {
    return this.#privateKeyPem;
  }

  /** The private key as a KeyObject, for `crypto.sign`. */
  privateKey(): KeyObject {
    return createPrivateKey(this.#privateKeyPem);
  }

  toJSON(): { keyId: string; certificatePem: string } {
    return { keyId: this.keyId, certificatePem: this.certificatePem };
  }

  [inspect.custom](): string {
    return `SpCredentials { keyId: '${this.keyId}', certificate: <${this.certificatePem.length} chars>, privateKey: <redacted> }`;
  }
}

/** One use of an SP key and where that use is in its rollover. */
export interface SpKeyRole {
  use: SpKeyUse;
  status: SpKeyStatus;
  /** When the key took this status. */
  since: string;
}

/** An SP key held in `signing_keys`, with its uses. */
export interface SpKey {
  credentials: SpCredentials;
  certificate: ParsedCertificate;
  roles: SpKeyRole[];
  created: string;
}

/**
 * Every SP key at one version of the key set (`saml_sp_key_set.version`), and what each use takes from it.
 * A configuration built from a key set is valid while the version stays the same.
 */
export class SpKeySet {
  constructor(
    readonly version: number,
    readonly keys: readonly SpKey[],
  ) {}

  private with(use: SpKeyUse, status: SpKeyStatus): SpKey[] {
    return this.keys
      .filter((k) => k.roles.some((r) => r.use === use && r.status === status))
      .sort((a, b) => (sinceOf(b, use) < sinceOf(a, use) ? -1 : 1)); // the most recent first
  }

  /** The key our AuthnRequests are signed with. */
  get signing(): SpCredentials {
    const [active] = this.with('signing', 'active');
    if (!active) throw new Error('no active SAML SP signing key');
    return active.credentials;
  }

  /** The certificates our metadata publishes for `use`: the active one, then the next one if one is staged. */
  published(use: SpKeyUse): SpCredentials[] {
    return [...this.with(use, 'active'), ...this.with(use, 'next')].map((k) => k.credentials);
  }

  /**
   * The keys an encrypted assertion is tried with, in order: the active encryption key, the previous ones (an IdP
   * that has not reread our metadata yet), then a next one (published already, so an IdP may have picked it).
   */
  get decryption(): SpCredentials[] {
    return [...this.with('encryption', 'active'), ...this.with('encryption', 'previous'), ...this.with('encryption', 'next')].map((k) => k.credentials);
  }
}

const sinceOf = (k: SpKey, use: SpKeyUse) => k.roles.find((r) => r.use === use)?.since ?? '';

interface RoleRow {
  kid: string;
  key_use: SpKeyUse;
  status: SpKeyStatus;
  since: string;
}

/**
 * Our SAML SP's keys and self-signed certificates (what we sign AuthnRequests with, decrypt assertions with and
 * publish in our metadata), sealed in `signing_keys`, with their uses and rollover status in `saml_sp_keys`. The
 * first key is generated on first use, so that every instance sharing the database, and every restart, presents
 * the same certificate to the IdPs that trust it. Administrators then stage, activate and retire keys per use
 * (`SpKeysController`). Each instance keeps the key set in memory and rereads it when `saml_sp_key_set.version`
 * changed: one primary-key read per use, so that a key retired on one instance is dropped by all of them at once.
 */
@Injectable()
export class SpKeyService {
  private readonly logger = new Logger(SpKeyService.name);
  private loaded?: { version: number; set: Promise<SpKeySet> };

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /** The active signing credential, generating the first key first if no instance has done so yet. */
  async credentials(): Promise<SpCredentials> {
    return (await this.keySet()).signing;
  }

  /**
   * The current key set, generating the first key first if no instance has done so yet. `knownVersion`: the key
   * set's version as the caller just read it (with other values, in one statement), so that it is not read again.
   */
  async keySet(knownVersion?: number): Promise<SpKeySet> {
    const version = knownVersion || (await this.db.read((m) => this.version(m)));
    // One load per version and process: concurrent callers share it.
    if (this.loaded?.version === version) return this.loaded.set;
    const entry = { version, set: this.load() };
    this.loaded = entry;
    entry.set.catch(() => {
      if (this.loaded === entry) this.loaded = undefined; // let the next call retry (e.g. the database was briefly unreachable)
    });
    const set = await entry.set;
    // The first key may have been generated meanwhile (version + 1): remember the set under the version it has.
    if (this.loaded === entry && set.version !== version) this.loaded = { version: set.version, set: entry.set };
    return set;
  }

  /** Every SP key, most recent first, for the admin API. */
  async list(): Promise<SpKey[]> {
    const set = await this.keySet();
    const order = (k: SpKey) => `${k.created} ${k.credentials.keyId}`;
    return [...set.keys].sort((a, b) => order(b).localeCompare(order(a)));
  }

  async get(kid: string): Promise<SpKey> {
    const key = (await this.keySet()).keys.find((k) => k.credentials.keyId === kid);
    if (!key) throw ScimError.notFound(`No SAML SP key ${JSON.stringify(kid.slice(0, 100))}`);
    return key;
  }

  /**
   * Generates a new key for `use` and publishes it in our metadata as the next key, without using it yet: IdPs
   * reread our metadata (or are given the certificate) before it is activated. One next key per use at a time.
   */
  async stage(use: SpKeyUse, actor: Actor): Promise<SpKey> {
    if (!SP_KEY_USES.includes(use)) throw ScimError.badRequest('invalidValue', `"use" must be one of ${SP_KEY_USES.join(', ')}`);
    await this.keySet(); // the first key exists before a second one
    // Generated outside the transaction: RSA key generation takes a while, and on SQLite a transaction holds the
    // process-wide write mutex.
    const kid = `saml-sp-${use === 'signing' ? 'sig' : 'enc'}-${randomBytes(6).toString('hex')}`;
    const generated = await this.generate(use);
    await this.change(async (m, roles) => {
      const staged = roles.find((r) => r.key_use === use && r.status === 'next');
      if (staged) throw ScimError.conflict(`SAML SP key ${staged.kid} is already staged as the next ${use} key: activate or retire it first`);
      const now = nowIso();
      await m.insert(SigningKeyEntity, { kid, purpose: SP_KEY_PURPOSE, secret: this.seal(kid, generated), created: now });
      await this.sql(m, 'INSERT INTO saml_sp_keys (kid, key_use, status, since) VALUES (:kid, :use, :status, :now)', { kid, use, status: 'next', now });
      await this.record(m, actor, 'stage', kid, `staged as the next ${use} key and published in the SP metadata`, generated.certificatePem, [{ attribute: use, newValue: 'next' }]);
    });
    this.logger.log(`Staged SAML SP key ${kid} as the next ${use} key (${describe(generated.certificatePem)})`);
    return this.get(kid);
  }

  /**
   * Makes the key active for every use it is the next key of; the key active until now becomes previous (it still
   * decrypts, and is no longer published or used to sign).
   */
  async activate(kid: string, actor: Actor): Promise<SpKey> {
    const changes: { attribute: string; oldValue?: string; newValue?: string }[] = [];
    await this.change(async (m, roles) => {
      const own = this.rolesOf(kid, roles);
      const next = own.filter((r) => r.status === 'next');
      if (!next.length) throw ScimError.conflict(`SAML SP key ${kid} is not staged as a next key (it is ${own.map((r) => `${r.status} for ${r.key_use}`).join(', ')}): only a next key can be activated`);
      const now = nowIso();
      for (const { key_use: use } of next) {
        const was = roles.find((r) => r.key_use === use && r.status === 'active');
        // In this order: at most one active key per use (ux_saml_sp_keys_active), at every statement.
        if (was) {
          await this.sql(m, "UPDATE saml_sp_keys SET status = 'previous', since = :now WHERE kid = :kid AND key_use = :use", { now, kid: was.kid, use });
          changes.push({ attribute: `${use} (${was.kid})`, oldValue: 'active', newValue: 'previous' });
        }
        await this.sql(m, "UPDATE saml_sp_keys SET status = 'active', since = :now WHERE kid = :kid AND key_use = :use", { now, kid, use });
        changes.push({ attribute: use, oldValue: 'next', newValue: 'active' });
      }
      const key = await this.stored(m, kid);
      await this.record(m, actor, 'activate', kid, `activated for ${next.map((r) => r.key_use).join(' and ')}`, key.certificatePem, changes);
    });
    this.logger.log(`Activated SAML SP key ${kid}: ${changes.map((c) => `${c.attribute} ${c.oldValue} → ${c.newValue}`).join(', ')}`);
    return this.get(kid);
  }

  /**
   * Deletes a key that is no longer active for any use, private key included: from now on assertions encrypted to
   * it fail, and it is gone from our metadata. Retiring a next key cancels its staging.
   */
  async retire(kid: string, actor: Actor): Promise<void> {
    await this.change(async (m, roles) => {
      const own = this.rolesOf(kid, roles);
      const active = own.filter((r) => r.status === 'active');
      if (active.length) throw ScimError.conflict(`SAML SP key ${kid} is the active ${active.map((r) => r.key_use).join(' and ')} key: stage and activate another key first`);
      const key = await this.stored(m, kid);
      await this.sql(m, 'DELETE FROM saml_sp_keys WHERE kid = :kid', { kid });
      await m.delete(SigningKeyEntity, { kid });
      const changes = own.map((r) => ({ attribute: r.key_use, oldValue: r.status }));
      await this.record(m, actor, 'retire', kid, 'retired: the private key is deleted', key.certificatePem, changes);
    });
    this.logger.log(`Retired SAML SP key ${kid}: its private key is deleted`);
  }

  private rolesOf(kid: string, roles: RoleRow[]): RoleRow[] {
    const own = roles.filter((r) => r.kid === kid);
    if (!own.length) throw ScimError.notFound(`No SAML SP key ${JSON.stringify(kid.slice(0, 100))}`);
    return own;
  }

  /**
   * One change of the key set, in one transaction that first increments the key-set version: that statement takes
   * the row's lock (PostgreSQL) or the write lock (SQLite), so concurrent changes, on any instance, run one after the
   * other and each judges the roles the previous one left.
   */
  private async change(fn: (m: EntityManager, roles: RoleRow[]) => Promise<void>): Promise<void> {
    await this.db.transaction(async (m) => {
      await this.sql(m, 'UPDATE saml_sp_key_set SET version = version + 1 WHERE id = 1');
      await fn(m, await this.roles(m));
    });
    this.loaded = undefined;
  }

  private async record(m: EntityManager, actor: Actor, action: string, kid: string, message: string, certificatePem: string, changes: { attribute: string; oldValue?: unknown; newValue?: unknown }[]): Promise<void> {
    const cert = describeCertificate(certificatePem);
    await this.audit.record(m, {
      eventId: `admin.SpKey.${action}`,
      outcome: 'success',
      actor: actor.principal,
      correlationId: actor.correlationId,
      resourceType: 'SpKey',
      resourceId: kid,
      resourceName: cert.subject,
      message: `SAML SP key ${kid} ${message}`,
      changes,
      details: { fingerprint: cert.fingerprintSha256, notAfter: cert.notAfter },
    });
  }

  private async version(m: EntityManager): Promise<number> {
    const [row] = await this.sql<{ version: number | string }>(m, 'SELECT version FROM saml_sp_key_set WHERE id = 1');
    return Number(row?.version ?? 0);
  }

  private roles(m: EntityManager): Promise<RoleRow[]> {
    return this.sql<RoleRow>(m, 'SELECT kid, key_use, status, since FROM saml_sp_keys ORDER BY kid, key_use');
  }

  private async stored(m: EntityManager, kid: string): Promise<StoredSpKey> {
    const row = await m.findOneBy(SigningKeyEntity, { kid });
    if (!row) throw new Error(`signing_keys row ${kid} of a SAML SP key is missing`);
    const creds = this.fromRow(row);
    return { certificatePem: creds.certificatePem, privateKeyPem: creds.privateKeyPem() };
  }

  private sql<T>(m: EntityManager, sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const runner = this.db.sql(m);
    const [text, values] = runner.escape(sql, params);
    return runner.query<T>(text, values);
  }

  private async load(): Promise<SpKeySet> {
    let loaded = await this.db.read(async (m) => ({ version: await this.version(m), roles: await this.roles(m) }));
    if (!loaded.roles.length) {
      await this.createFirstKey();
      loaded = await this.db.read(async (m) => ({ version: await this.version(m), roles: await this.roles(m) }));
    }
    const kids = [...new Set(loaded.roles.map((r) => r.kid))];
    const rows = await this.db.read((m) => m.find(SigningKeyEntity, { where: kids.map((kid) => ({ kid })) }));
    const keys = kids.map((kid): SpKey => {
      const row = rows.find((r) => r.kid === kid);
      if (!row) throw new Error(`signing_keys row ${kid} of a SAML SP key is missing; restore it from a backup`);
      const credentials = this.fromRow(row);
      return {
        credentials,
        certificate: describeCertificate(credentials.certificatePem),
        roles: loaded.roles.filter((r) => r.kid === kid).map((r) => ({ use: r.key_use, status: r.status, since: r.since })),
        created: row.created,
      };
    });
    return new SpKeySet(loaded.version, keys);
  }

  /**
   * The first key, for signing and for encryption: `saml-sp-1` as a server from before key rollover stored it
   * (adopted: IdPs trust its certificate), or else generated.
   */
  private async createFirstKey(): Promise<void> {
    const repo = this.db.dataSource.getRepository(SigningKeyEntity);
    const existing = await this.db.read(() => repo.findOneBy({ kid: SP_KEY_ID }));
    // Generated outside the transaction: RSA key generation takes a while, and on SQLite a transaction holds the
    // process-wide write mutex.
    const generated = existing ? undefined : await this.generate('signing');
    let created = false;
    try {
      await this.db.transaction(async (m) => {
        await this.sql(m, 'UPDATE saml_sp_key_set SET version = version + 1 WHERE id = 1');
        if ((await this.roles(m)).length) return; // another instance made it meanwhile
        const now = nowIso();
        if (generated) {
          // insert, not save: save() turns into an UPDATE when another instance's row appeared meanwhile, which would
          // replace the certificate that instance already serves.
          await m.insert(SigningKeyEntity, { kid: SP_KEY_ID, purpose: SP_KEY_PURPOSE, secret: this.seal(SP_KEY_ID, generated), created: now });
        } else {
          this.fromRow(existing!); // refuse a damaged row before relying on it
        }
        for (const use of SP_KEY_USES) await this.sql(m, "INSERT INTO saml_sp_keys (kid, key_use, status, since) VALUES (:kid, :use, 'active', :now)", { kid: SP_KEY_ID, use, now });
        created = true;
      });
    } catch (e) {
      if (!isUniqueViolation(e)) throw e; // else another instance won the race
    }
    if (created && generated) this.logger.log(`Generated the SAML SP signing certificate ${SP_KEY_ID} (${describe(generated.certificatePem)})`);
  }

  private seal(kid: string, key: StoredSpKey): string {
    // Sealed: whoever reads the database must not be able to sign AuthnRequests or decrypt assertions as us.
    return secretBoxFor(this.config.secrets).seal(JSON.stringify(key), signingKeySecretContext(kid));
  }

  private async generate(use: SpKeyUse): Promise<StoredSpKey> {
    // Node's WebCrypto types, not the DOM's: the server build has no DOM library.
    const keys = (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const notBefore = new Date(Date.now() - BACKDATE_MS);
    const notAfter = new Date(notBefore);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALIDITY_YEARS);
    const serial = randomBytes(16);
    serial[0] &= 0x7f; // a positive INTEGER (RFC 5280 §4.1.2.2)
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: serial.toString('hex'),
        // JSON form rather than a DN string, so nothing in the host name is parsed as DN syntax.
        name: [{ CN: [new URL(this.config.publicUrl).hostname] }],
        notBefore,
        notAfter,
        signingAlgorithm: KEY_ALGORITHM,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          // RSA-OAEP key transport is key encipherment (RFC 5280 §4.2.1.3).
          new x509.KeyUsagesExtension(use === 'signing' ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.keyEncipherment, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), certificatePem: cert.toString('pem') };
  }

  private fromRow(row: SigningKeyEntity): SpCredentials {
    // Refuse to run with a damaged credential rather than silently replace it: IdPs trust this certificate.
    const damaged = (why: string) => new Error(`signing_keys row ${row.kid} is unusable (${why}); restore it from a backup, or delete it to generate a new certificate that every IdP must then be given`);
    if (row.purpose !== SP_KEY_PURPOSE) throw damaged(`purpose is "${row.purpose}", expected "${SP_KEY_PURPOSE}"`);
    // A key-encryption key problem is reported as it is (SecretsStartupError): the row itself may be fine.
    const plaintext = secretBoxFor(this.config.secrets).open(row.secret, signingKeySecretContext(row.kid), `signing_keys row "${row.kid}"`);
    let stored: Partial<StoredSpKey>;
    try {
      stored = JSON.parse(plaintext) as Partial<StoredSpKey>;
    } catch {
      throw damaged('the secret is not JSON');
    }
    if (typeof stored.privateKeyPem !== 'string' || typeof stored.certificatePem !== 'string') throw damaged('privateKeyPem or certificatePem is missing');
    let matches: boolean;
    try {
      const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
      matches = spki(new X509Certificate(stored.certificatePem).publicKey).equals(spki(createPublicKey(createPrivateKey(stored.privateKeyPem))));
    } catch {
      throw damaged('the key or the certificate does not parse');
    }
    if (!matches) throw damaged('the certificate does not belong to the private key');
    return new SpCredentials(row.kid, stored.certificatePem, stored.privateKeyPem);
  }
}

function describe(certificatePem: string): string {
  const cert = new X509Certificate(certificatePem);
  return `${cert.subject}, SHA-256 ${cert.fingerprint256}, valid until ${new Date(cert.validTo).toISOString()}`;
}
