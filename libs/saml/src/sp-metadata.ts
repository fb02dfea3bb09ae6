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
  /** SingleLogoutService (HTTP-Redirect): `${PUBLIC_URL}/fed/v1/sp/slo`. */
  sloUrl: string;
}

/** Our SP endpoints under the configured public URL (IDCS paths). */
export function spEndpoints(publicUrl: string): SpEndpoints {
  const base = publicUrl.replace(/\/+$/, '');
  return { entityId: `${base}/fed`, acsUrl: `${base}/fed/v1/sp/sso`, sloUrl: `${base}/fed/v1/sp/slo` };
}

/** Input of `buildSpMetadata`. */
export interface SpMetadataInput extends SpEndpoints {
  /** Our signing certificate, base64 DER. */
  signingCertificateDer: string;
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
  const keyInfo = add(add(sp, MD, 'md:KeyDescriptor', { use: 'signing' }), DS, 'ds:KeyInfo');
  add(add(keyInfo, DS, 'ds:X509Data'), DS, 'ds:X509Certificate', {}, input.signingCertificateDer);
  // The same key decrypts assertions an IdP encrypts for us, with the algorithms we accept (ENCRYPTION_ALGORITHMS).
  const encryption = add(sp, MD, 'md:KeyDescriptor', { use: 'encryption' });
  add(add(add(encryption, DS, 'ds:KeyInfo'), DS, 'ds:X509Data'), DS, 'ds:X509Certificate', {}, input.signingCertificateDer);
  for (const algorithm of ENCRYPTION_ALGORITHMS) add(encryption, MD, 'md:EncryptionMethod', { Algorithm: algorithm });
  add(sp, MD, 'md:SingleLogoutService', { Binding: HTTP_REDIRECT, Location: input.sloUrl });
  for (const format of input.nameIdFormats ?? SP_NAME_ID_FORMATS) add(sp, MD, 'md:NameIDFormat', {}, format);
  add(sp, MD, 'md:AssertionConsumerService', { Binding: HTTP_POST, Location: input.acsUrl, index: '0', isDefault: 'true' });

  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(doc)}`;
}
