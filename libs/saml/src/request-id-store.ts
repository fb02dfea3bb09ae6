import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MoreThan } from 'typeorm';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { SamlRequestIdEntity } from './saml-login.entities';
import { cookieValues } from './sessions.service';

/** Where the browser-binding cookies are sent: the assertion consumer service only. */
export const REQUEST_COOKIE_PATH = '/fed/v1/sp/sso';
const REQUEST_COOKIE_PREFIX = 'idd_saml_';

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');

/**
 * The name of the cookie that binds AuthnRequest `id` to its browser: one per request, so two sign-ins started in
 * two tabs of one browser do not overwrite each other's.
 */
export const requestCookieName = (id: string): string => REQUEST_COOKIE_PREFIX + sha256(id).slice(0, 16);

/** A new browser secret (the cookie's value) and what the table keeps of it (its SHA-256). */
export function newBrowserBinding(): { secret: string; binding: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, binding: sha256(secret) };
}

/** Whether the Cookie header holds the secret of AuthnRequest `id` whose stored binding is `binding` (constant time). */
export function holdsBrowserBinding(cookieHeader: string | undefined, id: string, binding: string): boolean {
  const expected = Buffer.from(binding);
  return cookieValues(cookieHeader, requestCookieName(id)).some((secret) => {
    const presented = Buffer.from(sha256(secret));
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  });
}

/**
 * Whether browsers send the binding cookie with the IdP's cross-site POST: it must be `SameSite=None; Secure`, and
 * browsers keep a Secure cookie only from https or a loopback host (http://localhost, which Chromium and Firefox
 * treat as secure). With a plain-http PUBLIC_URL elsewhere, the cookie can only be Lax: it then reaches the ACS
 * from a same-site IdP only, and sign-ins through any other fail (SAML_BROWSER_MISMATCH). Use https.
 */
export function crossSiteCookiesWork(publicUrl: string): boolean {
  const u = new URL(publicUrl);
  return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || u.hostname.endsWith('.localhost');
}

/** What one AuthnRequest's construction passes to `saveAsync`, and learns from it. */
interface BindingContext {
  binding: string;
  savedId?: string;
}

/** An outstanding AuthnRequest as stored. */
export interface OutstandingRequest {
  created: string;
  browserBinding: string;
}

/**
 * node-saml's `cacheProvider` for one IdP, backed by `saml_request_ids`, so the instance that receives the
 * answer to an AuthnRequest need not be the one that sent it, and a restart forgets nothing.
 *
 * `removeAsync` does nothing on purpose: node-saml calls it without checking the result, so it cannot make
 * consumption single-use when two responses race. The ACS consumes the id itself with `consume()` (one DELETE,
 * one winner) after every other check passed. An id looked up for another IdP is unknown.
 *
 * node-saml saves the id while it builds the AuthnRequest, with no way to pass anything along; the browser binding
 * of that request reaches `saveAsync` through `forBrowser`. An id saved without one is refused (fails closed).
 */
export class RequestIdStore implements CacheProvider {
  private readonly browser = new AsyncLocalStorage<BindingContext>();

  constructor(
    private readonly db: Database,
    private readonly idpId: string,
    private readonly ttlMs: number,
  ) {}

  /** Runs `build` (node-saml making an AuthnRequest) so that the id it saves is bound to `binding`; returns that id too. */
  async forBrowser<T>(binding: string, build: () => Promise<T>): Promise<{ built: T; id: string }> {
    const context: BindingContext = { binding };
    const built = await this.browser.run(context, build);
    if (!context.savedId) throw new Error('node-saml saved no AuthnRequest id');
    return { built, id: context.savedId };
  }

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const context = this.browser.getStore();
    if (!context || context.savedId) throw new Error('an AuthnRequest id is stored only with the browser binding of its request');
    context.savedId = key;
    const browserBinding = context.binding;
    const now = new Date();
    await this.db.transaction(async (m) => {
      // Expired ids are swept as new ones arrive (at most once a minute): indexed range delete, no scheduler needed.
      if (sweepDue('saml_request_ids')) await m.createQueryBuilder().delete().from(SamlRequestIdEntity).where('expires_at < :now', { now: now.toISOString() }).execute();
      await m.insert(SamlRequestIdEntity, { id: key, idpId: this.idpId, created: value, expiresAt: new Date(now.getTime() + this.ttlMs).toISOString(), browserBinding });
    });
    return { value, createdAt: now.getTime() };
  }

  /** The outstanding request `key` of this IdP, with the binding of the browser that started it. */
  async find(key: string): Promise<OutstandingRequest | null> {
    const row = await this.db.read((m) => m.findOneBy(SamlRequestIdEntity, { id: key, idpId: this.idpId, expiresAt: MoreThan(nowIso()) }));
    return row && { created: row.created, browserBinding: row.browserBinding };
  }

  async getAsync(key: string): Promise<string | null> {
    return (await this.find(key))?.created ?? null;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    return key;
  }
}
