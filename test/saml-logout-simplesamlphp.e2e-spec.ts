import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createJitIdentityProvider } from '@app/fixtures';
import { launchChromium } from './support/browser';
import { makeKeyPair } from './support/certs';
import { E2E_DB, freePort, TestServer } from './support/server';

/** Debian's simplesamlphp package (1.19) and PHP's built-in web server: scripts/test-all.sh installs both. */
const SSP_WWW = '/usr/share/simplesamlphp/www';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

/** A PHP string literal. */
const php = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * A real third-party IdP: SimpleSAMLphp's IdP (exampleauth:UserPass), served by `php -S` from the Debian package,
 * configured in a temporary directory to trust our SP (its metadata: ACS, SLO, certificate), to require signed
 * AuthnRequests and logout messages, and to sign its own.
 */
async function startSimpleSamlPhp(sp: { entityId: string; acsUrl: string; sloUrl: string; certificateB64: string; origin: string }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'ssp-'));
  for (const d of ['config/metadata', 'cert', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  const keys = await makeKeyPair('simplesamlphp-idp');
  writeFileSync(join(dir, 'cert/idp.key'), keys.privateKeyPem);
  writeFileSync(join(dir, 'cert/idp.crt'), keys.certificatePem);
  writeFileSync(
    join(dir, 'config/config.php'),
    `<?php
include '/etc/simplesamlphp/config.php';
$config = array_merge($config, [
    'baseurlpath' => ${php(`${url}/`)},
    'certdir' => ${php(`${dir}/cert/`)},
    'loggingdir' => ${php(`${dir}/tmp/`)},
    'datadir' => ${php(`${dir}/tmp/`)},
    'tempdir' => ${php(`${dir}/tmp/`)},
    'secretsalt' => 'interop-test-salt-0123456789',
    'auth.adminpassword' => 'interop-admin-password',
    'technicalcontact_email' => 'test@example.org',
    'timezone' => 'UTC',
    'enable.saml20-idp' => true,
    'logging.handler' => 'errorlog',
    'store.type' => 'phpsession',
    // Plain http on loopback (a test): the Debian configuration's secure cookies would refuse it.
    'session.cookie.secure' => false,
    'language.cookie.secure' => false,
    'session.cookie.samesite' => 'Lax',
    'trusted.url.domains' => [${php(new URL(url).host)}, ${php(new URL(sp.origin).host)}],
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
    'metadata.sources' => [['type' => 'flatfile', 'directory' => ${php(`${dir}/config/metadata`)}]],
]);
`,
  );
  writeFileSync(
    join(dir, 'config/authsources.php'),
    `<?php
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        'dana:dana-pass' => ['uid' => ['dana'], 'email' => ['dana@example.com'], 'firstName' => ['Dana'], 'familyName' => ['Diaz']],
    ],
];
`,
  );
  writeFileSync(
    join(dir, 'config/metadata/saml20-idp-hosted.php'),
    `<?php
$metadata['__DYNAMIC:1__'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'NameIDFormat' => '${EMAIL_FORMAT}',
    'authproc' => [3 => ['class' => 'saml:AttributeNameID', 'attribute' => 'email', 'Format' => '${EMAIL_FORMAT}']],
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'sign.logout' => true,
    'validate.authnrequest' => true,
    'validate.logout' => true,
];
`,
  );
  writeFileSync(
    join(dir, 'config/metadata/saml20-sp-remote.php'),
    `<?php
$metadata[${php(sp.entityId)}] = [
    'AssertionConsumerService' => [['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', 'Location' => ${php(sp.acsUrl)}]],
    'SingleLogoutService' => [['Binding' => '${REDIRECT}', 'Location' => ${php(sp.sloUrl)}]],
    'certData' => ${php(sp.certificateB64)},
    'NameIDFormat' => '${EMAIL_FORMAT}',
    'validate.authnrequest' => true,
    'validate.logout' => true,
    'sign.logout' => true,
];
`,
  );
  const child: ChildProcess = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', SSP_WWW], {
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const metadataUrl = `${url}/saml2/idp/metadata.php`;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(metadataUrl);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error(`SimpleSAMLphp did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    metadataUrl,
    log: () => log,
    stop: async () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Interoperability of our Single Logout with a real third-party IdP that implements it, in a real browser:
 * SimpleSAMLphp signs the user in, then signs out from our side and from its side; both sessions are gone each time.
 */
describe(`SAML single logout with SimpleSAMLphp in a browser (${E2E_DB})`, () => {
  let s: TestServer;
  let ssp: Awaited<ReturnType<typeof startSimpleSamlPhp>>;
  let browser: Browser;
  let idpId: string;

  beforeAll(async () => {
    if (!existsSync(SSP_WWW)) throw new Error('Debian simplesamlphp is not installed (apt-get install simplesamlphp php-cli; scripts/test-all.sh does it)');
    s = await TestServer.start();
    const metadata = (await s.raw('GET', '/fed/v1/metadata')).text;
    ssp = await startSimpleSamlPhp({
      entityId: `${s.publicUrl}/fed`,
      acsUrl: `${s.publicUrl}/fed/v1/sp/sso`,
      sloUrl: `${s.publicUrl}/fed/v1/sp/slo`,
      certificateB64: /<ds:X509Certificate>([^<]+)</.exec(metadata)![1],
      origin: s.publicUrl,
    });
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'SimpleSAMLphp',
      metadata: await (await fetch(ssp.metadataUrl)).text(),
      settings: { nameIdFormat: 'saml-emailaddress', authnRequestBinding: 'Redirect', logoutEnabled: true, logoutBinding: 'Redirect' },
    }));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await ssp?.stop();
    await s?.stop();
  });

  const initiate = () => `${s.publicUrl}/fed/v1/sp/initiatesso?idp=${idpId}`;

  /** Runs a browser step; when it fails, says where the browser was and what SimpleSAMLphp logged. */
  async function step(page: Page, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (e) {
      throw new Error(`${(e as Error).message}\nat ${page.url()}\n${(await page.content()).slice(0, 4000)}\nSimpleSAMLphp log:\n${ssp.log().slice(-6000)}`);
    }
  }

  async function signIn(page: Page): Promise<void> {
    await step(page, async () => {
      await page.goto(initiate());
      await page.locator('#username').fill('dana', { timeout: 10_000 });
      await page.locator('#password').fill('dana-pass');
      await Promise.all([page.waitForURL(`${s.publicUrl}/myprofile`, { timeout: 10_000 }), page.locator('#submit_button').click()]);
    });
    await expect(page.locator('#userName').innerText()).resolves.toBe('dana@example.com');
  }

  /** Our session is gone, and so is SimpleSAMLphp's: a new sign-in asks for the password again. */
  async function expectSignedOutAtBoth(page: Page): Promise<void> {
    await page.goto(`${s.publicUrl}/myprofile`);
    await expect(page.locator('h1').innerText()).resolves.toBe('Not signed in');
    await page.goto(initiate());
    await expect(page.locator('#password').count()).resolves.toBe(1);
  }

  it('should sign out at SimpleSAMLphp too when the user signs out here (SP-initiated)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);

    await step(page, () =>
      Promise.all([page.waitForURL((u) => u.href.startsWith(`${s.publicUrl}/fed/v1/sp/slo?SAMLResponse=`), { timeout: 10_000 }), page.getByRole('button', { name: 'Sign out' }).click()]),
    );

    await expect(page.locator('h1').innerText()).resolves.toBe('Signed out');
    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "sso.logout" and outcome eq "success"')}`);
    expect(events.body.Resources.map((e: { message: string }) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^LogoutResponse to .*:status:Success$/)]));
    await expectSignedOutAtBoth(page);
    await context.close();
  });

  it('should sign out here when the user signs out at SimpleSAMLphp (IdP-initiated)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    const done = `${ssp.url}/logout.php`;

    await step(page, async () => {
      await page.goto(`${ssp.url}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(done)}`);
      await page.waitForURL((u) => u.href.startsWith(done), { timeout: 10_000 });
    });

    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent('eventId eq "sso.logout" and outcome eq "success"')}`);
    expect(events.body.Resources.map((e: { message: string }) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^LogoutRequest .*: 1 session\(s\) ended$/)]));
    await expectSignedOutAtBoth(page);
    await context.close();
  });
});
