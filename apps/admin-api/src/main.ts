import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { setFlagsFromString } from 'node:v8';
import { AppConfig, ConfigError, loadConfig } from '@app/config';
import { createApp, SWAGGER_PATH } from './create-app';

/**
 * Bounds how much garbage the heap may hold. Under load a large share of each request's objects outlives a
 * young-generation collection (Express and Nest keep them referenced a while; up to a third of what a plain
 * Express route allocates, measured with --trace-gc-nvp), so the old generation fills with dead objects, and
 * V8's default heuristic lets it grow to about 4× the live heap before collecting: ~280 MB of RSS for ~45 MB
 * live. Full collections at 1.5× keep the server near 175 MB with no throughput cost we could measure
 * (bench:scim). The flag is read at each collection, so setting it at start-up takes effect, for the worker
 * threads too; a --heap-growing-percent given to node itself wins.
 */
function boundHeapGrowth(config: AppConfig): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /heap[-_]growing[-_]percent/.test(a));
  if (config.heapGrowingPercent > 0 && !given) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  boundHeapGrowth(config);
  const app = await createApp(config);
  await app.listen(config.port, config.host);
  const logger = new Logger('App');
  logger.log(`Admin API:  ${config.publicUrl}/admin/v1`);
  logger.log(`Swagger UI: ${config.publicUrl}/${SWAGGER_PATH}`);
  logger.log(`Token:      POST ${config.publicUrl}/oauth2/v1/token`);
  logger.log(`Database:   ${config.database.type === 'sqlite' ? `sqlite:${config.database.path}` : 'postgres'}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
