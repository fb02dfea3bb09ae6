import { DOMParser, Element, ParseError } from '@xmldom/xmldom';
import { CertificateError, certificateDer } from './certificates';

/** SAML 2.0 metadata namespace (saml-metadata-2.0-os). */
export const SAML_METADATA_NS = 'urn:oasis:names:tc:SAML:2.0:metadata';
/** XML-DSig namespace, where `KeyInfo` and `X509Certificate` live. */
export const XMLDSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';

/** The two front-channel bindings we can use; other bindings (SOAP, Artifact, PAOS…) in metadata are skipped. */
export type MetadataBinding = 'Redirect' | 'Post';
const BINDINGS: Record<string, MetadataBinding> = {
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect': 'Redirect',
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST': 'Post',
};

/** What we take from an identity provider's SAML metadata. */
export interface IdpMetadata {
  /** The IdP's entityID: the `Issuer` its assertions must carry (IDCS `partnerProviderId`). */
  entityId: string;
  /** SingleSignOnService endpoints with a binding we support, in document order. */
  ssoUrls: { binding: MetadataBinding; location: string }[];
  /** Certificates the IdP signs with, base64 DER without PEM armour or whitespace, duplicates removed. */
  signingCertificates: string[];
  /** Certificates to encrypt for the IdP, same form. A KeyDescriptor without `use` is in both lists. */
  encryptionCertificates: string[];
  /** SingleLogoutService endpoints with a binding we support, in document order. */
  sloUrls: { binding: MetadataBinding; location: string; responseLocation?: string }[];
  /** NameIDFormat values the IdP declares, in document order. */
  nameIdFormats: string[];
}

/** Metadata we cannot use; `message` says what is wrong in terms an administrator can act on. */
export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

/** Larger than any single entity's metadata; aggregates (federation feeds) are not accepted anyway. */
const MAX_METADATA_CHARS = 1024 * 1024;
/** SAML 2.0 Metadata §2.2.1: an entityID is at most 1024 characters. */
const MAX_ENTITY_ID_CHARS = 1024;

/**
 * Parses the SAML 2.0 metadata of one identity provider: an `EntityDescriptor`, or an `EntitiesDescriptor`
 * holding exactly one IdP `EntityDescriptor`. Elements are matched by namespace, not by prefix.
 * Certificates must be X.509 but their validity dates are not judged here (see `parseCertificate`).
 * A metadata signature, if any, is not verified: the administrator supplying the document is the trust anchor.
 *
 * @throws MetadataError when the document carries a DOCTYPE, is not well-formed XML, is not SAML metadata,
 *   does not describe exactly one identity provider, or lacks the entityID or a usable SingleSignOnService.
 */
export function parseIdpMetadata(xml: string): IdpMetadata {
  if (typeof xml !== 'string' || !xml.trim()) throw new MetadataError('metadata is empty');
  if (xml.length > MAX_METADATA_CHARS) throw new MetadataError(`metadata is larger than ${MAX_METADATA_CHARS} characters; give the metadata of one identity provider, not a federation aggregate`);
  // Checked on the raw text, before any parser sees it: a DTD is the vehicle of XXE and entity-expansion
  // attacks, and no legitimate SAML metadata needs one.
  if (/<!DOCTYPE/i.test(xml)) throw new MetadataError('metadata must not contain a DOCTYPE (document type declarations are refused for security reasons)');

  const root = parseXml(xml).documentElement;
  if (!root || root.namespaceURI !== SAML_METADATA_NS || (root.localName !== 'EntityDescriptor' && root.localName !== 'EntitiesDescriptor')) {
    const found = root ? `{${root.namespaceURI ?? ''}}${root.localName}` : 'nothing';
    throw new MetadataError(`metadata must have an EntityDescriptor or EntitiesDescriptor root element in namespace ${SAML_METADATA_NS} (found ${found})`);
  }
  return readEntity(root.localName === 'EntityDescriptor' ? root : singleIdp(root));
}

function parseXml(xml: string) {
  let problem: string | undefined;
  try {
    return new DOMParser({
      // Without onError xmldom prints recoverable errors and warnings to the console and carries on with a
      // repaired document; we refuse anything short of well-formed, and keep the reason for the message.
      onError: (level, message) => {
        problem ??= level === 'warning' ? `${message} (warning)` : message;
        throw new MetadataError(message);
      },
    }).parseFromString(xml.replace(/^\uFEFF/, ''), 'text/xml');
  } catch (e) {
    if (!(e instanceof ParseError) && !(e instanceof MetadataError)) throw e;
    const locator = e instanceof ParseError ? (e.locator as { lineNumber?: number; columnNumber?: number } | undefined) : undefined;
    const where = locator?.lineNumber ? ` at line ${locator.lineNumber}${locator.columnNumber ? `, column ${locator.columnNumber}` : ''}` : '';
    throw new MetadataError(`metadata is not well-formed XML: ${problem ?? e.message}${where}`);
  }
}

/** The one IdP in an EntitiesDescriptor (nested groups included). */
function singleIdp(group: Element): Element {
  const entities = Array.from(group.getElementsByTagNameNS(SAML_METADATA_NS, 'EntityDescriptor'));
  const idps = entities.filter((e) => children(e, 'IDPSSODescriptor').length > 0);
  if (idps.length === 1) return idps[0];
  if (idps.length === 0) {
    throw new MetadataError(`metadata has no IDPSSODescriptor (is this SP metadata?): the EntitiesDescriptor holds ${entities.length} entities, none of them an identity provider`);
  }
  const ids = idps.slice(0, 5).map((e) => JSON.stringify(e.getAttribute('entityID') ?? ''));
  throw new MetadataError(`metadata describes ${idps.length} identity providers (${ids.join(', ')}${idps.length > 5 ? ', …' : ''}); give the metadata of exactly one`);
}

function readEntity(entity: Element): IdpMetadata {
  const entityId = (entity.getAttribute('entityID') ?? '').trim();
  if (!entityId) throw new MetadataError('metadata has no entityID: the EntityDescriptor must carry the entityID attribute');
  if (entityId.length > MAX_ENTITY_ID_CHARS) throw new MetadataError(`metadata entityID is longer than ${MAX_ENTITY_ID_CHARS} characters`);

  const descriptors = children(entity, 'IDPSSODescriptor');
  if (!descriptors.length) {
    const sp = children(entity, 'SPSSODescriptor').length > 0;
    throw new MetadataError(`metadata has no IDPSSODescriptor (is this SP metadata?${sp ? ' It has an SPSSODescriptor' : ''})`);
  }
  const saml2 = descriptors.filter((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
  if (!saml2.length) throw new MetadataError(`metadata's IDPSSODescriptor does not support SAML 2.0 (its protocolSupportEnumeration lacks ${SAML2_PROTOCOL})`);
  if (saml2.length > 1) throw new MetadataError('metadata has several SAML 2.0 IDPSSODescriptors in one EntityDescriptor; give one');
  const idp = saml2[0];

  const sso = children(idp, 'SingleSignOnService');
  const ssoUrls = sso.flatMap((s) => endpoint(s, 'SingleSignOnService')).map(({ binding, location }) => ({ binding, location }));
  if (!ssoUrls.length) {
    const others = [...new Set(sso.map((s) => s.getAttribute('Binding') ?? '(none)'))];
    throw new MetadataError(
      sso.length
        ? `metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding (found ${others.join(', ')})`
        : 'metadata has no SingleSignOnService: the IDPSSODescriptor must list where to send authentication requests',
    );
  }

  const signingCertificates: string[] = [];
  const encryptionCertificates: string[] = [];
  children(idp, 'KeyDescriptor').forEach((kd, i) => {
    const use = kd.getAttribute('use');
    if (use !== null && use !== 'signing' && use !== 'encryption') {
      throw new MetadataError(`metadata KeyDescriptor #${i + 1} has use="${use}"; it must be "signing", "encryption" or absent`);
    }
    for (const der of certificatesOf(kd, i + 1)) {
      // SAML 2.0 Metadata §2.4.1.1: without `use` the key serves both purposes.
      if (use !== 'encryption' && !signingCertificates.includes(der)) signingCertificates.push(der);
      if (use !== 'signing' && !encryptionCertificates.includes(der)) encryptionCertificates.push(der);
    }
  });

  const nameIdFormats: string[] = [];
  for (const f of children(idp, 'NameIDFormat')) {
    const value = (f.textContent ?? '').trim();
    if (value && !nameIdFormats.includes(value)) nameIdFormats.push(value);
  }

  return {
    entityId,
    ssoUrls,
    signingCertificates,
    encryptionCertificates,
    sloUrls: children(idp, 'SingleLogoutService').flatMap((s) => endpoint(s, 'SingleLogoutService')),
    nameIdFormats,
  };
}

/** Direct children in the metadata namespace: descendants could belong to a nested, unrelated element. */
function children(parent: Element, localName: string): Element[] {
  return Array.from(parent.childNodes).filter(
    (n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === SAML_METADATA_NS && (n as Element).localName === localName,
  );
}

function endpoint(el: Element, what: string): { binding: MetadataBinding; location: string; responseLocation?: string }[] {
  const binding = BINDINGS[el.getAttribute('Binding') ?? ''];
  if (!binding) return [];
  const location = httpUrl(el.getAttribute('Location'), `${what} Location`);
  const response = el.getAttribute('ResponseLocation');
  return [response ? { binding, location, responseLocation: httpUrl(response, `${what} ResponseLocation`) } : { binding, location }];
}

function httpUrl(value: string | null, what: string): string {
  const v = (value ?? '').trim();
  if (!v) throw new MetadataError(`metadata ${what} is missing`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new MetadataError(`metadata ${what} is not an absolute URL: ${JSON.stringify(v.slice(0, 200))}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new MetadataError(`metadata ${what} must be an http(s) URL (got ${url.protocol})`);
  return v;
}

function certificatesOf(keyDescriptor: Element, index: number): string[] {
  const keyInfo = Array.from(keyDescriptor.childNodes).find((n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === XMLDSIG_NS && (n as Element).localName === 'KeyInfo');
  if (!keyInfo) return [];
  return Array.from(keyInfo.getElementsByTagNameNS(XMLDSIG_NS, 'X509Certificate')).map((c) => {
    try {
      return certificateDer(c.textContent ?? '');
    } catch (e) {
      if (e instanceof CertificateError) throw new MetadataError(`metadata KeyDescriptor #${index}: ${e.message}`);
      throw e;
    }
  });
}
