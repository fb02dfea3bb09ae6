import { createHash, createPublicKey, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, JSONWebKeySet, jwtVerify } from 'jose';
import { CookieJar } from '@app/fixtures';
import { IdTokenForgery, OidcAccount } from './oidc-provider-options';
import { RunningOidcProvider, startOidcProvider, TamperSpec } from './start-oidc-provider';

const CLIENT = { clientId: 'rp', clientSecret: 'rp-secret-0123456789abcdef', redirectUris: ['http://localhost:1/oauth2/v1/social/callback'] };
const REDIRECT_URI = CLIENT.redirectUris[0];
const ENTRA_GROUPS = 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups';
const ALICE: OidcAccount = {
  sub: 'alice-sub',
  claims: { uniqueUserId: 'alice', given_name: 'Alice', family_name: 'Anderson', email: 'alice@example.com', email_verified: true, groups: ['Engineering', 'Admins'], address: { country: 'NZ' }, [ENTRA_GROUPS]: ['g-1'] },
};
const MALLORY: OidcAccount = { sub: 'mallory', claims: { name: '<script>alert(1)</script>', email: 'mallory@example.com' } };

/** What a relying party got from one authorization code flow. */
interface Flow {
  callback: URL;
  nonce: string;
  interactionPages: number;
  tokens?: { id_token: string; access_token: string };
}

/** A code flow by hand: authorize with PKCE, click "Sign in as" when asked, redeem the code (unless `redeem: false`). */
async function codeFlow(p: RunningOidcProvider, jar: CookieJar, opts: { login?: string; scope?: string; redeem?: boolean; pkce?: boolean } = {}): Promise<Flow> {
  const discovery = await (await fetch(p.discoveryUrl)).json();
  const verifier = randomBytes(32).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const query = new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: opts.scope ?? 'openid profile email groups', state: 's', nonce });
  if (opts.pkce !== false) {
    query.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    query.set('code_challenge_method', 'S256');
  }
  let url = `${discovery.authorization_endpoint}?${query}`;
  let method = 'GET';
  let body: string | undefined;
  let interactionPages = 0;
  for (let hop = 0; hop < 10; hop++) {
    const cookie = jar.header(url);
    const res = await fetch(url, { method, redirect: 'manual', body, headers: { ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) } });
    jar.store(url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    if (location && new URL(location, url).href.startsWith(REDIRECT_URI)) {
      const callback = new URL(location, url);
      if (opts.redeem === false || !callback.searchParams.has('code')) return { callback, nonce, interactionPages };
      const token = await fetch(discovery.token_endpoint, {
        method: 'POST',
        headers: { authorization: 'Basic ' + Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: verifier }),
      });
      expect(token.status).toBe(200);
      return { callback, nonce, interactionPages, tokens: await token.json() };
    }
    if (location) {
      [url, method, body] = [new URL(location, url).href, 'GET', undefined];
      continue;
    }
    expect(res.status).toBe(200);
    interactionPages++;
    if (!opts.login) throw new Error(`a login page, and no login given: ${await res.text()}`);
    [url, method, body] = [`${url}/login`, 'POST', `login=${encodeURIComponent(opts.login)}`];
  }
  throw new Error('too many redirects');
}

async function jwks(p: RunningOidcProvider): Promise<ReturnType<typeof createLocalJWKSet>> {
  const discovery = await (await fetch(p.discoveryUrl)).json();
  return createLocalJWKSet((await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet);
}

async function userinfo(p: RunningOidcProvider, accessToken: string): Promise<Record<string, unknown>> {
  const discovery = await (await fetch(p.discoveryUrl)).json();
  return (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } })).json();
}

describe('startOidcProvider', () => {
  let provider: RunningOidcProvider;
  let foreign: RunningOidcProvider;

  beforeAll(async () => {
    [provider, foreign] = await Promise.all([
      startOidcProvider({ clients: [CLIENT], accounts: [ALICE, MALLORY], testHooks: true, extraClaimNames: ['userUniqueId'] }),
      startOidcProvider({ clients: [CLIENT], accounts: [ALICE], testHooks: true }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([provider?.stop(), foreign?.stop()]);
  });

  describe('discovery', () => {
    it('should publish the issuer, PKCE S256, RFC 9207 iss and every account claim', async () => {
      const d = await (await fetch(provider.discoveryUrl)).json();
      expect(d.issuer).toBe(provider.issuer);
      expect(provider.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(d.code_challenge_methods_supported).toEqual(['S256']);
      expect(d.authorization_response_iss_parameter_supported).toBe(true);
      expect(d.claims_supported).toEqual(expect.arrayContaining(['uniqueUserId', 'groups', 'address', ENTRA_GROUPS, 'userUniqueId']));
    });
  });

  describe('sign-in', () => {
    it('should refuse an authorization request without PKCE', async () => {
      const flow = await codeFlow(provider, new CookieJar(), { pkce: false });
      expect(flow.callback.searchParams.get('error')).toBe('invalid_request');
    });

    it('should list the accounts with their names escaped, then issue a code with iss, a verifiable ID token and the claims in UserInfo', async () => {
      const jar = new CookieJar();
      const discovery = await (await fetch(provider.discoveryUrl)).json();
      const query = new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' });
      const start = await fetch(`${discovery.authorization_endpoint}?${query}`, { redirect: 'manual' });
      jar.store(discovery.authorization_endpoint, start.headers.getSetCookie());
      const interaction = new URL(start.headers.get('location')!, provider.issuer).href;
      const page = await (await fetch(interaction, { headers: { cookie: jar.header(interaction)! } })).text();
      expect(page).toContain('Sign in as Alice Anderson</button>');
      expect(page).toContain('Sign in as &lt;script&gt;alert(1)&lt;/script&gt;</button>');
      expect(page).not.toContain('<script>');

      const flow = await codeFlow(provider, jar, { login: ALICE.sub });
      expect(flow.callback.searchParams.get('iss')).toBe(provider.issuer);
      const { payload } = await jwtVerify(flow.tokens!.id_token, await jwks(provider), { issuer: provider.issuer, audience: CLIENT.clientId, algorithms: ['RS256'] });
      expect(payload).toMatchObject({ sub: ALICE.sub, nonce: flow.nonce });
      expect(payload.email).toBeUndefined(); // conformIdTokenClaims: profile claims come from UserInfo
      expect(await userinfo(provider, flow.tokens!.access_token)).toEqual({ sub: ALICE.sub, ...ALICE.claims });
    });

    it('should give a browser signed in at the provider its next code with no page', async () => {
      const jar = new CookieJar();
      expect((await codeFlow(provider, jar, { login: ALICE.sub })).interactionPages).toBe(1);
      const again = await codeFlow(provider, jar);
      expect(again.interactionPages).toBe(0);
      expect(again.tokens?.id_token).toBeDefined();
    });
  });

  describe('setAccount', () => {
    it('should change the claims of the next sign-in, and refuse a claim the provider did not start with', async () => {
      await provider.setAccount({ sub: 'bob', claims: { userUniqueId: 'bob-1', email: 'bob@example.com', groups: [] } });
      const flow = await codeFlow(provider, new CookieJar(), { login: 'bob' });
      expect(await userinfo(provider, flow.tokens!.access_token)).toEqual({ sub: 'bob', userUniqueId: 'bob-1', email: 'bob@example.com', groups: [] });
      await expect(provider.setAccount({ sub: 'bob', claims: { undeclared: 1 } })).rejects.toThrow(/undeclared/);
    });
  });

  describe('tamper', () => {
    /** What a strict relying party sees when it verifies the forged token with the provider's JWKS. */
    const cases: { forgery: IdTokenForgery; spec?: Partial<TamperSpec>; refusedWith: string }[] = [
      { forgery: 'alg-none', refusedWith: 'ERR_JOSE_ALG_NOT_ALLOWED' },
      { forgery: 'hs256-public-key', refusedWith: 'ERR_JOSE_ALG_NOT_ALLOWED' },
      { forgery: 'unknown-kid', refusedWith: 'ERR_JWKS_NO_MATCHING_KEY' },
      { forgery: 'wrong-iss', refusedWith: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
      { forgery: 'wrong-aud', refusedWith: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
      { forgery: 'expired', refusedWith: 'ERR_JWT_EXPIRED' },
      { forgery: 'foreign', refusedWith: 'ERR_JWKS_NO_MATCHING_KEY' },
    ];

    it.each(cases)('should forge the next ID token once: $forgery', async ({ forgery, refusedWith }) => {
      await provider.tamper({ idToken: forgery, ...(forgery === 'foreign' ? { foreignSigner: foreign } : {}) });
      const forged = (await codeFlow(provider, new CookieJar(), { login: ALICE.sub })).tokens!.id_token;
      const verify = jwtVerify(forged, await jwks(provider), { issuer: provider.issuer, audience: CLIENT.clientId, algorithms: ['RS256'] });
      await expect(verify).rejects.toMatchObject({ code: refusedWith });
      expect(decodeJwt(forged).sub).toBe(ALICE.sub);

      const genuine = (await codeFlow(provider, new CookieJar(), { login: ALICE.sub })).tokens!.id_token;
      await expect(jwtVerify(genuine, await jwks(provider), { issuer: provider.issuer, audience: CLIENT.clientId })).resolves.toBeDefined();
    });

    it('should make the HS256 forgery verify for a relying party that takes the public key as an HMAC secret', async () => {
      await provider.tamper({ idToken: 'hs256-public-key' });
      const forged = (await codeFlow(provider, new CookieJar(), { login: ALICE.sub })).tokens!.id_token;
      const pem = await exportedPublicPem(provider);
      const { protectedHeader } = await jwtVerify(forged, new TextEncoder().encode(pem), { issuer: provider.issuer, audience: CLIENT.clientId });
      expect(protectedHeader.alg).toBe('HS256');
    });

    it('should sign the foreign token with the other provider key and issuer', async () => {
      await provider.tamper({ idToken: 'foreign', foreignSigner: foreign });
      const flow = await codeFlow(provider, new CookieJar(), { login: ALICE.sub });
      const { payload } = await jwtVerify(flow.tokens!.id_token, await jwks(foreign), { issuer: foreign.issuer, audience: CLIENT.clientId });
      expect(payload.nonce).toBe(flow.nonce);
    });

    it('should keep a valid signature but change the nonce for nonce-mismatch', async () => {
      await provider.tamper({ idToken: 'nonce-mismatch' });
      const flow = await codeFlow(provider, new CookieJar(), { login: ALICE.sub });
      const { payload } = await jwtVerify(flow.tokens!.id_token, await jwks(provider), { issuer: provider.issuer, audience: CLIENT.clientId });
      expect(payload.nonce).not.toBe(flow.nonce);
      expect(decodeProtectedHeader(flow.tokens!.id_token).alg).toBe('RS256');
    });

    it.each([
      ['drop', null],
      [{ value: 'https://attacker.example' }, 'https://attacker.example'],
    ] as const)('should tamper with the iss of the next authorization response once: %j', async (iss, expected) => {
      await provider.tamper({ authorizationResponseIss: iss });
      const tampered = await codeFlow(provider, new CookieJar(), { login: ALICE.sub, redeem: false });
      expect(tampered.callback.searchParams.get('iss')).toBe(expected);
      expect(tampered.callback.searchParams.get('code')).toBeTruthy();
      const next = await codeFlow(provider, new CookieJar(), { login: ALICE.sub, redeem: false });
      expect(next.callback.searchParams.get('iss')).toBe(provider.issuer);
    });
  });

  describe('options', () => {
    it('should put profile claims in the ID token with conformIdTokenClaims false, ask every time with loginEveryTime, and have no test hooks without testHooks', async () => {
      const plain = await startOidcProvider({ clients: [CLIENT], accounts: [ALICE], conformIdTokenClaims: false, loginEveryTime: true, host: 'localhost' });
      try {
        expect(plain.issuer).toMatch(/^http:\/\/localhost:\d+$/);
        const jar = new CookieJar();
        const flow = await codeFlow(plain, jar, { login: ALICE.sub });
        expect((await codeFlow(plain, jar, { login: ALICE.sub })).interactionPages).toBe(1);
        expect(decodeJwt(flow.tokens!.id_token)).toMatchObject({ uniqueUserId: 'alice', email: 'alice@example.com', groups: ['Engineering', 'Admins'] });
        await expect(plain.tamper({ idToken: 'alg-none' })).rejects.toThrow(/without testHooks/);
        expect((await fetch(`${plain.issuer}/__test/tamper`, { method: 'POST', body: '{}' })).status).toBe(404);
      } finally {
        await plain.stop();
      }
    }, 30_000);
  });
});

/** The provider's RS256 public key as SPKI PEM, from its JWKS (what an attacker has). */
async function exportedPublicPem(p: RunningOidcProvider): Promise<string> {
  const discovery = await (await fetch(p.discoveryUrl)).json();
  const { keys } = await (await fetch(discovery.jwks_uri)).json();
  return createPublicKey({ key: keys.find((k: { kty: string }) => k.kty === 'RSA'), format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}
