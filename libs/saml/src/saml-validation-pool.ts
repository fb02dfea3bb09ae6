import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { CacheProvider } from '@node-saml/node-saml';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { APP_CONFIG, AppConfig } from '@app/config';
import type { AcceptedAssertion } from './response-checks';
import { AssertionExpectations, ResponseValidationOptions, verifyResponse, withKnown } from './response-validation';
import type { FromWorker, ToWorker } from './response-validation.worker';
import { SsoRejection } from './sso-rejection';

interface Task {
  cache: CacheProvider;
  resolve: (assertion: AcceptedAssertion) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  tasks: Map<number, Task>;
}

/**
 * Verifies SAML responses on worker threads (SAML_VALIDATION_THREADS, one per core by default). Checking an
 * XML signature costs milliseconds of CPU; on the main thread a burst of sign-ins would queue every API request
 * behind it and use one core only. Each task goes to the thread with the fewest in flight; the threads ask the
 * main thread for request-id lookups, which go to the database. A thread that dies fails its tasks and is
 * replaced. With 0 threads, responses are verified on the main thread by the same function.
 */
@Injectable()
export class SamlValidationPool implements OnApplicationShutdown {
  private readonly logger = new Logger('SamlValidationPool');
  private readonly threads: (Thread | undefined)[];
  private nextTask = 1;
  private closed = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.threads = new Array<Thread | undefined>(config.samlValidationThreads).fill(undefined);
  }

  /**
   * The verified assertion (verifyResponse), or a rejection: node-saml's Error, or an SsoRejection from our checks
   * of the verified assertion. `known` holds request ids (→ their creation time) already read from the store, so
   * that the thread need not ask for them again.
   */
  validate(options: ResponseValidationOptions, expected: AssertionExpectations, samlResponse: string, cache: CacheProvider, known: Record<string, string> = {}): Promise<AcceptedAssertion> {
    if (this.threads.length === 0) return verifyResponse(options, expected, samlResponse, withKnown(cache, known));
    if (this.closed) return Promise.reject(new Error('the SAML validation pool is shut down'));
    const thread = this.leastBusy();
    const task = this.nextTask++;
    return new Promise<AcceptedAssertion>((resolve, reject) => {
      thread.tasks.set(task, { cache, resolve, reject });
      thread.worker.postMessage({ kind: 'validate', task, options, expected, samlResponse, known } satisfies ToWorker);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
    this.threads.fill(undefined);
  }

  /**
   * An idle thread if there is one; else a new thread while there is room (threads start only when the load
   * needs them, each with its own heap); else the thread with the fewest tasks in flight.
   */
  private leastBusy(): Thread {
    let best: Thread | undefined;
    let free = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) {
        if (free < 0) free = i;
      } else if (!best || t.tasks.size < best.tasks.size) {
        best = t;
      }
    }
    if (best && best.tasks.size === 0) return best;
    if (free >= 0) return (this.threads[free] = this.start(free));
    return best!;
  }

  /** How many threads are running (for tests and diagnostics). */
  get running(): number {
    return this.threads.filter(Boolean).length;
  }

  /** Responses handed to the threads and not yet answered (the metrics' queue depth). */
  get inFlight(): number {
    return this.threads.reduce((n, t) => n + (t?.tasks.size ?? 0), 0);
  }

  private start(slot: number): Thread {
    const worker = spawnWorker();
    const thread: Thread = { worker, tasks: new Map() };
    worker.unref(); // an idle pool never keeps the process alive
    worker.on('message', (msg: FromWorker) => this.onMessage(thread, msg));
    const fail = (why: string) => {
      if (this.threads[slot] === thread) this.threads[slot] = undefined;
      for (const t of thread.tasks.values()) t.reject(new Error(`the validation thread stopped: ${why}`));
      thread.tasks.clear();
    };
    worker.on('error', (e) => {
      this.logger.error(`A SAML validation thread failed: ${e.stack ?? e}`);
      fail(e.message);
    });
    worker.on('exit', (code) => fail(`exit code ${code}`));
    return thread;
  }

  private onMessage(thread: Thread, msg: FromWorker): void {
    const task = thread.tasks.get(msg.task);
    if (!task) return;
    if (msg.kind === 'cacheGet') {
      task.cache.getAsync(msg.key).then(
        (value) => thread.worker.postMessage({ kind: 'cacheResult', call: msg.call, value } satisfies ToWorker),
        (e: unknown) => thread.worker.postMessage({ kind: 'cacheResult', call: msg.call, value: null, error: String((e as Error)?.message ?? e) } satisfies ToWorker),
      );
      return;
    }
    thread.tasks.delete(msg.task);
    if (msg.kind === 'done') task.resolve(msg.assertion);
    else task.reject(msg.reason !== undefined ? new SsoRejection(msg.reason, msg.detail ?? msg.message) : new Error(msg.message));
  }
}

/** The built worker (dist) or, when running from the TypeScript sources (tests, ts-node), the .ts file via ts-node. */
function spawnWorker(): Worker {
  const js = join(__dirname, 'response-validation.worker.js');
  if (existsSync(js)) return new Worker(js);
  const ts = join(__dirname, 'response-validation.worker.ts');
  const bootstrap = `require('ts-node').register({ swc: true, compilerOptions: { module: 'commonjs' } }); require(${JSON.stringify(ts)});`;
  return new Worker(bootstrap, { eval: true });
}
