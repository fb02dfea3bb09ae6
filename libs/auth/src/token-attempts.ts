import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database, sweepDue } from '@app/persistence';

/** The budget of one kind of key: free failures, then a lock that doubles with each further failure. */
export interface AttemptBudget {
  /** Failures allowed before the key is locked. */
  limit: number;
  /** The first lock, in ms; each further failure doubles it. */
  firstLockMs: number;
  /** The longest lock, in ms. */
  maxLockMs: number;
}

/**
 * A client's secret may be chosen by a person (ADMIN_CLIENT_SECRET), so a client id gets few free guesses; an address
 * may hold several clients behind one NAT, so it gets more. Either way, once over budget, one guess per lock period
 * (1 s, 2 s, 4 s … 15 min), i.e. about 100 guesses a day per key at most once the lock is at its cap.
 */
export const CLIENT_BUDGET: AttemptBudget = { limit: 10, firstLockMs: 1000, maxLockMs: 15 * 60_000 };
export const ADDRESS_BUDGET: AttemptBudget = { limit: 50, firstLockMs: 1000, maxLockMs: 15 * 60_000 };
/**
 * A budget of one anonymous action per source address, kept in the same counters as the token endpoint's under its
 * own `kind` (at most 16 characters): anonymous endpoints that write (the SAML ACS audits each failure, SP-initiated
 * sign-in stores each AuthnRequest id) get the same shared, count-first limit instead of a second mechanism.
 */
export interface AddressLimit {
  kind: string;
  budget: AttemptBudget;
}

/**
 * Failures are forgotten after this long without one. It must exceed the longest lock: otherwise waiting the lock
 * out would restore the full budget.
 */
export const FORGET_AFTER_MS = 60 * 60_000;
/** How long a source address stays "known" for a client after its last successful authentication. */
export const KNOWN_SOURCE_MS = 30 * 86_400_000;

/** The lock that follows the `failures`-th failure of a key, in ms (0: not locked). */
export function lockAfter(failures: number, b: AttemptBudget): number {
  if (failures < b.limit) return 0;
  // Capped exponent: 2^40 ms would already overflow any sensible cap, and keeps the number finite.
  return Math.min(b.firstLockMs * 2 ** Math.min(failures - b.limit, 40), b.maxLockMs);
}

/** Ids of the shape we issue (AdminClients' rule); others are stored as a digest so a key stays short and printable. */
const CLIENT_ID_SHAPE = /^[A-Za-z0-9._~-]{1,128}$/;

export function clientKey(clientId: string): string {
  return CLIENT_ID_SHAPE.test(clientId) ? clientId : `sha256:${createHash('sha256').update(clientId).digest('hex')}`;
}

/**
 * The key an address is counted under. An IPv6 host usually holds a whole /64 (2^64 addresses), so counting per
 * address would give it an unlimited budget: it is counted per /64. IPv4-mapped IPv6 counts as its IPv4 address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const a = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1];
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return 'unknown';
  const groups = expandIPv6(a);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(a: string): string[] {
  let s = a.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number);
    s = s.slice(0, v4.index) + ((b0 << 8) | b1).toString(16) + ':' + ((b2 << 8) | b3).toString(16);
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => parseInt(g, 16).toString(16));
}

/** Why an attempt may not run the KDF: which key is locked, and until when. */
export interface AttemptRefusal {
  kind: 'client' | 'address';
  retryAfterSeconds: number;
}

/** An attempt allowed to run the KDF. `bypassedClientLock`: the client was locked, but the address is one it used. */
export interface AttemptTicket {
  client: string;
  address: string;
  bypassedClientLock: boolean;
}

class Refused extends Error {
  constructor(readonly refusal: AttemptRefusal) {
    super('refused');
  }
}

/**
 * Brute-force limits of the token endpoint, kept in the database so every instance on it shares them; the same
 * counters limit other anonymous actions per address (`beginFromAddress`).
 *
 * An attempt is *counted before* the secret is checked: an atomic upsert increments the client's and the
 * address's counters unless the key is locked, in which case nothing is written and the request is refused without
 * running scrypt. Counting first means concurrent guesses (on one instance or several) cannot all pass a check
 * before any of them is recorded. A success then takes its count back.
 *
 * The legitimate client and someone else's guessing: a locked client id stays usable from any address from which
 * the client authenticated before (within 30 days) and that is itself within its budget; an attacker would have to
 * send from the client's own address. From a new address, the client waits for the current lock (at most 15 min).
 */
@Injectable()
export class TokenAttemptLimiter {
  private readonly logger = new Logger('OAuth');

  constructor(private readonly db: Database) {}

  /** Counts an attempt of `client` from `address`, or refuses it when either key is locked (then nothing is counted). */
  async begin(clientId: string, sourceAddress: string | undefined, now = Date.now()): Promise<AttemptTicket | AttemptRefusal> {
    const client = clientKey(clientId);
    const address = addressKey(sourceAddress);
    await this.sweep(now);
    try {
      return await this.db.transaction(async (m) => {
        // Client first, then address, in every transaction: PostgreSQL row locks always taken in one order cannot deadlock.
        let bypassedClientLock = false;
        const c = await this.count(m, 'client', client, CLIENT_BUDGET, now);
        if ('lockedUntil' in c) {
          if (!(await this.isKnownSource(m, client, address, now))) throw new Refused({ kind: 'client', retryAfterSeconds: retryAfter(c.lockedUntil, now) });
          bypassedClientLock = true;
        }
        const a = await this.count(m, 'address', address, ADDRESS_BUDGET, now);
        // Throwing rolls the client's count back: a refused attempt costs its sender nothing, and extends no lock.
        if ('lockedUntil' in a) throw new Refused({ kind: 'address', retryAfterSeconds: retryAfter(a.lockedUntil, now) });
        return { client, address, bypassedClientLock };
      });
    } catch (e) {
      if (e instanceof Refused) return e.refusal;
      throw e;
    }
  }

  /**
   * Counts one attempt of an anonymous action from `sourceAddress` under `limit`, or refuses it (counting nothing)
   * while the address is locked. As for tokens, the attempt is counted before the work, so concurrent requests
   * cannot all pass a check; `giveBack` returns the count of an attempt that turned out legitimate.
   */
  async beginFromAddress(limit: AddressLimit, sourceAddress: string | undefined, now = Date.now()): Promise<{ address: string } | AttemptRefusal> {
    const address = addressKey(sourceAddress);
    await this.sweep(now);
    // The count is one atomic upsert (the rarer statements after it need no atomicity with it): no transaction.
    const counted = await this.db.autocommit((m) => this.count(m, limit.kind, address, limit.budget, now));
    return 'lockedUntil' in counted ? { kind: 'address', retryAfterSeconds: retryAfter(counted.lockedUntil, now) } : { address };
  }

  /**
   * Takes back one attempt of `address` (an address key) under each of `limits`, unlocking it where it falls under
   * the budget. One transaction for all: on SQLite every write transaction waits for the one before it.
   */
  async giveBack(limits: readonly AddressLimit[], address: string): Promise<void> {
    await this.db.transaction((m) => this.giveBackWithin(m, limits, address));
  }

  /**
   * `giveBack` inside the caller's transaction: a sign-in gives its attempts back in the transaction that signs
   * in, so that a success is one write transaction, and a sign-in that rolls back gives nothing back.
   */
  async giveBackWithin(m: EntityManager, limits: readonly AddressLimit[], address: string): Promise<void> {
    if (limits.length === 0) return;
    // One statement for every limit: each row is unlocked when it falls under its own budget.
    const params: unknown[] = [address];
    const kinds = limits.map((l) => `$${params.push(l.kind)}`);
    const budgets = limits.map((l, i) => `WHEN ${kinds[i]} THEN CAST($${params.push(l.budget.limit)} AS INTEGER)`).join(' ');
    await m.query(
      this.sql(
        `UPDATE token_attempt_counters SET failures = failures - 1,
           blocked_until = CASE WHEN failures - 1 < (CASE kind ${budgets} END) THEN 0 ELSE blocked_until END
         WHERE kind IN (${kinds.join(', ')}) AND subject = $1 AND failures > 0`,
      ),
      params,
    );
  }

  /**
   * The secret was right: the client's failures are forgotten (unless it got in past a lock: then the lock is
   * someone else's guessing, which a success must not reset), the address gets its count back, and the address
   * becomes a known source of the client.
   */
  async succeeded(t: AttemptTicket, now = Date.now()): Promise<void> {
    await this.db.transaction(async (m) => {
      if (!t.bypassedClientLock) await m.query(this.sql('DELETE FROM token_attempt_counters WHERE kind = $1 AND subject = $2'), ['client', t.client]);
      await this.giveBackWithin(m, [{ kind: 'address', budget: ADDRESS_BUDGET }], t.address);
      await m.query(
        this.sql(
          `INSERT INTO token_known_sources (client_key, address_key, last_success) VALUES ($1, $2, $3)
           ON CONFLICT (client_key, address_key) DO UPDATE SET last_success = excluded.last_success`,
        ),
        [t.client, t.address, now],
      );
    });
  }

  /**
   * One more failure of a key, unless it is locked. The upsert's WHERE makes "is it locked?" and "count it" one
   * atomic step: a locked row is left as it is and returns nothing.
   */
  private async count(m: EntityManager, kind: string, subject: string, b: AttemptBudget, now: number): Promise<{ failures: number } | { lockedUntil: number }> {
    // TypeORM runs a statement starting with "INSERT " on SQLite with run(), which drops RETURNING rows; the leading
    // comment makes it use all(), which returns them (PostgreSQL returns them either way).
    const rows: { failures: number | string }[] = await m.query(
      this.sql(
        `/* upsert returning */ INSERT INTO token_attempt_counters (kind, subject, failures, last_failure, blocked_until) VALUES ($1, $2, 1, $3, 0)
         ON CONFLICT (kind, subject) DO UPDATE SET
           failures = CASE WHEN token_attempt_counters.last_failure <= $4 THEN 1 ELSE token_attempt_counters.failures + 1 END,
           last_failure = excluded.last_failure
         WHERE token_attempt_counters.blocked_until <= $3
         RETURNING failures`,
      ),
      [kind, subject, now, now - FORGET_AFTER_MS],
    );
    if (rows.length === 0) {
      const [row] = await m.query(this.sql('SELECT blocked_until FROM token_attempt_counters WHERE kind = $1 AND subject = $2'), [kind, subject]);
      return { lockedUntil: Number(row.blocked_until) };
    }
    const failures = Number(rows[0].failures);
    const lock = lockAfter(failures, b);
    // The lock starts with this attempt: it is undone by succeeded() if the secret turns out right.
    if (lock > 0) await m.query(this.sql('UPDATE token_attempt_counters SET blocked_until = $3 WHERE kind = $1 AND subject = $2'), [kind, subject, now + lock]);
    return { failures };
  }

  private async isKnownSource(m: EntityManager, client: string, address: string, now: number): Promise<boolean> {
    const rows = await m.query(this.sql('SELECT 1 AS known FROM token_known_sources WHERE client_key = $1 AND address_key = $2 AND last_success > $3'), [
      client,
      address,
      now - KNOWN_SOURCE_MS,
    ]);
    return rows.length > 0;
  }

  /** Keeps both tables bounded: forgotten counters and stale known sources go, at most once a minute per process. */
  private async sweep(now: number): Promise<void> {
    if (!sweepDue('token_attempt_counters', now)) return;
    try {
      await this.db.transaction(async (m) => {
        await m.query(this.sql('DELETE FROM token_attempt_counters WHERE last_failure <= $1 AND blocked_until <= $2'), [now - FORGET_AFTER_MS, now]);
        await m.query(this.sql('DELETE FROM token_known_sources WHERE last_success <= $1'), [now - KNOWN_SOURCE_MS]);
      });
    } catch (e) {
      // Housekeeping only: the limits hold without it, so a failed sweep must not fail the token request.
      this.logger.warn(`Sweeping token attempt counters failed: ${e}`);
    }
  }

  /** Statements are written with $n placeholders; SQLite's driver wants ? in the same order. */
  private sql(s: string): string {
    return this.db.dialect === 'postgres' ? s : s.replace(/\$(\d+)/g, '?$1');
  }
}

function retryAfter(lockedUntil: number, now: number): number {
  return Math.max(1, Math.ceil((lockedUntil - now) / 1000));
}
