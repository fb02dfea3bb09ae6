import { createHash, createPublicKey, X509Certificate } from 'node:crypto';

/** Why a certificate was refused; `message` says it in words an administrator can act on. */
export type CertificateErrorReason = 'not-a-certificate' | 'expired' | 'not-yet-valid';

/**
 * A certificate given to us (pasted by an administrator, or found in IdP metadata) that we cannot use.
 * The message never repeats the input: people sometimes paste a private key by mistake.
 */
export class CertificateError extends Error {
  constructor(
    readonly reason: CertificateErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

/** What we keep and show of an X.509 certificate. */
export interface ParsedCertificate {
  /** The certificate, DER encoded, as base64 without PEM armour or whitespace: the form SAML metadata uses. */
  der: string;
  /** Subject distinguished name, e.g. `CN=idp.example.com, O=Example`. */
  subject: string;
  /** Start of validity, ISO 8601. */
  notBefore: string;
  /** End of validity, ISO 8601. */
  notAfter: string;
  /** SHA-256 of the DER bytes, upper-case hex pairs separated by colons (as `openssl x509 -fingerprint` prints it). */
  fingerprintSha256: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
// Strict: Buffer.from(…, 'base64') silently skips characters it does not know, which would turn typos into other bytes.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes one certificate given as base64 DER or PEM (whitespace anywhere is tolerated) and returns its
 * canonical base64 DER, without judging its validity dates.
 *
 * @throws CertificateError (`not-a-certificate`) when the input is not exactly one X.509 certificate.
 */
export function certificateDer(input: string): string {
  return decode(input).raw.toString('base64');
}

/**
 * Parses one certificate given as base64 DER or PEM (whitespace anywhere is tolerated) and checks that it
 * is valid at `now`.
 *
 * @throws CertificateError when the input is not exactly one X.509 certificate, has expired, or is not valid yet.
 */
export function parseCertificate(input: string, now: Date = new Date()): ParsedCertificate {
  const parsed = describeCertificate(input);
  if (now.getTime() > Date.parse(parsed.notAfter)) {
    throw new CertificateError('expired', `the certificate expired on ${parsed.notAfter} (subject ${parsed.subject}); ask the identity provider for its current certificate`);
  }
  if (now.getTime() < Date.parse(parsed.notBefore)) {
    throw new CertificateError('not-yet-valid', `the certificate is not valid yet: its validity starts on ${parsed.notBefore} (subject ${parsed.subject})`);
  }
  return parsed;
}

/**
 * Parses one certificate given as base64 DER or PEM, without judging its validity dates: in SAML metadata the key
 * is the trust anchor and the certificate only its container (SAML V2.0 Metadata Interoperability Profile §2.5.1).
 *
 * @throws CertificateError (`not-a-certificate`) when the input is not exactly one X.509 certificate.
 */
export function describeCertificate(input: string): ParsedCertificate {
  const cert = decode(input);
  return {
    der: cert.raw.toString('base64'),
    subject: subjectOf(cert),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprintSha256: cert.fingerprint256,
  };
}

/** A bare public key (XML-DSig `RSAKeyValue`), as we keep it: the SubjectPublicKeyInfo, base64 DER. */
export interface ParsedPublicKey {
  /** SubjectPublicKeyInfo, DER encoded, base64 without whitespace. */
  spki: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, in the same form as a certificate's fingerprint. */
  fingerprintSha256: string;
}

/** Largest RSA modulus accepted: bigger keys only make every verification slower (OpenSSL's own limit is 16384). */
const MAX_RSA_MODULUS_BITS = 16384;
/** Smallest: 1024-bit keys are weak but still published by older IdPs; below that, signatures can be forged. */
const MIN_RSA_MODULUS_BITS = 1024;

/**
 * The public key of an XML-DSig `RSAKeyValue` (XML-DSig §4.4.2.2): `Modulus` and `Exponent` are base64
 * CryptoBinary, big-endian. Node's crypto builds the key (from a JWK), so what we store is what OpenSSL accepted.
 *
 * @throws CertificateError (`not-a-certificate`) when the values are not base64, or the modulus is outside
 *   1024–16384 bits, or the exponent is not an odd number from 3 to 2^32-1.
 */
export function rsaKeyValuePublicKey(modulusB64: string, exponentB64: string): ParsedPublicKey {
  const bytes = (value: string, what: string): Buffer => {
    const compact = value.replace(/\s+/g, '');
    if (!compact) throw new CertificateError('not-a-certificate', `the RSAKeyValue ${what} is missing`);
    if (!BASE64.test(compact)) throw new CertificateError('not-a-certificate', `the RSAKeyValue ${what} is not base64`);
    // CryptoBinary may carry leading zero octets; a JWK must not.
    let b = Buffer.from(compact, 'base64');
    while (b.length > 1 && b[0] === 0) b = b.subarray(1);
    return b;
  };
  const n = bytes(modulusB64, 'Modulus');
  const e = bytes(exponentB64, 'Exponent');
  const bits = (n.length - 1) * 8 + n[0].toString(2).length;
  if (bits > MAX_RSA_MODULUS_BITS) throw new CertificateError('not-a-certificate', `the RSAKeyValue Modulus is larger than ${MAX_RSA_MODULUS_BITS} bits`);
  // OpenSSL builds a key from any numbers; signatures under a tiny modulus or a trivial exponent are forgeable.
  if (bits < MIN_RSA_MODULUS_BITS) throw new CertificateError('not-a-certificate', `the RSAKeyValue Modulus has ${bits} bits; an RSA key needs at least ${MIN_RSA_MODULUS_BITS}`);
  if (e.length > 4 || (e[e.length - 1] & 1) === 0 || (e.length === 1 && e[0] < 3)) {
    throw new CertificateError('not-a-certificate', 'the RSAKeyValue Exponent is not an RSA public exponent (an odd number from 3 to 2^32-1)');
  }
  const spki = createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  return { spki: spki.toString('base64'), fingerprintSha256: colonHex(createHash('sha256').update(spki).digest()) };
}

function colonHex(digest: Buffer): string {
  return digest.toString('hex').toUpperCase().match(/../g)!.join(':');
}

function decode(input: string): X509Certificate {
  if (typeof input !== 'string' || !input.trim()) throw notACertificate('the value is empty');
  let body = input;
  if (input.includes('-----BEGIN')) {
    const blocks = [...input.matchAll(PEM_BLOCK)];
    const labels = blocks.map((b) => b[1]);
    if (!blocks.length) throw notACertificate('the PEM armour is incomplete (a "-----BEGIN CERTIFICATE-----" line needs its matching "-----END CERTIFICATE-----")');
    const wrong = labels.find((l) => l !== 'CERTIFICATE');
    // Say what it is, never echo it: a pasted private key must not end up in a response or a log.
    if (wrong) throw notACertificate(`the PEM block is a ${wrong}, not a CERTIFICATE`);
    if (blocks.length > 1) throw notACertificate(`the PEM text holds ${blocks.length} certificates; give exactly one (the signing certificate, not a chain)`);
    body = blocks[0][2];
  }
  const compact = body.replace(/\s+/g, '');
  if (!BASE64.test(compact)) throw notACertificate('the value is neither PEM nor base64-encoded DER');
  const der = Buffer.from(compact, 'base64');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw notACertificate('the bytes are not a DER-encoded X.509 certificate');
  }
  // OpenSSL ignores bytes after the certificate; refuse them so what we store is exactly what we checked.
  if (cert.raw.length !== der.length) throw notACertificate(`${der.length - cert.raw.length} unexpected bytes follow the certificate`);
  return cert;
}

function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).join(', ');
}

function notACertificate(detail: string): CertificateError {
  return new CertificateError('not-a-certificate', `not an X.509 certificate: ${detail}`);
}
