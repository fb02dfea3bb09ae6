import { Doc, ScimError } from '@app/scim';
import { CertificateError, certificateDer } from './certificates';
import { TRUST_EXTENSION_SCHEMA_ID } from './trust-extension.schema';

/*
 * The metadata refresh settings of an IdentityProvider (our trust extension, beyond IDCS): pure rules, applied
 * on every write of the resource, and read by the refresher (metadata-refresh.service.ts).
 */

export const MIN_REFRESH_INTERVAL_MINUTES = 15;
export const MAX_REFRESH_INTERVAL_MINUTES = 10080;
export const DEFAULT_REFRESH_INTERVAL_MINUTES = 1440;
export const MAX_METADATA_URL_CHARS = 2048;

/** What the refresher needs of an IdP. */
export interface MetadataRefreshSettings {
  url: string;
  intervalMinutes: number;
  /** Base64 DER of the certificate the document must be signed with, if any. */
  signingCertificate?: string;
  allowPrivateNetwork: boolean;
}

const where = (name: string) => `${TRUST_EXTENSION_SCHEMA_ID}:${name}`;

function extensionOf(doc: Doc | undefined): Doc | undefined {
  const ext = doc?.[TRUST_EXTENSION_SCHEMA_ID];
  return ext && typeof ext === 'object' && !Array.isArray(ext) ? (ext as Doc) : undefined;
}

/** The refresh settings of a stored representation; undefined when refresh is off (no metadataUrl, or not SAML). */
export function metadataRefreshSettingsOf(doc: Doc): MetadataRefreshSettings | undefined {
  const ext = extensionOf(doc);
  if (doc.type !== 'SAML' || typeof ext?.metadataUrl !== 'string') return undefined;
  return {
    url: ext.metadataUrl,
    intervalMinutes: typeof ext.metadataRefreshIntervalMinutes === 'number' ? ext.metadataRefreshIntervalMinutes : DEFAULT_REFRESH_INTERVAL_MINUTES,
    ...(typeof ext.metadataSigningCertificate === 'string' ? { signingCertificate: ext.metadataSigningCertificate } : {}),
    allowPrivateNetwork: ext.metadataAllowPrivateNetwork === true,
  };
}

/**
 * Why `value` cannot be a metadataUrl, or undefined when it can. https only, even where private addresses are
 * allowed: the document decides which keys sign-ins are verified with, so its transport must be authenticated.
 * No user name or password in the URL: they would be stored, returned and audited in clear.
 */
export function metadataUrlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length > MAX_METADATA_URL_CHARS) return `must be at most ${MAX_METADATA_URL_CHARS} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:') return `must be an https URL (got ${url.protocol.replace(/:$/, '')})`;
  if (url.username || url.password) return 'must not carry a user name or password';
  return undefined;
}

/**
 * Validates and completes the refresh settings of `doc` in place (called from prepareIdentityProvider, before the
 * trust extension's keys are recorded):
 * - metadataUrl: see metadataUrlProblem; only on a SAML identity provider;
 * - metadataRefreshIntervalMinutes: an integer from 15 to 10080, 1440 when metadataUrl is set without it;
 * - metadataSigningCertificate: one X.509 certificate, stored as base64 DER; its dates are not judged (as for keys
 *   from metadata, the key is the trust anchor);
 * - metadataLastRefreshed and metadataLastError are the refresher's: kept from `old` while metadataUrl stays the
 *   same (a client cannot send them: they are read-only), dropped when it changes.
 * A value already stored is not judged again, so that an IdP stored before a rule stays editable.
 */
export function prepareMetadataRefreshSettings(doc: Doc, old: Doc | undefined): void {
  const ext = extensionOf(doc);
  const before = extensionOf(old);
  const bad = (name: string, message: string) => ScimError.badRequest('invalidValue', `${where(name)} ${message}`);
  if (ext) {
    delete ext.metadataLastRefreshed;
    delete ext.metadataLastError;
  }
  if (ext?.metadataUrl !== undefined) {
    if (doc.type !== 'SAML') throw bad('metadataUrl', `is for SAML identity providers only (this one is of type ${String(doc.type)})`);
    if (ext.metadataUrl !== before?.metadataUrl) {
      const problem = metadataUrlProblem(ext.metadataUrl);
      if (problem) throw bad('metadataUrl', `${problem}: ${JSON.stringify(String(ext.metadataUrl).slice(0, 200))}`);
    }
    ext.metadataRefreshIntervalMinutes ??= DEFAULT_REFRESH_INTERVAL_MINUTES;
  }
  const interval = ext?.metadataRefreshIntervalMinutes;
  if (ext && interval !== undefined && interval !== before?.metadataRefreshIntervalMinutes) {
    if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < MIN_REFRESH_INTERVAL_MINUTES || interval > MAX_REFRESH_INTERVAL_MINUTES) {
      throw bad('metadataRefreshIntervalMinutes', `must be a whole number of minutes from ${MIN_REFRESH_INTERVAL_MINUTES} to ${MAX_REFRESH_INTERVAL_MINUTES} (got ${JSON.stringify(interval)})`);
    }
  }
  const cert = ext?.metadataSigningCertificate;
  if (ext && cert !== undefined && cert !== before?.metadataSigningCertificate) {
    try {
      ext.metadataSigningCertificate = certificateDer(String(cert));
    } catch (e) {
      if (e instanceof CertificateError) throw bad('metadataSigningCertificate', e.message);
      throw e;
    }
  }
  if (ext && typeof ext.metadataUrl === 'string' && ext.metadataUrl === before?.metadataUrl) {
    if (before.metadataLastRefreshed !== undefined) ext.metadataLastRefreshed = before.metadataLastRefreshed;
    if (before.metadataLastError !== undefined) ext.metadataLastError = before.metadataLastError;
  }
}

/**
 * `doc` with the outcome of a refresh recorded: the time a change was applied, or why the last read was refused
 * (absent after a read that succeeded).
 */
export function withRefreshOutcome(doc: Doc, outcome: { refreshed: string } | { error: string } | { clearError: true }): Doc {
  const ext: Doc = { ...extensionOf(doc) };
  if ('refreshed' in outcome) {
    ext.metadataLastRefreshed = outcome.refreshed;
    delete ext.metadataLastError;
  } else if ('error' in outcome) ext.metadataLastError = outcome.error;
  else delete ext.metadataLastError;
  return { ...doc, [TRUST_EXTENSION_SCHEMA_ID]: ext };
}

/** The refresher's record of its last read, as stored in `doc`. */
export function refreshOutcomeOf(doc: Doc): { lastRefreshed?: string; lastError?: string } {
  const ext = extensionOf(doc);
  return {
    ...(typeof ext?.metadataLastRefreshed === 'string' ? { lastRefreshed: ext.metadataLastRefreshed } : {}),
    ...(typeof ext?.metadataLastError === 'string' ? { lastError: ext.metadataLastError } : {}),
  };
}
