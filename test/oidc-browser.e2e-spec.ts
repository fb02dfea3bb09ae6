import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DEMO_OIDC_ACCOUNTS, DemoOidcRegistration, demoOidcClient, initiateSsoUrl, registerDemoOidcIdp, RunningOidcProvider, startOidcProvider } from '../apps/demo-idp/src';
import { launchChromium } from './support/browser';
import { ADMIN_ID, ADMIN_SECRET, E2E_DB, TestServer } from './support/server';

const FATIMA = DEMO_OIDC_ACCOUNTS.find((a) => a.sub === 'demo-fatima')!;
const ERIK = DEMO_OIDC_ACCOUNTS.find((a) => a.sub === 'demo-erik')!;

/**
 * A newcomer's first OpenID Connect sign-in in a real browser (Debian chromium): SP-initiated at
 * /fed/v1/sp/initiatesso, the provider's (oidc-provider's) login page, back through our callback, and the profile
 * page of the user JIT just created. The IdP is registered as the demo registers it, through the REST API.
 */
describe(`OpenID Connect sign-in in a browser with the demo OpenID provider (${E2E_DB})`, () => {
  let s: TestServer;
  let provider: RunningOidcProvider;
  let registration: DemoOidcRegistration;
  let browser: Browser;

  beforeAll(async () => {
    s = await TestServer.start();
    const oidcClient = demoOidcClient(s.publicUrl);
    provider = await startOidcProvider({ clients: [oidcClient], accounts: [...DEMO_OIDC_ACCOUNTS], testHooks: true, displayName: 'Demo OpenID Provider' });
    registration = await registerDemoOidcIdp({ apiUrl: s.baseUrl, clientId: ADMIN_ID, clientSecret: ADMIN_SECRET, discoveryUrl: provider.discoveryUrl, oidcClient });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await provider?.stop();
    await s?.stop();
  });

  /** Opens the sign-in link the demo prints; the server is on localhost (PUBLIC_URL), the provider on 127.0.0.1. */
  const openSignInLink = (page: Page) => page.goto(initiateSsoUrl(s.publicUrl, registration.partnerName));

  async function expectProfile(page: Page, expected: { userName: string; givenName: string; familyName: string; email: string; groups: string[] }): Promise<void> {
    await expect(page.locator('h1').innerText()).resolves.toBe('My profile');
    await expect(page.locator('#userName').innerText()).resolves.toBe(expected.userName);
    await expect(page.locator('#givenName').innerText()).resolves.toBe(expected.givenName);
    await expect(page.locator('#familyName').innerText()).resolves.toBe(expected.familyName);
    await expect(page.locator('#email').innerText()).resolves.toBe(expected.email);
    expect((await page.locator('#groups li').allInnerTexts()).sort()).toEqual(expected.groups);
  }

  it('should create the user at the first sign-in and show its properties and mapped groups on /myprofile', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();

    await openSignInLink(page);
    expect(page.url()).toMatch(new RegExp(`^${provider.issuer}/interaction/[\\w-]+$`));
    await expect(page.locator('h1').innerText()).resolves.toBe('Sign in');
    await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`), page.getByRole('button', { name: 'Sign in as Fatima Farouk' }).click()]);

    // Fatima is in "Administrators" and "Engineering" at the provider, mapped to these two local groups.
    await expectProfile(page, { userName: 'fatima@example.com', givenName: 'Fatima', familyName: 'Farouk', email: 'fatima@example.com', groups: ['Domain Administrators', 'Engineers'] });
    const found = await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent('userName eq "fatima@example.com"')}`);
    expect(found.body.totalResults).toBe(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.locator('h1').innerText()).resolves.toBe('Signed out');
    await page.goto(`${s.publicUrl}/myprofile`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Not signed in');
    await context.close();
  });

  it('should sign a returning user in with no page at the provider, updating the changed claims and groups', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await openSignInLink(page);
    await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`), page.getByRole('button', { name: 'Sign in as Erik Eriksen' }).click()]);
    await expectProfile(page, { userName: 'erik@example.com', givenName: 'Erik', familyName: 'Eriksen', email: 'erik@example.com', groups: ['Engineers'] });
    await page.getByRole('button', { name: 'Sign out' }).click();

    await provider.setAccount({ sub: ERIK.sub, claims: { ...ERIK.claims, given_name: 'Erich', groups: ['Engineering', 'Administrators'] } });
    const visited: string[] = [];
    page.on('framenavigated', (frame) => visited.push(frame.url()));
    await openSignInLink(page);
    await page.waitForURL(`${s.publicUrl}/myprofile`);

    // The browser still has its session at the provider: straight back with a code, no login page.
    expect(visited.filter((u) => u.startsWith(`${provider.issuer}/`))).toEqual([]);
    await expectProfile(page, { userName: 'erik@example.com', givenName: 'Erich', familyName: 'Eriksen', email: 'erik@example.com', groups: ['Domain Administrators', 'Engineers'] });
    await context.close();
  });

  it('should show the refusal page, and sign nobody in, when the ID token is unsigned', async () => {
    const context: BrowserContext = await browser.newContext();
    const page = await context.newPage();
    const before = (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults;
    await provider.tamper({ idToken: 'alg-none' });

    await openSignInLink(page);
    const [callback] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${s.publicUrl}/oauth2/v1/social/callback?`)),
      page.getByRole('button', { name: 'Sign in as Dana Diaz' }).click(),
    ]);

    expect(callback.status()).toBeGreaterThanOrEqual(400);
    expect(callback.status()).toBeLessThan(500);
    expect(page.url().startsWith(`${s.publicUrl}/oauth2/v1/social/callback?`)).toBe(true);
    await expect(page.locator('h1').innerText()).resolves.toBe('Sign-in failed');
    await expect(page.locator('#correlation-id').innerText()).resolves.toMatch(/^\S{8,}$/);
    expect((await context.cookies(s.publicUrl)).map((c) => c.name)).not.toContain('idd_session');
    expect((await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults).toBe(before);
    await page.goto(`${s.publicUrl}/myprofile`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Not signed in');
    await context.close();
  });
});
