import { Logger } from '@nestjs/common';
import { IDENTITY_PROVIDER_SCHEMA_ID } from '@app/fixtures';
import { TRUST_EXTENSION_SCHEMA_ID as TRUST } from '@app/identity-providers';
import { CertificateExpiryService, ExpiryFinding } from '@app/saml';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { E2E_DB, expectStatus, startTestServerOn, TestServer } from './support/server';

const DAY = 86_400_000;

/** IdP metadata with these signing certificates, in order. */
function idpMetadata(entityId: string, certs: TestKeyPair[]): string {
  const keys = certs
    .map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${c.certificateB64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
    .join('');
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${entityId}/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/**
 * Warnings before IdP and SP certificates expire: once per certificate and threshold (30 days, 7 days, expired),
 * across instances, as an audit event and a log line; and /health listing what expires soon. The clock is moved by
 * giving `check` the time to judge at.
 */
describe(`Certificate expiry warnings (${E2E_DB})`, () => {
  let a: TestServer;
  let b: TestServer;
  let soon: TestKeyPair; // expires in 20 days
  let later: TestKeyPair; // in a year
  let expired: TestKeyPair;
  let soonIdp: string;
  let laterIdp: string;
  let rolloverIdp: string;
  let spNotAfter: string;
  const warn = jest.spyOn(Logger.prototype, 'warn');
  const now = new Date();
  const at = (days: number) => new Date(now.getTime() + days * DAY);

  const events = async (eventId: string, resourceId: string) => {
    const filter = `eventId eq "${eventId}" and adminResourceId eq "${resourceId}"`;
    const res = await a.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(filter)}`);
    expectStatus(res, 200);
    return res.body.Resources as Record<string, string>[];
  };
  const about = (given: ExpiryFinding[], holderId: string) => given.filter((f) => f.holderId === holderId).map((f) => f.threshold);

  async function createIdp(partnerName: string, body: Record<string, unknown>): Promise<string> {
    const res = await a.api('POST', '/admin/v1/IdentityProviders', { schemas: [IDENTITY_PROVIDER_SCHEMA_ID], partnerName, enabled: true, ...body });
    expectStatus(res, 201);
    return res.body.id;
  }

  beforeAll(async () => {
    [soon, later, expired] = await Promise.all([
      makeKeyPair('soon-idp', new Date(now.getTime() - 300 * DAY), at(20)),
      makeKeyPair('later-idp', new Date(now.getTime() - DAY), at(365)),
      makeKeyPair('expired-idp', new Date(now.getTime() - 800 * DAY), at(-3)),
    ]);
    a = await TestServer.start();
    b = await startTestServerOn(a.databaseUrl);
    soonIdp = await createIdp('Soon', { partnerProviderId: 'https://soon.idp.test', idpSsoUrl: 'https://soon.idp.test/sso', signingCertificate: soon.certificateB64 });
    laterIdp = await createIdp('Later', { partnerProviderId: 'https://later.idp.test', idpSsoUrl: 'https://later.idp.test/sso', signingCertificate: later.certificateB64 });
    // An IdP in the middle of its own rollover: metadata with its expired certificate and its next one.
    rolloverIdp = await createIdp('Rollover', { metadata: idpMetadata('https://rollover.idp.test', [expired, later]) });
    spNotAfter = (await a.api('GET', '/admin/v1/SpKeys')).body[0].notAfter;
  });

  afterAll(async () => {
    warn.mockRestore();
    await b?.stop();
    await a?.stop();
  });

  it('should show the expiry of each signing certificate on the IdP resource', async () => {
    const res = await a.api('GET', `/admin/v1/IdentityProviders/${rolloverIdp}`);

    expectStatus(res, 200);
    const [old, next] = res.body[TRUST].signingCertificates;
    expect(old).toMatchObject({ subject: 'CN=expired-idp', expired: true, notAfter: new Date(Date.parse(old.notAfter)).toISOString() });
    expect(Date.parse(old.notAfter)).toBeLessThan(now.getTime());
    expect(next).toMatchObject({ subject: 'CN=later-idp', expired: false });
    expect(res.body[TRUST].warnings).toEqual([expect.stringContaining('expired on')]);
  });

  it('should warn 30 days ahead once, as an audit event and a log line, and not about certificates further away', async () => {
    warn.mockClear();

    const given = await a.app.get(CertificateExpiryService).check(now);

    expect(about(given, soonIdp)).toEqual([30]);
    expect(about(given, laterIdp)).toEqual([]);
    expect(about(given, 'saml-sp-1')).toEqual([]);
    expect(about(given, rolloverIdp)).toEqual([0]); // its old certificate has expired; its next one is far
    const [event] = await events('certificate.expiring', soonIdp);
    expect(event).toMatchObject({ reason: 'expires_within_30_days', adminResourceType: 'IdentityProvider', adminResourceName: 'Soon', outcome: 'success' });
    expect(event.message).toContain(`signing certificate of identity provider ${soonIdp} "Soon" (CN=soon-idp, SHA-256`);
    expect(await events('certificate.expired', rolloverIdp)).toHaveLength(1);
    expect(warn.mock.calls.map(([m]) => String(m)).filter((m) => m.includes(soonIdp))).toEqual([expect.stringMatching(/expires on .*, in 19 days: import the IdP's metadata/)]);

    // Again, here or on another instance: nothing new.
    expect(await a.app.get(CertificateExpiryService).check(now)).toEqual([]);
    expect(await b.app.get(CertificateExpiryService).check(at(1))).toEqual([]);
    expect(await events('certificate.expiring', soonIdp)).toHaveLength(1);
  });

  it('should warn 7 days ahead once, however many instances look at the same time', async () => {
    const [x, y] = await Promise.all([a.app.get(CertificateExpiryService).check(at(14)), b.app.get(CertificateExpiryService).check(at(14))]);

    expect([...about(x, soonIdp), ...about(y, soonIdp)]).toEqual([7]);
    expect((await events('certificate.expiring', soonIdp)).map((e) => e.reason).sort()).toEqual(['expires_within_30_days', 'expires_within_7_days']);
  });

  it('should say once that a certificate has expired', async () => {
    const [x, y] = await Promise.all([b.app.get(CertificateExpiryService).check(at(21)), a.app.get(CertificateExpiryService).check(at(21))]);

    expect([...about(x, soonIdp), ...about(y, soonIdp)]).toEqual([0]);
    expect(await events('certificate.expired', soonIdp)).toEqual([expect.objectContaining({ reason: 'expired' })]);
  });

  it('should warn about our own SP certificate too, naming what to do', async () => {
    const given = await a.app.get(CertificateExpiryService).check(new Date(Date.parse(spNotAfter) - 5 * DAY));

    expect(about(given, 'saml-sp-1')).toEqual([7]); // already inside 7 days: the 30-day warning is moot
    const [event] = await events('certificate.expiring', 'saml-sp-1');
    expect(event).toMatchObject({ reason: 'expires_within_7_days', adminResourceType: 'SpKey' });
    expect(event.message).toContain('stage a new key at /admin/v1/SpKeys');
  });

  it('should list the certificates expiring within 30 days and those expired in /health, staying up', async () => {
    const res = await a.raw('GET', '/health');

    expectStatus(res, 200);
    expect(res.body).toMatchObject({ status: 'ok', database: E2E_DB });
    const ids = (list: { holderId: string }[]) => list.map((c) => c.holderId);
    expect(ids(res.body.certificates.expiringSoon)).toEqual([soonIdp]);
    expect(res.body.certificates.expiringSoon[0]).toMatchObject({ holderType: 'IdentityProvider', holderName: 'Soon', subject: 'CN=soon-idp', daysLeft: 19 });
    expect(ids(res.body.certificates.expired)).toEqual([rolloverIdp]);
    expect(res.body.certificates.expired[0]).toMatchObject({ subject: 'CN=expired-idp', daysLeft: -3 });
  });
});
