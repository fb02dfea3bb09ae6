/**
 * The OpenID Connect provider process: panva's certified oidc-provider, configured for our tests, the benchmark and
 * the demo. Started by start-oidc-provider.ts with `node -r ts-node/register/transpile-only` (oidc-provider is
 * ESM with ESM dependencies, loaded here through Node's require(esm); jest could not load it). Options come as
 * JSON in OIDC_PROVIDER_OPTIONS; the parent learns the issuer over IPC, and the process ends with its parent.
 *
 * Routes of our own beside the provider's: the interaction (login) pages, and, with `testHooks` only, the test
 * admin API under /__test (bearer token): PUT /__test/accounts (add or replace an account), POST /__test/tamper,
 * DELETE /__test/tamper, POST /__test/sign (sign the posted claims with this provider's key and issuer).
 * This is demo and test code, never part of the identity server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { ArmedTampers, makeSigningKey, signClaims } from './forgery';
import { loginPage, providerErrorPage } from './interaction-pages';
import { MemoryStore } from './memory-store';
import { CLAIMS_BY_SCOPE, OidcAccount, OidcClientSpec, OidcProviderOptions, OPTIONS_ENV, OWN_LOG_PREFIX, ParentMessage, ProviderMessage, TamperWire } from './oidc-provider-options';

// oidc-provider has no type declarations; what this file uses of it is typed where it is used.
const { Provider, interactionPolicy } = require('oidc-provider') as {
  Provider: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  interactionPolicy: {
    base(): { get(name: string): { checks: { add(check: unknown): void } } };
    Check: { new (reason: string, description: string, check: (ctx: any) => boolean): unknown; REQUEST_PROMPT: boolean; NO_NEED_TO_PROMPT: boolean };
  };
};

interface Interaction {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, string | undefined>;
  session?: { accountId?: string };
  grantId?: string;
}
interface Grant {
  jti: string;
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  save(): Promise<string>;
}
interface OidcProvider {
  issuer: string;
  Grant: { new (init: { accountId: string; clientId: string }): Grant; find(id: string): Promise<Grant | undefined> };
  use(middleware: (ctx: any, next: () => Promise<void>) => Promise<void>): void;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  on(event: string, listener: (...args: any[]) => void): void;
}

/** Standard profile claims (OpenID Connect Core §5.4), released by `profile` with every non-standard claim. */
const PROFILE_CLAIMS = ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'];
const BODY_LIMIT = 64 * 1024;

async function main(): Promise<void> {
  const options = JSON.parse(process.env[OPTIONS_ENV] ?? '{}') as OidcProviderOptions;
  const displayName = options.displayName ?? 'OpenID Provider';
  const accounts = new Map<string, OidcAccount>(options.accounts.map((a) => [a.sub, a]));
  const claimsConfig = claimsByScope([...options.accounts.flatMap((a) => Object.keys(a.claims)), ...(options.extraClaimNames ?? [])]);
  const supportedClaims = new Set(Object.values(claimsConfig).flat());

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const issuer = `http://${options.host ?? '127.0.0.1'}:${(server.address() as { port: number }).port}`;

  const rsaKey = await makeSigningKey();
  const keys: Record<string, unknown>[] = [rsaKey.privateJwk];
  if (options.es256Key) keys.push(await es256Key());
  const store = new MemoryStore();
  const tampers = new ArmedTampers();

  const provider = new Provider(issuer, {
    adapter: (model: string) => store.adapterFor(model),
    clients: options.clients.map(clientMetadata),
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: claimsConfig,
    scopes: ['openid', 'offline_access', ...Object.keys(claimsConfig)],
    conformIdTokenClaims: options.conformIdTokenClaims ?? true,
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true },
    },
    findAccount: async (_ctx: unknown, sub: string) => {
      const account = accounts.get(sub);
      return account && { accountId: sub, claims: async () => ({ ...account.claims, sub }) };
    },
    // Consent is given at once: the requested scopes and claims are added to the grant (made when there is none),
    // so that a browser signed in here gets its code without a page (the benchmark's returning user).
    loadExistingGrant: async (ctx: any) => ensureGrant(provider, ctx.oidc.client.clientId, ctx.oidc.session.accountId, ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId), ctx.oidc.params.scope, [...ctx.oidc.requestParamClaims]),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`, policy: interactionPolicyFor(options) },
    renderError: async (ctx: any, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = providerErrorPage(displayName, Object.entries(out).map(([k, v]) => `${k}: ${v}`).join('; '));
    },
    clientBasedCORS: () => false,
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 900, Session: 3600, Grant: 3600, RefreshToken: 3600 },
  });
  provider.use(tampers.middleware({ key: rsaKey, issuer }));
  provider.on('server_error', (_ctx: unknown, err: Error) => console.error(`${OWN_LOG_PREFIX}server_error: ${err.stack ?? err}`));

  const adminToken = options.testHooks ? randomBytes(24).toString('base64url') : undefined;
  const providerCallback = provider.callback();

  /** GET /interaction/:uid: the login page, or for a consent prompt, consent at once. */
  async function showInteraction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const interaction = await provider.interactionDetails(req, res);
    if (interaction.prompt.name === 'login') {
      return send(res, 200, loginPage({ displayName, clientId: interaction.params.client_id ?? '', action: `/interaction/${interaction.uid}/login`, accounts: [...accounts.values()] }));
    }
    const accountId = interaction.session?.accountId;
    if (interaction.prompt.name !== 'consent' || !accountId) return send(res, 400, providerErrorPage(displayName, `Unexpected prompt ${interaction.prompt.name}.`));
    const grant = await ensureGrant(provider, interaction.params.client_id!, accountId, interaction.grantId, interaction.params.scope, requestedClaims(interaction.params.claims));
    await provider.interactionFinished(req, res, { consent: { grantId: grant.jti } }, { mergeWithLastSubmission: true });
  }

  /** POST /interaction/:uid/login with login=<sub>. */
  async function finishLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const interaction = await provider.interactionDetails(req, res);
    const sub = new URLSearchParams(await readBody(req)).get('login') ?? '';
    if (interaction.prompt.name !== 'login') return send(res, 400, providerErrorPage(displayName, 'This sign-in is not waiting for a login.'));
    if (!accounts.has(sub)) return send(res, 400, providerErrorPage(displayName, `No account "${sub}".`));
    await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
  }

  /** The test admin API; the caller checked the bearer token. */
  async function testHook(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    if (route === 'PUT /__test/accounts') {
      const account = JSON.parse(await readBody(req)) as OidcAccount;
      if (typeof account?.sub !== 'string' || typeof account.claims !== 'object' || account.claims === null) return sendJson(res, 400, { error: 'expected {sub, claims}' });
      const unsupported = Object.keys(account.claims).filter((c) => !supportedClaims.has(c));
      if (unsupported.length) return sendJson(res, 400, { error: `claims unknown when the provider started (list them in extraClaimNames): ${unsupported.join(', ')}` });
      accounts.set(account.sub, account);
      return sendJson(res, 200, { accounts: accounts.size });
    }
    if (route === 'POST /__test/tamper') {
      tampers.arm(JSON.parse(await readBody(req)) as TamperWire);
      return sendJson(res, 200, { armed: tampers.armed });
    }
    if (route === 'DELETE /__test/tamper') {
      tampers.disarm();
      return sendJson(res, 200, { armed: tampers.armed });
    }
    if (route === 'POST /__test/sign') {
      const claims = JSON.parse(await readBody(req)) as Record<string, unknown>;
      return sendJson(res, 200, { jwt: await signClaims(rsaKey, { iss: issuer, ...claims }) });
    }
    sendJson(res, 404, { error: `no test hook ${route}` });
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    const handle = async () => {
      if (req.method === 'GET' && /^\/interaction\/[\w-]+$/.test(path)) return showInteraction(req, res);
      if (req.method === 'POST' && /^\/interaction\/[\w-]+\/login$/.test(path)) return finishLogin(req, res);
      if (path.startsWith('/__test/')) {
        if (!adminToken || !bearerMatches(req, adminToken)) return sendJson(res, 404, { error: 'not found' });
        return testHook(req, res, route);
      }
      providerCallback(req, res);
    };
    handle().catch((e: Error & { statusCode?: number }) => {
      // SessionNotFound and friends: a stale or foreign interaction (cookie missing, expired, replayed).
      const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
      if (status >= 500) console.error(`${OWN_LOG_PREFIX}${e.stack ?? e}`);
      if (!res.headersSent) send(res, status, providerErrorPage(displayName, `${e.name}: ${e.message}`));
      else res.end();
    });
  });

  const ready: ProviderMessage = { type: 'ready', issuer, ...(adminToken ? { testHooks: { adminUrl: `${issuer}/__test`, adminToken } } : {}) };
  tell(ready);
  process.on('message', (m: ParentMessage) => {
    if (m?.type === 'stop') shutdown();
  });
  // The parent is gone (a test run killed, the demo stopped): so is this provider.
  process.on('disconnect', shutdown);
  function shutdown(): void {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  }
}

/** oidc-provider's prompts, with `loginEveryTime` a login page at every authorization request but the one resumed after it. */
function interactionPolicyFor(options: OidcProviderOptions) {
  const policy = interactionPolicy.base();
  const { Check } = interactionPolicy;
  if (options.loginEveryTime) {
    policy.get('login').checks.add(new Check('login_every_time', 'this provider asks who signs in every time', (ctx) => (ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT)));
  }
  return policy;
}

/** The `claims` configuration: fixed scopes, then every other claim name in `profile` (see CLAIMS_BY_SCOPE). */
function claimsByScope(claimNames: string[]): Record<string, string[]> {
  const fixed = new Set(Object.values(CLAIMS_BY_SCOPE).flat());
  const groupsLike = claimNames.filter((c) => c !== 'groups' && /\/groups$/i.test(c));
  const others = claimNames.filter((c) => c !== 'sub' && !fixed.has(c) && !groupsLike.includes(c));
  return {
    openid: ['sub'],
    profile: [...new Set([...PROFILE_CLAIMS, ...others])],
    email: [...CLAIMS_BY_SCOPE.email],
    groups: [...new Set([...CLAIMS_BY_SCOPE.groups, ...groupsLike])],
    phone: [...CLAIMS_BY_SCOPE.phone],
    address: ['address'],
  };
}

function clientMetadata(c: OidcClientSpec): Record<string, unknown> {
  return {
    client_id: c.clientId,
    client_secret: c.clientSecret,
    redirect_uris: c.redirectUris,
    token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
    id_token_signed_response_alg: c.idTokenSignedResponseAlg ?? 'RS256',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...c.metadata,
  };
}

/** The client's grant for the account, made or extended to cover the requested scopes and claims; saved. */
async function ensureGrant(provider: OidcProvider, clientId: string, accountId: string, grantId: string | undefined, scope: string | undefined, claims: string[]): Promise<Grant> {
  const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
  if (scope) grant.addOIDCScope(scope);
  if (claims.length) grant.addOIDCClaims(claims);
  await grant.save();
  return grant;
}

/** The claim names of a `claims` request parameter (OpenID Connect Core §5.5). */
function requestedClaims(param: string | undefined): string[] {
  if (!param) return [];
  try {
    const parsed = JSON.parse(param) as { userinfo?: object; id_token?: object };
    return [...new Set([...Object.keys(parsed.userinfo ?? {}), ...Object.keys(parsed.id_token ?? {})])];
  } catch {
    return [];
  }
}

async function es256Key(): Promise<Record<string, unknown>> {
  const { exportJWK, generateKeyPair } = await import('jose');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: `es256-${randomBytes(8).toString('hex')}`, alg: 'ES256', use: 'sig' };
}

function bearerMatches(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        reject(Object.assign(new Error('request body too large'), { statusCode: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// No `form-action`: Chromium applies it to the redirects after a form post too, and the login form's post ends, by
// design, at the client's redirect URI on another origin.
function send(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'" });
  res.end(html);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function tell(message: ProviderMessage): void {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message));
}

main().catch((e: Error) => {
  tell({ type: 'failed', message: e.stack ?? String(e) });
  console.error(e);
  process.exit(1);
});
