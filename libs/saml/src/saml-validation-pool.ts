import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { APP_CONFIG, AppConfig } from '@app/config';
import { fromThreadError, ResponseJudge, toThreadError, validateResponse, ValidatedResponse } from './response-validation';
import type { FromWorker, ToWorker } from './response-validation.worker';

interface Task {
  judge: ResponseJudge;
  resolve: (validated: ValidatedResponse) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  tasks: Map<number, Task>;
}

/**
 * Validates SAML responses on worker threads (SAML_VALIDATION_THREADS, one per core by default): all the XML work
 * of a sign-in (decoding, parsing, structural checks, decryption, signatures, reading the assertion) happens there,
 * once; the main thread only answers what needs the database (validateResponse's `judge`) and receives the accepted
 * assertion. XML costs milliseconds of CPU; on the main thread a burst of sign-ins would queue every API request
 * behind it and use one core only. Each task goes to the thread with the fewest in flight. A thread that dies
 * fails its tasks and is replaced. With 0 threads, responses are validated on the main thread by the same function.
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
   * The accepted response (validateResponse), or a rejection: node-saml's Error, or an SsoRejection from our checks
   * or from `judge`, which runs here on the main thread when the thread asks.
   */
  validate(samlResponse: string, judge: ResponseJudge): Promise<ValidatedResponse> {
    if (this.threads.length === 0) return validateResponse(samlResponse, judge);
    if (this.closed) return Promise.reject(new Error('the SAML validation pool is shut down'));
    const thread = this.leastBusy();
    const task = this.nextTask++;
    return new Promise<ValidatedResponse>((resolve, reject) => {
      thread.tasks.set(task, { judge, resolve, reject });
      thread.worker.postMessage({ kind: 'validate', task, samlResponse } satisfies ToWorker);
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
    const answer = (message: ToWorker) => {
      // The thread may have died meanwhile (its tasks then failed): nothing to answer.
      if (thread.tasks.has(msg.task)) thread.worker.postMessage(message);
    };
    if (msg.kind === 'judge') {
      task.judge.judge(msg.claim).then(
        (judgement) => answer({ kind: 'judgement', call: msg.call, judgement }),
        (e: unknown) => answer({ kind: 'judgement', call: msg.call, error: toThreadError(e) }),
      );
      return;
    }
    if (msg.kind === 'cacheGet') {
      task.judge
        .cache()
        .getAsync(msg.key)
        .then(
          (value) => answer({ kind: 'cacheResult', call: msg.call, value }),
          (e: unknown) => answer({ kind: 'cacheResult', call: msg.call, value: null, error: String((e as Error)?.message ?? e) }),
        );
      return;
    }
    thread.tasks.delete(msg.task);
    if (msg.kind === 'done') task.resolve(msg.validated);
    else task.reject(fromThreadError(msg.error));
  }
}

/**
 * A validation thread's heap. Its garbage is short-lived (one response's DOM trees and strings), so a small young
 * generation collects it as well as V8's default would, at a fraction of the resident memory: each thread has a
 * heap of its own. The old generation is capped well above what the largest accepted response needs; a thread
 * that exceeds it dies and is replaced (start), failing only its own tasks.
 */
export const VALIDATION_THREAD_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 192 };

/** The built worker (dist) or, when running from the TypeScript sources (tests, ts-node), the .ts file via ts-node. */
function spawnWorker(): Worker {
  const js = join(__dirname, 'response-validation.worker.js');
  if (existsSync(js)) return new Worker(js, { resourceLimits: VALIDATION_THREAD_LIMITS });
  const ts = join(__dirname, 'response-validation.worker.ts');
  const bootstrap = `require('ts-node').register({ swc: true, compilerOptions: { module: 'commonjs' } }); require(${JSON.stringify(ts)});`;
  return new Worker(bootstrap, { eval: true, resourceLimits: VALIDATION_THREAD_LIMITS });
}
