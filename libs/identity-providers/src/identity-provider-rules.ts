import { applyJitSettingsRules, assertionFromClaims, assertionFromXml, userAttributePath, USER_MAPPING_METHODS, VerifiedAssertion } from '@app/jit';
import { applyPatch, Doc, normalizeResource, ParsedPatchOp, ScimError } from '@app/scim';
import { CertificateError, certificateDer, parseCertificate } from './certificates';
import {
  IDENTITY_PROVIDER_RESOURCE_TYPE,
  IDENTITY_PROVIDER_TYPES,
  NAME_ID_FORMATS,
  SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID,
  X509_EKU_VALUES,
  X509_IDENTITY_PROVIDER_SCHEMA_ID,
} from './identity-provider.schema';
import { IdpMetadata, MetadataError, parseIdpMetadata } from './idp-metadata';
import { prepareMetadataRefreshSettings } from './metadata-refresh-settings';
import { hasSigningKeys, recordSigningKeys } from './signing-keys';

/*
 * The rules of an IdentityProvider representation, as pure functions: what a stored IdP must satisfy and how a
 * request completes it (metadata import, canonical enumerations, defaults, the JIT settings rules).
 * What IDCS stores is accepted even where our sign-in cannot honour it (a NameID format that is no URI, a
 * correlation policy, a lookup by name.givenName): sign-in and the JIT preview say so (sign-in-configuration.ts,
 * the JIT planner), so that automation written against IDCS applies unchanged.
 */

/** Attributes that metadata import may fill, with where they come from. */
const FROM_METADATA = ['partnerProviderId', 'idpSsoUrl', 'signingCertificate', 'encryptionCertificate', 'logoutRequestUrl', 'logoutResponseUrl'] as const;

/** The extension each non-SAML type is described by. */
const TYPE_EXTENSIONS: Record<string, string> = { SOCIAL: SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID, X509: X509_IDENTITY_PROVIDER_SCHEMA_ID };

function canonicalEnum(doc: Doc, name: string, allowed: string[], where = name): void {
  const v = doc[name];
  if (v === undefined) return;
  const found = allowed.find((a) => a.toLowerCase() === String(v).toLowerCase());
  if (!found) throw ScimError.badRequest('invalidValue', `${where} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
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
 * Validates and completes a representation: type and the extension it needs, metadata import into attributes not
 * given explicitly, certificates, enumerations, user mapping, the extensions' enumerations, and the JIT rules.
 */
/**
 * The representation a PATCH makes of the stored one, checked by the same rules as every write: what PATCH writes,
 * and what the change-impact report assesses. An operation on `metadata` imports it; the attributes other operations
 * name are the client's choice over what the metadata says.
 */
export function patchedIdentityProvider(old: Doc, ops: ParsedPatchOp[]): Doc {
  const explicit = new Set(ops.filter((o) => o.path.attribute.name !== 'metadata').map((o) => o.path.attribute.name));
  const doc = normalizeResource(IDENTITY_PROVIDER_RESOURCE_TYPE, applyPatch(old, ops));
  prepareIdentityProvider(doc, explicit, doc.metadata !== undefined && doc.metadata !== old.metadata, old);
  return doc;
}

export function prepareIdentityProvider(doc: Doc, explicit: Set<string>, fromMetadata: boolean, old: Doc | undefined): void {
  checkType(doc);
  const imported = fromMetadata && typeof doc.metadata === 'string' ? importMetadata(doc, explicit) : undefined;
  for (const name of ['signingCertificate', 'encryptionCertificate']) {
    // A certificate already stored is not judged again: an IdP whose certificate expired must stay editable (e.g. to disable it).
    if (doc[name] === undefined || doc[name] === old?.[name]) continue;
    try {
      // Dates are judged only for a certificate given by hand. From metadata the key is the trust anchor (SAML V2.0
      // Metadata Interoperability Profile): an expired one is accepted, shown and warned about (signing-keys.ts).
      doc[name] = explicit.has(name) ? parseCertificate(String(doc[name])).der : certificateDer(String(doc[name]));
    } catch (e) {
      if (e instanceof CertificateError) throw ScimError.badRequest('invalidValue', `${name}: ${e.message}`);
      throw e;
    }
  }
  prepareMetadataRefreshSettings(doc, old);
  recordSigningKeys(doc, imported, old);
  for (const name of ['idpSsoUrl', 'logoutRequestUrl', 'logoutResponseUrl', 'iconUrl']) checkUrl(doc, name);
  canonicalNameIdFormat(doc);
  canonicalEnum(doc, 'authnRequestBinding', ['Redirect', 'Post']);
  canonicalEnum(doc, 'logoutBinding', ['Redirect', 'Post']);
  canonicalEnum(doc, 'signatureHashAlgorithm', ['SHA-1', 'SHA-256']);
  canonicalEnum(doc, 'userMappingMethod', [...USER_MAPPING_METHODS]);
  if (doc.userMappingStoreAttribute !== undefined) doc.userMappingStoreAttribute = userAttributePath(String(doc.userMappingStoreAttribute), 'userMappingStoreAttribute');
  doc.signatureHashAlgorithm ??= 'SHA-256';
  doc.userMappingMethod ??= 'NameIDToUserAttribute';
  doc.userMappingStoreAttribute ??= 'userName';
  if (doc.userMappingMethod === 'AssertionAttributeToUserAttribute' && !doc.assertionAttribute) {
    throw ScimError.badRequest('invalidValue', 'userMappingMethod AssertionAttributeToUserAttribute needs assertionAttribute (the assertion attribute to match)');
  }
  if (doc.type === 'SAML' && doc.enabled === true) {
    // A bare key (RSAKeyValue) from metadata stands for the certificate it came without.
    const missing = ['partnerProviderId', 'idpSsoUrl', 'signingCertificate'].filter((n) => !(n === 'signingCertificate' ? hasSigningKeys(doc) : doc[n]));
    if (missing.length) {
      throw ScimError.badRequest('invalidValue', `An enabled SAML identity provider needs ${missing.join(', ')} (give them, or the IdP's metadata)`);
    }
  }
  prepareExtensions(doc, old);
  applyJitSettingsRules(doc);
}

/**
 * `type` as IDCS spells it, with the extension a SOCIAL or X509 IdP is described by. The extensions may also
 * accompany a SAML IdP (Oracle's Terraform acceptance test sends both with one): they are stored as given.
 */
function checkType(doc: Doc): void {
  const given = String(doc.type);
  const type = [...IDENTITY_PROVIDER_TYPES, 'IWA', 'LOCAL'].find((t) => t.toLowerCase() === given.toLowerCase());
  if (type === 'IWA' || type === 'LOCAL') {
    throw ScimError.badRequest(
      'invalidValue',
      `type ${type} is not implemented: IDCS provides it itself (IWA: Windows integrated authentication through its bridge; LOCAL: the domain's own sign-in). Use ${IDENTITY_PROVIDER_TYPES.join(', ')}`,
    );
  }
  if (!type) throw ScimError.badRequest('invalidValue', `type must be one of ${IDENTITY_PROVIDER_TYPES.join(', ')} (got ${JSON.stringify(doc.type)})`);
  doc.type = type;
  const extension = TYPE_EXTENSIONS[type];
  if (extension && doc[extension] === undefined) {
    throw ScimError.badRequest('invalidValue', `Identity providers of type ${type} are described by their extension: give the "${extension}" object (and list it in "schemas")`);
  }
}

/**
 * The short tokens are spelled as IDCS spells them. Anything else is stored as given, as IDCS does (Oracle's
 * Terraform acceptance test sends the literal "nameIdFormat"): a format URI is requested as it is, and sign-in
 * through an IdP whose value names no format is refused with that reason (sign-in-configuration.ts).
 */
function canonicalNameIdFormat(doc: Doc): void {
  if (doc.nameIdFormat === undefined) return;
  const given = String(doc.nameIdFormat);
  doc.nameIdFormat = Object.keys(NAME_ID_FORMATS).find((t) => t.toLowerCase() === given.toLowerCase()) ?? given;
}

/**
 * The enumerations of correlationPolicy and of the social and x509 extensions, and the rules of a SOCIAL IdP's
 * settings. The extensions beside another type are stored as given: Oracle's Terraform test sends "authzUrl" as
 * the authorization URL of a SAML IdP's social extension, and IDCS takes it.
 */
function prepareExtensions(doc: Doc, old: Doc | undefined): void {
  const policy = doc.correlationPolicy as Doc | undefined;
  if (policy) canonicalEnum(policy, 'type', ['Policy'], 'correlationPolicy.type');
  const social = doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
  if (social) canonicalEnum(social, 'status', ['created', 'deleted'], `${SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID}:status`);
  // Only a SOCIAL IdP signs users in with these settings; beside another type they are data, stored as given.
  if (social && doc.type === 'SOCIAL') {
    prepareSocialSettings(social, old?.[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined, (name) => `${SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID}:${name}`);
  }
  const x509 = doc[X509_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
  // Matched ignoring case and kept as sent: Terraform sends "server_auth" and would see any rewrite as a change.
  for (const [i, v] of ((x509?.ekuValues as string[] | undefined) ?? []).entries()) {
    if (!X509_EKU_VALUES.some((e) => e.toLowerCase() === v.toLowerCase())) {
      throw ScimError.badRequest('invalidValue', `${X509_IDENTITY_PROVIDER_SCHEMA_ID}:ekuValues[${i}] must be one of ${X509_EKU_VALUES.join(', ')} (got ${JSON.stringify(v)})`);
    }
  }
}

/** Where every SOCIAL identity provider sends users back to: ours, whatever a client stores. */
export const SOCIAL_CALLBACK_PATH = '/oauth2/v1/social/callback';

/**
 * The redirect (callback) URI of SOCIAL identity providers under PUBLIC_URL, as IDCS writes it: no default port
 * (`https://id.example.com:443` gives `https://id.example.com/oauth2/v1/social/callback`).
 */
export function socialRedirectUrl(publicUrl: string): string {
  const u = new URL(publicUrl);
  // URL.origin leaves out the scheme's default port.
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}${SOCIAL_CALLBACK_PATH}`;
}

/** serviceProviderName of a generic OpenID Connect provider. */
export const OPENID_CONNECT_PROVIDER = 'OpenIDConnect';
const OPENID_CONNECT_SPELLINGS = new Set(['openidconnect', 'openid connect', 'oidc']);

/** serviceProviderName as stored: the spellings of a generic OpenID Connect provider become OpenIDConnect. */
export function canonicalServiceProviderName(name: string): string {
  return OPENID_CONNECT_SPELLINGS.has(name.toLowerCase()) ? OPENID_CONNECT_PROVIDER : name;
}

/** The provider endpoints this server calls, server to server, for a sign-in. */
const SOCIAL_ENDPOINT_URLS = ['discoveryUrl', 'authzUrl', 'accessTokenUrl', 'profileUrl', 'refreshTokenUrl'] as const;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
export const MAX_CLOCK_SKEW_SECONDS = 600;
/** RFC 6749 §3.3 scope-token: printable ASCII without space, double quote or backslash. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The rules of a SOCIAL IdP's settings (`social`, the extension object, or the SocialIdentityProviders document),
 * applied in place; `where` names an attribute in error details. `before` is the stored extension, if any.
 * - redirectUrl is ours (socialRedirectUrl, added when rendered): a value given is dropped.
 * - serviceProviderName: the OpenID Connect spellings are stored as OpenIDConnect; a value stored before this rule
 *   in another of those spellings is kept, so that sending it again is no change of an immutable attribute.
 * - The provider endpoints are https URLs: the client secret and tokens travel to them. Plain http only to a
 *   loopback host, for a provider on the same machine (development, tests).
 * - scope and adminScope items are single scope tokens: the authorization request joins them with spaces.
 * - clockSkewInSeconds is 0 to 600: beyond ten minutes an expired ID token would pass as fresh.
 * A value already stored is not judged again (as certificates are not): an IdP stored before these rules must stay
 * editable, e.g. to disable it; sign-in refuses what it cannot use.
 */
export function prepareSocialSettings(social: Doc, before: Doc | undefined, where: (name: string) => string = (n) => n): void {
  delete social.redirectUrl;
  if (typeof social.serviceProviderName === 'string') {
    const canonical = canonicalServiceProviderName(social.serviceProviderName);
    const stored = before?.serviceProviderName;
    social.serviceProviderName = typeof stored === 'string' && canonicalServiceProviderName(stored) === canonical ? stored : canonical;
  }
  for (const name of SOCIAL_ENDPOINT_URLS) {
    const v = social[name];
    if (v !== undefined && v !== before?.[name] && !isProviderEndpoint(String(v))) {
      throw ScimError.badRequest(
        'invalidValue',
        `${where(name)} must be an absolute https URL (plain http only on a loopback host: 127.0.0.1, ::1 or localhost); got ${JSON.stringify(v)}`,
      );
    }
  }
  for (const name of ['scope', 'adminScope']) {
    const stored = (before?.[name] as unknown[] | undefined) ?? [];
    for (const [i, v] of ((social[name] as unknown[] | undefined) ?? []).entries()) {
      if (!SCOPE_TOKEN.test(String(v)) && !stored.includes(v)) {
        throw ScimError.badRequest(
          'invalidValue',
          `${where(name)}[${i}] must be one scope token, without spaces, quotes or backslashes (got ${JSON.stringify(v)}); give each scope as an item of its own, e.g. ["openid", "email"]`,
        );
      }
    }
  }
  const skew = social.clockSkewInSeconds;
  if (skew !== undefined && skew !== before?.clockSkewInSeconds && (typeof skew !== 'number' || skew < 0 || skew > MAX_CLOCK_SKEW_SECONDS)) {
    throw ScimError.badRequest('invalidValue', `${where('clockSkewInSeconds')} must be between 0 and ${MAX_CLOCK_SKEW_SECONDS} seconds (got ${JSON.stringify(skew)})`);
  }
}

/**
 * An endpoint of an OpenID Connect provider this server may call: an absolute https URL, or plain http on a loopback
 * host (a provider on the same machine: development, tests). One rule for what is stored, what sign-in uses and
 * what discovery may point at.
 */
export function isProviderEndpoint(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  return u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname));
}

/**
 * Takes the social extension's consumerSecret out of a representation: it is stored encrypted beside it, never in
 * it (so it is neither returned, nor filtered on, nor compared in clear). Undefined when the request gives none.
 */
export function takeConsumerSecret(doc: Doc): string | undefined {
  const social = doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
  const secret = social?.consumerSecret as string | undefined;
  if (social) delete social.consumerSecret;
  return secret;
}

/** IDCS requires consumerSecret with the social extension; a PUT or PATCH that leaves it out keeps the stored one. */
export function checkConsumerSecret(doc: Doc, given: string | undefined, stored: boolean): void {
  if (doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] !== undefined && given === undefined && !stored) {
    throw ScimError.badRequest(
      'invalidValue',
      `Missing required attribute(s): ${SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID}:consumerSecret (the client secret at the provider)`,
      'error.common.validation.missingReqAttributes',
    );
  }
}

function importMetadata(doc: Doc, explicit: Set<string>): IdpMetadata {
  let md;
  try {
    // In an aggregate, partnerProviderId (given, or kept from before) names the IdP to import.
    md = parseIdpMetadata(String(doc.metadata), { entityId: typeof doc.partnerProviderId === 'string' ? doc.partnerProviderId : undefined });
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
  // Metadata whose keys are all bare (RSAKeyValue) has no certificate: the previous one is not trusted any more.
  if (!explicit.has('signingCertificate') && values.signingCertificate === undefined) delete doc.signingCertificate;
  return md;
}

/**
 * What a JIT preview request describes: an assertion XML (unverified), a NameID and attributes, or (SOCIAL IdPs)
 * OpenID Connect claims, read as a sign-in reads the ID token merged with UserInfo.
 */
export function previewAssertionOf(body: unknown): { assertion: VerifiedAssertion; claims?: Record<string, unknown> } {
  const b = (body && typeof body === 'object' ? body : {}) as Doc;
  if (b.claims !== undefined) {
    const claims = b.claims;
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw ScimError.badRequest('invalidValue', '"claims" must be an object of claim name to value, as the ID token and UserInfo carry them');
    if (typeof (claims as Doc).sub !== 'string' || !(claims as Doc).sub) throw ScimError.badRequest('invalidValue', '"claims" needs "sub", the subject the provider identifies the person by');
    return { assertion: assertionFromClaims(claims as Record<string, unknown>), claims: claims as Record<string, unknown> };
  }
  if (typeof b.assertion === 'string') return { assertion: assertionFromXml(b.assertion) };
  if (typeof b.nameId !== 'string') throw ScimError.badRequest('invalidValue', 'Give "nameId" (and optionally "attributes"), or "assertion" holding the assertion XML, or (OpenID Connect IdPs) "claims"');
  const attributes: Record<string, string[]> = {};
  const raw = b.attributes ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw ScimError.badRequest('invalidValue', '"attributes" must be an object of attribute name to value or values');
  for (const [name, v] of Object.entries(raw as Doc)) {
    const values = Array.isArray(v) ? v : [v];
    if (values.some((x) => typeof x !== 'string')) throw ScimError.badRequest('invalidValue', `attributes["${name}"] must be a string or an array of strings`);
    attributes[name] = values as string[];
  }
  if (b.nameIdFormat !== undefined && typeof b.nameIdFormat !== 'string') throw ScimError.badRequest('invalidValue', '"nameIdFormat" must be a string');
  return { assertion: { nameId: b.nameId, nameIdFormat: b.nameIdFormat as string | undefined, issuer: '', attributes } };
}
