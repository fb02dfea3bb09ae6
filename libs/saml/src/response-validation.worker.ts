/**
 * A worker thread of SamlValidationPool: runs validateResponse for the main thread. What only the main thread
 * knows is asked of it by message and answered by message: the judgement of the response's claim (the IdP's
 * settings and the verdict on its request, `judge`), and any request-id lookup node-saml makes beyond the one
 * answered with the judgement (`cacheGet`).
 * Keep this file's imports to node-saml and this library's pure modules (and JIT's reading of an assertion, through
 * libs/jit/src/core.ts by relative path): it is loaded on its own, outside Nest and without the @app paths.
 */
import { MessagePort, parentPort } from 'node:worker_threads';
import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import { fromThreadError, ResponseClaim, ResponseJudge, ResponseJudgement, ThreadError, toThreadError, validateResponse, ValidatedResponse } from './response-validation';

export type ToWorker =
  | { kind: 'validate'; task: number; samlResponse: string }
  | { kind: 'judgement'; call: number; judgement?: ResponseJudgement; error?: ThreadError }
  | { kind: 'cacheResult'; call: number; value: string | null; error?: string };

export type FromWorker =
  | { kind: 'judge'; task: number; call: number; claim: ResponseClaim }
  | { kind: 'cacheGet'; task: number; call: number; key: string }
  | { kind: 'done'; task: number; validated: ValidatedResponse }
  | { kind: 'failed'; task: number; error: ThreadError };

const port = ((): MessagePort => {
  if (!parentPort) throw new Error('response-validation.worker must run as a worker thread');
  return parentPort;
})();

let nextCall = 1;
const calls = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();

/** Asks the main thread and waits for its answer. */
function ask<T>(message: FromWorker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    calls.set((message as { call: number }).call, { resolve: resolve as (v: never) => void, reject });
    port.postMessage(message);
  });
}

/** The main thread's side of one task. */
function judgeFor(task: number): ResponseJudge {
  const cache: CacheProvider = {
    getAsync: (key: string) => ask<string | null>({ kind: 'cacheGet', task, call: nextCall++, key }),
    // Saving happens when the AuthnRequest is made (main thread); removal is the ACS's single-use claim.
    saveAsync: async (_key: string, value: string): Promise<CacheItem | null> => ({ value, createdAt: Date.now() }),
    removeAsync: async (key: string | null) => key,
  };
  return { judge: (claim) => ask<ResponseJudgement>({ kind: 'judge', task, call: nextCall++, claim }), cache: () => cache };
}

port.on('message', (msg: ToWorker) => {
  if (msg.kind === 'validate') {
    validateResponse(msg.samlResponse, judgeFor(msg.task)).then(
      (validated) => port.postMessage({ kind: 'done', task: msg.task, validated } satisfies FromWorker),
      (e: unknown) => port.postMessage({ kind: 'failed', task: msg.task, error: toThreadError(e) } satisfies FromWorker),
    );
    return;
  }
  const pending = calls.get(msg.call);
  calls.delete(msg.call);
  if (!pending) return;
  if (msg.error) pending.reject(typeof msg.error === 'string' ? new Error(msg.error) : fromThreadError(msg.error));
  else pending.resolve((msg.kind === 'judgement' ? msg.judgement : msg.value) as never);
});
