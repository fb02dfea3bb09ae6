import { Injectable } from '@nestjs/common';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EntityManager, MoreThan } from 'typeorm';
import { Database, nowIso, sweepDue } from '@app/persistence';
import { recordSignIn } from '@app/users';
import type { LogoutSubject } from './response-checks';
import { SessionEntity } from './saml-login.entities';

/** Name of the browser session cookie. */
export const SESSION_COOKIE = 'idd_session';
/** How long a session lasts after sign-in (no sliding renewal). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * The values of cookie `name` in a Cookie header, in the order sent (a browser may send several cookies of one name,
 * set for different paths or domains).
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  const out: string[] = [];
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** The value of the session cookie in a Cookie header, if any. */
export function sessionCookie(header: string | undefined): string | undefined {
  return cookieValues(header, SESSION_COOKIE)[0] || undefined;
}

/**
 * Server-side browser sessions. The cookie carries 32 random bytes; the table keeps only their SHA-256, so
 * reading the database does not let anyone impersonate a signed-in user.
 */
@Injectable()
export class SessionsService {
  constructor(private readonly db: Database) {}

  /**
   * Starts a session inside the caller's transaction (the sign-in's) and returns the cookie value. A SAML sign-in
   * passes the NameID and SessionIndex it was made with, which single logout names.
   */
  async createWithin(m: EntityManager, userId: string, idpId: string | null, subject?: LogoutSubject): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    if (sweepDue('sessions')) await m.createQueryBuilder().delete().from(SessionEntity).where('expires_at < :now', { now: now.toISOString() }).execute();
    await m.insert(SessionEntity, {
      id: digest(token),
      userId,
      idpId,
      created: now.toISOString(),
      expiresAt: new Date(now.getTime() + SESSION_TTL_MS).toISOString(),
      nameId: subject?.nameId ?? null,
      nameIdFormat: subject?.nameIdFormat ?? null,
      nameQualifier: subject?.nameQualifier ?? null,
      spNameQualifier: subject?.spNameQualifier ?? null,
      sessionIndex: subject?.sessionIndex ?? null,
    });
    // The user's lastSuccessfulLoginDate (and the dormant-user policies' clock), with the sign-in or not at all.
    await recordSignIn(m, userId, idpId, now.toISOString());
    return token;
  }

  /**
   * The live session a cookie value belongs to, if its user still exists and is active. One query (it runs on every
   * profile request): the join reads the user's state as it is now, whichever instance changed it, or a direct SQL
   * change. A lock or a deactivation through the API also deletes the sessions (endAllOfWithin).
   */
  async find(token: string | undefined): Promise<SessionEntity | null> {
    if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    return this.db.read((m) =>
      m
        .createQueryBuilder(SessionEntity, 's')
        .innerJoin('users', 'u', 'u.id = s.user_id')
        .where('s.id = :id AND s.expires_at > :now AND u.active = :active', { id: digest(token), now: nowIso(), active: true })
        .getOne(),
    );
  }

  /** Ends every session of a user, in the caller's transaction (the user's deletion, deactivation or lock). */
  async endAllOfWithin(m: EntityManager, userId: string): Promise<void> {
    await m.createQueryBuilder().delete().from(SessionEntity).where('user_id = :userId', { userId }).execute();
  }

  /**
   * Ends the session a cookie value belongs to (nothing happens for an unknown one), and returns what it was, so
   * that a single logout can name it to its IdP.
   */
  async end(token: string | undefined): Promise<SessionEntity | null> {
    if (!token) return null;
    return this.db.transaction(async (m) => {
      const row = await m.findOneBy(SessionEntity, { id: digest(token) });
      if (row) await m.delete(SessionEntity, { id: row.id });
      return row;
    });
  }

  /**
   * Ends every session of an IdP that a LogoutRequest designates (SAML Profiles §4.4.4.1): those of its NameID (value,
   * and Format and qualifiers when the request names them), restricted to the given SessionIndexes when there are
   * any. Returns how many ended.
   */
  async endDesignated(idpId: string, subject: LogoutSubject, sessionIndexes: string[]): Promise<number> {
    return this.db.transaction(async (m) => {
      const q = m.createQueryBuilder().delete().from(SessionEntity).where('idp_id = :idpId AND name_id = :nameId', { idpId, nameId: subject.nameId });
      if (subject.nameIdFormat) q.andWhere('(name_id_format IS NULL OR name_id_format = :format)', { format: subject.nameIdFormat });
      if (subject.nameQualifier) q.andWhere('(name_qualifier IS NULL OR name_qualifier = :nq)', { nq: subject.nameQualifier });
      if (subject.spNameQualifier) q.andWhere('(sp_name_qualifier IS NULL OR sp_name_qualifier = :spnq)', { spnq: subject.spNameQualifier });
      if (sessionIndexes.length) q.andWhere('session_index IN (:...indexes)', { indexes: sessionIndexes });
      return (await q.execute()).affected ?? 0;
    });
  }

  /**
   * The sign-out form's CSRF token for a cookie value: an HMAC keyed by the cookie's secret, so only a page that
   * was given it by us (the cookie is HttpOnly) can post it, and the sessions table (which keeps a SHA-256 of the
   * cookie, not the cookie) does not yield it.
   */
  signOutToken(token: string): string {
    return createHmac('sha256', token).update('idd sign-out form').digest('base64url');
  }

  /** Whether `candidate` is the sign-out token of this cookie value (constant time). */
  isSignOutToken(token: string | undefined, candidate: unknown): boolean {
    if (!token || typeof candidate !== 'string') return false;
    const expected = Buffer.from(this.signOutToken(token));
    const given = Buffer.from(candidate);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
