import { DOMParser, Element } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { XMLDSIG_NS } from './idp-metadata';

/*
 * The signature of a metadata document read from metadataUrl, when the IdP names the certificate that must have
 * signed it (metadataSigningCertificate). The checks follow node-saml's (src/xml.ts, getVerifiedXml), in order:
 * structural checks before any cryptography, then the signature, then only the bytes it covers are used.
 * 1. no DOCTYPE (entity expansion), well-formed XML;
 * 2. exactly one ds:Signature, a direct child of the root element (enveloped), with at most two transforms;
 * 3. exactly one Reference, and it designates the root: its URI is "" or "#" + the root's ID, and that ID is on
 *    no other element (an attacker's copy elsewhere in the document, signature wrapping);
 * 4. the signature verifies with the configured certificate; a key in the signature's own KeyInfo is ignored;
 * 5. what is returned, and then parsed, is the signed reference (the canonical root without its signature), not
 *    the document received: nothing unsigned can ride along.
 */

/** Why a signed metadata document is refused; the messages are compared by tests. */
export const MetadataSignatureError = {
  Unsigned: 'the document is not signed, and metadataSigningCertificate requires a signature of its root element',
  SeveralSignatures: 'the root element carries more than one signature',
  TooManyTransforms: 'the signature has more than two transforms',
  NotOneReference: 'the signature must have exactly one reference',
  NotTheRoot: 'the signature does not cover the root element of the document',
  Invalid: 'the signature does not verify with metadataSigningCertificate',
} as const;

export class MetadataSignatureRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataSignatureRefused';
  }
}

function pemOf(der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${der.replace(/(.{64})/g, '$1\n').trim()}\n-----END CERTIFICATE-----\n`;
}

function elementChildren(parent: Element, ns: string, localName: string): Element[] {
  return Array.from(parent.childNodes).filter(
    (n): n is Element => n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === ns && (n as Element).localName === localName,
  );
}

/**
 * The signed content of `xml` (its root element, canonicalised, without the signature) once its enveloped
 * signature verifies with the certificate `certificateDer` (base64 DER).
 *
 * @throws MetadataSignatureRefused with one of the MetadataSignatureError messages, or why the XML is unreadable.
 */
export function verifiedMetadataXml(xml: string, certificateDer: string): string {
  // We are the XML processor, responsible for newline normalisation before the digest (as node-saml).
  const text = xml.replace(/\r\n?/g, '\n').replace(/^[\uFEFF\s]+/, '');
  if (/<!DOCTYPE/i.test(text)) throw new MetadataSignatureRefused('metadata must not contain a DOCTYPE (document type declarations are refused for security reasons)');
  let root: Element | null;
  try {
    root = new DOMParser({
      onError: (_level, message) => {
        throw new MetadataSignatureRefused(`metadata is not well-formed XML: ${message}`);
      },
    }).parseFromString(text, 'text/xml').documentElement;
  } catch (e) {
    throw e instanceof MetadataSignatureRefused ? e : new MetadataSignatureRefused(`metadata is not well-formed XML: ${(e as Error).message}`);
  }
  if (!root) throw new MetadataSignatureRefused('metadata is empty');

  const signatures = elementChildren(root, XMLDSIG_NS, 'Signature');
  if (signatures.length === 0) throw new MetadataSignatureRefused(MetadataSignatureError.Unsigned);
  if (signatures.length > 1) throw new MetadataSignatureRefused(MetadataSignatureError.SeveralSignatures);
  const signature = signatures[0];
  if (signature.getElementsByTagNameNS(XMLDSIG_NS, 'Transform').length > 2) throw new MetadataSignatureRefused(MetadataSignatureError.TooManyTransforms);

  const sig = new SignedXml({ publicCert: pemOf(certificateDer), getCertFromKeyInfo: () => null });
  try {
    sig.loadSignature(signature as unknown as Node);
  } catch (e) {
    throw new MetadataSignatureRefused(`the signature cannot be read: ${(e as Error).message}`);
  }
  const refs = sig.getReferences();
  if (refs.length !== 1) throw new MetadataSignatureRefused(MetadataSignatureError.NotOneReference);
  const uri = refs[0].uri ?? '';
  if (uri !== '') {
    const id = uri.startsWith('#') ? uri.slice(1) : undefined;
    if (!id || root.getAttribute('ID') !== id) throw new MetadataSignatureRefused(MetadataSignatureError.NotTheRoot);
    const sameId = Array.from(root.ownerDocument!.getElementsByTagName('*')).filter((e) => e.getAttribute('ID') === id);
    if (sameId.length !== 1) throw new MetadataSignatureRefused(MetadataSignatureError.NotTheRoot);
  }

  let valid = false;
  try {
    valid = sig.checkSignature(text);
  } catch {
    valid = false;
  }
  const signed = valid ? sig.getSignedReferences() : [];
  if (!valid || signed.length !== 1) throw new MetadataSignatureRefused(MetadataSignatureError.Invalid);
  return signed[0];
}
