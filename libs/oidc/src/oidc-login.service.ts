import type { EntityManager } from 'typeorm';
import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { consumerSecretContext, IdentityProvidersService, isProviderEndpoint, OidcSignInSettings, SignInConfiguration } from '@app/identity-providers';
import { assertionFromClaims, federatedSubjectOf, JitLoginService } from '@app/jit';
import { MetricsService } from '@app/metrics';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { cookieValues, safeRelayState, SessionsService, SignInDelivery, SignInFailures, SignInStarter, SsoReason, SsoRejection } from '@app/saml';
import { OidcReason } from './oidc-reasons';
import { OidcSignInFlowEntity } from './oidc-sign-in-flow.entity';

/** The redirect URI of every OpenID Connect IdP, as IDCS's: `${PUBLIC_URL}/oauth2/v1/social/callback`. */
export const OIDC_CALLBACK_PATH = '/oauth2/v1/social/callback';
/** Where the flow cookies are sent: the callback only. */
const FLOW_COOKIE_PATH = '/oauth2/v1/social';
const FLOW_COOKIE_PREFIX = 'idd_oidc_';
/** How long a started sign-in may wait for its callback: long enough for a password reset or an MFA enrolment. */
export const OIDC_FLOW_TTL_MS = 15 * 60 * 1000;
/** How long a provider's discovery document is used before it is read again (keys are cached by openid-client). */
const DISCOVERY_TTL_MS = 60 * 60 * 1000;
/** Seconds each request to the provider may take. */
const PROVIDER_TIMEOUT_S = 10;
/** Asymmetric JWS algorithms: an ID token signed with anything else (none, HS256 with the public key…) is refused. */
const ASYMMETRIC_ALG = /^(?:(?:RS|PS|ES)(?:256|384|512)|EdDSA|Ed25519)$/;
/** Claims that say how the ID token was issued: UserInfo cannot replace them. */
const PROTOCOL_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'auth_time', 'acr', 'amr', 'at_hash', 'c_hash', 'sid'];

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
const flowCookieName = (state: string) => FLOW_COOKIE_PREFIX + s256(state).slice(0, 16);

/** A provider as openid-client knows it: its discovered metadata, our client, the JWKS cache. */
interface ProviderClient {
  config: client.Configuration;
  validUntil: number;
}

/** A completed OpenID Connect sign-in. */
export interface OidcSignedIn {
  sessionToken: string;
  userId: string;
  relayState?: string;
}

/** What reached the callback: its query parameters and the browser's Cookie header. */
export interface OidcCallback {
  query: Record<string, unknown>;
  /** The query string as received (`?code=…&state=…&iss=…`), given to openid-client as the current URL's. */
  search: string;
  cookieHeader: string | undefined;
  /** The caller's writes of a successful sign-in, in its transaction (the rate limiter's give-back). */
  withinSignIn?: (m: EntityManager) => Promise<void>;
}

/**
 * Our OpenID Connect relying party (SOCIAL IdPs), with openid-client 6 (panva's certified RP library) doing the
 * protocol: discovery, the authorization code flow with PKCE (S256), `state` and `nonce`, RFC 9207's `iss` check,
 * the token request, ID token validation (signature against the provider's JWKS with one refresh for an unknown
 * `kid`, asymmetric algorithms the provider lists, iss, aud, azp, exp, iat, nonce) and UserInfo (its `sub` must be
 * the ID token's). Then the same JIT planner, applier, audit trail and session as SAML.
 *
 * The callback's checks run in this order: the flow named by `state` exists; the browser holds that flow's PKCE
 * verifier (a cookie set when it started: a code carried into another browser fails here); the flow is consumed
 * (single use, across instances); the IdP is still enabled and usable; openid-client's validation of the response,
 * the code exchange and the ID token; UserInfo; then JIT, which links the subject to the user.
 */
@Injectable()
export class OidcLoginService implements SignInStarter {
  private readonly clients = new Map<string, { version: number; validUntil: number; client: Promise<ProviderClient> }>();
  private readonly redirectUri: string;

  constructor(
    private readonly db: Database,
    private readonly idps: IdentityProvidersService,
    private readonly jit: JitLoginService,
    private readonly sessions: SessionsService,
    private readonly failures: SignInFailures,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly appConfig: AppConfig,
  ) {
    this.redirectUri = appConfig.publicUrl + OIDC_CALLBACK_PATH;
  }

  /** Stores a new flow and sends the browser to the provider's authorization endpoint (SOCIAL IdPs, sign-in-protocols.ts). */
  async start(idp: SignInConfiguration, relayState: string | undefined): Promise<SignInDelivery> {
    const settings = idp.oidc!;
    const { config } = await this.clientFor(idp);
    const verifier = client.randomPKCECodeVerifier();
    const challenge = await client.calculatePKCECodeChallenge(verifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    await this.db.transaction(async (m) => {
      if (sweepDue('oidc_sign_in_flows')) await m.createQueryBuilder().delete().from(OidcSignInFlowEntity).where('expires_at < :now', { now: nowIso() }).execute();
      await m.insert(OidcSignInFlowEntity, {
        state,
        idpId: idp.id,
        browserBinding: challenge,
        nonce,
        relayState: safeRelayState(relayState) ?? null,
        expiresAt: new Date(Date.now() + OIDC_FLOW_TTL_MS).toISOString(),
      });
    });
    const url = client.buildAuthorizationUrl(config, {
      // Relayed parameters first: they cannot replace the protocol's own.
      ...settings.relayParams,
      redirect_uri: this.redirectUri,
      response_type: 'code',
      scope: settings.scopes.join(' '),
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return { kind: 'redirect', url: url.href, cookies: [{ name: flowCookieName(state), value: verifier, path: FLOW_COOKIE_PATH, maxAgeMs: OIDC_FLOW_TTL_MS }] };
  }

  /** The name of the flow cookie the callback for `state` reads (cleared by the callback's answer). */
  flowCookie(state: unknown): { name: string; path: string } | undefined {
    return typeof state === 'string' && state ? { name: flowCookieName(state), path: FLOW_COOKIE_PATH } : undefined;
  }

  /** The redirect URI's endpoint: validates the provider's answer, then JIT and the session. */
  async callback(input: OidcCallback, correlationId: string): Promise<OidcSignedIn> {
    let idp: SignInConfiguration | undefined;
    let flowIdp: { id: string; partnerName: string } | undefined;
    try {
      const flow = await this.consumeFlow(input, (found) => (flowIdp = found));
      idp = await this.idps.signInConfiguration({ id: flow.idpId });
      const claims = await this.validate(idp, flow, input);
      return await this.signIn(idp!, claims, flow, correlationId, input.withinSignIn);
    } catch (e) {
      if (e instanceof JitRefusal) throw e.rejection;
      const known = idp ?? flowIdp;
      const rejection = e instanceof SsoRejection ? e : new SsoRejection(OidcReason.TokenInvalid, String((e as Error)?.message ?? e), known);
      this.metrics.signIn(known?.id, 'refused', rejection.reason);
      await this.failures.record(rejection, known, correlationId, 'oidc');
      throw rejection;
    }
  }

  /**
   * The flow `state` names, consumed: it must exist, and this browser must hold its PKCE verifier. One DELETE whose
   * row count names the one winner makes it single use on every instance.
   */
  private async consumeFlow(input: OidcCallback, found: (idp: { id: string; partnerName: string }) => void): Promise<OidcSignInFlowEntity & { verifier: string }> {
    const state = input.query.state;
    if (typeof state !== 'string' || !state || state.length > 64) throw new SsoRejection(OidcReason.StateMissing, 'the callback carries no state parameter', undefined, 400);
    const now = nowIso();
    const flow = await this.db.read((m) => m.createQueryBuilder(OidcSignInFlowEntity, 'f').where('f.state = :state AND f.expires_at > :now', { state, now }).getOne());
    if (!flow) throw new SsoRejection(OidcReason.StateUnknown, 'the state names no pending sign-in (unknown, expired or already used)');
    const idp = { id: flow.idpId, partnerName: '' };
    found(idp);
    const verifier = cookieValues(input.cookieHeader, flowCookieName(state))[0] || undefined;
    const presented = verifier ? Buffer.from(s256(verifier)) : undefined;
    const expected = Buffer.from(flow.browserBinding);
    if (!presented || presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      throw new SsoRejection(OidcReason.BrowserMismatch, verifier ? "this browser's flow cookie does not belong to the state it returned with" : 'this browser did not start the sign-in the state names (no flow cookie): a code carried into another browser is refused', idp);
    }
    const consumed = await this.db.transaction((m) =>
      m.createQueryBuilder().delete().from(OidcSignInFlowEntity).where('state = :state AND expires_at > :now', { state, now: nowIso() }).execute(),
    );
    if (consumed.affected !== 1) throw new SsoRejection(OidcReason.StateReused, 'the sign-in the state names was completed (or expired) meanwhile', idp);
    return { ...flow, verifier: verifier! };
  }

  /** openid-client's validation of the authorization response, the code exchange, the ID token and UserInfo. */
  private async validate(idp: SignInConfiguration | undefined, flow: OidcSignInFlowEntity & { verifier: string }, input: OidcCallback): Promise<Record<string, unknown>> {
    if (!idp) throw new SsoRejection(SsoReason.UnknownIssuer, `identity provider ${flow.idpId} no longer exists`);
    const fail = (reason: string, detail: string) => new SsoRejection(reason, detail, idp);
    if (!idp.enabled) throw fail(SsoReason.IdpDisabled, 'the identity provider is disabled');
    if (idp.type !== 'SOCIAL' || !idp.oidc) throw fail('unsupported_idp_type', `the identity provider is now of type ${idp.type}`);
    if (idp.unsupported) throw fail(idp.unsupported.reason, idp.unsupported.detail);
    if (typeof input.query.error === 'string') {
      throw fail(OidcReason.ProviderError, `the provider answered error=${input.query.error.slice(0, 100)} ${String(input.query.error_description ?? '').slice(0, 300)}`);
    }
    const { config } = await this.clientFor(idp);
    const current = new URL(this.redirectUri);
    current.search = input.search;
    let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
    try {
      tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true });
    } catch (e) {
      const [reason, detail] = describeClientError(e);
      // A key the cached JWKS lacks, which openid-client did not refetch (it refetches at most once a minute): the
      // provider may have rotated its keys, so the next sign-in discovers it again, with a fresh JWKS.
      if (reason === OidcReason.SigningKeyUnknown) this.forget(idp);
      throw fail(reason, detail);
    }
    const idClaims = tokens.claims() as Record<string, unknown> | undefined;
    if (!idClaims || typeof idClaims.sub !== 'string' || !idClaims.sub) throw fail(OidcReason.TokenInvalid, 'the ID token has no sub');
    let userInfo: Record<string, unknown> = {};
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        // openid-client checks that UserInfo's sub is the ID token's.
        userInfo = (await client.fetchUserInfo(config, tokens.access_token, idClaims.sub)) as Record<string, unknown>;
      } catch (e) {
        throw fail(OidcReason.UserInfoFailed, `UserInfo: ${describeClientError(e)[1]}`);
      }
    }
    // Many IdPs put profile claims only in UserInfo (and it is fresher); the ID token says who signed in and how.
    const merged: Record<string, unknown> = { ...idClaims, ...userInfo };
    for (const c of PROTOCOL_CLAIMS) {
      if (c in idClaims) merged[c] = idClaims[c];
      else delete merged[c];
    }
    return merged;
  }

  private async signIn(idp: SignInConfiguration, claims: Record<string, unknown>, flow: OidcSignInFlowEntity, correlationId: string, withinSignIn: OidcCallback['withinSignIn']): Promise<OidcSignedIn> {
    const assertion = assertionFromClaims(claims);
    let sessionToken: string | undefined;
    const result = await this.jit.signIn({
      config: idp.jit,
      assertion,
      correlationId,
      protocol: 'oidc',
      federated: federatedSubjectOf(claims, idp.oidc!.accountLinkingEnabled, idp.jit),
      onSignedIn: async (m, userId) => {
        sessionToken = await this.sessions.createWithin(m, userId, idp.id);
        await withinSignIn?.(m);
      },
    });
    // JIT audited its own outcome (and counted it); only the browser's answer is left.
    if (!result.ok || !sessionToken) throw new JitRefusal(new SsoRejection(result.ok ? 'internal' : result.reason, result.ok ? 'no session was created' : result.detail, idp, 403));
    return { sessionToken, userId: result.userId, relayState: flow.relayState ?? undefined };
  }

  private forget(idp: SignInConfiguration): void {
    this.clients.delete(idp.id);
  }

  /** openid-client's view of an IdP at the version read, discovered once per version (and again after an hour). */
  private clientFor(idp: SignInConfiguration): Promise<ProviderClient> {
    const cached = this.clients.get(idp.id);
    if (cached && cached.version === idp.version && Date.now() <= cached.validUntil) return cached.client;
    const built = this.discover(idp, idp.oidc!);
    const entry = { version: idp.version, validUntil: Date.now() + DISCOVERY_TTL_MS, client: built };
    this.clients.set(idp.id, entry);
    built.catch(() => this.clients.get(idp.id) === entry && this.clients.delete(idp.id));
    return built;
  }

  private async discover(idp: SignInConfiguration, settings: OidcSignInSettings): Promise<ProviderClient> {
    const fail = (reason: string, detail: string) => new SsoRejection(reason, detail, idp, 502);
    if (!isProviderEndpoint(settings.discoveryUrl!)) {
      throw fail(OidcReason.InsecureEndpoint, `discoveryUrl ${settings.discoveryUrl} is not https (plain http is allowed on loopback hosts only)`);
    }
    const discoveryUrl = new URL(settings.discoveryUrl!);
    // Plain http is a provider on this machine (isProviderEndpoint): only then may its other endpoints be http too.
    const loopback = discoveryUrl.protocol === 'http:';
    const secret = secretBoxFor(this.appConfig.secrets).open(settings.sealedClientSecret!, consumerSecretContext(idp.id), `the consumerSecret of identity provider ${idp.id}`);
    const auth = settings.clientSecretPost ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
    let config: client.Configuration;
    try {
      config = await client.discovery(discoveryUrl, settings.clientId, { [client.clockTolerance]: settings.clockSkewSeconds }, auth, {
        timeout: PROVIDER_TIMEOUT_S,
        execute: loopback ? [client.allowInsecureRequests] : [],
      });
    } catch (e) {
      throw fail(OidcReason.ProviderUnavailable, `discovery at ${discoveryUrl.href} failed: ${describeClientError(e)[1]}`);
    }
    const metadata = config.serverMetadata();
    for (const [name, value] of Object.entries({ issuer: metadata.issuer, authorization_endpoint: metadata.authorization_endpoint, token_endpoint: metadata.token_endpoint, jwks_uri: metadata.jwks_uri, userinfo_endpoint: metadata.userinfo_endpoint })) {
      if (value === undefined && name === 'userinfo_endpoint') continue;
      if (typeof value !== 'string') throw fail(OidcReason.ProviderUnavailable, `the provider's discovery document has no ${name}`);
      if (!isProviderEndpoint(value) || (new URL(value).protocol === 'http:' && !loopback)) throw fail(OidcReason.InsecureEndpoint, `the provider's ${name} ${value} is not https`);
    }
    // Only asymmetric algorithms the provider lists (RS256 when it lists none, as OpenID Connect Discovery says).
    const listed = metadata.id_token_signing_alg_values_supported ?? ['RS256'];
    const algorithms = listed.filter((a) => ASYMMETRIC_ALG.test(a));
    if (!algorithms.length) throw fail(OidcReason.AlgorithmNotAllowed, `the provider lists no asymmetric ID token algorithm (${listed.join(', ')})`);
    // oauth4webapi accepts a list here; the type says one string.
    (config.clientMetadata() as Record<string, unknown>).id_token_signed_response_alg = algorithms;
    // Verify the ID token's signature even though it came over TLS from the token endpoint.
    client.enableNonRepudiationChecks(config);
    return { config, validUntil: Date.now() + DISCOVERY_TTL_MS };
  }
}

/** A sign-in JIT refused: it was audited and counted there already. */
class JitRefusal extends Error {
  constructor(readonly rejection: SsoRejection) {
    super(rejection.message);
  }
}

/**
 * A reason code and a detail for the log, from what openid-client threw: its ClientError wraps oauth4webapi's error
 * (`cause`), which says what failed (its message) and about which claim or algorithm (its own `cause`).
 */
function describeClientError(e: unknown): [string, string] {
  type Failure = { code?: string; message?: string; error?: string; error_description?: string; cause?: unknown };
  const outer = (e ?? {}) as Failure;
  const inner = outer.cause instanceof Error ? (outer.cause as Failure) : undefined;
  const about = ((inner ?? outer).cause ?? {}) as { claim?: string; alg?: string; header?: { alg?: string; kid?: string } };
  const code = outer.code ?? inner?.code;
  const what = inner?.message ?? outer.message ?? String(e);
  const oauthError = outer.error ? ` (${outer.error}${outer.error_description ? `: ${outer.error_description}` : ''})` : '';
  const alg = about.alg ?? about.header?.alg;
  const message = `${what}${oauthError}${about.claim ? ` [claim ${about.claim}]` : ''}${alg ? ` [alg ${alg}]` : ''}${about.header?.kid ? ` [kid ${about.header.kid}]` : ''}`.slice(0, 500);
  switch (true) {
    case code === 'OAUTH_RESPONSE_BODY_ERROR':
      return [OidcReason.CodeRejected, `the token endpoint refused the code: ${message}`];
    case code === 'OAUTH_AUTHORIZATION_RESPONSE_ERROR':
      return [OidcReason.ProviderError, message];
    case /response parameter "iss"|"iss" \(issuer\) (response parameter|missing)/.test(what):
      return [OidcReason.ResponseIssuerMismatch, message];
    case code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && about.claim === 'iss':
      return [OidcReason.IssuerMismatch, message];
    case code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && (about.claim === 'aud' || about.claim === 'azp'):
      return [OidcReason.AudienceMismatch, message];
    case code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && about.claim === 'nonce':
      return [OidcReason.NonceMismatch, message];
    case code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED':
      return [OidcReason.TokenExpired, message];
    case /JWS algorithm|"alg"/.test(what):
      return [OidcReason.AlgorithmNotAllowed, message];
    case code === 'OAUTH_KEY_SELECTION_FAILED' || /verification key/.test(what):
      return [OidcReason.SigningKeyUnknown, message];
    case /signature verification failed/.test(what):
      return [OidcReason.SignatureInvalid, message];
    default:
      return [OidcReason.TokenInvalid, `${code ? `${code}: ` : ''}${message}`];
  }
}
