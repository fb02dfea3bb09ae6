import { ChildProcess, fork } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { IdTokenForgery, OidcAccount, OidcProviderOptions, ParentMessage, ProviderMessage, TamperWire, TestHooksEndpoint } from './oidc-provider-options';
import { OWN_LOG_PREFIX, OPTIONS_ENV } from './oidc-provider-options';

/** How long the provider process may take to load ts-node and oidc-provider and listen. */
const START_TIMEOUT_MS = 30_000;
const STDERR_TAIL = 8 * 1024;
const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/**
 * What to forge in the provider's next answers (test hooks only). Each part is armed for one response:
 * `idToken` for the next token response carrying an ID token, `authorizationResponseIss` for the next
 * authorization response (the redirect to the client with `code`).
 */
export interface TamperSpec {
  /** See {@link IdTokenForgery}. */
  idToken?: IdTokenForgery;
  /** `hs256-public-key`: the HMAC secret is the public key's SPKI PEM (the default) or the JSON of its public JWK. */
  hmacSecret?: 'pem' | 'jwk';
  /** `foreign`: the other running provider (started with `testHooks`) whose key and issuer sign the token. */
  foreignSigner?: RunningOidcProvider;
  /** `foreign`: keep this provider's `iss` in the foreign-signed token (a key substitution), not the signer's. */
  foreignKeepsIssuer?: boolean;
  /** RFC 9207: drop the `iss` authorization response parameter, or replace it with this value (mix-up attack). */
  authorizationResponseIss?: 'drop' | { value: string };
}

/** A running provider process; see {@link startOidcProvider}. */
export interface RunningOidcProvider {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  issuer: string;
  /** `${issuer}/.well-known/openid-configuration`: what the IdentityProvider's `discoveryUrl` names. */
  discoveryUrl: string;
  /** Adds the account, or replaces the claims of the one with its `sub` (test hooks only). */
  setAccount(account: OidcAccount): Promise<void>;
  /** Arms forgeries for the next responses (test hooks only); see {@link TamperSpec}. */
  tamper(spec: TamperSpec): Promise<void>;
  /** Disarms every forgery not yet used (test hooks only). */
  clearTampers(): Promise<void>;
  /** These claims as a JWT signed with this provider's RS256 key; `iss` defaults to its issuer (test hooks only). */
  signIdToken(claims: Record<string, unknown>): Promise<string>;
  /** Where its test admin API is (test hooks only). */
  testHooks?: TestHooksEndpoint;
  /** Stops the process (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts a real OpenID Connect provider (panva's oidc-provider, certified) in a child process: authorization code
 * flow with PKCE required, client authentication as each client is registered, RS256 ID tokens (ES256 too with
 * `es256Key`), UserInfo, RFC 9207 `iss` in authorization responses, discovery and JWKS. A browser signs in on its
 * interaction page with one "Sign in as …" button per account (`POST /interaction/:uid/login`, `login=<sub>`);
 * consent is automatic, so a browser holding a provider session gets its code with no page at all.
 * With `testHooks`, tests change accounts and forge responses through {@link RunningOidcProvider}.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  const child = fork(join(__dirname, 'provider-process.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'],
    env: { ...process.env, [OPTIONS_ENV]: JSON.stringify(options), TS_NODE_PROJECT: join(REPO_ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    // Our own reports (a server_error at the provider) always; oidc-provider's notices only when asked.
    if (options.verbose || chunk.includes(OWN_LOG_PREFIX)) process.stderr.write(chunk);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));

  let onMessage: (m: ProviderMessage) => void = () => undefined;
  let onExit: (code: number | null, signal: string | null) => void = () => undefined;
  const ready = await new Promise<Extract<ProviderMessage, { type: 'ready' }>>((accept, reject) => {
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`OpenID provider process ${why}\n${stderr}`));
    };
    onMessage = (m) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        accept(m);
      } else if (m.type === 'failed') fail(`failed: ${m.message}`);
    };
    onExit = (code, signal) => fail(`exited (${signal ?? code})`);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', (e) => fail(`could not start: ${e.message}`));
  });
  child.off('message', onMessage);
  child.off('exit', onExit);

  const hooks = ready.testHooks;
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    if (!hooks) throw new Error('this OpenID provider was started without testHooks');
    const res = await fetch(`${hooks.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${hooks.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`OpenID provider ${method} ${path}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  };

  let stopping: Promise<void> | undefined;
  return {
    issuer: ready.issuer,
    discoveryUrl: `${ready.issuer}/.well-known/openid-configuration`,
    testHooks: hooks,
    setAccount: async (account) => void (await call('PUT', '/accounts', account)),
    tamper: async (spec) => void (await call('POST', '/tamper', toWire(spec))),
    clearTampers: async () => void (await call('DELETE', '/tamper')),
    signIdToken: async (claims) => (await call('POST', '/sign', claims)).jwt as string,
    stop: () => (stopping ??= stop(child, exited)),
  };
}

function toWire(spec: TamperSpec): TamperWire {
  if (spec.idToken === 'foreign' && !spec.foreignSigner?.testHooks) throw new Error('the foreign forgery needs foreignSigner: another provider started with testHooks');
  const iss = spec.authorizationResponseIss;
  return {
    idToken: spec.idToken,
    hmacSecret: spec.hmacSecret,
    foreignSigner: spec.foreignSigner?.testHooks,
    foreignKeepsIssuer: spec.foreignKeepsIssuer,
    authorizationResponseIss: iss === undefined ? undefined : iss === 'drop' ? { drop: true } : { value: iss.value },
  };
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const stopMessage: ParentMessage = { type: 'stop' };
  if (child.connected) child.send(stopMessage);
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
