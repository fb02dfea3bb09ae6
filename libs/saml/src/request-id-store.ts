import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import { MoreThan } from 'typeorm';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { SamlRequestIdEntity } from './saml-login.entities';

/**
 * node-saml's `cacheProvider` for one IdP, backed by `saml_request_ids`, so the instance that receives the
 * answer to an AuthnRequest need not be the one that sent it, and a restart forgets nothing.
 *
 * `removeAsync` does nothing on purpose: node-saml calls it without checking the result, so it cannot make
 * consumption single-use when two responses race. The ACS consumes the id itself with `consume()` (one DELETE,
 * one winner) after every other check passed. An id looked up for another IdP is unknown.
 */
export class RequestIdStore implements CacheProvider {
  constructor(
    private readonly db: Database,
    private readonly idpId: string,
    private readonly ttlMs: number,
  ) {}

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const now = new Date();
    await this.db.transaction(async (m) => {
      // Expired ids are swept as new ones arrive (at most once a minute): indexed range delete, no scheduler needed.
      if (sweepDue('saml_request_ids')) await m.createQueryBuilder().delete().from(SamlRequestIdEntity).where('expires_at < :now', { now: now.toISOString() }).execute();
      await m.insert(SamlRequestIdEntity, { id: key, idpId: this.idpId, created: value, expiresAt: new Date(now.getTime() + this.ttlMs).toISOString() });
    });
    return { value, createdAt: now.getTime() };
  }

  async getAsync(key: string): Promise<string | null> {
    const row = await this.db.read((m) => m.findOneBy(SamlRequestIdEntity, { id: key, idpId: this.idpId, expiresAt: MoreThan(nowIso()) }));
    return row?.created ?? null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    return key;
  }
}
