import { X509Certificate } from 'node:crypto';

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
  const cert = decode(input);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now.getTime() > notAfter.getTime()) {
    throw new CertificateError('expired', `the certificate expired on ${notAfter.toISOString()} (subject ${subjectOf(cert)}); ask the identity provider for its current certificate`);
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new CertificateError('not-yet-valid', `the certificate is not valid yet: its validity starts on ${notBefore.toISOString()} (subject ${subjectOf(cert)})`);
  }
  return {
    der: cert.raw.toString('base64'),
    subject: subjectOf(cert),
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    fingerprintSha256: cert.fingerprint256,
  };
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
