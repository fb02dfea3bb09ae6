import { INestApplication, Logger, LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import helmet from 'helmet';
import { AppConfig } from '@app/config';
import { AccessTokens, AdminClients, BearerAuthentication, ProvisioningTokens, tokenFormBody } from '@app/auth';
import {
  resourceOpenApiSchema,
  SCIM_ERROR_OPENAPI,
  ScimError,
  scimJsonBody,
  ScimRegistry,
} from '@app/scim';
import { samlFormBody } from '@app/saml';
import { AppModule } from './app.module';
import { ExpressHttpAdapter } from './http-adapter';
import { LogFormat, OneLineConsoleLogger, parseLogFormat } from './log-lines';
import { MetricsService } from '@app/metrics';
import { HttpDrain } from './http-drain';
import { requestEdge } from './request-edge';

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

const isHttps = (config: AppConfig) => new URL(config.publicUrl).protocol === 'https:';

/**
 * Headers for every response. The API answers JSON that no page should render, frame or sniff as something
 * else: a CSP that allows nothing, no framing, no MIME sniffing, no Referer leaking ids in URLs. HSTS only
 * when the server is reached over https (PUBLIC_URL): sent over http it would be ignored, and to a browser
 * that once saw it, it would make a plain-http deployment unreachable. Handlers that render HTML (the SSO
 * pages) set their own CSP after this, which replaces this one.
 */
function securityHeaders(config: AppConfig): express.RequestHandler {
  return helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: isHttps(config) ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Not these page-isolation and legacy (IE, Flash) switches: every header is written and parsed on every
    // response, and these protect no JSON answer; the few HTML pages (SSO forms, Swagger UI) rely on their CSP.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  });
}

/**
 * Swagger UI's page: its own scripts and styles (it sets inline style attributes), data: images (icons), calls
 * to this server only; never framed (clickjacking a page that holds a bearer token). upgrade-insecure-requests
 * only over https: on a plain-http server it would send the page's own scripts to an https port that is not there.
 */
function swaggerUiPolicy(config: AppConfig): express.RequestHandler {
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      ...(isHttps(config) ? { upgradeInsecureRequests: [] } : {}),
    },
  });
}

/** Builds the configured application (not yet listening): used by main, the tests and the OpenAPI script. */
export async function createApp(config: AppConfig, options: { logger?: false | LogLevel[]; logFormat?: LogFormat } = {}): Promise<NestExpressApplication> {
  const levels = options.logger ?? LEVELS[config.logLevel];
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), new ExpressHttpAdapter(), {
    bodyParser: false,
    // Also what every `new Logger(…)` writes through: the one place where log lines are formatted.
    logger: levels === false ? false : new OneLineConsoleLogger({ logLevels: levels, format: options.logFormat ?? parseLogFormat(process.env.LOG_FORMAT) }),
  });
  app.disable('x-powered-by');
  app.use(requestEdge(app.get(MetricsService), app.get(HttpDrain)));
  app.use(securityHeaders(config));
  // Resources carry their own ETag (meta.version); hashing every list response as well costs CPU for nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.set('query parser', 'simple');
  // A body is read only from an authenticated sender: the token is checked first (roles stay with the guard).
  const bearer = new BearerAuthentication(app.get(AccessTokens), app.get(AdminClients), app.get(ProvisioningTokens));
  app.use('/admin', scimJsonBody({ authenticate: (req, res) => bearer.authenticate(req, res) }));
  app.use('/oauth2', tokenFormBody());
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
  // Exit 0 once the shutdown (requests drained, pools closed) is done, 1 if it failed: Nest's default re-raises the
  // signal, which a supervisor reads as a kill rather than a clean stop.
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  // Swagger's routes must be in place before init() adds the final not-found handler.
  app.use(`/${SWAGGER_PATH}`, swaggerUiPolicy(config));
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
