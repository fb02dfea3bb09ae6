import { Logger } from '@nestjs/common';
import type { Response } from 'express';
import { SESSION_COOKIE, SESSION_TTL_MS } from './sessions.service';
import { sendHtml, signInFailedPage } from './sso-pages';
import { SsoRateLimited } from './sso-limits';
import { SsoRejection } from './sso-rejection';

/** The correlation id the browser is shown (the request id, set on every response by the request edge). */
export const correlationIdOf = (res: Response): string => String(res.getHeader('opc-request-id') ?? '');

/**
 * The answer to a completed sign-in, whatever the protocol: the session cookie and a bare 303 to the RelayState or
 * /myprofile. A bare 303 because Express's redirect() would negotiate and render a body nobody reads; the URL
 * serialiser percent-encodes what a header cannot carry (the RelayState is already a safe path).
 */
export function sendSignedIn(res: Response, sessionToken: string, relayState: string | undefined, secureCookie: boolean): void {
  res.cookie(SESSION_COOKIE, sessionToken, { httpOnly: true, sameSite: 'lax', secure: secureCookie, path: '/', maxAge: SESSION_TTL_MS });
  const target = new URL(relayState ?? '/myprofile', 'http://relay.invalid');
  res.status(303).set({ Location: target.pathname + target.search + target.hash, 'Cache-Control': 'no-store', 'Content-Length': '0' }).end();
}

/**
 * The answer to a refused sign-in, whatever the protocol: the generic page with the correlation id, and nothing
 * more to the browser; the reason goes to the log (the audit event was written by whoever refused).
 */
export function sendSignInFailure(res: Response, e: unknown, logger: Logger): void {
  const correlationId = correlationIdOf(res);
  if (e instanceof SsoRateLimited) {
    // Debug only: under a flood, a line per refused request would move the flood into the logs.
    logger.debug(`SSO refused: reason=${e.reason} correlation=${correlationId} detail=${e.detail}`);
    res.setHeader('Retry-After', String(e.retryAfterSeconds));
    sendHtml(res, e.status, signInFailedPage(correlationId));
    return;
  }
  if (e instanceof SsoRejection) {
    logger.warn(`SSO refused: reason=${e.reason} idp=${e.idp?.id ?? '-'} correlation=${correlationId} detail=${e.detail}`);
    sendHtml(res, e.status, signInFailedPage(correlationId));
    return;
  }
  logger.error(`SSO failed unexpectedly: correlation=${correlationId} ${(e as Error)?.stack ?? e}`);
  sendHtml(res, 500, signInFailedPage(correlationId));
}
