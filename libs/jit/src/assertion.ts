import type { Element } from '@xmldom/xmldom';
import type { VerifiedAssertion } from './planner';

const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

function children(parent: Element, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === SAML && (n as Element).localName === localName) out.push(n as Element);
  }
  return out;
}

/**
 * What JIT reads from a `saml:Assertion` element: the one reading shared by the sign-in (on the assertion
 * node-saml verified) and the JIT preview (on XML nobody verified), so that a preview shows what the sign-in does.
 * Only the assertion's own structure counts, child by child: the Subject's NameID, and the Attributes of its
 * AttributeStatements. Elements further down (an Advice carrying other assertions, a NameID inside a
 * SubjectConfirmation) say nothing about this subject. Values are the full text of their elements, so a
 * comment inside a NameID cannot truncate it; only the NameID is trimmed, as pretty-printed XML wraps it in
 * whitespace that is no part of the identifier (the user lookup trims it too). Attributes are keyed by Name
 * (never FriendlyName); one Name in several Attribute elements collects all their values, in document order.
 * An absent NameID or Issuer reads as "": the caller decides whether that refuses the sign-in.
 */
export function readAssertion(assertion: Element): VerifiedAssertion {
  const issuer = children(assertion, 'Issuer')[0];
  const subject = children(assertion, 'Subject')[0];
  const nameId = subject ? children(subject, 'NameID')[0] : undefined;
  const attributes: Record<string, string[]> = {};
  for (const statement of children(assertion, 'AttributeStatement')) {
    for (const attribute of children(statement, 'Attribute')) {
      const name = attribute.getAttribute('Name');
      // "__proto__" would set the record's prototype instead of adding a key.
      if (!name || name === '__proto__') continue;
      const values = Object.hasOwn(attributes, name) ? attributes[name] : (attributes[name] = []);
      values.push(...children(attribute, 'AttributeValue').map((v) => v.textContent ?? ''));
    }
  }
  return {
    nameId: (nameId?.textContent ?? '').trim(),
    nameIdFormat: nameId?.getAttribute('Format') || undefined,
    issuer: (issuer?.textContent ?? '').trim(),
    attributes,
  };
}
