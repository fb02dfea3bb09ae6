import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A key-encryption key (KEK): 32 bytes for AES-256-GCM, and the id its envelopes name it by. */
export interface KeyEncryptionKey {
  id: string;
  key: Buffer;
}

/** Where the current key-encryption key comes from; see `loadConfig` for the rule that picks one. */
export type KekSource =
  | { kind: 'environment'; key: KeyEncryptionKey }
  /** The embedded SQLite default: generated once and kept beside the database. */
  | { kind: 'file'; path: string }
  /** PostgreSQL outside production without SECRETS_KEK: a publicly known key, so it protects nothing. */
  | { kind: 'insecure-development' }
  /** An in-memory SQLite database: it dies with the process, and so may its key. */
  | { kind: 'ephemeral' };

export interface SecretsConfig {
  source: KekSource;
  /** SECRETS_KEK_PREVIOUS: still accepted for reading, so that rotating the KEK needs no downtime. */
  previous: KeyEncryptionKey[];
}

/** The secrets cannot be read or written with the configured keys: the operator's to fix, reported in one line. */
export class SecretsStartupError extends Error {
  override name = 'SecretsStartupError';
}

const ENVELOPE_PREFIX = 'kek:v1:';
const IV_BYTES = 12; // the GCM nonce size NIST SP 800-38D recommends
const KEY_FILE_NAME = 'secrets.key';

/**
 * Everyone may read this key in this source file. It exists so that several development instances on one PostgreSQL
 * database agree on a key without configuration; rows under it are marked `insecure-dev` in their envelope, and are
 * re-encrypted under a real SECRETS_KEK at the first start that has one.
 */
const INSECURE_DEVELOPMENT_KEK: KeyEncryptionKey = {
  id: 'insecure-dev',
  key: createHash('sha256').update('identity-domain: publicly known development key-encryption key, protects nothing').digest(),
};

/** A KEK's id: a digest of the key, so that two instances with the same key agree and no configuration names keys. */
function kekId(key: Buffer): string {
  return createHash('sha256').update('identity-domain kek id\0').update(key).digest().subarray(0, 8).toString('base64url');
}

/** 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padding optional); undefined otherwise. */
export function parseKeyEncryptionKey(raw: string): KeyEncryptionKey | undefined {
  const text = raw.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(text)) key = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) key = Buffer.from(text, 'base64');
  return key?.length === 32 ? { id: kekId(key), key } : undefined;
}

/** `<data dir>/secrets.key`: the directory of the SQLite database file. */
export function keyFilePath(sqlitePath: string): string {
  return resolve(sqlitePath, '..', KEY_FILE_NAME);
}

/**
 * Encrypts secrets stored in the database (signing keys) with AES-256-GCM under a key-encryption key the database
 * does not hold, so that reading the database is not enough to mint tokens or sign as our SAML SP. Envelope:
 * `kek:v1:<kek id>:<iv>:<tag>:<ciphertext>`, base64url; the KEK id lets a value be read under SECRETS_KEK_PREVIOUS
 * after a rotation and tells which values still need re-encrypting. `context` (e.g. the row's key) is bound as
 * additional authenticated data: a ciphertext copied into another row does not decrypt there.
 */
export class SecretBox {
  private readonly readable: Map<string, Buffer>;

  private constructor(
    private readonly current: KeyEncryptionKey,
    previous: KeyEncryptionKey[],
    /** How the current KEK was chosen, for error messages. */
    readonly currentDescription: string,
  ) {
    // The development key stays readable everywhere so that moving a development database to a real key needs no
    // configuration: its rows are re-encrypted at that start. Its readability protects nothing it did not already.
    this.readable = new Map([...[INSECURE_DEVELOPMENT_KEK, ...previous].map((k) => [k.id, k.key] as const), [current.id, current.key]]);
  }

  /** Resolves the configured KEK; for the embedded default this reads, or the first time creates, `secrets.key`. */
  static fromConfig(config: SecretsConfig): SecretBox {
    const source = config.source;
    switch (source.kind) {
      case 'environment':
        return new SecretBox(source.key, config.previous, 'SECRETS_KEK');
      case 'insecure-development':
        return new SecretBox(INSECURE_DEVELOPMENT_KEK, config.previous, 'the publicly known development key (SECRETS_KEK is unset)');
      case 'ephemeral': {
        const key = randomBytes(32);
        return new SecretBox({ id: kekId(key), key }, config.previous, 'a key of this process only (in-memory database)');
      }
      case 'file':
        return new SecretBox(readOrCreateKeyFile(source.path), config.previous, `the key in ${source.path}`);
    }
  }

  /** True when the current KEK is the publicly known development key. */
  get insecure(): boolean {
    return this.current.id === INSECURE_DEVELOPMENT_KEK.id;
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const b64 = (b: Buffer) => b.toString('base64url');
    return `${ENVELOPE_PREFIX}${this.current.id}:${b64(iv)}:${b64(cipher.getAuthTag())}:${b64(ciphertext)}`;
  }

  /** The plaintext of an envelope; throws a SecretsStartupError naming `what` when it cannot be opened. */
  open(envelope: string, context: string, what: string): string {
    const parts = SecretBox.isSealed(envelope) ? envelope.slice(ENVELOPE_PREFIX.length).split(':') : [];
    if (parts.length !== 4) throw new SecretsStartupError(`${what} is not an encrypted value (expected kek:v1:…)`);
    const [id, iv, tag, ciphertext] = parts;
    const key = this.readable.get(id);
    if (!key) {
      throw new SecretsStartupError(
        `${what} is encrypted under key-encryption key ${id}, but the current key (${this.currentDescription}, id ${this.current.id}) is another and SECRETS_KEK_PREVIOUS does not hold it: start with the key it was written with`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // GCM authentication failed: the value was altered or moved from another row, not a wrong-key case (ids match).
      throw new SecretsStartupError(`${what} does not decrypt under key-encryption key ${id}: the value is damaged or was altered; restore it from a backup`);
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(ENVELOPE_PREFIX);
  }

  /** The KEK id an envelope names, or undefined for a value that is not one (clear text from before encryption). */
  static keyIdOf(value: string): string | undefined {
    return SecretBox.isSealed(value) ? value.slice(ENVELOPE_PREFIX.length).split(':')[0] : undefined;
  }
}

function readOrCreateKeyFile(path: string): KeyEncryptionKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new SecretsStartupError(`Cannot read the key-encryption key file ${path} (${code}): make it readable by this user, or set SECRETS_KEK`);
    return createKeyFile(path);
  }
  const kek = parseKeyEncryptionKey(text);
  if (!kek) throw new SecretsStartupError(`The key-encryption key file ${path} does not hold 32 bytes in base64 or hex: restore it from a backup, or set SECRETS_KEK`);
  return kek;
}

function createKeyFile(path: string): KeyEncryptionKey {
  const text = randomBytes(32).toString('base64');
  // Written whole under a temporary name, then linked into place: link() fails when the name exists, so a process
  // starting at the same moment never sees a half-written file nor has its key replaced (it may already have
  // encrypted rows under it); the loser reads the winner's key.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(resolve(path, '..'), { recursive: true });
    writeFileSync(temporary, `${text}\n`, { flag: 'wx', mode: 0o600 });
    linkSync(temporary, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return readOrCreateKeyFile(path);
    throw new SecretsStartupError(`Cannot create the key-encryption key file ${path} (${code ?? (e as Error).message}): make its directory writable by this user, or set SECRETS_KEK`);
  } finally {
    rmSync(temporary, { force: true });
  }
  return parseKeyEncryptionKey(text)!;
}

const boxes = new WeakMap<SecretsConfig, SecretBox>();

/** One SecretBox per configuration, so the key file is read once per process and every service uses the same keys. */
export function secretBoxFor(config: SecretsConfig): SecretBox {
  let box = boxes.get(config);
  if (!box) boxes.set(config, (box = SecretBox.fromConfig(config)));
  return box;
}
