import { Logger } from '@nestjs/common';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { errorAudienceOf, ScimError } from './errors';
import { fromBodyParser, SCIM_CONTENT_TYPE } from './scim-exception.filter';

const ACCEPTED = ['application/scim+json', 'application/json'];
export const MAX_BODY_BYTES = 1024 * 1024;

/** Far deeper than any SCIM message; refused before recursive code (validation, cloning, error messages) meets it. */
export const MAX_BODY_DEPTH = 64;

/**
 * What no handler can use: nesting past MAX_BODY_DEPTH, and U+0000 in a string or key (PostgreSQL text cannot
 * hold it). Checked once here for every body, SCIM resources and the plain DTOs alike. Iterative, so that the
 * check itself cannot overflow the stack.
 */
function unusableBody(body: unknown): ScimError | undefined {
  const pending: [unknown, number][] = [[body, 0]];
  while (pending.length) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return ScimError.badRequest('invalidValue', 'The request body holds a NUL character (\\u0000), which no value can hold');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) return ScimError.badRequest('invalidSyntax', `The request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
    for (const [key, item] of Object.entries(value)) pending.push([key, depth], [item, depth + 1]);
  }
  return undefined;
}

function send(req: Request, res: Response, e: ScimError): void {
  // Refused before its body was read (too large, wrong type): the connection is closed after the answer, and the
  // client is told so. Otherwise it would reuse the connection while the kernel resets it for the unread bytes,
  // and its next request would fail with ECONNRESET.
  if (!req.complete) res.setHeader('Connection', 'close');
  res.status(e.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(e.toJSON(errorAudienceOf(req.headers))));
}

/**
 * JSON body parsing for the SCIM API: 1 MiB cap (413), JSON media types only (415), parse errors as
 * SCIM invalidSyntax. Done here rather than by Nest's parser so these errors also get the SCIM envelope.
 * URLs holding a NUL character are refused here too, before any of it reaches a query.
 *
 * `authenticate`, when given, runs before a body is read: a request that fails it (a ScimError, 401) is answered
 * with its body unread and the connection closed, so an anonymous sender costs no parsing. Role checks stay in
 * the guard, which knows the route.
 */
export function scimJsonBody(options: { authenticate?: (req: Request, res: Response) => Promise<unknown> } = {}): RequestHandler {
  const parse = express.json({ limit: MAX_BODY_BYTES, type: ACCEPTED, strict: false });
  return async (req: Request, res: Response, next: NextFunction) => {
    // No id or stored value can contain U+0000 (PostgreSQL text cannot hold it), so a %00 can only be a bad request.
    if (req.originalUrl.includes('%00')) {
      return send(req, res, ScimError.badRequest('invalidValue', 'The URL contains a NUL character (%00), which no identifier or value can hold'));
    }
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody) {
      if (options.authenticate) {
        try {
          await options.authenticate(req, res);
        } catch (e) {
          if (e instanceof ScimError) return send(req, res, e);
          // Express's own error page would answer HTML; the API answers SCIM, and the cause goes to the log.
          new Logger('ScimError').error(`${req.method} ${req.originalUrl}: authentication failed unexpectedly: ${(e as Error)?.stack ?? String(e)}`);
          return send(req, res, new ScimError(500, 'An unexpected error occurred; it has been logged'));
        }
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (!ACCEPTED.includes(type)) {
        return send(req, res, new ScimError(415, `Content-Type must be application/scim+json or application/json (got "${type || 'none'}")`));
      }
    }
    // Only writes and searches carry a body; GET and DELETE skip the parser altogether.
    if (!['POST', 'PUT', 'PATCH'].includes(req.method)) return next();
    parse(req, res, (err?: unknown) => {
      if (!err) {
        const unusable = unusableBody(req.body);
        return unusable ? send(req, res, unusable) : next();
      }
      send(req, res, fromBodyParser(err as never) ?? ScimError.badRequest('invalidSyntax', 'The request body could not be read'));
    });
  };
}
