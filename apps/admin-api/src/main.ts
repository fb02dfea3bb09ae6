import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig } from '@app/config';
import { createApp, SWAGGER_PATH } from './create-app';

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
