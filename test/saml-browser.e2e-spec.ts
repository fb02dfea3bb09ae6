import type { Browser } from 'playwright-core';
import { DemoIdp, DemoRegistration, initiateSsoUrl, registerDemoIdp, startDemoIdp } from '../apps/demo-idp/src';
import { launchChromium } from './support/browser';
import { ADMIN_ID, ADMIN_SECRET, E2E_DB, patch, TestServer } from './support/server';

/**
 * A newcomer's first JIT sign-in in a real browser (Debian chromium): SP-initiated at /fed/v1/sp/initiatesso,
 * the demo IdP's login form, back through our ACS, and the profile page of the user JIT just created.
 */
describe(`SAML sign-in in a browser with the demo IdP (${E2E_DB})`, () => {
  let s: TestServer;
  let idp: DemoIdp;
  let registration: DemoRegistration;
  let browser: Browser;

  beforeAll(async () => {
    s = await TestServer.start();
    idp = await startDemoIdp({ spMetadataUrl: `${s.baseUrl}/fed/v1/metadata`, port: 0, host: '127.0.0.1' });
    registration = await registerDemoIdp({ apiUrl: s.baseUrl, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, idpMetadataUrl: idp.metadataUrl });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await idp?.close();
    await s?.stop();
  });

  it('should create the user at the first sign-in and show its properties and mapped groups on /myprofile', async () => {
    const carol = idp.users.find((u) => u.email === 'carol@example.com')!;
    const page = await browser.newPage();

    // The link the demo prints; the SP is on localhost (PUBLIC_URL), the IdP on 127.0.0.1: a cross-site round trip.
    await page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName));
    expect(page.url().startsWith(`${idp.url}/sso?SAMLRequest=`)).toBe(true);
    await expect(page.locator('h1').innerText()).resolves.toBe('Sign in');

    await page.getByLabel('User name').fill(carol.email);
    await page.getByLabel('Password').fill(carol.password);
    await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`), page.getByRole('button', { name: 'Sign in' }).click()]);

    await expect(page.locator('h1').innerText()).resolves.toBe('My profile');
    await expect(page.locator('#userName').innerText()).resolves.toBe('carol@example.com');
    await expect(page.locator('#givenName').innerText()).resolves.toBe('Carol');
    await expect(page.locator('#familyName').innerText()).resolves.toBe('Chen');
    await expect(page.locator('#email').innerText()).resolves.toBe('carol@example.com');
    // Carol is in "Administrators" and "Engineering" at the IdP, mapped to these two local groups.
    expect((await page.locator('#groups li').allInnerTexts()).sort()).toEqual(['Domain Administrators', 'Engineers']);

    const found = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "carol@example.com"')}&attributes=groups,urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User:creationMechanism`);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0]['urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User']).toMatchObject({ creationMechanism: 'samljit' });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.locator('h1').innerText()).resolves.toBe('Signed out');
    await page.goto(`${s.publicUrl}/myprofile`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Not signed in');
    await page.close();
  });

  it('should go through the HTTP-POST binding too: our page posts the signed AuthnRequest by itself, within its CSP', async () => {
    const setBinding = (binding: string) => s.api('PATCH', `/admin/v1/IdentityProviders/${registration.idpId}`, patch({ op: 'replace', path: 'authnRequestBinding', value: binding }));
    expect((await setBinding('Post')).status).toBe(200);
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    try {
      await Promise.all([page.waitForURL(`${idp.url}/sso`), page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName))]);
      await expect(page.locator('h1').innerText()).resolves.toBe('Sign in'); // the IdP verified the request's signature
      await page.getByLabel('User name').fill('alice@example.com');
      await page.getByLabel('Password').fill('alice-demo-pw');
      await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await expect(page.locator('#userName').innerText()).resolves.toBe('alice@example.com');
      expect(violations).toEqual([]);
    } finally {
      await page.close();
      expect((await setBinding('Redirect')).status).toBe(200);
    }
  });

  it('should show the login form again, with an error, after a wrong password, and create nobody', async () => {
    const page = await browser.newPage();
    const before = (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults;

    await page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName));
    await page.getByLabel('User name').fill('bob@example.com');
    await page.getByLabel('Password').fill('not-bobs-password');
    await page.getByRole('button', { name: 'Sign in' }).click();

    await expect(page.getByRole('alert').innerText()).resolves.toBe('Wrong user name or password.');
    expect(page.url()).toBe(`${idp.url}/sso/login`);
    expect((await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults).toBe(before);
    await page.close();
  });

  it('should have the demo IdP refuse an AuthnRequest whose signature does not verify', async () => {
    const start = await fetch(initiateSsoUrl(s.publicUrl, registration.partnerName).replace(s.publicUrl, s.baseUrl), { redirect: 'manual' });
    const location = new URL(start.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${idp.url}/sso`);
    expect((await fetch(location)).status).toBe(200);

    location.searchParams.set('RelayState', '/somewhere-else'); // not what the SP signed
    const tampered = await fetch(location);

    expect(tampered.status).toBe(400);
    expect(await tampered.text()).toContain('The AuthnRequest was refused: ERR_FAILED_MESSAGE_SIGNATURE_VERIFICATION');
  });
});
