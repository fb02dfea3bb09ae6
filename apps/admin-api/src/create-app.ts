import { INestApplication, Logger, LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import { AppConfig } from '@app/config';
import {
  resourceOpenApiSchema,
  SCIM_ERROR_OPENAPI,
  ScimError,
  scimJsonBody,
  ScimRegistry,
} from '@app/scim';
import { samlFormBody } from '@app/saml';
import { AppModule } from './app.module';
import { opcRequestId } from './request-id';
import { ExpressHttpAdapter } from './http-adapter';

const LEVELS: Record<AppConfig['logLevel'], LogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  log: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

export const SWAGGER_PATH = 'api-docs';

/** The OpenAPI document: routes from the controllers, resource schemas from the SCIM definitions. */
export function buildOpenApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Identity Domain admin API')
      .setDescription(
        'SCIM 2.0 admin API compatible with Oracle IDCS / OCI IAM Identity Domains (/admin/v1). ' +
          'Get a token from POST /oauth2/v1/token (client_credentials), then use "Authorize" with it.',
      )
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token or provisioning token' })
      .build(),
  );
  doc.components ??= {};
  doc.components.schemas ??= {};
  doc.components.schemas.ScimError = SCIM_ERROR_OPENAPI as never;
  for (const rt of app.get(ScimRegistry).all()) {
    doc.components.schemas[rt.name] = resourceOpenApiSchema(rt, rt.example) as never;
  }
  return doc;
}

/** Builds the configured application (not yet listening): used by main, the tests and the OpenAPI script. */
export async function createApp(config: AppConfig, options: { logger?: false | LogLevel[] } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), new ExpressHttpAdapter(), {
    bodyParser: false,
    logger: options.logger ?? LEVELS[config.logLevel],
  });
  app.disable('x-powered-by');
  // Resources carry their own ETag (meta.version); hashing every list response as well costs CPU for nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  app.use(opcRequestId());
  app.use('/admin', scimJsonBody());
  app.use('/oauth2', express.urlencoded({ extended: false, limit: '16kb' }));
  app.use('/fed', samlFormBody());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) =>
        ScimError.badRequest(
          'invalidValue',
          errors.map((e) => Object.values(e.constraints ?? {}).join('; ') || `${e.property} is invalid`).join('; '),
        ),
    }),
  );
  app.enableShutdownHooks();
  // Swagger's routes must be in place before init() adds the final not-found handler.
  SwaggerModule.setup(SWAGGER_PATH, app, buildOpenApiDocument(app, config), {
    jsonDocumentUrl: `${SWAGGER_PATH}/openapi.json`,
    yamlDocumentUrl: `${SWAGGER_PATH}/openapi.yaml`,
    swaggerOptions: { persistAuthorization: true },
  });
  await app.init();
  // Node closes an idle keep-alive connection after 5 s. A client (or a load balancer, whose idle timeout is
  // typically 60 s) that sends its next request on that connection just as the server closes it gets ECONNRESET
  // for a request that never reached us. Keeping idle connections longer than such peers do leaves closing them
  // to the peer, which knows not to reuse them; the headers timeout must exceed it (Node's requirement).
  const server = app.getHttpServer();
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  new Logger('App').debug('Application initialised');
  return app;
}
