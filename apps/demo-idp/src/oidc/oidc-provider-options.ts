/**
 * What a test, the benchmark or the demo asks of the OpenID Connect provider, and the messages between the parent
 * (start-oidc-provider.ts) and the provider process (provider-process.ts). Types only: both sides load this file.
 */

/** A relying party registered at the provider. */
export interface OidcClientSpec {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs, e.g. `${PUBLIC_URL}/oauth2/v1/social/callback`. */
  redirectUris: string[];
  /** `client_secret_basic` (the default), `client_secret_post`, `client_secret_jwt`… */
  tokenEndpointAuthMethod?: string;
  /** `RS256` (the default) or `ES256` (needs `es256Key`). */
  idTokenSignedResponseAlg?: 'RS256' | 'ES256';
  /** Further client metadata as oidc-provider names it (snake_case), applied last. */
  metadata?: Record<string, unknown>;
}

/** Someone who can sign in at the provider. */
export interface OidcAccount {
  /** The `sub`; also what `login=` names on the login form. */
  sub: string;
  /**
   * Every other claim, by its name as sent: `uniqueUserId`, `given_name`, `email`, `email_verified`, `groups`
   * (an array), `address` (an object), Entra's `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`…
   * Which scope releases which claim: see {@link CLAIMS_BY_SCOPE}.
   */
  claims: Record<string, unknown>;
}

/**
 * Scopes that release fixed claims; every other claim name the accounts have (or `extraClaimNames` lists) is
 * released by `profile`, so the usual `openid profile email groups` request gets all of them. A claim named like
 * `…/groups` (Entra's URI) goes with `groups`. The `claims` request parameter can ask for any supported claim too.
 */
export const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = {
  email: ['email', 'email_verified'],
  groups: ['groups'],
  phone: ['phone_number', 'phone_number_verified'],
};

export interface OidcProviderOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The issuer's host and the listen address: `127.0.0.1` (the default) or `localhost` (listens on 127.0.0.1). */
  host?: '127.0.0.1' | 'localhost';
  clients: OidcClientSpec[];
  accounts: OidcAccount[];
  /**
   * Claim names no account has yet but a later `setAccount` will send. The provider supports a fixed set of
   * claims from its start; `setAccount` refuses a claim outside it.
   */
  extraClaimNames?: string[];
  /**
   * true (the default, as OpenID Connect Core §5.4 says): an ID token issued with an access token carries only the
   * protocol claims and `sub`; profile claims come from UserInfo. false: they are in the ID token too (as Entra
   * and Okta send some).
   */
  conformIdTokenClaims?: boolean;
  /** Also publish an ES256 key (for clients registered with `idTokenSignedResponseAlg: 'ES256'`). */
  es256Key?: boolean;
  /**
   * Show the login page at every authorization request, even to a browser signed in here (the demo: after signing
   * out at the server, open the link again to sign in as someone else). Off by default: a browser with a session
   * here gets its code with no page, as the benchmark's returning users do.
   */
  loginEveryTime?: boolean;
  /** The admin API that tests use to change accounts and forge responses. Never in the demo. */
  testHooks?: boolean;
  /** Shown on the login page: the provider's name, e.g. "Demo OpenID Provider". */
  displayName?: string;
  /** Forward all of the provider process's stderr (oidc-provider's notices too) to ours, not only its errors. */
  verbose?: boolean;
}

/**
 * How the next ID token is forged, keeping every other claim of the genuine one:
 * - `alg-none`: unsigned (`alg: none`, empty signature);
 * - `hs256-public-key`: HS256 with the provider's RS256 public key as the HMAC secret (its SPKI PEM, or with
 *   `hmacSecret: 'jwk'` the JSON of its public JWK as the JWKS serves it), the genuine `kid` in the header;
 * - `unknown-kid`: RS256 with a fresh key whose `kid` is not in the JWKS;
 * - `wrong-iss`, `wrong-aud` (another client id), `expired` (exp and iat an hour in the past), `nonce-mismatch`:
 *   that one claim changed, signed with the provider's genuine key;
 * - `foreign`: signed by another running provider (`foreignSigner`), with its key and its issuer.
 */
export type IdTokenForgery = 'alg-none' | 'hs256-public-key' | 'unknown-kid' | 'wrong-iss' | 'wrong-aud' | 'expired' | 'nonce-mismatch' | 'foreign';

/** Where the provider process's test admin API is, and its bearer token. */
export interface TestHooksEndpoint {
  adminUrl: string;
  adminToken: string;
}

/** What {@link TamperSpec} becomes on the wire to the provider process. */
export interface TamperWire {
  idToken?: IdTokenForgery;
  hmacSecret?: 'pem' | 'jwk';
  foreignSigner?: TestHooksEndpoint;
  /** The foreign token keeps the genuine issuer (`iss`) instead of the signer's. */
  foreignKeepsIssuer?: boolean;
  authorizationResponseIss?: { drop: true } | { value: string };
}

/** Parent → provider process. */
export type ParentMessage = { type: 'stop' };

/** Provider process → parent. */
export type ProviderMessage = { type: 'ready'; issuer: string; testHooks?: TestHooksEndpoint } | { type: 'failed'; message: string };

/** How the provider process's own lines on stderr begin (the parent forwards them even when not `verbose`). */
export const OWN_LOG_PREFIX = 'oidc provider: ';

/** The environment variable that carries the JSON of {@link OidcProviderOptions} to the provider process. */
export const OPTIONS_ENV = 'OIDC_PROVIDER_OPTIONS';
