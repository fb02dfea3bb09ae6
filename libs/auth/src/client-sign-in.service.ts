import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@app/persistence';
import { AdminClients } from './clients.service';
import { CredentialAuditTrail, TokenFailureEvent } from './provisioning-tokens.service';
import { Principal } from './roles';
import { AttemptRefusal, TokenAttemptLimiter } from './token-attempts';
import { MetricsService } from '@app/metrics';

/** Why a token request's client authentication failed: the code for the log and the audit trail. */
export type ClientAuthFailure = 'missing_credentials' | 'malformed_authorization' | 'invalid_credentials' | 'rate_limited';

export interface SignInRequest {
  clientId: string;
  secret: string;
  sourceAddress: string | undefined;
  correlationId: string | undefined;
}

/** The audit event of a refused token request (the audit lib's record accepts it; see the cast below). */

export type SignInResult = { ok: true; principal: Principal } | { ok: false; reason: 'invalid_credentials' } | { ok: false; reason: 'rate_limited'; refusal: AttemptRefusal };

/** Client authentication at the token endpoint, under the brute-force limits, with every failure logged and audited. */
@Injectable()
export class ClientSignIn {
  private readonly logger = new Logger('OAuth');

  constructor(
    private readonly clients: AdminClients,
    private readonly limiter: TokenAttemptLimiter,
    private readonly db: Database,
    private readonly audit: CredentialAuditTrail,
    private readonly metrics: MetricsService,
  ) {}

  async signIn(r: SignInRequest): Promise<SignInResult> {
    // The limits are checked before the KDF runs: a locked key costs no scrypt.
    const ticket = await this.limiter.begin(r.clientId, r.sourceAddress);
    if ('retryAfterSeconds' in ticket) {
      await this.failed('rate_limited', r.clientId, r.sourceAddress, r.correlationId, { lockedKey: ticket.kind, retryAfterSeconds: ticket.retryAfterSeconds });
      return { ok: false, reason: 'rate_limited', refusal: ticket };
    }
    const principal = await this.clients.authenticate(r.clientId, r.secret);
    if (!principal) {
      await this.failed('invalid_credentials', r.clientId, r.sourceAddress, r.correlationId);
      return { ok: false, reason: 'invalid_credentials' };
    }
    await this.limiter.succeeded(ticket);
    return { ok: true, principal };
  }

  /** One log line and one audit event per failure. The client id is the sender's text: JSON-quoted so it cannot forge a line. */
  async failed(reason: ClientAuthFailure, clientId: string | undefined, sourceAddress: string | undefined, correlationId: string | undefined, extra: Record<string, unknown> = {}): Promise<void> {
    this.metrics.tokenRefused(reason);
    const quotedId = clientId === undefined ? '-' : JSON.stringify(clientId.slice(0, 256));
    const more = Object.entries(extra)
      .map(([k, v]) => ` ${k}=${v}`)
      .join('');
    this.logger.warn(`Token request refused: reason=${reason} client_id=${quotedId} address=${sourceAddress ?? '-'} correlation=${correlationId ?? '-'}${more}`);
    const event: TokenFailureEvent = {
      eventId: 'oauth.token',
      outcome: 'failure',
      // The id is not authenticated: it goes to details, never to actorId (which is trusted, and logged raw).
      actor: { kind: 'anonymous' },
      reason,
      correlationId,
      details: { clientId: clientId?.slice(0, 256), sourceAddress, ...extra },
    };
    try {
      await this.db.transaction((m) => this.audit.record(m, event));
    } catch (e) {
      // The client still gets its 401/429: an audit write failing must not turn a refusal into a 500.
      this.logger.error(`Auditing a refused token request failed: ${e}`);
    }
  }
}
