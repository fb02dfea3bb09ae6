import { makeKeyPair, TestKeyPair } from '../../../test/support/certs';
import {
  arrivedByPost,
  arrivedByRedirect,
  LOGOUT_STATUS,
  LogoutDelivery,
  LogoutExpectations,
  LogoutReason,
  logoutRequestXml,
  logoutResponseXml,
  postDelivery,
  redirectDelivery,
  verifyLogoutMessage,
} from './single-logout';
import { SsoRejection } from './sso-rejection';

const IDP = 'https://idp.example.com/metadata';
const SLO = 'https://sp.example.com/fed/v1/sp/slo';
const NOW = new Date('2026-01-01T00:00:00Z');
const SUBJECT = { nameId: 'jane@example.com', nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', sessionIndex: '_idx' };

describe('single-logout messages', () => {
  let idpKeys: TestKeyPair;
  let otherKeys: TestKeyPair;
  let expected: LogoutExpectations;

  beforeAll(async () => {
    [idpKeys, otherKeys] = await Promise.all([makeKeyPair('idp'), makeKeyPair('other')]);
    expected = { issuer: IDP, certificates: [idpKeys.certificatePem], allowSha1: false, sloUrl: SLO, skewMs: 60_000, now: NOW };
  });

  const request = (over: Partial<Parameters<typeof logoutRequestXml>[0]> = {}) => logoutRequestXml({ id: '_req1', issuer: IDP, destination: SLO, subject: SUBJECT, now: NOW, ...over });
  /** What arrives at our SLO endpoint for a delivery. */
  const arrived = (d: LogoutDelivery) => (d.kind === 'redirect' ? arrivedByRedirect(new URL(d.url).search.slice(1)) : arrivedByPost(d.fields));
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (e) {
      return (e as SsoRejection).reason;
    }
    return 'accepted';
  };

  describe('verifyLogoutMessage', () => {
    it.each(['Redirect', 'Post'] as const)('should accept a LogoutRequest signed over the %s binding and read what it designates', (binding) => {
      const deliver = binding === 'Redirect' ? redirectDelivery : postDelivery;

      const verified = verifyLogoutMessage(arrived(deliver(SLO, 'SAMLRequest', request(), idpKeys.privateKeyPem, 'relay')), expected);

      expect(verified).toEqual({ kind: 'LogoutRequest', id: '_req1', subject: { nameId: SUBJECT.nameId, nameIdFormat: SUBJECT.nameIdFormat }, sessionIndexes: ['_idx'] });
    });

    it.each(['Redirect', 'Post'] as const)('should accept a LogoutResponse signed over the %s binding and read its status', (binding) => {
      const deliver = binding === 'Redirect' ? redirectDelivery : postDelivery;
      const xml = logoutResponseXml({ id: '_res1', issuer: IDP, destination: SLO, inResponseTo: '_ours', status: LOGOUT_STATUS.Responder, subStatus: LOGOUT_STATUS.PartialLogout, now: NOW });

      expect(verifyLogoutMessage(arrived(deliver(SLO, 'SAMLResponse', xml, idpKeys.privateKeyPem)), expected)).toEqual({
        kind: 'LogoutResponse',
        id: '_res1',
        inResponseTo: '_ours',
        status: LOGOUT_STATUS.Responder,
        subStatus: LOGOUT_STATUS.PartialLogout,
      });
    });

    const redirectCases: [string, (d: { url: string }) => string, string][] = [
      ['no Signature', (d) => d.url.replace(/&Signature=[^&]+/, ''), LogoutReason.SignatureMissing],
      ['no SigAlg', (d) => d.url.replace(/&SigAlg=[^&]+/, ''), LogoutReason.SignatureMissing],
      ['RelayState changed', (d) => d.url.replace('RelayState=relay', 'RelayState=other'), LogoutReason.InvalidSignature],
      ['SigAlg RSA-SHA1', (d) => d.url.replace(/SigAlg=[^&]+/, `SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`), LogoutReason.AlgorithmNotAllowed],
      ['SigAlg HMAC-SHA256', (d) => d.url.replace(/SigAlg=[^&]+/, `SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#hmac-sha256')}`), LogoutReason.AlgorithmNotAllowed],
      ['a second SAMLRequest', (d) => `${d.url}&SAMLRequest=x`, LogoutReason.MessageMalformed],
    ];
    it.each(redirectCases)('should refuse a redirect-binding message with %s', (_case, tamper, reason) => {
      const d = redirectDelivery(SLO, 'SAMLRequest', request(), idpKeys.privateKeyPem, 'relay') as { url: string };
      expect(refusal(() => verifyLogoutMessage(arrivedByRedirect(new URL(tamper(d)).search.slice(1)), expected))).toBe(reason);
    });

    const cases: [string, () => LogoutDelivery, string][] = [
      ['signed by another key (redirect)', () => redirectDelivery(SLO, 'SAMLRequest', request(), otherKeys.privateKeyPem), LogoutReason.InvalidSignature],
      ['signed by another key (POST)', () => postDelivery(SLO, 'SAMLRequest', request(), otherKeys.privateKeyPem), LogoutReason.InvalidSignature],
      ['unsigned (POST)', () => ({ kind: 'form', action: SLO, fields: { SAMLRequest: Buffer.from(request()).toString('base64') } }), LogoutReason.SignatureMissing],
      ['of another issuer', () => postDelivery(SLO, 'SAMLRequest', request({ issuer: 'https://evil.example' }), idpKeys.privateKeyPem), LogoutReason.UnknownIssuer],
      ['for another destination', () => postDelivery(SLO, 'SAMLRequest', request({ destination: 'https://other.example/slo' }), idpKeys.privateKeyPem), LogoutReason.DestinationMismatch],
      ['issued ten minutes ago', () => postDelivery(SLO, 'SAMLRequest', request({ now: new Date(NOW.getTime() - 10 * 60_000) }), idpKeys.privateKeyPem), LogoutReason.Expired],
      ['issued in the future', () => postDelivery(SLO, 'SAMLRequest', request({ now: new Date(NOW.getTime() + 5 * 60_000) }), idpKeys.privateKeyPem), LogoutReason.Expired],
      ['with an empty NameID', () => postDelivery(SLO, 'SAMLRequest', request({ subject: { nameId: ' ' } }), idpKeys.privateKeyPem), LogoutReason.NameIdMissing],
      [
        'edited after signing (POST)',
        () => {
          const d = postDelivery(SLO, 'SAMLRequest', request(), idpKeys.privateKeyPem) as { kind: 'form'; action: string; fields: Record<string, string> };
          const xml = Buffer.from(d.fields.SAMLRequest, 'base64').toString('utf8').replace('jane@example.com', 'john@example.com');
          return { ...d, fields: { SAMLRequest: Buffer.from(xml).toString('base64') } };
        },
        LogoutReason.InvalidSignature,
      ],
      ['an AuthnRequest', () => ({ kind: 'form', action: SLO, fields: { SAMLRequest: Buffer.from('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>').toString('base64') } }), LogoutReason.MessageMalformed],
      ['a DOCTYPE', () => ({ kind: 'form', action: SLO, fields: { SAMLRequest: Buffer.from(`<!DOCTYPE x>${request()}`).toString('base64') } }), LogoutReason.Doctype],
    ];
    it.each(cases)('should refuse a LogoutRequest %s', (_case, make, reason) => {
      expect(refusal(() => verifyLogoutMessage(arrived(make()), expected))).toBe(reason);
    });
  });

  describe('logoutRequestXml', () => {
    it('should escape every value it writes', () => {
      const xml = logoutRequestXml({ id: '_x', issuer: 'a&b', destination: SLO, subject: { nameId: '<x>"', nameQualifier: "q'" }, now: NOW });
      expect(xml).toContain('<saml:Issuer>a&amp;b</saml:Issuer>');
      expect(xml).toContain('<saml:NameID NameQualifier="q&apos;">&lt;x&gt;&quot;</saml:NameID>');
      expect(xml).not.toContain('SessionIndex');
    });
  });
});
