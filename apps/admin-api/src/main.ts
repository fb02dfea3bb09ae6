import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { setFlagsFromString } from 'node:v8';
import { AppConfig, ConfigError, loadConfig, SecretsStartupError } from '@app/config';
import { checkDatabase, DatabaseStartupError } from '@app/persistence';
import { createApp, SWAGGER_PATH } from './create-app';

/**
 * Bounds how much garbage the heap may hold before a full collection: V8's default heuristic lets the old
 * generation grow to about 4× the live heap under load. Measured before ExpressHttpAdapter removed the main
 * cause (Express re-prototyping every request made a third of each request's objects outlive young-generation
 * collections), this kept bench:scim near 180 MB instead of ~285-305 MB. With that fixed, a plain load on one
 * endpoint peaks at ~150 MB either way; the bound stays as a cap for whatever else promotes garbage (the SAML
 * worker threads each have a heap). The flag is read at each collection, so setting it at start-up takes
 * effect, for the worker threads too; a --heap-growing-percent given to node itself wins.
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
  try {
    await checkDatabase(config.database);
  } catch (e) {
    // The operator's to fix (path, permissions, server, credentials): one line, no stack.
    if (e instanceof DatabaseStartupError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
  let app;
  try {
    app = await createApp(config);
  } catch (e) {
    // A missing, unreadable or wrong key-encryption key is the operator's to fix: one line, no stack.
    if (e instanceof SecretsStartupError) {
      console.error(e.message);
      process.exit(1);
    }
    throw e;
  }
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
