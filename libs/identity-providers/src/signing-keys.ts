import { createHash } from 'node:crypto';
import { Doc } from '@app/scim';
import { describeCertificate } from './certificates';
import { IdpMetadata, MetadataSigningKey } from './idp-metadata';
import { TRUST_EXTENSION_SCHEMA_ID } from './trust-extension.schema';

/*
 * The signing keys of an IdentityProvider: which keys a response may be verified with, kept in our trust
 * extension (trust-extension.schema.ts) next to IDCS's single `signingCertificate`, shown with their expiry,
 * and handed to sign-in. Pure functions of the representation.
 */

/** A signing key as the trust extension stores it. `expired` is not stored: it depends on when one asks. */
export interface StoredSigningKey {
  value: string;
  type: 'X509Certificate' | 'RSAKeyValue';
  fingerprint: string;
  subject?: string;
  notBefore?: string;
  notAfter?: string;
}

/** A key sign-in verifies responses with. */
export interface SignInSigningKey {
  /** PEM: a CERTIFICATE, or a PUBLIC KEY for a bare RSAKeyValue; node-saml and xml-crypto take either. */
  pem: string;
  fingerprint: string;
  /** End of the certificate's validity; absent for a bare key, which has none. */
  notAfter?: string;
}

function extensionOf(doc: Doc | undefined): Doc | undefined {
  const ext = doc?.[TRUST_EXTENSION_SCHEMA_ID];
  return ext && typeof ext === 'object' && !Array.isArray(ext) ? (ext as Doc) : undefined;
}

function storedKeysOf(doc: Doc | undefined): StoredSigningKey[] | undefined {
  const keys = extensionOf(doc)?.signingCertificates;
  return Array.isArray(keys) ? (keys as StoredSigningKey[]) : undefined;
}

function colonHex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').toUpperCase().match(/../g)!.join(':');
}

function storedKey(key: MetadataSigningKey): StoredSigningKey {
  if (key.type === 'RSAKeyValue') return { value: key.spki, type: 'RSAKeyValue', fingerprint: colonHex(Buffer.from(key.spki, 'base64')) };
  const c = describeCertificate(key.der);
  return { value: c.der, type: 'X509Certificate', fingerprint: c.fingerprintSha256, subject: c.subject, notBefore: c.notBefore, notAfter: c.notAfter };
}

/**
 * Records in the trust extension the keys `doc` trusts beyond IDCS's single `signingCertificate`, once that is
 * final (base64 DER):
 * - metadata imported by this request: all its signing keys, unless `signingCertificate` was set to a
 *   certificate the metadata does not hold (an explicit choice, trusted alone; the stored value sent back is none);
 * - otherwise the keys already recorded while `signingCertificate` stays what it was.
 * An IdP whose only key is its `signingCertificate` (given by hand) records nothing: sign-in trusts that
 * certificate, and its representation stays exactly IDCS's. `signingCertificates` is read-only, so what a client
 * sent of it is already gone; the extension is listed in `schemas` only when it holds something.
 */
export function recordSigningKeys(doc: Doc, imported: IdpMetadata | undefined, old: Doc | undefined): void {
  let primary = typeof doc.signingCertificate === 'string' ? doc.signingCertificate : undefined;
  if (imported && primary !== undefined && primary === old?.signingCertificate && !imported.signingCertificates.includes(primary)) {
    // The stored certificate sent back with new metadata (GET, then PUT with the IdP's next document) is no choice
    // of a key: the new document decides, as it would have without the echo.
    primary = imported.signingCertificates[0];
    if (primary) doc.signingCertificate = primary;
    else delete doc.signingCertificate;
  }
  let keys: StoredSigningKey[] = [];
  if (imported) keys = primary === undefined || imported.signingCertificates.includes(primary) ? imported.signingKeys.map(storedKey) : [];
  else if (primary === old?.signingCertificate) keys = storedKeysOf(old) ?? [];

  const ext: Doc = { ...extensionOf(doc) };
  delete ext.signingCertificates;
  delete ext.warnings;
  if (keys.length) ext.signingCertificates = keys;
  const schemas = ((doc.schemas as string[] | undefined) ?? []).filter((s) => s !== TRUST_EXTENSION_SCHEMA_ID);
  if (Object.keys(ext).length) {
    doc[TRUST_EXTENSION_SCHEMA_ID] = ext;
    // Always last, whatever order the client listed its schemas in, so that equal representations compare equal.
    doc.schemas = [...schemas, TRUST_EXTENSION_SCHEMA_ID];
  } else {
    delete doc[TRUST_EXTENSION_SCHEMA_ID];
    doc.schemas = schemas;
  }
}

/** The keys `doc` trusts: those recorded from metadata, else its `signingCertificate` (given by hand, or stored before the extension existed). */
function trustedKeysOf(doc: Doc | undefined): StoredSigningKey[] {
  const stored = storedKeysOf(doc);
  if (stored) return stored;
  return typeof doc?.signingCertificate === 'string' ? [storedKey({ type: 'X509Certificate', der: doc.signingCertificate })] : [];
}

/** The certificates among the keys `doc` trusts, with their expiry (a bare RSAKeyValue has none), for expiry warnings. */
export function signingCertificateExpiries(doc: Doc): { fingerprint: string; subject?: string; notAfter: string }[] {
  return trustedKeysOf(doc).flatMap((k) => (k.notAfter ? [{ fingerprint: k.fingerprint, ...(k.subject ? { subject: k.subject } : {}), notAfter: k.notAfter }] : []));
}

/** Whether `doc` trusts at least one signing key (a certificate, or a bare key from metadata). */
export function hasSigningKeys(doc: Doc): boolean {
  return !!doc.signingCertificate || (storedKeysOf(doc)?.length ?? 0) > 0;
}

const isExpired = (k: { notAfter?: string }, now: Date) => k.notAfter !== undefined && Date.parse(k.notAfter) < now.getTime();

/** What an administrator should be told about the signing keys of `doc` at `now`: expired certificates, no usable key. */
export function signingKeyWarnings(doc: Doc | undefined, now: Date = new Date()): string[] {
  const keys = trustedKeysOf(doc);
  const refuse = extensionOf(doc)?.refuseExpiredSigningKeys === true;
  const out = keys.filter((k) => isExpired(k, now)).map(
    (k) =>
      `signing certificate ${k.subject ?? ''} (SHA-256 ${k.fingerprint}) expired on ${k.notAfter}: ` +
      (refuse
        ? 'sign-in refuses responses signed with it (refuseExpiredSigningKeys)'
        : "responses signed with it are still accepted (the key in metadata is the trust anchor); import the IdP's current metadata, or set refuseExpiredSigningKeys"),
  );
  if (refuse && keys.length > 0 && keys.every((k) => isExpired(k, now))) {
    out.push('every signing key has expired and refuseExpiredSigningKeys is on: nobody can sign in through this identity provider until its current metadata is imported');
  }
  return out;
}

/** `doc` as a response shows it: each signing key with `expired`, and the warnings, as of `now`. */
export function withSigningKeyStatus(doc: Doc, now: Date = new Date()): Doc {
  const ext = extensionOf(doc);
  if (!ext) return doc;
  const keys = storedKeysOf(doc);
  const warnings = signingKeyWarnings(doc, now);
  return {
    ...doc,
    [TRUST_EXTENSION_SCHEMA_ID]: {
      ...ext,
      ...(keys ? { signingCertificates: keys.map((k) => (k.notAfter === undefined ? k : { ...k, expired: isExpired(k, now) })) } : {}),
      ...(warnings.length ? { warnings } : {}),
    },
  };
}

function pem(label: string, b64: string): string {
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').trim()}\n-----END ${label}-----\n`;
}

/** The keys a sign-in through this IdP verifies with (see trustedKeysOf), and whether expired ones are refused. */
export function signInKeysOf(doc: Doc): { signingKeys: SignInSigningKey[]; refuseExpiredSigningKeys: boolean } {
  return {
    signingKeys: trustedKeysOf(doc).map((k) => ({
      pem: pem(k.type === 'RSAKeyValue' ? 'PUBLIC KEY' : 'CERTIFICATE', k.value),
      fingerprint: k.fingerprint,
      ...(k.notAfter ? { notAfter: k.notAfter } : {}),
    })),
    refuseExpiredSigningKeys: extensionOf(doc)?.refuseExpiredSigningKeys === true,
  };
}

/**
 * The keys a sign-in at `now` may verify with: all of them, or, when expired keys are refused, the unexpired
 * ones; and until when that choice holds (the next expiry among them), so that a cached verifier is rebuilt then.
 */
export function usableSigningKeys(keys: { signingKeys: SignInSigningKey[]; refuseExpiredSigningKeys: boolean }, now: Date = new Date()): { usable: SignInSigningKey[]; refused: SignInSigningKey[]; validUntil: number } {
  if (!keys.refuseExpiredSigningKeys) return { usable: keys.signingKeys, refused: [], validUntil: Infinity };
  const usable = keys.signingKeys.filter((k) => !isExpired(k, now));
  const refused = keys.signingKeys.filter((k) => isExpired(k, now));
  const validUntil = Math.min(Infinity, ...usable.filter((k) => k.notAfter).map((k) => Date.parse(k.notAfter!)));
  return { usable, refused, validUntil };
}
