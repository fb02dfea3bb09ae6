import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Largest token request we read. A client_credentials form is grant_type, client_id, client_secret and perhaps
 * scope: well under 1 KiB. The endpoint is anonymous, so anything bigger is work done for someone unknown.
 */
export const TOKEN_FORM_LIMIT_BYTES = 8 * 1024;

/**
 * Form parsing for the token endpoint, with its errors as RFC 6749 §5.2 bodies (Express's default handler would
 * answer an HTML page). A body refused before it was read closes the connection, as the SCIM parser does.
 */
export function tokenFormBody(): RequestHandler {
  const parse = express.urlencoded({ extended: false, limit: TOKEN_FORM_LIMIT_BYTES, parameterLimit: 20 });
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; status?: number };
      const tooLarge = e.type === 'entity.too.large';
      if (!req.complete) res.setHeader('Connection', 'close');
      res
        .status(tooLarge ? 413 : e.status && e.status >= 400 && e.status < 500 ? e.status : 400)
        .set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' })
        .json({ error: 'invalid_request', error_description: tooLarge ? `The request body is larger than ${TOKEN_FORM_LIMIT_BYTES} bytes` : 'The request body could not be read as a form' });
    });
}
