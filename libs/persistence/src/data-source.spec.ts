import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDataSource } from './data-source';

describe('openDataSource (SQLite)', () => {
  it('opens the file in WAL mode with synchronous=NORMAL and a 32 MiB page cache', async () => {
    const ds = await openDataSource({ type: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'ds-')), 'identity.sqlite') }, []);
    try {
      const pragma = async (name: string) => Object.values((await ds.query(`PRAGMA ${name}`))[0] as Record<string, unknown>)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(1);
      expect(await pragma('cache_size')).toBe(-32768);
    } finally {
      await ds.destroy();
    }
  });
});
