import { AsyncLocalStorage } from 'node:async_hooks';
import { applyDecorators, CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata, UseInterceptors } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { EntityManager } from 'typeorm';
import type { Doc } from './resource-input';

/** The header Oracle's SDKs send on every call: an idempotency key, valid for 24 hours. */
export const RETRY_TOKEN_HEADER = 'opc-retry-token';

/** Route metadata: a POST that creates one resource through the pipeline, whose answer can be kept for a retry. */
export const IDEMPOTENT_CREATE = 'scim:idempotent-create';

/** DI token of what makes creates idempotent (libs/idempotency provides it; this library sits below it). */
export const CREATE_INTERCEPTOR = Symbol('idempotent create interceptor');

/**
 * Bound to create routes only, it hands them to the CREATE_INTERCEPTOR provider wherever the application has one.
 * Not a global interceptor: any global interceptor puts every request of the API (reads included) through Nest's
 * rxjs pipeline, which bench:scim measured at about 30 µs per request, a tenth of a userName lookup.
 */
@Injectable()
export class CreateInterception implements NestInterceptor {
  private delegate?: NestInterceptor | null;

  constructor(private readonly modules: ModuleRef) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.delegate === undefined) {
      try {
        this.delegate = this.modules.get<NestInterceptor>(CREATE_INTERCEPTOR, { strict: false });
      } catch {
        this.delegate = null; // an application without idempotent creates
      }
    }
    return this.delegate ? (this.delegate.intercept(ctx, next) as Observable<unknown>) : next.handle();
  }
}

/** Marks a create route (ScimApi.create does): a retry under the same `opc-retry-token` gets the first answer. */
export const IdempotentCreate = () => applyDecorators(SetMetadata(IDEMPOTENT_CREATE, true), UseInterceptors(CreateInterception));

/** A created resource's answer, as the pipeline computed it in the creating transaction. */
export interface CreatedAnswer {
  body: Doc;
  version: number;
  location: string;
}

/** Work that must commit or roll back with a resource's creation. */
export type CreationHook = (m: EntityManager, answer: CreatedAnswer) => Promise<void>;

const hooks = new AsyncLocalStorage<CreationHook>();

/**
 * Runs `fn` (a request's handler) so that the resource it creates calls `hook` inside the creating transaction.
 * The retry-token store keeps a create's answer this way: kept if and only if the create commits, so a committed
 * create is never replayed as "not done" and a rolled-back one never as done.
 */
export function withCreationHook<T>(hook: CreationHook, fn: () => T): T {
  return hooks.run(hook, fn);
}

/** Called by the pipeline in the transaction that creates a resource, once its answer is computed. */
export async function creationHook(m: EntityManager, answer: CreatedAnswer): Promise<void> {
  await hooks.getStore()?.(m, answer);
}
