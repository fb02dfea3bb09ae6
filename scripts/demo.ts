/**
 * `npm run demo`: the identity server on a fresh SQLite file under data/demo/, plus the demo IdP on another
 * loopback port, registered through the REST API with JIT on. Prints the link that starts a sign-in.
 *
 * Environment: PORT (3000), DEMO_IDP_PORT (3100), PUBLIC_URL (http://localhost:$PORT), LOG_LEVEL (warn).
 */
import 'reflect-metadata';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@app/config';
import { createApp } from '../apps/admin-api/src/create-app';
import { DEMO_GROUPS, DEMO_IDP_NAME, initiateSsoUrl, registerDemoIdp, startDemoIdp } from '../apps/demo-idp/src';

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

  const shutdown = async () => {
    await idp.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  const users = idp.users.map((u) => `    ${u.email.padEnd(20)} ${u.password.padEnd(15)} ${u.firstName} ${u.familyName}, groups: ${u.groups.join(', ')}`);
  console.log(
    [
      '',
      `Identity server  ${config.publicUrl}  (admin API /admin/v1, Swagger UI /api-docs, database ${DATA_DIR}/)`,
      `Admin client     ${ADMIN_CLIENT_ID} / ${ADMIN_CLIENT_SECRET}`,
      `Demo IdP         ${idp.url}  (registered as "${DEMO_IDP_NAME}", id ${registration.idpId}, JIT create + update, Merge)`,
      `Group mappings   ${DEMO_GROUPS.map((g) => `"${g.idpGroup}" -> "${g.displayName}"`).join(', ')}; other IdP groups are ignored`,
      '',
      'Open this link in a browser and sign in as one of the demo users:',
      '',
      `    ${signInUrl}`,
      '',
      '    user name            password        asserted attributes',
      ...users,
      '',
      `You land on ${config.publicUrl}/myprofile with the user JIT created. Sign out there, then open the link again to sign in as another user.`,
      `What happened: GET ${config.publicUrl}/admin/v1/AuditEvents?filter=eventId eq "sso.login" (with an admin token).`,
      'Ctrl+C stops both servers.',
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
