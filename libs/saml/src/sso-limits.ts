import type { EntityManager } from 'typeorm';
import { AddressLimit, AttemptRefusal, TokenAttemptLimiter } from '@app/auth';
import { SsoRejection } from './sso-rejection';

/**
 * ACS posts that did not end in a sign-in, per source address. Each one writes an audit row, and the endpoint is
 * anonymous: past 100 (forgotten after an hour without one), one more per lock period (1 s, doubling to 15 min), so
 * a flood from one address writes about a hundred rows and then 4 an hour. 100 because one NAT address may hold an
 * office whose users fail now and then (an expired assertion, a back button replaying one); a successful sign-in
 * takes its count back, so their successes never lock them out.
 */
export const ACS_FAILURE_LIMIT: AddressLimit = { kind: 'sso-acs', budget: { limit: 100, firstLockMs: 1000, maxLockMs: 15 * 60_000 } };

/**
 * SP-initiated sign-ins per source address not (yet) completed. Each stores an AuthnRequest id for 15 minutes; a
 * completed sign-in consumes its id and takes its count back, so the count approximates the address's stored ids.
 * Generous, because a whole office may start sign-ins from one NAT address at 9 o'clock.
 */
export const AUTHN_REQUEST_LIMIT: AddressLimit = { kind: 'sso-authnrequest', budget: { limit: 100, firstLockMs: 1000, maxLockMs: 15 * 60_000 } };

export const SSO_RATE_LIMITED = 'SAML_RATE_LIMITED';

/** Refused before any work: the browser gets the generic failure page with 429 and Retry-After. */
export class SsoRateLimited extends SsoRejection {
  constructor(
    kind: string,
    readonly retryAfterSeconds: number,
  ) {
    super(SSO_RATE_LIMITED, `too many ${kind} attempts from this source address; locked for ${retryAfterSeconds} s`, undefined, 429);
  }
}

/** The per-address limits of the anonymous SAML endpoints that write (shared by every instance through the database). */
export class SsoLimits {
  constructor(private readonly limiter: TokenAttemptLimiter) {}

  /** Counts one attempt of `limit` from `sourceAddress`; throws SsoRateLimited (nothing counted) while it is locked. */
  async admit(limit: AddressLimit, sourceAddress: string | undefined): Promise<string> {
    const r: { address: string } | AttemptRefusal = await this.limiter.beginFromAddress(limit, sourceAddress);
    if ('retryAfterSeconds' in r) throw new SsoRateLimited(limit.kind, r.retryAfterSeconds);
    return r.address;
  }

  /**
   * A sign-in from `address` succeeds: its ACS attempt, and the AuthnRequest it answered, are given back, in the
   * transaction that signs in (`m`).
   */
  async signedIn(m: EntityManager, address: string): Promise<void> {
    await this.limiter.giveBackWithin(m, [ACS_FAILURE_LIMIT, AUTHN_REQUEST_LIMIT], address);
  }
}

/**
 * How long failed sign-ins stay in the audit trail (IDCS keeps audit events 90 days). The per-address limits bound
 * how fast they are written; this bounds how many are kept, whatever the number of addresses sending them.
 * Other audit events are not touched: administrative changes are kept.
 */
export const FAILED_SIGN_IN_RETENTION_MS = 90 * 86_400_000;
