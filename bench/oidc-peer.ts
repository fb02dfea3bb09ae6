/**
 * The peer of bench/oidc.bench.ts: a bare OpenID Connect relying party, node:http + openid-client 6 and nothing
 * else — no user store, no JIT, no audit, no database. It does what our server does with the provider's answer
 * and no more: discovery once at start; authorization code flow with PKCE, state and nonce, the flow kept in an
 * in-memory map keyed by an HttpOnly cookie and taken out of it at the callback (single use); the ID token checked
 * as strictly as ours checks it (signature verified with `enableNonRepudiationChecks`, asymmetric algorithms only,
 * the same clock tolerance); UserInfo fetched with the ID token's `sub` expected; then an in-memory session and
 * its cookie.
 *
 * It answers at our server's paths (`/fed/v1/sp/initiatesso`, `/oauth2/v1/social/callback`, the session cookie
 * `idd_session`, 303 to /myprofile), so that the bench drives both with the one browser driver
 * (libs/fixtures oidcSignIn) and the client side costs the same on both.
 *
 * Started by the bench with `fork` (its own process, so its CPU is its own); configuration in the environment:
 * PEER_PORT, PEER_DISCOVERY_URL, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_SCOPE. Sends `{ type: 'ready', url }`
 * over IPC when it listens, and ends with its parent.
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';

const START_PATH = '/fed/v1/sp/initiatesso';
const CALLBACK_PATH = '/oauth2/v1/social/callback';
const FLOW_COOKIE = 'peer_flow';
const SESSION_COOKIE = 'idd_session';
/** Our server's values for the same things (OIDC_FLOW_TTL_MS, the SOCIAL IdP's default clock skew, PROVIDER_TIMEOUT_S). */
const FLOW_TTL_MS = 15 * 60 * 1000;
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const CLOCK_TOLERANCE_S = 60;
const PROVIDER_TIMEOUT_S = 10;
const ASYMMETRIC_ALG = /^(?:(?:RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519)$/;

interface Flow {
  verifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

interface Session {
  sub: string;
  claims: Record<string, unknown>;
  expiresAt: number;
}

async function main(): Promise<void> {
  const env = (name: string) => process.env[name] ?? fail(`${name} is not set`);
  const port = Number(env('PEER_PORT'));
  const scope = process.env.PEER_SCOPE ?? 'openid profile email';
  const redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;

  const config = await client.discovery(new URL(env('PEER_DISCOVERY_URL')), env('PEER_CLIENT_ID'), { [client.clockTolerance]: CLOCK_TOLERANCE_S }, client.ClientSecretBasic(env('PEER_CLIENT_SECRET')), {
    timeout: PROVIDER_TIMEOUT_S,
    execute: [client.allowInsecureRequests], // the provider is on loopback, over plain http
  });
  const listed = config.serverMetadata().id_token_signing_alg_values_supported ?? ['RS256'];
  (config.clientMetadata() as Record<string, unknown>).id_token_signed_response_alg = listed.filter((a) => ASYMMETRIC_ALG.test(a));
  client.enableNonRepudiationChecks(config);

  const flows = new Map<string, Flow>();
  const sessions = new Map<string, Session>();
  setInterval(() => {
    const now = Date.now();
    for (const [k, f] of flows) if (f.expiresAt <= now) flows.delete(k);
    for (const [k, s] of sessions) if (s.expiresAt <= now) sessions.delete(k);
  }, 60_000).unref();

  async function start(res: ServerResponse): Promise<void> {
    const verifier = client.randomPKCECodeVerifier();
    const flow: Flow = { verifier, state: client.randomState(), nonce: client.randomNonce(), expiresAt: Date.now() + FLOW_TTL_MS };
    const flowId = randomBytes(24).toString('base64url');
    flows.set(flowId, flow);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    res.writeHead(302, { Location: url.href, 'Set-Cookie': `${FLOW_COOKIE}=${flowId}; Path=/oauth2/v1/social; Max-Age=${FLOW_TTL_MS / 1000}; HttpOnly; SameSite=Lax`, 'Cache-Control': 'no-store', 'Content-Length': '0' });
    res.end();
  }

  async function callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const flowId = cookieValue(req.headers.cookie, FLOW_COOKIE);
    const flow = flowId ? flows.get(flowId) : undefined;
    if (flowId) flows.delete(flowId);
    const clearFlow = `${FLOW_COOKIE}=; Path=/oauth2/v1/social; Max-Age=0; HttpOnly; SameSite=Lax`;
    if (!flow || flow.expiresAt <= Date.now()) return refuse(res, clearFlow, 'no pending sign-in for this browser');
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(req.url!, redirectUri), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
      const idClaims = tokens.claims()!;
      const userInfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
      const token = randomBytes(32).toString('base64url');
      sessions.set(token, { sub: idClaims.sub, claims: { ...userInfo, ...idClaims }, expiresAt: Date.now() + SESSION_TTL_MS });
      res.writeHead(303, {
        Location: '/myprofile',
        'Set-Cookie': [clearFlow, `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${SESSION_TTL_MS / 1000}; HttpOnly; SameSite=Lax`],
        'Cache-Control': 'no-store',
        'Content-Length': '0',
      });
      res.end();
    } catch (e) {
      refuse(res, clearFlow, String((e as Error)?.message ?? e));
    }
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const handled = req.method !== 'GET' ? undefined : path === START_PATH ? start(res) : path === CALLBACK_PATH ? callback(req, res) : undefined;
    if (!handled) {
      res.writeHead(404, { 'Content-Length': '0' }).end();
      return;
    }
    handled.catch((e: Error) => {
      console.error(`oidc peer: ${e.stack ?? e}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
  process.on('disconnect', () => process.exit(0));
}

let refusals = 0;
/** One generic answer to the browser; the first few reasons to stderr (the bench counts the failures). */
function refuse(res: ServerResponse, clearFlow: string, why: string): void {
  if (++refusals <= 5) console.error(`oidc peer: sign-in refused: ${why}`);
  res.writeHead(401, { 'Set-Cookie': clearFlow, 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
  res.end('Sign-in failed');
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function fail(message: string): never {
  throw new Error(message);
}

main().catch((e: Error) => {
  console.error(`oidc peer: ${e.stack ?? e}`);
  process.exit(1);
});
