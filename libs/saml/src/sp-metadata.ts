import { DOMImplementation, Element, XMLSerializer } from '@xmldom/xmldom';
import { ENCRYPTION_ALGORITHMS } from './response-checks';

/** IANA media type of SAML metadata (SAML 2.0 Metadata §8.2 / RFC 7303 `+xml`). */
export const SAML_METADATA_MEDIA_TYPE = 'application/samlmetadata+xml';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const XMLNS = 'http://www.w3.org/2000/xmlns/';
const SAML2_PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** NameID formats our SP accepts, in order of preference. */
export const SP_NAME_ID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
] as const;

/** Where our SP lives; the single source for metadata and for the Audience / Recipient / Destination checks. */
export interface SpEndpoints {
  /** Our entityID, the Audience IdPs must put in assertions: `${PUBLIC_URL}/fed`. */
  entityId: string;
  /** AssertionConsumerService (HTTP-POST): `${PUBLIC_URL}/fed/v1/sp/sso`. */
  acsUrl: string;
  /** SingleLogoutService (HTTP-Redirect and HTTP-POST): `${PUBLIC_URL}/fed/v1/sp/slo`. */
  sloUrl: string;
}

/** Our SP endpoints under the configured public URL (IDCS paths). */
export function spEndpoints(publicUrl: string): SpEndpoints {
  const base = publicUrl.replace(/\/+$/, '');
  return { entityId: `${base}/fed`, acsUrl: `${base}/fed/v1/sp/sso`, sloUrl: `${base}/fed/v1/sp/slo` };
}

/** Input of `buildSpMetadata`. */
export interface SpMetadataInput extends SpEndpoints {
  /**
   * Our signing certificate, base64 DER; or, during a key rollover, the certificates to publish: the active one
   * first, then the next one (one KeyDescriptor each).
   */
  signingCertificateDer: string | readonly string[];
  /** Our encryption certificates, the same way; defaults to the signing ones (one key for both uses). */
  encryptionCertificateDers?: readonly string[];
  /** Defaults to `SP_NAME_ID_FORMATS`. */
  nameIdFormats?: readonly string[];
}

/**
 * SAML 2.0 metadata of our SP (an EntityDescriptor with one SPSSODescriptor, elements in schema order).
 * Built as a DOM and serialised, so every value is escaped by the serialiser rather than pasted into markup.
 */
export function buildSpMetadata(input: SpMetadataInput): string {
  const doc = new DOMImplementation().createDocument(MD, 'md:EntityDescriptor', null);
  const root = doc.documentElement!;
  root.setAttributeNS(XMLNS, 'xmlns:md', MD);
  root.setAttributeNS(XMLNS, 'xmlns:ds', DS);
  root.setAttribute('entityID', input.entityId);

  const add = (parent: Element, ns: string, name: string, attributes: Record<string, string> = {}, text?: string): Element => {
    const el = doc.createElementNS(ns, name);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, v);
    if (text !== undefined) el.appendChild(doc.createTextNode(text));
    parent.appendChild(el);
    return el;
  };

  const sp = add(root, MD, 'md:SPSSODescriptor', { protocolSupportEnumeration: SAML2_PROTOCOL, AuthnRequestsSigned: 'true', WantAssertionsSigned: 'true' });
  // One KeyDescriptor per certificate, active first: during a rollover IdPs learn the next key before we use it.
  const signing = typeof input.signingCertificateDer === 'string' ? [input.signingCertificateDer] : input.signingCertificateDer;
  for (const der of signing) {
    add(add(add(add(sp, MD, 'md:KeyDescriptor', { use: 'signing' }), DS, 'ds:KeyInfo'), DS, 'ds:X509Data'), DS, 'ds:X509Certificate', {}, der);
  }
  // Keys that decrypt assertions an IdP encrypts for us, with the algorithms we accept (ENCRYPTION_ALGORITHMS).
  for (const der of input.encryptionCertificateDers ?? signing) {
    const encryption = add(sp, MD, 'md:KeyDescriptor', { use: 'encryption' });
    add(add(add(encryption, DS, 'ds:KeyInfo'), DS, 'ds:X509Data'), DS, 'ds:X509Certificate', {}, der);
    for (const algorithm of ENCRYPTION_ALGORITHMS) add(encryption, MD, 'md:EncryptionMethod', { Algorithm: algorithm });
  }
  // One SLO endpoint for both bindings (IDCS's path): the message's presence and the HTTP method tell them apart.
  add(sp, MD, 'md:SingleLogoutService', { Binding: HTTP_REDIRECT, Location: input.sloUrl });
  add(sp, MD, 'md:SingleLogoutService', { Binding: HTTP_POST, Location: input.sloUrl });
  for (const format of input.nameIdFormats ?? SP_NAME_ID_FORMATS) add(sp, MD, 'md:NameIDFormat', {}, format);
  add(sp, MD, 'md:AssertionConsumerService', { Binding: HTTP_POST, Location: input.acsUrl, index: '0', isDefault: 'true' });

  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}
