import { setTimeout as sleep } from 'node:timers/promises';
import { CredentialLeases } from './credential-lease';

describe('CredentialLeases', () => {
  function counting(values: Map<string, string | undefined>) {
    const reads: string[] = [];
    const leases = new CredentialLeases(async (key: string) => {
      reads.push(key);
      await sleep(5);
      return values.get(key);
    }, 100);
    return { leases, reads };
  }

  it('should read once per lease and share a read in flight between concurrent lookups', async () => {
    const { leases, reads } = counting(new Map([['a', 'enabled']]));
    const answers = await Promise.all(Array.from({ length: 20 }, () => leases.get('a')));
    expect(answers).toEqual(Array(20).fill('enabled'));
    expect(await leases.get('a')).toBe('enabled');
    expect(reads).toEqual(['a']);
  });

  it('should read again once the lease has ended, and see the change', async () => {
    const values = new Map<string, string | undefined>([['a', 'enabled']]);
    const { leases, reads } = counting(values);
    expect(await leases.get('a')).toBe('enabled');
    values.set('a', undefined);
    expect(await leases.get('a')).toBe('enabled'); // within the lease
    await sleep(110);
    expect(await leases.get('a')).toBeUndefined();
    expect(reads).toEqual(['a', 'a']);
  });

  it('should measure the lease from before the read, so a slow read does not lengthen it', async () => {
    let calls = 0;
    const leases = new CredentialLeases(async () => {
      calls += 1;
      await sleep(80);
      return calls;
    }, 100);
    expect(await leases.get('k')).toBe(1); // took ~80 ms of the 100 ms lease
    await sleep(30);
    expect(await leases.get('k')).toBe(2);
  });

  it('should not keep a failed read', async () => {
    let fail = true;
    const leases = new CredentialLeases(async () => {
      if (fail) throw new Error('database down');
      return 'ok';
    }, 10_000);
    await expect(leases.get('k')).rejects.toThrow('database down');
    fail = false;
    expect(await leases.get('k')).toBe('ok');
  });

  it('should drop the local lease at once and answer a revocation only after every earlier lease has ended', async () => {
    const values = new Map<string, string | undefined>([['a', 'enabled']]);
    const { leases } = counting(values);
    expect(await leases.get('a')).toBe('enabled');
    values.set('a', undefined);
    const started = performance.now();
    const revoked = leases.revoked('a');
    expect(await leases.get('a')).toBeUndefined(); // this instance sees the change at once
    await revoked;
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
  });
});
