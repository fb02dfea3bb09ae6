/**
 * `npm run demo`: the identity server on a fresh SQLite file under data/demo/, plus two identity providers on
 * other loopback ports, each registered through the REST API with JIT on: the demo SAML IdP and the demo OpenID
 * Connect provider (oidc-provider, in a child process). Prints the links that start a sign-in with each.
 *
 * Environment: PORT (3000), DEMO_IDP_PORT (3100), DEMO_OIDC_PORT (3200), PUBLIC_URL (http://localhost:$PORT),
 * LOG_LEVEL (warn).
 */
import 'reflect-metadata';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { createApp } from '../apps/admin-api/src/create-app';
import {
  DEMO_GROUPS,
  DEMO_IDP_NAME,
  DEMO_OIDC_ACCOUNTS,
  demoOidcClient,
  initiateSsoUrl,
  registerDemoIdp,
  registerDemoOidcIdp,
  startDemoIdp,
  startOidcProvider,
} from '../apps/demo-idp/src';

/** The demo's administrator client: fixed and printed, so you can try the API too. Demo only. */
const ADMIN_CLIENT_ID = 'demo-admin';
const ADMIN_CLIENT_SECRET = 'demo-admin-secret-0123456789';
const DATA_DIR = join('data', 'demo');

async function main(): Promise<void> {
  // Every run starts from an empty database: the demo IdP makes a new signing key at each start anyway.
  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });

  const port = process.env.PORT ?? '3000';
  const config = loadConfig({
    ...process.env,
    PORT: port,
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(DATA_DIR, 'identity.sqlite')}`,
    ADMIN_CLIENT_ID,
    ADMIN_CLIENT_SECRET,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const apiUrl = `http://127.0.0.1:${config.port}`;
  const signInUrl = initiateSsoUrl(config.publicUrl);

  const idp = await startDemoIdp({
    spMetadataUrl: `${apiUrl}/fed/v1/metadata`,
    port: Number(process.env.DEMO_IDP_PORT ?? 3100),
    spLoginUrl: signInUrl,
  });
  const registration = await registerDemoIdp({ apiUrl, clientId: ADMIN_CLIENT_ID, clientSecret: ADMIN_CLIENT_SECRET, idpMetadataUrl: idp.metadataUrl });

  const oidcClient = demoOidcClient(config.publicUrl);
  const oidc = await startOidcProvider({
    port: Number(process.env.DEMO_OIDC_PORT ?? 3200),
    clients: [oidcClient],
    accounts: [...DEMO_OIDC_ACCOUNTS],
    displayName: 'Demo OpenID Provider',
    loginEveryTime: true,
  });
  const oidcRegistration = await registerDemoOidcIdp({ apiUrl, clientId: ADMIN_CLIENT_ID, clientSecret: ADMIN_CLIENT_SECRET, discoveryUrl: oidc.discoveryUrl, oidcClient });
  const oidcSignInUrl = initiateSsoUrl(config.publicUrl, oidcRegistration.partnerName);

  const shutdown = async () => {
    await Promise.all([idp.close(), oidc.stop()]);
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  const oidcPeople = DEMO_OIDC_ACCOUNTS.map((a) => `    ${String(a.claims.name).padEnd(20)} ${String(a.claims.email).padEnd(22)} groups: ${(a.claims.groups as string[]).join(', ')}`);
  const users = idp.users.map((u) => `    ${u.email.padEnd(20)} ${u.password.padEnd(15)} ${u.firstName} ${u.familyName}, groups: ${u.groups.join(', ')}`);
  console.log(
    [
      '',
      `Identity server  ${config.publicUrl}  (admin API /admin/v1, Swagger UI /api-docs, database ${DATA_DIR}/)`,
      `Admin client     ${ADMIN_CLIENT_ID} / ${ADMIN_CLIENT_SECRET}`,
      `Demo IdP         ${idp.url}  (SAML, registered as "${DEMO_IDP_NAME}", id ${registration.idpId}, JIT create + update, Merge, Single Logout)`,
      `Demo OIDC        ${oidc.issuer}  (OpenID Connect, registered as "${oidcRegistration.partnerName}", id ${oidcRegistration.idpId}, JIT create + update, Merge)`,
      `Group mappings   ${DEMO_GROUPS.map((g) => `"${g.idpGroup}" -> "${g.displayName}"`).join(', ')}; other IdP groups are ignored (both IdPs)`,
      '',
      'Open this link in a browser and sign in with SAML as one of the demo users:',
      '',
      `    ${signInUrl}`,
      '',
      '    user name            password        asserted attributes',
      ...users,
      '',
      'Or this one, to sign in with OpenID Connect: click "Sign in as ..." for one of these people at the provider:',
      '',
      `    ${oidcSignInUrl}`,
      '',
      ...oidcPeople,
      '',
      `You land on ${config.publicUrl}/myprofile with the user JIT created. Sign out there, then open a link again to sign in as another user.`,
      `SAML Single Logout is on for the demo IdP: signing out there also ends your session at ${idp.url}, and its home page's "Sign out everywhere" signs you out here.`,
      `What happened: GET ${config.publicUrl}/admin/v1/AuditEvents?filter=eventId eq "sso.login" (or "sso.logout"; with an admin token).`,
      'Ctrl+C stops all three servers.',
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
