import { AsyncLocalStorage } from 'node:async_hooks';
import { SetMetadata } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Doc } from './resource-input';

/** The header Oracle's SDKs send on every call: an idempotency key, valid for 24 hours. */
export const RETRY_TOKEN_HEADER = 'opc-retry-token';

/** Route metadata: a POST that creates one resource through the pipeline, whose answer can be kept for a retry. */
export const IDEMPOTENT_CREATE = 'scim:idempotent-create';

/** Marks a create route (ScimApi.create does): a retry under the same `opc-retry-token` gets the first answer. */
export const IdempotentCreate = () => SetMetadata(IDEMPOTENT_CREATE, true);

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
