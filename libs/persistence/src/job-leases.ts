import { Logger } from '@nestjs/common';
import { Database } from './database';
import { newId } from './ids';

/**
 * A job that runs on a schedule inside the server, on at most one instance per interval however many instances
 * share the database: a lease row per job in `job_leases` (migration 1732910000000), not a timer per process.
 * Every instance looks every few minutes (LOOK_EVERY_MS, or the interval when shorter: instances restarted more often
 * than the interval still run it); the one whose conditional UPDATE moves `lease_until` from the past to
 * now + interval runs the job, the others see the lease held and do nothing. The lease is not given back at the end
 * of a run: an instance that dies mid-run leaves the job to the next interval, never to two runners at once. (The
 * per-IdP metadata refresh lease, `idp_metadata_refresh`, is the same rule with a row per IdP.)
 */
/** How often an instance looks whether a job's lease is free, at most. */
export const LOOK_EVERY_MS = 5 * 60_000;

export class LeasedJob<T> {
  private readonly logger: Logger;
  /** This process's name in `job_leases.holder`. */
  readonly holder = newId();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    private readonly db: Database,
    /** The row's key; also the logger's context. */
    readonly name: string,
    private readonly intervalMs: number,
    private readonly work: (now: Date) => Promise<T>,
  ) {
    this.logger = new Logger(name);
  }

  /** Starts looking every interval (not when the interval is 0: this instance then never runs it by itself). */
  start(): void {
    if (this.intervalMs <= 0 || this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runIfLeased()
        .catch((e) => this.logger.error(`${this.name} failed: ${(e as Error).stack ?? e}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.start();
        });
    }, Math.min(this.intervalMs, LOOK_EVERY_MS));
    this.timer.unref();
  }

  /** Stops the timer and waits for a run under way: before the database closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  /**
   * Runs the job at `now` if this instance wins the lease for the interval starting then; undefined when another
   * instance holds it. The timer calls it; tests call it with a clock of their own.
   */
  async runIfLeased(now: Date = new Date()): Promise<T | undefined> {
    if (!(await claimJobLease(this.db, this.name, this.holder, now, this.intervalMs > 0 ? this.intervalMs : 60_000))) return undefined;
    return this.work(now);
  }
}

/**
 * Whether `holder` now holds the lease of `job` until now + durationMs: true for exactly one of any number of
 * concurrent callers (on PostgreSQL the UPDATE of one row serialises them; on SQLite transactions do).
 */
export async function claimJobLease(db: Database, job: string, holder: string, now: Date, durationMs: number): Promise<boolean> {
  return db.transaction(async (m) => {
    const run = async (sql: string, params: Record<string, unknown>): Promise<number> => {
      const [text, values] = db.sql(m).escape(sql, params);
      const r = await m.queryRunner!.query(text, values, true);
      return r.affected ?? 0;
    };
    await run('INSERT INTO job_leases (job, lease_until, holder) VALUES (:job, :due, :holder) ON CONFLICT (job) DO NOTHING', { job, due: new Date(0).toISOString(), holder });
    const claimed = await run('UPDATE job_leases SET lease_until = :until, holder = :holder WHERE job = :job AND lease_until <= :now', {
      job,
      holder,
      until: new Date(now.getTime() + durationMs).toISOString(),
      now: now.toISOString(),
    });
    return claimed === 1;
  });
}
