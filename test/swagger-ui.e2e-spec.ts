import type { Browser } from 'playwright-core';
import { launchChromium } from './support/browser';
import { TestServer, user } from './support/server';

/** A person exploring the API: Swagger UI in a real browser, authorised with a token, runs GET /admin/v1/Users. */
describe('Swagger UI', () => {
  let s: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    s = await TestServer.start();
    await s.api('POST', '/admin/v1/Users', user('swagger.visitor@example.com'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await s.stop();
  });

  it('should authorise with a bearer token and list users', async () => {
    const token = await s.token();
    const page = await browser.newPage();
    await page.goto(`${s.baseUrl}/api-docs`);
    await page.getByRole('button', { name: /Authorize/ }).first().click();
    await page.locator('.auth-container input[type=text], .auth-container input[type=password]').first().fill(token);
    await page.locator('.auth-btn-wrapper button.authorize').click();
    await page.locator('.auth-btn-wrapper button.btn-done').click();

    const operation = page.locator('#operations-Users-UsersController_list');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();

    const status = operation.locator('.responses-wrapper .live-responses-table .response .response-col_status').first();
    await status.waitFor();
    expect((await status.innerText()).trim()).toBe('200');
    const body = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();
    expect(body).toContain('swagger.visitor@example.com');
    expect(body).toContain('urn:ietf:params:scim:api:messages:2.0:ListResponse');
  });
});
