import { applyJitSettingsRules, assertionFromXml, userAttributePath, USER_MAPPING_METHODS, VerifiedAssertion } from '@app/jit';
import { Doc, ScimError } from '@app/scim';
import { CertificateError, certificateDer, parseCertificate } from './certificates';
import {
  IDENTITY_PROVIDER_TYPES,
  NAME_ID_FORMATS,
  SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID,
  X509_EKU_VALUES,
  X509_IDENTITY_PROVIDER_SCHEMA_ID,
} from './identity-provider.schema';
import { IdpMetadata, MetadataError, parseIdpMetadata } from './idp-metadata';
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
  prepareExtensions(doc);
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
 * The enumerations of correlationPolicy and of the social and x509 extensions. The rest is stored as given, for
 * the sign-ins to come: Oracle's Terraform test sends "authzUrl" as the authorization URL, and IDCS takes it.
 */
function prepareExtensions(doc: Doc): void {
  const policy = doc.correlationPolicy as Doc | undefined;
  if (policy) canonicalEnum(policy, 'type', ['Policy'], 'correlationPolicy.type');
  const social = doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
  if (social) canonicalEnum(social, 'status', ['created', 'deleted'], `${SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID}:status`);
  const x509 = doc[X509_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
  // Matched ignoring case and kept as sent: Terraform sends "server_auth" and would see any rewrite as a change.
  for (const [i, v] of ((x509?.ekuValues as string[] | undefined) ?? []).entries()) {
    if (!X509_EKU_VALUES.some((e) => e.toLowerCase() === v.toLowerCase())) {
      throw ScimError.badRequest('invalidValue', `${X509_IDENTITY_PROVIDER_SCHEMA_ID}:ekuValues[${i}] must be one of ${X509_EKU_VALUES.join(', ')} (got ${JSON.stringify(v)})`);
    }
  }
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
