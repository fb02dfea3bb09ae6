import { DOMParser, Element } from '@xmldom/xmldom';
import { readAssertion } from './assertion';

const NS = 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

const assertion = (inner: string): Element => new DOMParser().parseFromString(`<saml:Assertion ${NS} ID="_a" Version="2.0">${inner}</saml:Assertion>`, 'text/xml').documentElement!;
const subject = (nameId: string) => `<saml:Subject>${nameId}<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"/></saml:Subject>`;
const statement = (...attributes: string[]) => `<saml:AttributeStatement>${attributes.join('')}</saml:AttributeStatement>`;
const attribute = (name: string, ...values: string[]) => `<saml:Attribute Name="${name}">${values.map((v) => `<saml:AttributeValue>${v}</saml:AttributeValue>`).join('')}</saml:Attribute>`;

describe(readAssertion.name, () => {
  it('should read the Issuer, the Subject NameID and its Format, and the attributes by Name', () => {
    const a = assertion(
      `<saml:Issuer> https://idp.example.com </saml:Issuer>` +
        subject('<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">jane@example.com</saml:NameID>') +
        statement(attribute('groups', 'Admins', 'Engineers'), attribute('firstName', 'Jane')),
    );
    expect(readAssertion(a)).toEqual({
      issuer: 'https://idp.example.com',
      nameId: 'jane@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      attributes: { groups: ['Admins', 'Engineers'], firstName: ['Jane'] },
    });
  });

  it.each<[string, string, Partial<ReturnType<typeof readAssertion>>]>([
    ['a NameID wrapped in whitespace, trimmed', subject('<saml:NameID>\n    jane@example.com\n  </saml:NameID>'), { nameId: 'jane@example.com' }],
    ['a comment inside the NameID, which cannot truncate it', subject('<saml:NameID>admin@example.com<!-- -->.evil.test</saml:NameID>'), { nameId: 'admin@example.com.evil.test' }],
    ['no NameID, as ""', subject(''), { nameId: '', nameIdFormat: undefined }],
    ['an empty Format, as none', subject('<saml:NameID Format="">jane</saml:NameID>'), { nameIdFormat: undefined }],
    ['no Issuer, as ""', subject('<saml:NameID>jane</saml:NameID>'), { issuer: '' }],
    [
      'a NameID outside the Subject (in a SubjectConfirmation), not as the subject',
      '<saml:Subject><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:NameID>proxy@example.com</saml:NameID></saml:SubjectConfirmation></saml:Subject>',
      { nameId: '' },
    ],
    [
      'the attributes of an assertion in the Advice, not as this one’s',
      `<saml:Advice><saml:Assertion ID="_b" Version="2.0">${statement(attribute('groups', 'Administrators'))}</saml:Assertion></saml:Advice>` + statement(attribute('groups', 'Admins')),
      { attributes: { groups: ['Admins'] } },
    ],
    [
      'NameFormat and FriendlyName, keyed by Name only',
      statement('<saml:Attribute Name="urn:oid:2.5.4.42" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" FriendlyName="givenName"><saml:AttributeValue>Jane</saml:AttributeValue></saml:Attribute>'),
      { attributes: { 'urn:oid:2.5.4.42': ['Jane'] } },
    ],
    ['one Name in two Attribute elements and two statements, collected in document order', statement(attribute('groups', 'A'), attribute('groups', 'B')) + statement(attribute('groups', 'C')), { attributes: { groups: ['A', 'B', 'C'] } }],
    ['whitespace inside and around values, kept', statement(attribute('familyName', '  Van  Der Berg ')), { attributes: { familyName: ['  Van  Der Berg '] } }],
    ['empty values, kept', statement(attribute('title', '', 'x')), { attributes: { title: ['', 'x'] } }],
    ['an Attribute without Name, skipped', statement('<saml:Attribute><saml:AttributeValue>x</saml:AttributeValue></saml:Attribute>'), { attributes: {} }],
    ['a value nested below an AttributeValue, not as a value', statement('<saml:Attribute Name="a"><saml:AttributeValue>x</saml:AttributeValue><other><saml:AttributeValue>y</saml:AttributeValue></other></saml:Attribute>'), { attributes: { a: ['x'] } }],
    ['names Object.prototype has, as ordinary names', statement(attribute('constructor', 'c'), attribute('toString', 't')), { attributes: { constructor: ['c'], toString: ['t'] } }],
  ])('should read %s', (_case, inner, expected) => {
    const read = readAssertion(assertion(inner));
    expect(Object.fromEntries(Object.keys(expected).map((k) => [k, read[k as keyof typeof read]]))).toEqual(expected);
  });

  it('should skip an attribute named __proto__ rather than change the prototype of the attributes', () => {
    const { attributes } = readAssertion(assertion(statement(attribute('__proto__', 'x'), attribute('a', 'b'))));
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
    expect(Object.keys(attributes)).toEqual(['a']);
  });
});
