import { DOMParser, Element, ParseError } from '@xmldom/xmldom';
import { CertificateError, certificateDer, rsaKeyValuePublicKey } from './certificates';

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
  /**
   * Every key the IdP signs with, in document order, duplicates removed: its certificates, and the keys given
   * without one (`RSAKeyValue`). A rollover publishes the next key next to the current one; all are trusted.
   */
  signingKeys: MetadataSigningKey[];
  /** Certificates to encrypt for the IdP, same form. A KeyDescriptor without `use` is in both lists. */
  encryptionCertificates: string[];
  /** SingleLogoutService endpoints with a binding we support, in document order. */
  sloUrls: { binding: MetadataBinding; location: string; responseLocation?: string }[];
  /** NameIDFormat values the IdP declares, in document order. */
  nameIdFormats: string[];
}

/** A signing key of the metadata: an X.509 certificate, or a bare RSA public key (SubjectPublicKeyInfo). */
export type MetadataSigningKey = { type: 'X509Certificate'; der: string } | { type: 'RSAKeyValue'; spki: string };

/** Metadata we cannot use; `message` says what is wrong in terms an administrator can act on. */
export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

/**
 * As large as a request body may be: Entra ID documents are 14–25 KB, AD FS ones 31–97 KB, and a federation
 * aggregate trimmed to the entities of interest can be far larger. The parse is linear in the size.
 */
const MAX_METADATA_CHARS = 1024 * 1024;
/**
 * Deepest element nesting accepted. Real metadata nests about 12 deep (EntitiesDescriptor groups, mdui
 * extensions, KeyInfo/X509Data). The document is stored and handed on (serialised, parsed again by whoever reads
 * it): a tree built to exhaust a recursive walk is refused before anything builds it. (xmldom 0.9 walks
 * iteratively; not every reader of the stored document does.)
 */
const MAX_DEPTH = 64;
/** SAML 2.0 Metadata §2.2.1: an entityID is at most 1024 characters. */
const MAX_ENTITY_ID_CHARS = 1024;
/** How many entity IDs an error about an aggregate names, so that the message stays readable. */
const LISTED_ENTITIES = 20;

export interface ParseOptions {
  /**
   * In an aggregate (`EntitiesDescriptor`), the entityID of the identity provider to import (IDCS
   * `partnerProviderId`). Without it, or when it names none of them, the aggregate must hold exactly one IdP.
   */
  entityId?: string;
}

/**
 * Parses the SAML 2.0 metadata of one identity provider: an `EntityDescriptor`, or an `EntitiesDescriptor`
 * (a federation aggregate, nested groups included) from which `options.entityId` picks the IdP, or which holds
 * exactly one. Elements are matched by namespace, not by prefix; what lies outside the SAML 2.0
 * `IDPSSODescriptor` (WS-Federation `RoleDescriptor`s, SP roles, extensions) is ignored. Certificates must be
 * X.509 but their validity dates are not judged here (see `describeCertificate`). A metadata signature, if any,
 * is not verified: the administrator supplying the document is the trust anchor.
 *
 * @throws MetadataError when the document carries a DOCTYPE, is not well-formed XML, nests too deep, is not SAML
 *   metadata, does not designate exactly one identity provider, or lacks the entityID or a usable
 *   SingleSignOnService.
 */
export function parseIdpMetadata(xml: string, options: ParseOptions = {}): IdpMetadata {
  if (typeof xml !== 'string' || !xml.trim()) throw new MetadataError('metadata is empty');
  if (xml.length > MAX_METADATA_CHARS) throw new MetadataError(`metadata is larger than ${MAX_METADATA_CHARS} characters; trim a federation aggregate to the identity provider it is for`);
  // Checked on the raw text, before any parser sees it: a DTD is the vehicle of XXE and entity-expansion
  // attacks, and no legitimate SAML metadata needs one.
  if (/<!DOCTYPE/i.test(xml)) throw new MetadataError('metadata must not contain a DOCTYPE (document type declarations are refused for security reasons)');
  // Files saved by Windows tools start with a byte-order mark, and pasted text often with a blank line: neither
  // may come before the XML declaration, and neither changes what the document says.
  const text = xml.replace(/^[\uFEFF\s]+/, '');
  if (nestsDeeperThan(text, MAX_DEPTH)) throw new MetadataError(`metadata nests elements more than ${MAX_DEPTH} deep; that is not SAML metadata`);

  const root = parseXml(text).documentElement;
  if (!root || root.namespaceURI !== SAML_METADATA_NS || (root.localName !== 'EntityDescriptor' && root.localName !== 'EntitiesDescriptor')) {
    const found = root ? `{${root.namespaceURI ?? ''}}${root.localName}` : 'nothing';
    throw new MetadataError(`metadata must have an EntityDescriptor or EntitiesDescriptor root element in namespace ${SAML_METADATA_NS} (found ${found})`);
  }
  return readEntity(root.localName === 'EntityDescriptor' ? root : chosenIdp(root, options.entityId));
}

/**
 * Whether elements nest deeper than `max`, by a scan of the raw text (comments, CDATA, processing
 * instructions and quoted attribute values skipped), before the parser builds a tree of it.
 */
function nestsDeeperThan(xml: string, max: number): boolean {
  let depth = 0;
  let i = xml.indexOf('<');
  const skipTo = (marker: string, from: number) => {
    const at = xml.indexOf(marker, from);
    return at < 0 ? xml.length : at + marker.length;
  };
  while (i >= 0 && i < xml.length) {
    if (xml.startsWith('<!--', i)) i = skipTo('-->', i + 4);
    else if (xml.startsWith('<![CDATA[', i)) i = skipTo(']]>', i + 9);
    else if (xml[i + 1] === '?' || xml[i + 1] === '!') i = skipTo('>', i + 2);
    else if (xml[i + 1] === '/') {
      depth--;
      i = skipTo('>', i + 2);
    } else {
      let j = i + 1;
      let quote = '';
      for (; j < xml.length; j++) {
        const c = xml[j];
        if (quote) {
          if (c === quote) quote = '';
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '>') break;
      }
      if (xml[j - 1] !== '/' && ++depth > max) return true;
      i = j + 1;
    }
    i = xml.indexOf('<', i);
  }
  return false;
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
    }).parseFromString(xml, 'text/xml');
  } catch (e) {
    if (!(e instanceof ParseError) && !(e instanceof MetadataError)) throw e;
    const locator = e instanceof ParseError ? (e.locator as { lineNumber?: number; columnNumber?: number } | undefined) : undefined;
    const where = locator?.lineNumber ? ` at line ${locator.lineNumber}${locator.columnNumber ? `, column ${locator.columnNumber}` : ''}` : '';
    throw new MetadataError(`metadata is not well-formed XML: ${problem ?? e.message}${where}`);
  }
}

/**
 * The IdP an aggregate designates: the one whose entityID is `wanted`, else its only SAML 2.0 IdP. Refused with
 * the entity IDs to choose from when that is ambiguous.
 */
function chosenIdp(group: Element, wanted: string | undefined): Element {
  const entities = Array.from(group.getElementsByTagNameNS(SAML_METADATA_NS, 'EntityDescriptor'));
  const idps = entities.filter(isSaml2Idp);
  const named = wanted === undefined ? undefined : entities.find((e) => (e.getAttribute('entityID') ?? '').trim() === wanted);
  if (named) {
    if (!isSaml2Idp(named)) throw new MetadataError(`metadata entity ${JSON.stringify(wanted)} is not a SAML 2.0 identity provider (it has no IDPSSODescriptor supporting ${SAML2_PROTOCOL})`);
    return named;
  }
  if (idps.length === 1) return idps[0];
  if (idps.length === 0) {
    throw new MetadataError(`metadata has no IDPSSODescriptor (is this SP metadata?): the EntitiesDescriptor holds ${entities.length} entities, none of them a SAML 2.0 identity provider`);
  }
  const ids = idps.slice(0, LISTED_ENTITIES).map((e) => JSON.stringify((e.getAttribute('entityID') ?? '').slice(0, 200)));
  const more = idps.length > LISTED_ENTITIES ? ` and ${idps.length - LISTED_ENTITIES} more` : '';
  const notFound = wanted === undefined ? '' : `, none of them ${JSON.stringify(wanted.slice(0, 200))}`;
  throw new MetadataError(
    `metadata describes ${idps.length} identity providers${notFound}; set partnerProviderId to the entityID of the one to import: ${ids.join(', ')}${more}`,
  );
}

function isSaml2Idp(entity: Element): boolean {
  return children(entity, 'IDPSSODescriptor').some((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML2_PROTOCOL));
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
  const signingKeys: MetadataSigningKey[] = [];
  children(idp, 'KeyDescriptor').forEach((kd, i) => {
    const use = kd.getAttribute('use');
    if (use !== null && use !== 'signing' && use !== 'encryption') {
      throw new MetadataError(`metadata KeyDescriptor #${i + 1} has use="${use}"; it must be "signing", "encryption" or absent`);
    }
    const { certificates, bareKeys } = keysOf(kd, i + 1);
    for (const der of certificates) {
      // SAML 2.0 Metadata §2.4.1.1: without `use` the key serves both purposes.
      if (use !== 'encryption' && !signingCertificates.includes(der)) {
        signingCertificates.push(der);
        signingKeys.push({ type: 'X509Certificate', der });
      }
      if (use !== 'signing' && !encryptionCertificates.includes(der)) encryptionCertificates.push(der);
    }
    // A bare key can verify signatures; encrypting to the IdP needs a certificate in our configuration, so a bare
    // encryption key is not used.
    for (const spki of bareKeys) {
      if (use !== 'encryption' && !signingKeys.some((k) => k.type === 'RSAKeyValue' && k.spki === spki)) signingKeys.push({ type: 'RSAKeyValue', spki });
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
    signingKeys,
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

/**
 * The keys of a KeyDescriptor's KeyInfo: its X.509 certificates, or, when it has none, the RSA key it gives
 * bare (`KeyValue/RSAKeyValue`, as Shibboleth and older products publish). A KeyInfo that carries both is read
 * for its certificate only: the certificate holds the same key. Other key forms (KeyName alone, DSA) give nothing.
 */
function keysOf(keyDescriptor: Element, index: number): { certificates: string[]; bareKeys: string[] } {
  const keyInfo = Array.from(keyDescriptor.childNodes).find((n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === XMLDSIG_NS && (n as Element).localName === 'KeyInfo');
  if (!keyInfo) return { certificates: [], bareKeys: [] };
  try {
    const certificates = Array.from(keyInfo.getElementsByTagNameNS(XMLDSIG_NS, 'X509Certificate')).map((c) => certificateDer(c.textContent ?? ''));
    if (certificates.length) return { certificates, bareKeys: [] };
    const bareKeys = Array.from(keyInfo.getElementsByTagNameNS(XMLDSIG_NS, 'RSAKeyValue')).map((rsa) => {
      const part = (name: string) => rsa.getElementsByTagNameNS(XMLDSIG_NS, name)[0]?.textContent ?? '';
      return rsaKeyValuePublicKey(part('Modulus'), part('Exponent')).spki;
    });
    return { certificates: [], bareKeys };
  } catch (e) {
    if (e instanceof CertificateError) throw new MetadataError(`metadata KeyDescriptor #${index}: ${e.message}`);
    throw e;
  }
}
