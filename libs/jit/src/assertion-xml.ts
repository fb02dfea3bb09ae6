import { Document, DOMParser, Element } from '@xmldom/xmldom';
import { ScimError } from '@app/scim';
import { VerifiedAssertion } from './planner';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

/**
 * Reads NameID, Issuer and attributes from an assertion (or a Response holding one) for the JIT preview.
 * The signature is deliberately NOT checked: this never signs anyone in, it only shows what JIT would do.
 */
export function assertionFromXml(xml: string): VerifiedAssertion {
  if (/<!DOCTYPE/i.test(xml)) throw ScimError.badRequest('invalidValue', 'assertion: XML with a DOCTYPE is refused');
  if (xml.length > 256 * 1024) throw ScimError.badRequest('invalidValue', 'assertion: larger than 256 KiB');
  let doc: Document;
  try {
    doc = new DOMParser({
      onError: (level: string, message: string) => {
        throw new Error(`${level}: ${message}`);
      },
    }).parseFromString(xml, 'text/xml');
  } catch (e) {
    throw ScimError.badRequest('invalidValue', `assertion: not well-formed XML (${(e as Error).message.split('\n')[0]})`);
  }
  const assertion = doc.getElementsByTagNameNS(SAML, 'Assertion')[0];
  if (!assertion) throw ScimError.badRequest('invalidValue', 'assertion: no saml:Assertion element found');
  const nameIdEl = assertion.getElementsByTagNameNS(SAML, 'NameID')[0];
  const issuerEl = Array.from(assertion.childNodes).find((n) => (n as Element).localName === 'Issuer' && (n as Element).namespaceURI === SAML) as Element | undefined;
  const attributes: Record<string, string[]> = {};
  for (const a of Array.from(assertion.getElementsByTagNameNS(SAML, 'Attribute'))) {
    const name = a.getAttribute('Name');
    if (!name || name === '__proto__') continue;
    const values = Array.from(a.getElementsByTagNameNS(SAML, 'AttributeValue')).map((v) => v.textContent ?? '');
    (attributes[name] ??= []).push(...values);
  }
  return {
    nameId: nameIdEl?.textContent?.trim() ?? '',
    nameIdFormat: nameIdEl?.getAttribute('Format') ?? undefined,
    issuer: issuerEl?.textContent?.trim() ?? '',
    attributes,
  };
}
