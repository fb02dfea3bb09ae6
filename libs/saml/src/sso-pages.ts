import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { SsoReason } from './sso-rejection';

/** Largest SAML form post we read: real responses with many attributes and a certificate stay far below. */
export const SAML_FORM_LIMIT = '256kb';

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A minimal HTML page; `body` must already be escaped. */
export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head><body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`;
}

/** What the browser learns of a refused sign-in: that it failed, and the id to quote to an administrator. */
export function signInFailedPage(correlationId: string): string {
  return htmlPage('Sign-in failed', `<p>Sign-in failed. If this keeps happening, give your administrator this reference: <code id="correlation-id">${escapeHtml(correlationId)}</code></p>`);
}

/**
 * The HTTP-POST binding's page: a form that posts `fields` to `action` and submits itself. The CSP allows only
 * this page's own script (by nonce) and a form post to the IdP's origin; without JavaScript, a button does it.
 */
export function autoPostPage(action: string, fields: Record<string, string>): { html: string; csp: string } {
  const nonce = randomBytes(16).toString('base64');
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const html = htmlPage(
    'Signing in…',
    `<form id="saml-post" method="post" action="${escapeHtml(action)}">${inputs}<noscript><p>Press the button to continue to your identity provider.</p></noscript><button type="submit">Continue</button></form>\n` +
      `<script nonce="${nonce}">document.getElementById('saml-post').submit();</script>`,
  );
  const csp = `default-src 'none'; script-src 'nonce-${nonce}'; form-action ${new URL(action).origin}; frame-ancestors 'none'`;
  return { html, csp };
}

/** Sends an HTML page that no cache or frame may keep. */
export function sendHtml(res: Response, status: number, html: string, csp = "default-src 'none'; frame-ancestors 'none'"): void {
  res.status(status).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'Content-Security-Policy': csp }).send(html);
}

/**
 * Form parsing for the SAML endpoints (application/x-www-form-urlencoded only) with a size cap; a body that is
 * too large or does not parse gets the generic failure page rather than Express's error page.
 */
export function samlFormBody(): RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: SAML_FORM_LIMIT, parameterLimit: 10 });
  const logger = new Logger('SamlLogin');
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const correlationId = String(res.getHeader('opc-request-id') ?? '');
      const tooLarge = (err as { type?: string }).type === 'entity.too.large';
      logger.warn(`SSO sign-in refused: reason=${tooLarge ? SsoReason.ResponseTooLarge : SsoReason.ResponseMalformed} correlation=${correlationId} detail=${(err as Error).message}`);
      sendHtml(res, tooLarge ? 413 : 400, signInFailedPage(correlationId));
    });
}
