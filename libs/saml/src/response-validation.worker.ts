/**
 * A worker thread of SamlValidationPool: runs verifyResponse for the main thread. Request ids the main thread
 * already looked up come with the task; any other lookup of the request-id store (in the database) is asked of
 * the main thread (cacheGet) and answered by message.
 * Keep this file's imports to node-saml and this library's pure modules (and JIT's reading of an assertion, through
 * libs/jit/src/core.ts by relative path): it is loaded on its own, outside Nest and without the @app paths.
 */
import { MessagePort, parentPort } from 'node:worker_threads';
import type { CacheItem, CacheProvider } from '@node-saml/node-saml';
import type { AcceptedAssertion } from './response-checks';
import { AssertionExpectations, ResponseValidationOptions, verifyResponse, withKnown } from './response-validation';
import { SsoRejection } from './sso-rejection';

export type ToWorker =
  | { kind: 'validate'; task: number; options: ResponseValidationOptions; expected: AssertionExpectations; samlResponse: string; known: Record<string, string> }
  | { kind: 'cacheResult'; call: number; value: string | null; error?: string };

export type FromWorker =
  | { kind: 'cacheGet'; task: number; call: number; key: string }
  | { kind: 'done'; task: number; assertion: AcceptedAssertion }
  | { kind: 'failed'; task: number; message: string; reason?: string; detail?: string };

const port = ((): MessagePort => {
  if (!parentPort) throw new Error('response-validation.worker must run as a worker thread');
  return parentPort;
})();

let nextCall = 1;
const calls = new Map<number, { resolve: (v: string | null) => void; reject: (e: Error) => void }>();

/** The request-id store of one task: lookups go to the main thread. */
function cacheFor(task: number): CacheProvider {
  return {
    getAsync: (key: string) =>
      new Promise<string | null>((resolve, reject) => {
        const call = nextCall++;
        calls.set(call, { resolve, reject });
        port.postMessage({ kind: 'cacheGet', task, call, key } satisfies FromWorker);
      }),
    // Saving happens when the AuthnRequest is made (main thread); removal is the ACS's single-use claim.
    saveAsync: async (_key: string, value: string): Promise<CacheItem | null> => ({ value, createdAt: Date.now() }),
    removeAsync: async (key: string | null) => key,
  };
}

port.on('message', (msg: ToWorker) => {
  if (msg.kind === 'cacheResult') {
    const pending = calls.get(msg.call);
    calls.delete(msg.call);
    if (msg.error) pending?.reject(new Error(msg.error));
    else pending?.resolve(msg.value);
    return;
  }
  verifyResponse(msg.options, msg.expected, msg.samlResponse, withKnown(cacheFor(msg.task), msg.known)).then(
    (assertion) => port.postMessage({ kind: 'done', task: msg.task, assertion } satisfies FromWorker),
    (e: unknown) =>
      port.postMessage({
        kind: 'failed',
        task: msg.task,
        message: String((e as Error)?.message ?? e),
        ...(e instanceof SsoRejection ? { reason: e.reason, detail: e.detail } : {}),
      } satisfies FromWorker),
  );
});
