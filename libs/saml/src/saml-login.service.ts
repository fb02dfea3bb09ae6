import { Injectable, Logger } from '@nestjs/common';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { IdentityProvidersService, SignInConfiguration, UnsupportedSignInReason, usableSigningKeys } from '@app/identity-providers';
import { JitLoginService, SignInClaimRefused } from '@app/jit';
import { EntityManager } from 'typeorm';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { crossSiteCookiesWork, holdsBrowserBinding, newBrowserBinding, OutstandingRequest, REQUEST_COOKIE_PATH, requestCookieName, RequestIdStore } from './request-id-store';
import { ResponseJudge, ResponseJudgement, ResponseValidationOptions, ValidatedResponse } from './response-validation';
import { AcceptedAssertion } from './response-checks';
import { SamlAssertionIdEntity, SamlRequestIdEntity } from './saml-login.entities';
import { SamlValidationPool } from './saml-validation-pool';
import { SessionsService } from './sessions.service';
import type { SignInDelivery } from './sign-in-protocols';
import { SpCredentials, SpKeyService, SpKeySet } from './sp-keys.service';
import { SpMetadataService } from './sp-metadata.service';
import { SignInFailures } from './sign-in-failures';
import { SsoReason, SsoRejection } from './sso-rejection';
import { MetricsService } from '@app/metrics';


/**
 * Tolerated clock difference with IdPs. node-saml's default is 0, which fails logins whenever the IdP's clock is
 * a second ahead; a minute is what most SPs allow and keeps the replay window short.
 */
export const CLOCK_SKEW_MS = 60_000;
/** How long an AuthnRequest may wait for its answer: long enough for a password reset or an MFA enrolment. */
export const REQUEST_ID_TTL_MS = 15 * 60 * 1000;

/** What node-saml is given for one IdP, built from its SAML settings once per version of its row. */
interface IdpConfig {
  /** Makes the AuthnRequests (main thread: it signs them with our key). */
  saml: SAML;
  /** What the validation pool verifies responses with (the same settings, as plain data). */
  validation: ResponseValidationOptions;
  requestIds: RequestIdStore;
  /** Signing keys left out because their certificate expired (refuseExpiredSigningKeys), for the log. */
  refusedKeys: string[];
  /** Until when this choice of keys holds (ms since the epoch): the next expiry among the keys in use. */
  validUntil: number;
  /** Our keys an encrypted assertion is tried with, in order (SpKeySet.decryption). */
  decryptionKeys: SpCredentials[];
}

/** A successful sign-in. */
export interface SignedIn {
  sessionToken: string;
  userId: string;
  relayState?: string;
}

/**
 * `RelayState` is followed only when it is a path on our own origin: it starts with exactly one "/", has no
 * backslash (browsers read "/\evil.example" as "//evil.example"), no control characters (browsers drop tabs and
 * newlines, turning "/\t/evil.example" into "//evil.example") and resolves to our origin.
 */
export function safeRelayState(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /[\x00-\x20\x7f]/.test(value)) return undefined;
  try {
    return new URL(value, 'http://relay.invalid').origin === 'http://relay.invalid' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** node-saml's error messages, mapped to our reason codes (anything else is SAML_VALIDATION_FAILED). */
const NODE_SAML_ERRORS: [RegExp, string][] = [
  [/InResponseTo is missing/i, SsoReason.UnsolicitedNotAllowed],
  [/InResponseTo is not valid|SubjectInResponseTo is not valid/i, SsoReason.InResponseToUnknown],
  [/InResponseTo does not match/i, SsoReason.InResponseToMismatch],
  [/signature/i, SsoReason.InvalidSignature],
  [/not yet valid/i, SsoReason.NotYetValid],
  [/expired/i, SsoReason.Expired],
  [/audience|AudienceRestriction/i, SsoReason.AudienceMismatch],
  [/subject confirmation/i, SsoReason.ConfirmationExpired],
];

/**
 * Our SAML SP at sign-in time: AuthnRequests (SP-initiated), the assertion consumer service with every check of
 * saml-sp-security.md, then JIT provisioning and the browser session.
 */
@Injectable()
export class SamlLoginService {
  private readonly logger = new Logger('SamlLogin');
  /** node-saml instances per IdP, keyed by IdP id and replaced when its version or our SP key set changes, or a key in use expires. */
  private readonly configs = new Map<string, { version: number; keySetVersion: number; validUntil: number; config: Promise<IdpConfig> }>();

  constructor(
    private readonly db: Database,
    private readonly keys: SpKeyService,
    private readonly sp: SpMetadataService,
    private readonly sessions: SessionsService,
    private readonly jit: JitLoginService,
    private readonly pool: SamlValidationPool,
    private readonly metrics: MetricsService,
    private readonly idps: IdentityProvidersService,
    private readonly failures: SignInFailures,
  ) {}

  /**
   * Builds the AuthnRequest for a SAML IdP (enabled and usable: the caller checked, sign-in-protocols.ts), stores its
   * id bound to this browser, and says how to deliver it: with the cookie holding the browser's secret, which the
   * ACS requires with the response to that request (login CSRF).
   */
  async initiate(idp: SignInConfiguration, relayState: string | undefined): Promise<SignInDelivery> {
    const { saml, requestIds } = await this.configFor(idp);
    const relay = safeRelayState(relayState) ?? '';
    const { secret, binding } = newBrowserBinding();
    const build = async (): Promise<SignInDelivery> => {
      if (idp.saml.binding === 'Post') {
        // The message only: the page that posts it is ours (sso-pages), with a CSP that lets exactly that form go.
        const message = await saml.getAuthorizeMessageAsync(relay);
        const fields = Object.fromEntries(Object.entries(message).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<string, string>;
        return { kind: 'form', action: String(saml.options.entryPoint), fields };
      }
      return { kind: 'redirect', url: await saml.getAuthorizeUrlAsync(relay, undefined, {}) };
    };
    const { built, id } = await requestIds.forBrowser(binding, build);
    return { ...built, cookies: [{ name: requestCookieName(id), value: secret, path: REQUEST_COOKIE_PATH, maxAgeMs: REQUEST_ID_TTL_MS, crossSitePost: true }] };
  }

  /**
   * The assertion consumer service. The validation pool does all the XML work on its threads, in a fixed order:
   * decoding and structure, then which IdP (asked of `judge` here: the IdP's configuration, and the request the
   * response answers, outstanding and started by this browser: its cookie, `cookieHeader`), then node-saml's
   * cryptographic validation against that IdP's certificates only, then what node-saml leaves to us on the verified
   * assertion. Then one transaction claims the single-use values (assertion id, InResponseTo), applies JIT with the
   * configuration the response was judged by, starts the session and runs `withinSignIn` (the caller's writes of a
   * successful sign-in). A rejection before JIT is audited here; JIT audits its own outcome.
   */
  async consume(body: Record<string, unknown>, correlationId: string, cookieHeader: string | undefined, withinSignIn?: (m: EntityManager) => Promise<void>): Promise<SignedIn> {
    let idp: SignInConfiguration | undefined;
    const refused = async (e: unknown): Promise<never> => {
      const rejection = e instanceof SsoRejection ? e : new SsoRejection(SsoReason.ValidationFailed, String((e as Error)?.message ?? e), idp);
      this.metrics.signIn((idp ?? rejection.idp)?.id, 'refused', rejection.reason);
      await this.failures.record(rejection, idp ?? rejection.idp, correlationId, 'saml');
      throw rejection;
    };
    let validated: { idp: SignInConfiguration; assertion: AcceptedAssertion; inResponseTo?: string };
    try {
      validated = await this.validate(body, cookieHeader, (found) => (idp = found));
    } catch (e) {
      return refused(e);
    }
    const { assertion, inResponseTo } = validated;
    const signedInIdp = (idp = validated.idp);
    let sessionToken: string | undefined;
    let result: Awaited<ReturnType<JitLoginService['signIn']>>;
    try {
      result = await this.jit.signIn({
        config: signedInIdp.jit,
        assertion,
        correlationId,
        protocol: 'saml',
        // Single use, in the transaction that signs in: a sign-in that rolls back leaves the assertion unused.
        claim: (m) => this.claim(m, signedInIdp, assertion, inResponseTo),
        // The session is written with the user and the audit event: a sign-in is all of it or nothing.
        onSignedIn: async (m, userId) => {
          sessionToken = await this.sessions.createWithin(m, userId, signedInIdp.id, assertion.logoutSubject);
          await withinSignIn?.(m);
        },
      });
    } catch (e) {
      if (e instanceof SsoRejection) return refused(e);
      throw e;
    }
    if (!result.ok || !sessionToken) throw new SsoRejection(result.ok ? 'internal' : result.reason, result.ok ? 'no session was created' : result.detail, idp, 403);
    return { sessionToken, userId: result.userId, relayState: safeRelayState(body.RelayState) };
  }

  /**
   * The response validated by the pool, with what the main thread contributes: the judgement of its claim (the
   * IdP's cached configuration, read by version, and the verdict on the request it answers), and node-saml's
   * errors named by our reason codes. `found` learns the IdP as soon as it is known, for the audit of a refusal.
   */
  private async validate(
    body: Record<string, unknown>,
    cookieHeader: string | undefined,
    found: (idp: SignInConfiguration) => void,
  ): Promise<{ idp: SignInConfiguration; assertion: AcceptedAssertion; inResponseTo?: string }> {
    const samlResponse = body.SAMLResponse;
    if (typeof samlResponse !== 'string' || samlResponse.length === 0) throw new SsoRejection(SsoReason.ResponseMissing, 'no SAMLResponse form field');
    let idp: SignInConfiguration | undefined;
    let config: IdpConfig | undefined;
    const fail = (reason: string, detail: string) => new SsoRejection(reason, detail, idp);
    /** The outstanding request `id` to this IdP (`request`, as read), which must have been started by the browser posting its answer. */
    const outstanding = (id: string, request: OutstandingRequest | null): { created: string } => {
      if (!request) throw fail(SsoReason.InResponseToUnknown, `InResponseTo ${id.slice(0, 200)} is not an outstanding request to this IdP`);
      if (!holdsBrowserBinding(cookieHeader, id, request.browserBinding)) {
        throw fail(SsoReason.BrowserMismatch, `the browser posting the response to ${id.slice(0, 200)} did not start that request (no cookie ${requestCookieName(id)}, or another value)${crossSiteCookiesWork(this.sp.endpoints.acsUrl) ? '' : '; PUBLIC_URL is plain http, so browsers send the cookie from a same-site IdP only: use https'}`);
      }
      return { created: request.created };
    };
    const judge: ResponseJudge = {
      judge: async ({ issuer, inResponseTo }) => {
        // The claimed issuer only selects which IdP's configuration (and certificates) judge the response.
        const claimed = await this.idps.signInConfiguration({ issuer });
        if (!claimed) throw new SsoRejection(SsoReason.UnknownIssuer, `no identity provider with partnerProviderId "${issuer.slice(0, 300)}"`);
        found((idp = claimed));
        if (!claimed.enabled) throw fail(SsoReason.IdpDisabled, 'the identity provider is disabled');
        if (claimed.unsupported) throw fail(claimed.unsupported.reason, claimed.unsupported.detail);
        if (claimed.type !== 'SAML') throw fail(UnsupportedSignInReason.IdpType, `the identity provider is of type ${claimed.type}: SAML responses are accepted from SAML identity providers only`);
        const state = await this.signInState(claimed.id, inResponseTo);
        config = await this.configFor(claimed, state.keySetVersion);
        const { allowSha1, requiresEncryptedAssertion, allowUnsolicitedResponses } = claimed.saml;
        const acsUrl = this.sp.endpoints.acsUrl;
        let request: ResponseJudgement['request'];
        if (inResponseTo) {
          // A refusal here is applied by the thread after the structural checks, which come first.
          try {
            request = outstanding(inResponseTo, state.request);
          } catch (e) {
            if (!(e instanceof SsoRejection)) throw e;
            request = { reason: e.reason, detail: e.detail };
          }
        }
        return {
          options: config.validation,
          expected: { issuer: claimed.saml.entityId, acsUrl, skewMs: CLOCK_SKEW_MS },
          policy: { acsUrl, allowSha1, requiresEncryptedAssertion, allowUnsolicitedResponses },
          decryptionKeys: config.decryptionKeys.map((k) => k.privateKeyPem()),
          request,
        };
      },
      // node-saml's lookups beyond the request judged above (the assertion's InResponseTo when the Response has none).
      cache: () => config!.requestIds,
    };
    let validated: ValidatedResponse;
    try {
      validated = await this.pool.validate(samlResponse, judge);
    } catch (e) {
      if (e instanceof SsoRejection) throw fail(e.reason, e.detail);
      const message = String((e as Error)?.message ?? e);
      const reason = NODE_SAML_ERRORS.find(([pattern]) => pattern.test(message))?.[1] ?? SsoReason.ValidationFailed;
      const refused = config?.refusedKeys.length ? ` (not tried, expired and refused by refuseExpiredSigningKeys: ${config.refusedKeys.join(', ')})` : '';
      throw fail(reason, `node-saml: ${message}${refused}`);
    }
    if (!idp || !config) throw new Error('the response was accepted without being judged');
    const { assertion, requestToCheck } = validated;
    // Only the assertion names the request (the Response does not): bound to the browser all the same.
    if (requestToCheck) outstanding(requestToCheck, await config.requestIds.find(requestToCheck));
    return { idp, assertion, inResponseTo: assertion.inResponseTo ?? requestToCheck };
  }

  /**
   * What the judgement of a response needs from the database besides the IdP, in one statement: the version of our
   * SP key set (a key activated on any instance is used at once) and the outstanding request `inResponseTo` of
   * this IdP, with the binding of the browser that started it.
   */
  private async signInState(idpId: string, inResponseTo: string | undefined): Promise<{ keySetVersion: number; request: OutstandingRequest | null }> {
    const rows = await this.db.read((m) => {
      const sql = this.db.sql(m);
      return sql.query<{ key_set_version: number | string; created: string | null; browser_binding: string | null }>(
        ...sql.escape(
          `SELECT k.version AS key_set_version, q.created AS created, q.browser_binding AS browser_binding
             FROM saml_sp_key_set k
             LEFT JOIN saml_request_ids q ON q.id = :id AND q.idp_id = :idp AND q.expires_at > :now
            WHERE k.id = 1`,
          { id: inResponseTo ?? '', idp: idpId, now: nowIso() },
        ),
      );
    });
    const row = rows[0];
    return {
      keySetVersion: Number(row?.key_set_version ?? 0),
      request: row?.created && row.browser_binding ? { created: row.created, browserBinding: row.browser_binding } : null,
    };
  }

  /**
   * Single use, across instances, inside the sign-in's transaction: the assertion id is claimed by inserting it (the
   * primary key makes a second insert fail) and the AuthnRequest id is consumed by one DELETE whose row count names
   * the one winner. A loser's transaction rolls back with a refusal (SignInClaimRefused).
   */
  private async claim(m: EntityManager, idp: SignInConfiguration, assertion: AcceptedAssertion, inResponseTo: string | undefined): Promise<void> {
    const refuse = (reason: string, detail: string) => new SignInClaimRefused(new SsoRejection(reason, detail, idp));
    const now = nowIso();
    if (sweepDue('saml_assertion_ids')) await m.createQueryBuilder().delete().from(SamlAssertionIdEntity).where('expires_at < :now', { now }).execute();
    const sql = this.db.sql(m);
    // ON CONFLICT DO NOTHING: a replay is told by the row count, and leaves PostgreSQL's transaction usable.
    const inserted = await sql.query<{ assertion_id: string }>(
      ...sql.escape('/* claim */ INSERT INTO saml_assertion_ids (idp_id, assertion_id, expires_at) VALUES (:idp, :id, :expires) ON CONFLICT DO NOTHING RETURNING assertion_id', {
        idp: idp.id,
        id: assertion.id,
        expires: assertion.notOnOrAfter.toISOString(),
      }),
    );
    if (inserted.length !== 1) throw refuse(SsoReason.AssertionReplayed, `assertion ${assertion.id.slice(0, 200)} was already used`);
    if (inResponseTo) {
      const consumed = await m
        .createQueryBuilder()
        .delete()
        .from(SamlRequestIdEntity)
        .where('id = :id AND idp_id = :idp AND expires_at > :now', { id: inResponseTo, idp: idp.id, now })
        .execute();
      if (consumed.affected !== 1) throw refuse(SsoReason.InResponseToReused, `InResponseTo ${inResponseTo.slice(0, 200)} was already used (or expired) meanwhile`);
    }
  }

  /**
   * The node-saml configuration of an IdP at the version read, built once per version of the IdP and of our SP key
   * set: a key activated or retired on any instance replaces the configuration at the next sign-in here.
   */
  private async configFor(idp: SignInConfiguration, keySetVersion?: number): Promise<IdpConfig> {
    const spKeys = await this.keys.keySet(keySetVersion);
    const cached = this.configs.get(idp.id);
    if (cached && cached.version === idp.version && cached.keySetVersion === spKeys.version && Date.now() <= cached.validUntil) return cached.config;
    const config = this.buildConfig(idp, spKeys);
    const entry = { version: idp.version, keySetVersion: spKeys.version, validUntil: Infinity, config };
    this.configs.set(idp.id, entry);
    config.then(
      (c) => (entry.validUntil = c.validUntil),
      () => this.configs.delete(idp.id),
    );
    return config;
  }

  private async buildConfig(idp: SignInConfiguration, spKeys: SpKeySet): Promise<IdpConfig> {
    const settings = idp.saml;
    if (!settings.signingKeys.length || !settings.idpSsoUrl || !settings.entityId) {
      throw new SsoRejection(SsoReason.IdpUnavailable, 'the identity provider lacks partnerProviderId, idpSsoUrl or signingCertificate', idp);
    }
    const keys = usableSigningKeys(settings);
    const refusedKeys = keys.refused.map((k) => `${k.fingerprint} (expired ${k.notAfter})`);
    if (!keys.usable.length) {
      throw new SsoRejection(SsoReason.SigningKeyExpired, `every signing key of the identity provider has expired and refuseExpiredSigningKeys is on: ${refusedKeys.join(', ')}`, idp);
    }
    const credentials = spKeys.signing;
    const endpoints = this.sp.endpoints;
    const requestIds = new RequestIdStore(this.db, idp.id, REQUEST_ID_TTL_MS);
    const authnContext = settings.requestedAuthenticationContext;
    const hash = settings.allowSha1 ? 'sha1' : 'sha256';
    const validation: ResponseValidationOptions = {
      issuer: endpoints.entityId,
      callbackUrl: endpoints.acsUrl,
      audience: endpoints.entityId,
      entryPoint: settings.idpSsoUrl,
      // Only this IdP's keys: a response is never checked against another IdP's key. Any of them verifies (a
      // rollover publishes the next key before signing with it).
      idpCert: keys.usable.map((k) => k.pem),
      publicCert: settings.includeSigningCertInSignature ? credentials.certificatePem : undefined,
      signatureAlgorithm: hash,
      digestAlgorithm: hash,
      authnRequestBinding: settings.binding === 'Post' ? 'HTTP-POST' : 'HTTP-Redirect',
      forceAuthn: settings.forceAuthn,
      identifierFormat: settings.nameIdFormat,
      disableRequestedAuthnContext: authnContext.length === 0,
      authnContext,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: settings.requireSignedResponse,
      validateInResponseTo: settings.allowUnsolicitedResponses ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_ID_TTL_MS,
    };
    const saml = new SAML({
      ...validation,
      decryptionPvk: spKeys.decryption[0]?.privateKeyPem(),
      // Always signed (our metadata says AuthnRequestsSigned="true"): IdPs that do not check ignore the signature.
      privateKey: credentials.privateKeyPem(),
      // HTTP-POST carries the AuthnRequest base64-encoded only (SAML Bindings §3.5.4); node-saml would DEFLATE it,
      // as the redirect binding requires, and IdPs would not read it.
      skipRequestCompression: settings.binding === 'Post',
      cacheProvider: requestIds,
    });
    return { saml, validation, requestIds, refusedKeys, validUntil: keys.validUntil, decryptionKeys: spKeys.decryption };
  }
}
