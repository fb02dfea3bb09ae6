import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataSource } from './data-source';
import { Database } from './database';

describe(Database.name, () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'db-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('onApplicationShutdown', () => {
    it('should let a transaction under way commit before it closes the connection', async () => {
      const db = new Database(await openDataSource({ type: 'sqlite', path: join(dir, 'identity.sqlite') }, []));
      await db.transaction((m) => m.query('CREATE TABLE t (v INTEGER)'));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = db.transaction(async (m) => {
        await m.query('INSERT INTO t (v) VALUES (1)');
        await gate;
        await m.query('INSERT INTO t (v) VALUES (2)');
      });
      const shutdown = db.onApplicationShutdown();
      // Still open while the transaction waits.
      await new Promise((r) => setImmediate(r));
      expect(db.dataSource.isInitialized).toBe(true);
      release();
      await tx;
      await shutdown;
      expect(db.dataSource.isInitialized).toBe(false);

      const reopened = await openDataSource({ type: 'sqlite', path: join(dir, 'identity.sqlite') }, []);
      expect(await reopened.query('SELECT v FROM t ORDER BY v')).toEqual([{ v: 1 }, { v: 2 }]);
      await reopened.destroy();
    });
  });

  describe('poolUsage', () => {
    it('should report the SQLite connection busy, and the callers queued behind the lock, while a transaction runs', async () => {
      const db = new Database(await openDataSource({ type: 'sqlite', path: join(dir, 'identity.sqlite') }, []));
      expect(db.poolUsage()).toEqual({ total: 1, idle: 1, waiting: 0 });
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = db.transaction(() => gate);
      const read = db.read((m) => m.query('SELECT 1'));
      expect(db.poolUsage()).toEqual({ total: 1, idle: 0, waiting: 1 });
      release();
      await Promise.all([tx, read]);
      expect(db.poolUsage()).toEqual({ total: 1, idle: 1, waiting: 0 });
      await db.onApplicationShutdown();
    });
  });
});
