import { applyJitSettingsRules, assertionFromXml, VerifiedAssertion } from '@app/jit';
import { Doc, ScimError } from '@app/scim';
import { CertificateError, parseCertificate } from './certificates';
import { NAME_ID_FORMATS } from './identity-provider.schema';
import { MetadataError, parseIdpMetadata } from './idp-metadata';

/*
 * The rules of an IdentityProvider representation, as pure functions: what a stored IdP must satisfy and how a
 * request completes it (metadata import, canonical enumerations, defaults, the JIT settings rules).
 */

/** Attributes that metadata import may fill, with where they come from. */
const FROM_METADATA = ['partnerProviderId', 'idpSsoUrl', 'signingCertificate', 'encryptionCertificate', 'logoutRequestUrl', 'logoutResponseUrl'] as const;

const USER_LOOKUP_ATTRIBUTES = ['userName', 'emails.value', 'externalId'];

function canonicalEnum(doc: Doc, name: string, allowed: string[]): void {
  const v = doc[name];
  if (v === undefined) return;
  const found = allowed.find((a) => a.toLowerCase() === String(v).toLowerCase());
  if (!found) throw ScimError.badRequest('invalidValue', `${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
  doc[name] = found;
}

function checkUrl(doc: Doc, name: string): void {
  const v = doc[name];
  if (v === undefined) return;
  let ok = false;
  try {
    const u = new URL(String(v));
    ok = u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    ok = false;
  }
  if (!ok) throw ScimError.badRequest('invalidValue', `${name} must be an absolute http(s) URL (got ${JSON.stringify(v)})`);
}

/**
 * Validates and completes a representation: SAML only, metadata import into attributes not given
 * explicitly, certificates, enumerations, user mapping, and the JIT rules.
 */
export function prepareIdentityProvider(doc: Doc, explicit: Set<string>, fromMetadata: boolean, old: Doc | undefined): void {
  if (doc.type !== 'SAML') throw ScimError.badRequest('invalidValue', `type must be "SAML": only SAML identity providers are implemented (got ${JSON.stringify(doc.type)})`);
  if (fromMetadata && typeof doc.metadata === 'string') importMetadata(doc, explicit);
  for (const name of ['signingCertificate', 'encryptionCertificate']) {
    // A certificate already stored is not judged again: an IdP whose certificate expired must stay editable (e.g. to disable it).
    if (doc[name] === undefined || doc[name] === old?.[name]) continue;
    try {
      doc[name] = parseCertificate(String(doc[name])).der;
    } catch (e) {
      if (e instanceof CertificateError) throw ScimError.badRequest('invalidValue', `${name}: ${e.message}`);
      throw e;
    }
  }
  for (const name of ['idpSsoUrl', 'logoutRequestUrl', 'logoutResponseUrl', 'iconUrl']) checkUrl(doc, name);
  canonicalEnum(doc, 'nameIdFormat', Object.keys(NAME_ID_FORMATS));
  canonicalEnum(doc, 'authnRequestBinding', ['Redirect', 'Post']);
  canonicalEnum(doc, 'logoutBinding', ['Redirect', 'Post']);
  canonicalEnum(doc, 'signatureHashAlgorithm', ['SHA-1', 'SHA-256']);
  canonicalEnum(doc, 'userMappingMethod', ['NameIDToUserAttribute', 'AssertionAttributeToUserAttribute']);
  canonicalEnum(doc, 'userMappingStoreAttribute', USER_LOOKUP_ATTRIBUTES);
  doc.signatureHashAlgorithm ??= 'SHA-256';
  doc.userMappingMethod ??= 'NameIDToUserAttribute';
  doc.userMappingStoreAttribute ??= 'userName';
  if (doc.userMappingMethod === 'AssertionAttributeToUserAttribute' && !doc.assertionAttribute) {
    throw ScimError.badRequest('invalidValue', 'userMappingMethod AssertionAttributeToUserAttribute needs assertionAttribute (the assertion attribute to match)');
  }
  if (doc.enabled === true) {
    const missing = ['partnerProviderId', 'idpSsoUrl', 'signingCertificate'].filter((n) => !doc[n]);
    if (missing.length) {
      throw ScimError.badRequest('invalidValue', `An enabled SAML identity provider needs ${missing.join(', ')} (give them, or the IdP's metadata)`);
    }
  }
  applyJitSettingsRules(doc);
}

function importMetadata(doc: Doc, explicit: Set<string>): void {
  let md;
  try {
    md = parseIdpMetadata(String(doc.metadata));
  } catch (e) {
    if (e instanceof MetadataError) throw ScimError.badRequest('invalidValue', `metadata: ${e.message}`);
    throw e;
  }
  const preferred = (list: { binding: string; location: string }[]) =>
    (list.find((x) => x.binding === (doc.authnRequestBinding ?? 'Redirect')) ?? list[0])?.location;
  const slo = md.sloUrls.find((x) => x.binding === (doc.logoutBinding ?? 'Redirect')) ?? md.sloUrls[0];
  const values: Record<(typeof FROM_METADATA)[number], unknown> = {
    partnerProviderId: md.entityId,
    idpSsoUrl: preferred(md.ssoUrls),
    signingCertificate: md.signingCertificates[0],
    encryptionCertificate: md.encryptionCertificates.find((c) => c !== md.signingCertificates[0]) ?? undefined,
    logoutRequestUrl: slo?.location,
    logoutResponseUrl: slo?.responseLocation ?? slo?.location,
  };
  for (const name of FROM_METADATA) {
    if (!explicit.has(name) && values[name] !== undefined) doc[name] = values[name];
  }
}

/** The assertion a JIT preview request describes: its XML (unverified), or a NameID and attributes. */
export function previewAssertionOf(body: unknown): VerifiedAssertion {
  const b = (body && typeof body === 'object' ? body : {}) as Doc;
  let assertion: VerifiedAssertion;
  if (typeof b.assertion === 'string') assertion = assertionFromXml(b.assertion);
  else {
    if (typeof b.nameId !== 'string') throw ScimError.badRequest('invalidValue', 'Give "nameId" (and optionally "attributes"), or "assertion" holding the assertion XML');
    const attributes: Record<string, string[]> = {};
    const raw = b.attributes ?? {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw ScimError.badRequest('invalidValue', '"attributes" must be an object of attribute name to value or values');
    for (const [name, v] of Object.entries(raw as Doc)) {
      const values = Array.isArray(v) ? v : [v];
      if (values.some((x) => typeof x !== 'string')) throw ScimError.badRequest('invalidValue', `attributes["${name}"] must be a string or an array of strings`);
      attributes[name] = values as string[];
    }
    if (b.nameIdFormat !== undefined && typeof b.nameIdFormat !== 'string') throw ScimError.badRequest('invalidValue', '"nameIdFormat" must be a string');
    assertion = { nameId: b.nameId, nameIdFormat: b.nameIdFormat as string | undefined, issuer: '', attributes };
  }
  return assertion;
}
