import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ScimError } from './errors';
import { fromBodyParser, SCIM_CONTENT_TYPE } from './scim-exception.filter';

const ACCEPTED = ['application/scim+json', 'application/json'];
export const MAX_BODY_BYTES = 1024 * 1024;

function send(res: Response, e: ScimError): void {
  res.status(e.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(e.toJSON()));
}

/**
 * JSON body parsing for the SCIM API: 1 MiB cap (413), JSON media types only (415), parse errors as
 * SCIM invalidSyntax. Done here rather than by Nest's parser so these errors also get the SCIM envelope.
 */
export function scimJsonBody(): RequestHandler {
  const parse = express.json({ limit: MAX_BODY_BYTES, type: ACCEPTED, strict: false });
  return (req: Request, res: Response, next: NextFunction) => {
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody) {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (!ACCEPTED.includes(type)) {
        return send(res, new ScimError(415, `Content-Type must be application/scim+json or application/json (got "${type || 'none'}")`));
      }
    }
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      send(res, fromBodyParser(err as never) ?? ScimError.badRequest('invalidSyntax', 'The request body could not be read'));
    });
  };
}
