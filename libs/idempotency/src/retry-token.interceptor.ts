import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { catchError, from, mergeMap, Observable, of, throwError } from 'rxjs';
import type { AuthenticatedRequest } from '@app/auth';
import { CreationHook, etagFor, IDEMPOTENT_CREATE, RETRY_TOKEN_HEADER, withCreationHook } from '@app/scim';
import { Claim, KeptAnswer, parseRetryToken, principalScope, requestDigest, RetryTokens } from './retry-tokens';

/**
 * Idempotent creates (IDCS `opc-retry-token`): on every route marked as a create (ScimApi.create), a request with a
 * token either runs, its answer kept with the resource it creates, or gets the answer of the first request that
 * brought the token. It runs after the guard, so the token is scoped to an authenticated principal, and only a
 * caller allowed to create can use one. Elsewhere the header is ignored: Oracle's SDKs send one on every call,
 * reads and updates included, and those are idempotent already (PUT, DELETE) or read only.
 */
@Injectable()
export class RetryTokenInterceptor implements NestInterceptor {
  private readonly logger = new Logger(RetryTokenInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: RetryTokens,
  ) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (ctx.getType() !== 'http' || !this.reflector.get<boolean>(IDEMPOTENT_CREATE, ctx.getHandler())) return next.handle();
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const token = parseRetryToken(req.headers[RETRY_TOKEN_HEADER]);
    if (token === undefined || !req.principal) return next.handle();
    const digest = requestDigest(req.method, req.originalUrl, req.body);
    return from(this.tokens.begin(principalScope(req.principal), token, digest)).pipe(
      mergeMap((begun) => ('answer' in begun ? of(replay(res, begun.answer)) : this.create(begun.claim, res, next))),
    );
  }

  /** Runs the create with its answer kept in the creating transaction; lets the token go if it fails. */
  private create(claim: Claim, res: Response, next: CallHandler): Observable<unknown> {
    // Status and Content-Type are the route's, set before interceptors run; Location and ETag come with the answer.
    const keep: CreationHook = (m, answer) =>
      this.tokens.record(m, claim, {
        status: res.statusCode,
        headers: { 'Content-Type': String(res.getHeader('content-type') ?? 'application/scim+json'), Location: answer.location, ETag: etagFor(answer.version) },
        body: answer.body,
      });
    return withCreationHook(keep, () => next.handle()).pipe(
      mergeMap(async (body) => {
        if (!claim.recorded) {
          // A route marked as a create that created nothing through the pipeline: nothing to replay, and a retry must run.
          this.logger.warn(`${RETRY_TOKEN_HEADER} on a create that kept no answer; the token was let go`);
          await this.tokens.release(claim);
        }
        return body;
      }),
      catchError((e: unknown) => from(this.tokens.release(claim)).pipe(mergeMap(() => throwError(() => e)))),
    );
  }
}

/** The first request's answer, as it was sent: status, headers, body. */
function replay(res: Response, answer: KeptAnswer): unknown {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  return answer.body;
}
