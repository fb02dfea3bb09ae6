import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database, isTransactionConflict, isUniqueViolation, sweepDue } from '@app/persistence';
import { canonicalJson, ScimError } from '@app/scim';
import { RetryTokenEntity } from './retry-token.entity';

/** How long a token and its answer are kept: IDCS and OCI document that retry tokens expire after 24 hours. */
export const RETRY_TOKEN_TTL_MS = 24 * 3_600_000;

/**
 * How long a running create holds its token. A create takes milliseconds; one still running after this is taken
 * for dead (its instance crashed), and a retry may run the create itself. If the first one was only slow, its
 * answer can no longer be written (the owner changed), which rolls its create back: one create either way.
 */
export const CLAIM_LEASE_MS = 20_000;

/**
 * How long a request waits for a concurrent one with the same token before it answers "still in progress". Longer
 * than the lease, so that a waiter either gets the first answer or takes over a claim whose holder died.
 */
export const WAIT_FOR_FIRST_MS = CLAIM_LEASE_MS + 5_000;

/**
 * Answers kept per principal. Oracle's SDKs send a fresh token with every create, so a bulk import keeps one answer
 * per resource for a day; past this budget the oldest answers are dropped first (a retry comes within minutes, not
 * hours). Together with the 24 hours this bounds the table: at most this much per client or provisioning token.
 */
export const ANSWER_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * OCI's API definitions give `opc-retry-token` a length of 1 to 64. The characters are ours to choose: printable
 * ASCII without spaces covers the SDKs' UUIDs and any random token, and keeps the value safe to echo in a detail.
 */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,64}$/;

/** The request's retry token, undefined when it sent none, or a 400 when it is not one. */
export function parseRetryToken(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (TOKEN_SHAPE.test(value)) return value;
  const why = value.length === 0 ? 'it is empty' : value.length > 64 ? `it has ${value.length}` : 'it holds spaces, control or non-ASCII characters';
  throw ScimError.badRequest(
    'invalidValue',
    `The opc-retry-token header must be 1 to 64 printable ASCII characters without spaces (a UUID, for example); ${why}. Send one header with a new token`,
  );
}

/**
 * What a token is bound to: method, URL (query included: it shapes the answer) and body. The body is compared as
 * canonical JSON, so a client that serialises the same body with its keys in another order is not refused.
 */
export function requestDigest(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(canonicalJson([method.toUpperCase(), url, body ?? null])).digest('hex');
}

/** The principal a token belongs to: the same token from another client is another request. */
export function principalScope(p: { kind: string; id: string }): string {
  const scope = `${p.kind}:${p.id}`;
  return scope.length <= 160 ? scope : `${p.kind}:sha256:${createHash('sha256').update(p.id).digest('hex')}`;
}

/** What a token's stored row means for a request that brings it. */
export type TokenState =
  /** Never used (or forgotten): the request runs and holds the token. */
  | 'unused'
  /** Used more than 24 hours ago: forgotten, the request runs as new. */
  | 'expired'
  /** Used for another request (method, URL or body): refused. */
  | 'other-request'
  /** Its create committed: the request gets the same answer. */
  | 'answered'
  /** Held by a create whose lease ran out without an answer (its instance died): the request takes it over. */
  | 'abandoned'
  /** Held by a create still running: the request waits for its answer. */
  | 'in-progress';

export function stateOf(row: Pick<RetryTokenEntity, 'requestDigest' | 'leaseUntil' | 'expiresAt' | 'status'> | null | undefined, digest: string, now: number): TokenState {
  if (!row) return 'unused';
  if (Number(row.expiresAt) <= now) return 'expired';
  if (row.requestDigest !== digest) return 'other-request';
  if (row.status !== null && row.status !== undefined) return 'answered';
  return Number(row.leaseUntil) <= now ? 'abandoned' : 'in-progress';
}

/** A create's answer as the client got it. */
export interface KeptAnswer {
  status: number;
  /** Location, ETag and Content-Type: what Oracle's SDKs and SCIM clients read from a create's answer. */
  headers: Record<string, string>;
  body: unknown;
}

/** A token held by this request while its create runs. */
export interface Claim {
  principal: string;
  token: string;
  owner: string;
  /** Set once the answer is written in the creating transaction (that transaction may still roll back). */
  recorded: boolean;
}

export type Begun = { claim: Claim } | { answer: KeptAnswer };

/**
 * `opc-retry-token`s of creates, in the database so that every instance sees them. A request with a token first
 * holds it (a row without an answer), then creates; the answer is written in the creating transaction, so it is
 * kept if and only if the create committed. A failed create lets its token go: a failure can be retried for real.
 */
@Injectable()
export class RetryTokens {
  private readonly logger = new Logger(RetryTokens.name);

  constructor(private readonly db: Database) {}

  /**
   * Holds `token` for this request, or returns the answer a first request with it got. A concurrent request with
   * the same token is waited for; one with another request under the token gets a 409.
   */
  async begin(principal: string, token: string, digest: string): Promise<Begun> {
    const deadline = Date.now() + WAIT_FOR_FIRST_MS;
    for (let pause = 10; ; pause = Math.min(pause * 2, 200)) {
      await this.sweep();
      // A read first: replays and waits (the usual cases of a token seen before) take no write lock.
      const seen = await this.db.read((m) => m.findOneBy(RetryTokenEntity, { principal, token }));
      let outcome = settled(seen, stateOf(seen, digest, Date.now()));
      if (outcome === undefined) {
        try {
          // The clock is read in the transaction: on SQLite it may have waited for the write lock.
          outcome = await this.db.transaction((m) => this.hold(m, principal, token, digest, Date.now()));
        } catch (e) {
          // A concurrent request inserted the token first (or the database chose between them): read what it holds.
          if (!isUniqueViolation(e) && !isTransactionConflict(e)) throw e;
          outcome = 'wait';
        }
      }
      if (outcome !== 'wait') return outcome;
      if (Date.now() >= deadline) {
        throw new ScimError(409, `A request with this opc-retry-token has been running for over ${WAIT_FOR_FIRST_MS / 1000} s; send it again later to get its answer`);
      }
      await sleep(pause);
    }
  }

  private async hold(m: EntityManager, principal: string, token: string, digest: string, now: number): Promise<Begun | 'wait'> {
    const row = await m.findOneBy(RetryTokenEntity, { principal, token });
    const owner = randomUUID();
    const state = stateOf(row, digest, now);
    const done = settled(row, state);
    if (done !== undefined) return done;
    // An expired token is forgotten: the request is a new one.
    if (state === 'expired') await m.delete(RetryTokenEntity, { principal, token });
    switch (state) {
      case 'abandoned': {
        const taken = await m
          .createQueryBuilder()
          .update(RetryTokenEntity)
          .set({ owner, leaseUntil: now + CLAIM_LEASE_MS })
          .where('principal = :principal AND token = :token AND owner = :previous AND status IS NULL', { principal, token, previous: row!.owner })
          .execute();
        return taken.affected ? { claim: { principal, token, owner, recorded: false } } : 'wait';
      }
      default:
        await m.insert(RetryTokenEntity, {
          principal,
          token,
          requestDigest: digest,
          owner,
          leaseUntil: now + CLAIM_LEASE_MS,
          expiresAt: now + RETRY_TOKEN_TTL_MS,
          status: null,
          response: null,
          responseBytes: 0,
        });
        return { claim: { principal, token, owner, recorded: false } };
    }
  }

  /**
   * Writes the answer in the creating transaction `m`. Refuses (and so rolls the create back) when a retry took the
   * token over meanwhile: that retry creates instead, and one of the two creates must not commit.
   */
  async record(m: EntityManager, claim: Claim, answer: KeptAnswer): Promise<void> {
    const response = JSON.stringify(answer);
    const written = await m
      .createQueryBuilder()
      .update(RetryTokenEntity)
      .set({ status: answer.status, response, responseBytes: Buffer.byteLength(response) })
      .where('principal = :principal AND token = :token AND owner = :owner AND status IS NULL', { principal: claim.principal, token: claim.token, owner: claim.owner })
      .execute();
    if (!written.affected) {
      throw new ScimError(
        409,
        `This request ran longer than ${CLAIM_LEASE_MS / 1000} s and a retry with the same opc-retry-token took over; nothing was created by this one. Send it again to get the answer`,
      );
    }
    claim.recorded = true;
  }

  /** Lets the token go after a failed create, so that a retry runs for real. */
  async release(claim: Claim): Promise<void> {
    try {
      await this.db.transaction((m) =>
        m
          .createQueryBuilder()
          .delete()
          .from(RetryTokenEntity)
          .where('principal = :principal AND token = :token AND owner = :owner AND status IS NULL', { principal: claim.principal, token: claim.token, owner: claim.owner })
          .execute(),
      );
    } catch (e) {
      // The lease lets the token go anyway; the request's own error is what the client must see.
      this.logger.warn(`Releasing a retry token failed: ${e}`);
    }
  }

  /**
   * Drops expired tokens, then the oldest answers of each principal over its budget, at most once a minute per
   * process (housekeeping: expired rows are ignored when read anyway). `now` and `budget` are parameters so that
   * tests can move the clock instead of waiting a day.
   */
  async sweep(now = Date.now(), budget = ANSWER_BUDGET_BYTES): Promise<void> {
    if (!sweepDue('retry_tokens', now)) return;
    try {
      await this.db.transaction(async (m) => {
        await m.createQueryBuilder().delete().from(RetryTokenEntity).where('expires_at <= :now', { now }).execute();
        await m.query(this.sql(OVER_BUDGET), [budget]);
      });
    } catch (e) {
      // Housekeeping only: a failed sweep must not fail the create that triggered it.
      this.logger.warn(`Sweeping retry tokens failed: ${e}`);
    }
  }

  /** Statements are written with $n placeholders; SQLite's driver wants ?n. */
  private sql(s: string): string {
    return this.db.dialect === 'postgres' ? s : s.replace(/\$(\d+)/g, '?$1');
  }
}

/** The outcome of a state that needs no write: the first answer, a refusal, or a wait; undefined for the others. */
function settled(row: RetryTokenEntity | null, state: TokenState): Begun | 'wait' | undefined {
  switch (state) {
    case 'answered':
      return { answer: JSON.parse(row!.response!) as KeptAnswer };
    case 'other-request':
      throw new ScimError(
        409,
        'This opc-retry-token was used in the last 24 hours for another request (another method, URL or body). Send the first request unchanged to get its answer, or use a new token for a new request',
      );
    case 'in-progress':
      return 'wait';
    default:
      return undefined;
  }
}

/** Answers of a principal past its budget, newest kept first (pending claims hold no answer and are never dropped). */
const OVER_BUDGET = `
  DELETE FROM retry_tokens WHERE status IS NOT NULL AND (principal, token) IN (
    SELECT principal, token FROM (
      SELECT principal, token,
        SUM(response_bytes) OVER (PARTITION BY principal ORDER BY expires_at DESC, token DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS newer
      FROM retry_tokens WHERE status IS NOT NULL
    ) ranked WHERE newer > $1
  )`;
