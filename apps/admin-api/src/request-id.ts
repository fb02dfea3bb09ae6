import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';

export const OPC_REQUEST_ID = 'opc-request-id';

/** OCI's rule for client request ids: letters, digits, underscore and dash (at most 98 characters). */
const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,98}$/;

/**
 * Every OCI service answers with an `opc-request-id` header: the OCI SDKs send one with each request, expose
 * the answer as `response.opcRequestId` / `OciError.opcRequestId`, and users quote it when reporting a problem.
 * We echo the client's id when it is well-formed (so both sides log the same id) and make one up otherwise.
 */
export function assignRequestId(req: Request, res: Response): void {
  const sent = req.headers[OPC_REQUEST_ID];
  const id = typeof sent === 'string' && CLIENT_ID_PATTERN.test(sent) ? sent : randomUUID().replace(/-/g, '').toUpperCase();
  res.setHeader(OPC_REQUEST_ID, id);
}
