import { assertionFromXml } from '@app/jit';
import { checkAlgorithms, checkVerifiedAssertion, parseXml } from './response-checks';
import { safeRelayState } from './saml-login.service';
import { SsoReason, SsoRejection } from './sso-rejection';

const signed = (signatureMethod: string, digestMethod: string) =>
  parseXml(
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature><ds:SignedInfo>` +
      `<ds:SignatureMethod Algorithm="${signatureMethod}"/><ds:Reference URI="#a"><ds:DigestMethod Algorithm="${digestMethod}"/></ds:Reference>` +
      `</ds:SignedInfo></ds:Signature></saml:Assertion>`,
  ).documentElement!;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';

describe('checkAlgorithms', () => {
  it.each<[string, string, string, boolean, boolean]>([
    ['RSA-SHA256 / SHA-256', RSA_SHA256, SHA256, false, true],
    ['RSA-SHA1 / SHA-1 for an IdP not set to SHA-1', RSA_SHA1, SHA1, false, false],
    ['RSA-SHA256 with a SHA-1 digest', RSA_SHA256, SHA1, false, false],
    ['RSA-SHA1 / SHA-1 for an IdP set to SHA-1', RSA_SHA1, SHA1, true, true],
    ['HMAC-SHA1, even for an IdP set to SHA-1', HMAC_SHA1, SHA1, true, false],
  ])('should judge %s', (_case, signature, digest, allowSha1, accepted) => {
    const run = () => checkAlgorithms(signed(signature, digest), allowSha1);
    if (accepted) expect(run).not.toThrow();
    else expect(run).toThrow(expect.objectContaining({ reason: SsoReason.AlgorithmNotAllowed }) as SsoRejection);
  });
});

describe('safeRelayState', () => {
  it.each([
    ['/myprofile', '/myprofile'],
    ['/a/b?c=d#e', '/a/b?c=d#e'],
    ['//evil.example', undefined],
    ['/\\evil.example', undefined],
    ['https://evil.example/', undefined],
    ['javascript:alert(1)', undefined],
    ['/\t/evil.example', undefined],
    ['/\n/evil.example', undefined],
    ['', undefined],
    ['relative/path', undefined],
  ])('should map %j to %j', (input, expected) => {
    expect(safeRelayState(input)).toBe(expected);
  });
});

describe('checkVerifiedAssertion', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const expected = { issuer: 'https://idp.example.com', acsUrl: 'https://sp.example.com/fed/v1/sp/sso', now, skewMs: 60_000 };
  const verified = (nameId: string, statements: string) =>
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a" Version="2.0" IssueInstant="${now.toISOString()}">` +
    `<saml:Issuer>https://idp.example.com</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${nameId}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData Recipient="${expected.acsUrl}" NotOnOrAfter="2026-01-01T00:05:00Z" InResponseTo="_req"/></saml:SubjectConfirmation></saml:Subject>` +
    `${statements}</saml:Assertion>`;

  it('should read NameID, Issuer and attributes exactly as the JIT preview reads the same XML', () => {
    const xml = verified(
      '\n    jane@example.com\n  ',
      `<saml:Advice><saml:Assertion ID="_b" Version="2.0"><saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue>Administrators</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></saml:Advice>` +
        `<saml:AttributeStatement><saml:Attribute Name="groups" FriendlyName="memberOf"><saml:AttributeValue>Admins</saml:AttributeValue><saml:AttributeValue> Engineers </saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`,
    );

    const { id, inResponseTo, notOnOrAfter, logoutSubject: _logout, ...read } = checkVerifiedAssertion(xml, expected);

    expect(read).toEqual(assertionFromXml(xml));
    expect(read).toEqual({
      issuer: 'https://idp.example.com',
      nameId: 'jane@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      attributes: { groups: ['Admins', ' Engineers '] },
    });
    expect({ id, inResponseTo, notOnOrAfter }).toEqual({ id: '_a', inResponseTo: '_req', notOnOrAfter: new Date('2026-01-01T00:06:00Z') });
  });

  it('should read the logout subject: NameID with its Format and qualifiers, and the AuthnStatement SessionIndex', () => {
    const xml = verified('jane@example.com', '<saml:AuthnStatement AuthnInstant="2026-01-01T00:00:00Z" SessionIndex="_idx-1"/>').replace(
      '<saml:NameID Format',
      '<saml:NameID NameQualifier="https://idp.example.com" SPNameQualifier="https://sp.example.com/fed" Format',
    );

    expect(checkVerifiedAssertion(xml, expected).logoutSubject).toEqual({
      nameId: 'jane@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      nameQualifier: 'https://idp.example.com',
      spNameQualifier: 'https://sp.example.com/fed',
      sessionIndex: '_idx-1',
    });
    expect(checkVerifiedAssertion(verified('jane@example.com', ''), expected).logoutSubject.sessionIndex).toBeUndefined();
  });

  it.each(['', '  \n  ', '<!-- only a comment -->'])('should refuse the NameID %j as missing', (nameId) => {
    expect(() => checkVerifiedAssertion(verified(nameId, ''), expected)).toThrow(expect.objectContaining({ reason: SsoReason.NameIdMissing }) as SsoRejection);
  });
});
