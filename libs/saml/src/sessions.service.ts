import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { EntityManager, MoreThan } from 'typeorm';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { SessionEntity } from './saml-login.entities';

/** Name of the browser session cookie. */
export const SESSION_COOKIE = 'idd_session';
/** How long a session lasts after sign-in (no sliding renewal). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** The value of the session cookie in a Cookie header, if any. */
export function sessionCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return rest.join('=') || undefined;
  }
  return undefined;
}

/**
 * Server-side browser sessions. The cookie carries 32 random bytes; the table keeps only their SHA-256, so
 * reading the database does not let anyone impersonate a signed-in user.
 */
@Injectable()
export class SessionsService {
  constructor(private readonly db: Database) {}

  /** Starts a session inside the caller's transaction (the sign-in's) and returns the cookie value. */
  async createWithin(m: EntityManager, userId: string, idpId: string | null): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    if (sweepDue('sessions')) await m.createQueryBuilder().delete().from(SessionEntity).where('expires_at < :now', { now: now.toISOString() }).execute();
    await m.insert(SessionEntity, { id: digest(token), userId, idpId, created: now.toISOString(), expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString() });
    return token;
  }

  /** The live session a cookie value belongs to. */
  async find(token: string | undefined): Promise<SessionEntity | null> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    return this.db.read((m) => m.findOneBy(SessionEntity, { id: digest(token), expiresAt: MoreThan(nowIso()) }));
  }

  /** Ends the session a cookie value belongs to (nothing happens for an unknown one). */
  async end(token: string | undefined): Promise<void> {
    if (!token) return;
    await this.db.transaction((m) => m.delete(SessionEntity, { id: digest(token) }));
  }
}
