import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long an instance may answer "this credential is still good" from memory. Revoking a credential (disabling
 * an admin client, revoking a provisioning token) answers only after this much time has passed since its commit,
 * which is what makes the revocation apply to the next request on every instance without a database read per
 * request: see CredentialLeases.
 */
export const CREDENTIAL_LEASE_MS = 500;

/** Entries kept per lookup; the oldest makes room. Far above the number of clients and tokens a domain has. */
const MAX_ENTRIES = 10_000;

interface Lease<V> {
  value: Promise<V>;
  /** performance.now() before the database was asked, plus the lease: never later than the read's snapshot + lease. */
  until: number;
}

/**
 * The state of a credential (is the client enabled, with which roles; is the token unrevoked), read from the
 * database at most once per lease per instance, instead of on every request. bench/scim.bench.ts measured that
 * read at about half the server's CPU time on a cheap authenticated request.
 *
 * Why this still revokes on the next request everywhere. A lease starts *before* the read is sent, so whatever
 * the read saw was current at some moment after the lease started. A revocation that commits at time C is
 * therefore missed only by leases that started before C, and those end before C + lease. The revoking request
 * waits out that lease after its commit (`revoked`) before it answers, so once the administrator has the answer,
 * no instance (in this process or any other sharing the database) still holds a lease that predates the change.
 * Only a monotonic clock is used: instances need not agree on the time of day, only on how long a lease lasts.
 * The revoking instance also drops its own entries at once.
 *
 * Concurrent lookups of the same key share one read (no stampede when a lease ends under load); a failed read
 * is not kept.
 */
export class CredentialLeases<K, V> {
  private readonly leases = new Map<K, Lease<V>>();

  constructor(
    private readonly read: (key: K) => Promise<V>,
    private readonly leaseMs = CREDENTIAL_LEASE_MS,
  ) {}

  get(key: K): Promise<V> {
    const now = performance.now();
    const held = this.leases.get(key);
    if (held && now < held.until) return held.value;
    if (held) this.leases.delete(key);
    if (this.leases.size >= MAX_ENTRIES) this.leases.delete(this.leases.keys().next().value!);
    const lease: Lease<V> = { value: this.read(key), until: now + this.leaseMs };
    this.leases.set(key, lease);
    lease.value.catch(() => {
      if (this.leases.get(key) === lease) this.leases.delete(key);
    });
    return lease.value;
  }

  /**
   * Call after a revocation of `key` has committed, before answering its request: drops this instance's lease
   * and waits until every lease taken anywhere before the commit has ended.
   */
  async revoked(key: K): Promise<void> {
    this.leases.delete(key);
    await sleep(this.leaseMs);
  }
}
