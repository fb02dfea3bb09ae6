import { checkAlgorithms, parseXml } from './response-checks';
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
