import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptRaw = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

/**
 * At most one scrypt run at a time per process. crypto.scrypt runs on libuv's thread pool (4 threads), the same
 * pool that runs every SQLite query: unbounded, a burst of token requests (or of guesses) occupied all four threads
 * with 50-100 ms hashes and every API call queued behind them (p50 2 → 254 ms). Queued here instead, they wait
 * in JavaScript and leave the other threads to the database. One run keeps a token request at ~50 ms of hashing.
 */
export const KDF_CONCURRENCY = 1;

class Semaphore {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), so no newcomer can overtake the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const kdfSlots = new Semaphore(KDF_CONCURRENCY);

function scryptAsync(password: string, salt: Buffer, keylen: number, options: object): Promise<Buffer> {
  return kdfSlots.run(() => scryptRaw(password, salt, keylen, options));
}

// OWASP's scrypt baseline (N=2^17, r=8, p=1) needs 128 MiB per hash; 2^15 keeps 32 MiB and ~50 ms here,
// which bounds memory under concurrent logins while staying far above brute-force budgets.
const N = 1 << 15;
const R = 8;
const P = 1;
const KEYLEN = 32;

/** Hash for low-entropy secrets chosen by people (passwords, configured client secrets). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEYLEN, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, saltB64, hashB64] = parts;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = await scryptAsync(secret, Buffer.from(saltB64, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return timingSafeEqual(expected, actual);
}

/** Digest for high-entropy random tokens we generate (256 bits): a fast hash is enough and allows lookup by hash. */
export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
