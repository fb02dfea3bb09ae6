/**
 * oidc-provider's storage adapter, in memory and without eviction. oidc-provider's own memory adapter is an LRU of
 * about 1,000 entries: under the benchmark's thousands of concurrent sign-ins it would drop interactions and
 * sessions still in use. Entries go when they expire (swept now and then); the process lives as long as one test
 * file, one bench run or one demo.
 */

interface Entry {
  payload: Record<string, any>;
  expiresAt: number;
}

const SWEEP_EVERY = 2000;

export class MemoryStore {
  private readonly entries = new Map<string, Entry>();
  private writes = 0;

  /** One oidc-provider adapter per model name (Session, Grant, AuthorizationCode…), sharing this store. */
  adapterFor(model: string) {
    const key = (id: string) => `${model}:${id}`;
    return {
      upsert: async (id: string, payload: Record<string, any>, expiresIn?: number) => {
        this.set(key(id), payload, expiresIn);
        if (payload.grantId) {
          const grantKey = `members:${payload.grantId}`;
          const members = (this.get(grantKey)?.members as string[] | undefined) ?? [];
          this.set(grantKey, { members: [...members, key(id)] }, expiresIn);
        }
        if (payload.uid) this.set(`uid:${model}:${payload.uid}`, { id }, expiresIn);
        if (payload.userCode) this.set(`userCode:${model}:${payload.userCode}`, { id }, expiresIn);
      },
      find: async (id: string) => this.get(key(id)),
      findByUid: async (uid: string) => {
        const ref = this.get(`uid:${model}:${uid}`);
        return ref ? this.get(key(ref.id)) : undefined;
      },
      findByUserCode: async (userCode: string) => {
        const ref = this.get(`userCode:${model}:${userCode}`);
        return ref ? this.get(key(ref.id)) : undefined;
      },
      consume: async (id: string) => {
        const entry = this.entries.get(key(id));
        if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
      },
      destroy: async (id: string) => {
        this.entries.delete(key(id));
      },
      revokeByGrantId: async (grantId: string) => {
        for (const member of (this.get(`members:${grantId}`)?.members as string[] | undefined) ?? []) this.entries.delete(member);
        this.entries.delete(`members:${grantId}`);
      },
    };
  }

  private get(k: string): Record<string, any> | undefined {
    const entry = this.entries.get(k);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(k);
      return undefined;
    }
    return entry.payload;
  }

  private set(k: string, payload: Record<string, any>, expiresIn?: number): void {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
    const previous = this.entries.get(k);
    this.entries.set(k, { payload, expiresAt: Math.max(expiresAt, k.startsWith('members:') && previous ? previous.expiresAt : 0) });
    if (++this.writes % SWEEP_EVERY === 0) this.sweep();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(k);
  }
}
