import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataSource } from './data-source';
import { Database } from './database';
import { claimJobLease, LeasedJob } from './job-leases';

describe(LeasedJob.name, () => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lease-'));
    // Migrated: job_leases exists (migration 1732910000000).
    db = new Database(await openDataSource({ type: 'sqlite', path: join(dir, 'identity.sqlite') }, []));
  });
  afterEach(async () => {
    await db.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const at = (minutes: number) => new Date(Date.UTC(2026, 10, 26, 12, minutes));

  describe('runIfLeased', () => {
    it('should run on one of several instances per interval, and again once the interval is over', async () => {
      const runs: string[] = [];
      const instances = ['a', 'b', 'c'].map((name) => new LeasedJob(db, 'job', 60 * 60_000, async () => runs.push(name)));
      await Promise.all(instances.map((j) => j.runIfLeased(at(0))));
      expect(runs).toHaveLength(1);
      await Promise.all(instances.map((j) => j.runIfLeased(at(59))));
      expect(runs).toHaveLength(1);
      await Promise.all(instances.map((j) => j.runIfLeased(at(60))));
      expect(runs).toHaveLength(2);
    });

    it('should keep the leases of different jobs apart', async () => {
      expect(await claimJobLease(db, 'one', 'h', at(0), 60_000)).toBe(true);
      expect(await claimJobLease(db, 'two', 'h', at(0), 60_000)).toBe(true);
      expect(await claimJobLease(db, 'one', 'h', at(0), 60_000)).toBe(false);
    });
  });
});
