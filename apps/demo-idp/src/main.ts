/**
 * The demo IdP on its own, beside an identity server that is already running (`npm run demo` starts both and
 * registers the IdP; use this to serve another server). Environment: SP_METADATA_URL (default
 * http://localhost:3000/fed/v1/metadata), DEMO_IDP_PORT (default 3100), DEMO_IDP_HOST (default 127.0.0.1).
 */
import { startDemoIdp } from './demo-idp';

async function main(): Promise<void> {
  const spMetadataUrl = process.env.SP_METADATA_URL ?? 'http://localhost:3000/fed/v1/metadata';
  const idp = await startDemoIdp({ spMetadataUrl, port: Number(process.env.DEMO_IDP_PORT ?? 3100), host: process.env.DEMO_IDP_HOST ?? '127.0.0.1' });
  console.log(`Demo IdP: ${idp.url} (metadata: ${idp.metadataUrl}), serving the SP of ${spMetadataUrl}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
