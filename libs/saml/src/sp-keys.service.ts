import 'reflect-metadata'; // @peculiar/x509 (via tsyringe) refuses to load before it
import { Inject, Injectable, Logger } from '@nestjs/common';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { SigningKeyEntity, signingKeySecretContext } from '@app/auth';
import { Database, isUniqueViolation, nowIso } from '@app/persistence';

/** Row id of the SP credential in `signing_keys`; a later rotation would add `saml-sp-2`. */
export const SP_KEY_ID = 'saml-sp-1';
/** `signing_keys.purpose` of the SP credential. */
export const SP_KEY_PURPOSE = 'saml-sp';

// 3072 bits rather than 2048: the certificate lives ten years, past 2030, when NIST SP 800-57 retires 2048-bit RSA.
const KEY_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 3072 } as const;
const VALIDITY_YEARS = 10;
// IdPs whose clocks run behind would otherwise see a certificate that is not valid yet in its first minutes.
const BACKDATE_MS = 60 * 60 * 1000;

/** What `signing_keys.secret` holds, sealed (SecretBox), for the SP credential. */
interface StoredSpKey {
  privateKeyPem: string;
  certificatePem: string;
}

/**
 * The SP's signing credential: a certificate anyone may see, and a private key that only signing code may
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

  /** The private key, PKCS#8 PEM, for node-saml's `privateKey` option. Never log it or send it anywhere. */
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

/**
 * Our SAML SP's signing key and self-signed certificate (what we sign AuthnRequests with and publish in our
 * metadata). Generated on first use and kept in `signing_keys`, so every instance sharing the database, and
 * every restart, presents the same certificate to the IdPs that trust it; then cached in memory.
 */
@Injectable()
export class SpKeyService {
  private readonly logger = new Logger(SpKeyService.name);
  private loading?: Promise<SpCredentials>;

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The credential, generating and storing it first if no instance has done so yet. */
  credentials(): Promise<SpCredentials> {
    // One promise per process: concurrent first calls share one generation instead of racing each other.
    this.loading ??= this.load().catch((e) => {
      this.loading = undefined; // let the next call retry (e.g. the database was briefly unreachable)
      throw e;
    });
    return this.loading;
  }

  private async load(): Promise<SpCredentials> {
    const repo = this.db.dataSource.getRepository(SigningKeyEntity);
    let row = await this.db.read(() => repo.findOneBy({ kid: SP_KEY_ID }));
    if (!row) {
      // Generated outside the transaction: RSA key generation takes a while, and on SQLite a transaction
      // holds the process-wide write mutex.
      const generated = await this.generate();
      // Sealed: whoever reads the database must not be able to sign AuthnRequests as us.
      const secret = secretBoxFor(this.config.secrets).seal(JSON.stringify(generated), signingKeySecretContext(SP_KEY_ID));
      const candidate: SigningKeyEntity = { kid: SP_KEY_ID, purpose: SP_KEY_PURPOSE, secret, created: nowIso() };
      try {
        // insert, not save: save() turns into an UPDATE when another instance's row appeared meanwhile,
        // which would replace the certificate that instance already serves.
        await this.db.transaction((m) => m.insert(SigningKeyEntity, candidate));
        row = candidate;
        const cert = new X509Certificate(generated.certificatePem);
        this.logger.log(`Generated the SAML SP signing certificate ${SP_KEY_ID} (${cert.subject}, SHA-256 ${cert.fingerprint256}, valid until ${new Date(cert.validTo).toISOString()})`);
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        row = await this.db.read(() => repo.findOneByOrFail({ kid: SP_KEY_ID })); // another instance won the race
      }
    }
    return this.fromRow(row);
  }

  private async generate(): Promise<StoredSpKey> {
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
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
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
    const damaged = (why: string) => new Error(`signing_keys row ${SP_KEY_ID} is unusable (${why}); restore it from a backup, or delete it to generate a new certificate that every IdP must then be given`);
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
