import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { errorAudienceOf, ScimError } from './errors';

export const SCIM_CONTENT_TYPE = 'application/scim+json';

/** Maps Nest and body-parser errors to status codes, so nothing but a real bug becomes a 500. */
function fromHttpException(e: HttpException): ScimError {
  const status = e.getStatus();
  const response = e.getResponse();
  const message =
    typeof response === 'object' && response && 'message' in response
      ? ([] as unknown[]).concat((response as { message: unknown }).message).join('; ')
      : e.message;
  if (status === 404) return new ScimError(404, 'No resource or endpoint exists at this URL');
  if (status === 400) return ScimError.badRequest('invalidValue', message);
  return new ScimError(status, message);
}

export function fromBodyParser(e: { type?: string; status?: number; message?: string }): ScimError | undefined {
  switch (e.type) {
    case 'entity.too.large':
      return new ScimError(413, 'The request body is larger than the 1 MiB (1048576 bytes) limit');
    case 'entity.parse.failed':
      return ScimError.badRequest('invalidSyntax', `The request body is not valid JSON: ${e.message ?? ''}`.trim());
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ScimError(415, 'Send the body as UTF-8 JSON (application/scim+json or application/json)');
    default:
      return undefined;
  }
}

/**
 * Every error under /admin/v1 leaves as a SCIM error envelope (RFC 7644 §3.12); Oracle's SDKs also get the
 * code/message they read (see ErrorAudience).
 */
@Catch()
export class ScimExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ScimError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    let error: ScimError;
    if (exception instanceof ScimError) error = exception;
    else if (exception instanceof HttpException) error = fromHttpException(exception);
    else {
      error = fromBodyParser(exception as never) ?? new ScimError(500, 'An unexpected error occurred; it has been logged');
      if (error.status === 500) this.logger.error(`${req.method} ${req.originalUrl}: ${(exception as Error)?.stack ?? String(exception)}`);
    }
    if (res.headersSent) return;
    res.status(error.status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(error.toJSON(errorAudienceOf(req.headers))));
  }
}
