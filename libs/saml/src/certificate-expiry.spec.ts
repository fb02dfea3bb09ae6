import { expiryEvent, expiryFindings, expiryMessage, expiryThreshold, WatchedCertificate } from './certificate-expiry';

const DAY = 86_400_000;
const NOW = new Date('2026-11-26T12:00:00.000Z');
const inDays = (days: number) => new Date(NOW.getTime() + days * DAY).toISOString();
const cert = (holderId: string, notAfter: string, holderType: WatchedCertificate['holderType'] = 'IdentityProvider'): WatchedCertificate => ({
  holderType,
  holderId,
  holderName: holderType === 'SpKey' ? 'active signing' : 'Okta',
  fingerprint: 'AB:CD',
  subject: 'CN=idp.example.com',
  notAfter,
});

describe('certificate expiry', () => {
  describe(expiryThreshold.name, () => {
    it.each([
      ['a year away', 365, undefined],
      ['just over 30 days away', 30.01, undefined],
      ['exactly 30 days away', 30, 30],
      ['8 days away', 8, 30],
      ['exactly 7 days away', 7, 7],
      ['an hour away', 1 / 24, 7],
      ['expiring now', 0, 0],
      ['expired a year ago', -365, 0],
    ])('should place a certificate %s (%s days) at threshold %s', (_case, days, expected) => {
      expect(expiryThreshold(inDays(days as number), NOW)).toBe(expected);
    });

    it('should place nothing for a date that does not parse', () => {
      expect(expiryThreshold('not a date', NOW)).toBeUndefined();
    });
  });

  describe(expiryFindings.name, () => {
    it('should keep the certificates that reached a threshold, soonest first, with whole days left toward zero', () => {
      const found = expiryFindings([cert('far', inDays(90)), cert('week', inDays(6.5)), cert('gone', inDays(-2.5)), cert('month', inDays(29.9))], NOW);

      expect(found.map((f) => [f.holderId, f.threshold, f.daysLeft])).toEqual([
        ['gone', 0, -2],
        ['week', 7, 6],
        ['month', 30, 29],
      ]);
    });
  });

  describe(expiryEvent.name, () => {
    it.each([
      [30, 'certificate.expiring', 'expires_within_30_days'],
      [7, 'certificate.expiring', 'expires_within_7_days'],
      [0, 'certificate.expired', 'expired'],
    ] as const)('should name the threshold %s as %s / %s', (threshold, eventId, reason) => {
      expect(expiryEvent({ ...cert('x', inDays(1)), threshold, daysLeft: 1 })).toEqual({ eventId, reason });
    });
  });

  describe(expiryMessage.name, () => {
    it('should say which certificate, when, and what to do, for an IdP and for our SP key', () => {
      const [idp] = expiryFindings([cert('idp1', inDays(1.5))], NOW);
      const [sp] = expiryFindings([cert('saml-sp-1', inDays(-1), 'SpKey')], NOW);

      expect(expiryMessage(idp)).toBe(`The signing certificate of identity provider idp1 "Okta" (CN=idp.example.com, SHA-256 AB:CD) expires on ${inDays(1.5)}, in 1 day: import the IdP's metadata with its next certificate (both are trusted until the old one is gone)`);
      expect(expiryMessage(sp)).toBe(`The SAML SP certificate saml-sp-1 (active signing) (CN=idp.example.com, SHA-256 AB:CD) expired on ${inDays(-1)}: stage a new key at /admin/v1/SpKeys, have the IdPs reread /fed/v1/metadata, then activate it`);
    });
  });
});
