import { Document, DOMParser } from '@xmldom/xmldom';
import { ScimError } from '@app/scim/core';
import { readAssertion } from './assertion';
import { VerifiedAssertion } from './planner';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

/**
 * Reads an assertion (or a Response holding one) for the JIT preview, as the sign-in reads a verified one.
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
  // The first in document order: the Response's own assertion, never one nested in its Advice.
  const assertion = doc.getElementsByTagNameNS(SAML, 'Assertion')[0];
  if (!assertion) throw ScimError.badRequest('invalidValue', 'assertion: no saml:Assertion element found');
  return readAssertion(assertion);
}
