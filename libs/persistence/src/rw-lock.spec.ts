import { ReadWriteLock } from './rw-lock';

/** A task whose end the test decides, recording when it started. */
function gate(log: string[], name: string): { task: () => Promise<string>; open: () => void } {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return {
    task: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
    open,
  };
}

const ticks = () => new Promise((r) => setImmediate(r));

describe('ReadWriteLock', () => {
  it('lets readers in together', async () => {
    const lock = new ReadWriteLock();
    const log: string[] = [];
    const a = gate(log, 'r1');
    const b = gate(log, 'r2');
    const pa = lock.read(a.task);
    const pb = lock.read(b.task);
    await ticks();
    expect(log).toEqual(['start r1', 'start r2']);
    b.open();
    a.open();
    await expect(Promise.all([pa, pb])).resolves.toEqual(['r1', 'r2']);
  });

  it('runs a writer alone, after the readers before it and before the readers after it', async () => {
    const lock = new ReadWriteLock();
    const log: string[] = [];
    const r1 = gate(log, 'r1');
    const w = gate(log, 'w');
    const r2 = gate(log, 'r2');
    const r3 = gate(log, 'r3');
    const all = [lock.read(r1.task), lock.write(w.task), lock.read(r2.task), lock.read(r3.task)];
    await ticks();
    expect(log).toEqual(['start r1']);
    r1.open();
    await ticks();
    expect(log).toEqual(['start r1', 'end r1', 'start w']);
    w.open();
    await ticks();
    expect(log).toEqual(['start r1', 'end r1', 'start w', 'end w', 'start r2', 'start r3']);
    r2.open();
    r3.open();
    await expect(Promise.all(all)).resolves.toEqual(['r1', 'w', 'r2', 'r3']);
  });

  it('runs writers one at a time in arrival order', async () => {
    const lock = new ReadWriteLock();
    const log: string[] = [];
    const w1 = gate(log, 'w1');
    const w2 = gate(log, 'w2');
    const p = [lock.write(w1.task), lock.write(w2.task)];
    await ticks();
    expect(log).toEqual(['start w1']);
    w1.open();
    await ticks();
    expect(log).toEqual(['start w1', 'end w1', 'start w2']);
    w2.open();
    await Promise.all(p);
  });

  it('releases the lock when the work fails', async () => {
    const lock = new ReadWriteLock();
    await expect(lock.write(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.read(async () => Promise.reject(new Error('read boom')))).rejects.toThrow('read boom');
    await expect(lock.write(async () => 'next')).resolves.toBe('next');
  });
});
