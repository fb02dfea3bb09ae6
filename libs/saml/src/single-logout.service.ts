import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { AddressLimit, TokenAttemptLimiter } from '@app/auth';
import { IdentityProvidersService, SignInConfiguration, usableSigningKeys } from '@app/identity-providers';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { CLOCK_SKEW_MS } from './saml-login.service';
import { SamlLogoutRequestEntity, SessionEntity } from './saml-login.entities';
import { SessionsService } from './sessions.service';
import { sweepRefusedSsoEvents } from './sign-in-failures';
import {
  arrivedByPost,
  arrivedByRedirect,
  ArrivedLogoutMessage,
  claimedLogoutIssuer,
  LOGOUT_STATUS,
  LogoutBinding,
  LogoutDelivery,
  LogoutReason,
  logoutRequestXml,
  logoutResponseXml,
  newMessageId,
  postDelivery,
  redirectDelivery,
  verifyLogoutMessage,
} from './single-logout';
import { SpKeyService } from './sp-keys.service';
import { SpMetadataService } from './sp-metadata.service';
import { SsoLimits } from './sso-limits';
import { SsoRejection } from './sso-rejection';

/** How long a LogoutRequest we sent waits for its LogoutResponse. */
export const LOGOUT_REQUEST_TTL_MS = 10 * 60 * 1000;

/**
 * Logout messages per source address that were refused. Each writes an audit row and the endpoint is anonymous:
 * the budget of the ACS (sso-limits.ts), counted apart; an accepted message takes its count back.
 */
export const SLO_FAILURE_LIMIT: AddressLimit = { kind: 'sso-slo', budget: { limit: 100, firstLockMs: 1000, maxLockMs: 15 * 60_000 } };

/** What the SLO endpoint does after a logout message: answer the IdP, or tell the browser it is signed out. */
export type LogoutOutcome = { kind: 'respond'; delivery: LogoutDelivery } | { kind: 'signedOut' };

/**
 * SAML Single Logout (Profiles §4.4) for our SP: the LogoutRequest our sign-out sends to the IdP of the session,
 * the LogoutResponse it answers, and the LogoutRequests an IdP sends us. Every outcome is an `sso.logout` audit
 * event; the local session ends whatever the IdP says.
 */
@Injectable()
export class SingleLogoutService {
  private readonly logger = new Logger('SamlLogout');
  private readonly limiter: TokenAttemptLimiter;
  private readonly limits: SsoLimits;

  constructor(
    private readonly db: Database,
    private readonly keys: SpKeyService,
    private readonly sp: SpMetadataService,
    private readonly sessions: SessionsService,
    private readonly idps: IdentityProvidersService,
    private readonly audit: AuditService,
  ) {
    this.limiter = new TokenAttemptLimiter(db);
    this.limits = new SsoLimits(this.limiter);
  }

  /**
   * SP-initiated sign-out: ends the session of a cookie value, then, when it was a SAML session with an IdP doing
   * single logout, returns the signed LogoutRequest the browser carries there (its id remembered for the answer).
   */
  async signOut(token: string | undefined, correlationId: string): Promise<LogoutDelivery | undefined> {
    const session = await this.sessions.end(token);
    const to = session && (await this.logoutTarget(session));
    if (!session?.nameId || !to) return undefined;
    const { idp, target } = to;
    const id = newMessageId();
    const now = new Date();
    await this.db.transaction(async (m) => {
      if (sweepDue('saml_logout_requests')) await m.createQueryBuilder().delete().from(SamlLogoutRequestEntity).where('expires_at < :now', { now: now.toISOString() }).execute();
      await m.insert(SamlLogoutRequestEntity, { id, idpId: idp.id, expiresAt: new Date(now.getTime() + LOGOUT_REQUEST_TTL_MS).toISOString() });
      await this.record(m, idp, 'sp', 'success', undefined, `LogoutRequest ${id} sent (${idp.saml.logoutBinding})`, correlationId, { userId: session.userId, requestId: id });
    });
    const xml = logoutRequestXml({
      id,
      issuer: this.sp.endpoints.entityId,
      destination: target,
      now,
      subject: {
        nameId: session.nameId,
        nameIdFormat: session.nameIdFormat ?? undefined,
        nameQualifier: session.nameQualifier ?? undefined,
        spNameQualifier: session.spNameQualifier ?? undefined,
        sessionIndex: session.sessionIndex ?? undefined,
      },
    });
    return this.deliver(idp.saml.logoutBinding, target, 'SAMLRequest', xml);
  }

  /**
   * The origin a sign-out of this session continues to (the IdP's SLO endpoint), if it does: a sign-out form's
   * Content-Security-Policy must allow it, as browsers apply form-action to the redirect that follows the post.
   */
  async signOutContinuesTo(session: SessionEntity): Promise<string | undefined> {
    const to = await this.logoutTarget(session);
    return to && new URL(to.target).origin;
  }

  /** The IdP a SAML session's sign-out is told to, and where: only when it does single logout. */
  private async logoutTarget(session: SessionEntity): Promise<{ idp: SignInConfiguration; target: string } | undefined> {
    if (!session.idpId || !session.nameId) return undefined;
    const idp = await this.idps.signInConfiguration({ id: session.idpId });
    const target = idp?.saml.logoutRequestUrl;
    if (!idp || idp.type !== 'SAML' || !idp.enabled || !idp.saml.logoutEnabled || !target) return undefined;
    return { idp, target };
  }

  /**
   * A logout message at our SLO endpoint. A LogoutRequest from an IdP ends the sessions it designates and is
   * answered with a signed LogoutResponse; a LogoutResponse to one of ours is checked and recorded (the session
   * ended before we asked). Throws SsoRejection when a message is refused: nothing is ended then.
   */
  async receive(binding: LogoutBinding, input: { rawQuery?: string; body?: Record<string, unknown> }, correlationId: string, sourceAddress: string | undefined): Promise<LogoutOutcome> {
    // Counted before any work (a refusal writes an audit row), given back when the message is accepted.
    const address = await this.limits.admit(SLO_FAILURE_LIMIT, sourceAddress);
    let idp: SignInConfiguration | undefined;
    let kind: ArrivedLogoutMessage['kind'] | undefined;
    try {
      const outcome = await this.handle(binding, input, correlationId, (i, k) => ((idp = i), (kind = k)));
      await this.limiter.giveBack([SLO_FAILURE_LIMIT], address);
      return outcome;
    } catch (e) {
      const rejection = e instanceof SsoRejection ? e : new SsoRejection(LogoutReason.MessageMalformed, String((e as Error)?.message ?? e), idp, 400);
      this.logger.warn(`SAML logout refused: reason=${rejection.reason} idp=${idp?.id ?? '-'} correlation=${correlationId} detail=${rejection.detail}`);
      await this.db.transaction((m) => this.record(m, idp, kind === 'LogoutResponse' ? 'sp' : 'idp', 'failure', rejection.reason, rejection.detail, correlationId, { binding }));
      throw rejection;
    }
  }

  /** The checks and effects of `receive`; `seen` learns the IdP and the message kind as soon as they are known. */
  private async handle(
    binding: LogoutBinding,
    input: { rawQuery?: string; body?: Record<string, unknown> },
    correlationId: string,
    seen: (idp: SignInConfiguration | undefined, kind: ArrivedLogoutMessage['kind']) => void,
  ): Promise<LogoutOutcome> {
    const message = binding === 'Redirect' ? arrivedByRedirect(input.rawQuery ?? '') : arrivedByPost(input.body ?? {});
    // The claimed Issuer only selects whose keys judge the message.
    const issuer = claimedLogoutIssuer(message.root);
    const idp = issuer ? await this.idps.signInConfiguration({ issuer }) : undefined;
    seen(idp, message.kind);
    if (!idp || idp.type !== 'SAML') throw new SsoRejection(LogoutReason.UnknownIssuer, `no SAML identity provider with partnerProviderId "${(issuer ?? '').slice(0, 300)}"`, undefined, 400);
    const fail = (reason: string, detail: string) => new SsoRejection(reason, detail, idp, 400);
    if (!idp.enabled) throw fail(LogoutReason.IdpDisabled, 'the identity provider is disabled');
    if (!idp.saml.logoutEnabled) throw fail(LogoutReason.LogoutDisabled, 'single logout is not enabled for the identity provider (logoutEnabled)');
    const verified = verifyLogoutMessage(message, {
      issuer: idp.saml.entityId,
      certificates: usableSigningKeys(idp.saml).usable.map((k) => k.pem),
      allowSha1: idp.saml.allowSha1,
      sloUrl: this.sp.endpoints.sloUrl,
      skewMs: CLOCK_SKEW_MS,
    });

    if (verified.kind === 'LogoutResponse') {
      // Single use, across instances: one DELETE, and its row count says whether the id was ours and outstanding.
      const consumed = await this.db.transaction((m) =>
        m.createQueryBuilder().delete().from(SamlLogoutRequestEntity).where('id = :id AND idp_id = :idp AND expires_at > :now', { id: verified.inResponseTo, idp: idp.id, now: nowIso() }).execute(),
      );
      if (consumed.affected !== 1) throw fail(LogoutReason.InResponseToUnknown, `InResponseTo ${verified.inResponseTo.slice(0, 200)} is not an outstanding LogoutRequest to this IdP`);
      const ok = verified.status === LOGOUT_STATUS.Success;
      const status = `${verified.status}${verified.subStatus ? ` / ${verified.subStatus}` : ''}`;
      await this.db.transaction((m) =>
        this.record(m, idp, 'sp', ok ? 'success' : 'failure', ok ? undefined : LogoutReason.StatusNotSuccess, `LogoutResponse to ${verified.inResponseTo}: ${status}`, correlationId, {
          requestId: verified.inResponseTo,
          status: verified.status,
        }),
      );
      if (!ok) this.logger.warn(`SAML logout: the IdP answered ${status} idp=${idp.id} correlation=${correlationId} (the local session had ended)`);
      return { kind: 'signedOut' };
    }

    const target = idp.saml.logoutResponseUrl ?? idp.saml.logoutRequestUrl;
    if (!target) throw fail(LogoutReason.LogoutDisabled, 'the identity provider has neither logoutResponseUrl nor logoutRequestUrl to answer to');
    const ended = await this.sessions.endDesignated(idp.id, verified.subject, verified.sessionIndexes);
    await this.db.transaction((m) =>
      this.record(m, idp, 'idp', 'success', undefined, `LogoutRequest ${verified.id}: ${ended} session(s) ended`, correlationId, { requestId: verified.id, sessionsEnded: ended, binding }),
    );
    // Every designated session is gone (one local store, nothing further to propagate to): Success, also when none
    // existed (Profiles §4.4.3.4). PartialLogout would say some could not be ended, which cannot happen here.
    const xml = logoutResponseXml({ id: newMessageId(), issuer: this.sp.endpoints.entityId, destination: target, inResponseTo: verified.id, status: LOGOUT_STATUS.Success });
    return { kind: 'respond', delivery: await this.deliver(idp.saml.logoutBinding, target, 'SAMLResponse', xml, message.relayState) };
  }

  private async deliver(binding: LogoutBinding, target: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState?: string): Promise<LogoutDelivery> {
    const key = (await this.keys.credentials()).privateKeyPem();
    return binding === 'Post' ? postDelivery(target, param, xml, key, relayState) : redirectDelivery(target, param, xml, key, relayState);
  }

  private async record(
    m: Parameters<AuditService['record']>[0],
    idp: { id: string; partnerName: string } | undefined,
    initiator: 'sp' | 'idp',
    outcome: 'success' | 'failure',
    reason: string | undefined,
    message: string,
    correlationId: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    if (outcome === 'failure') await sweepRefusedSsoEvents(m);
    return this.audit.record(m, {
      eventId: 'sso.logout',
      outcome,
      reason,
      correlationId,
      ...(idp ? { resourceType: 'IdentityProvider', resourceId: idp.id, resourceName: idp.partnerName } : {}),
      message: message.slice(0, 1000),
      details: { protocol: 'saml', initiator, ...details },
    });
  }
}
