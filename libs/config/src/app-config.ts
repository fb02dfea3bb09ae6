import { availableParallelism } from 'node:os';
import { keyFilePath, KeyEncryptionKey, parseKeyEncryptionKey, SecretsConfig } from './secret-box';

/** Validated configuration of one server process, read from environment variables. */
export interface AppConfig {
  port: number;
  host: string;
  publicUrl: string;
  database: DatabaseConfig;
  adminClientId?: string;
  adminClientSecret?: string;
  accessTokenTtlSeconds: number;
  logLevel: 'error' | 'warn' | 'log' | 'debug';
  /**
   * Worker threads that verify SAML responses (XML signatures, decryption), so that a burst of sign-ins uses every
   * core and never blocks the event loop that serves the API. 0 verifies on the main thread.
   */
  samlValidationThreads: number;
  /**
   * How far V8 lets the old generation grow past the live heap before the next full collection, in percent;
   * 0 leaves V8's own heuristic, which grows it up to 4× under load (see main.ts).
   */
  heapGrowingPercent: number;
  /**
   * How often this instance offers to run the dormant JIT users job (JIT_DORMANT_USERS_INTERVAL_SECONDS, default an
   * hour); a lease in the database lets one instance run it per interval. 0: this instance never runs it by itself.
   */
  jitDormantUsersIntervalSeconds: number;
  /** NODE_ENV=production: insecure development fallbacks are refused. */
  production: boolean;
  /** The key-encryption keys for secrets stored in the database (SECRETS_KEK, SECRETS_KEK_PREVIOUS). */
  secrets: SecretsConfig;
}

export type DatabaseConfig = { type: 'sqlite'; path: string; synchronous?: 'FULL' | 'NORMAL' } | { type: 'postgres'; url: string };

export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function parseDatabaseUrl(raw: string, problems: string[]): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!path) problems.push('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:data/identity.sqlite');
    return { type: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      problems.push(`DATABASE_URL is not a valid PostgreSQL URL: ${raw.replace(/:[^:@/]*@/, ':***@')}`);
    }
    return { type: 'postgres', url: raw };
  }
  problems.push(`DATABASE_URL must start with "sqlite:" or "postgres://" (got "${raw.split(':')[0]}:…")`);
  return { type: 'sqlite', path: '' };
}

/**
 * Reads and validates the configuration; throws a ConfigError that lists every bad value at once,
 * so an operator fixes them in one go rather than one restart per mistake.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];

  const portRaw = env.PORT ?? '3000';
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port > 65535) {
    problems.push(`PORT must be an integer between 0 and 65535 (got "${portRaw}")`);
  }

  const host = env.HOST ?? '0.0.0.0';

  const publicUrlRaw = (env.PUBLIC_URL ?? `http://localhost:${portRaw}`).replace(/\/+$/, '');
  try {
    const u = new URL(publicUrlRaw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`PUBLIC_URL must use http or https (got "${publicUrlRaw}")`);
    if (u.search || u.hash) problems.push(`PUBLIC_URL must not carry a query or fragment (got "${publicUrlRaw}")`);
  } catch {
    problems.push(`PUBLIC_URL must be an absolute URL such as https://id.example.com (got "${publicUrlRaw}")`);
  }

  const database = parseDatabaseUrl(env.DATABASE_URL ?? 'sqlite:data/identity.sqlite', problems);
  const synchronous = (env.SQLITE_SYNCHRONOUS ?? 'NORMAL').toUpperCase();
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') problems.push(`SQLITE_SYNCHRONOUS must be FULL or NORMAL (got "${env.SQLITE_SYNCHRONOUS}")`);
  else if (database.type === 'sqlite' && env.SQLITE_SYNCHRONOUS) database.synchronous = synchronous;

  const adminClientId = env.ADMIN_CLIENT_ID || undefined;
  const adminClientSecret = env.ADMIN_CLIENT_SECRET || undefined;
  if ((adminClientId === undefined) !== (adminClientSecret === undefined)) {
    problems.push('ADMIN_CLIENT_ID and ADMIN_CLIENT_SECRET must be set together (or both left unset to generate credentials)');
  }
  if (adminClientId !== undefined && !/^[A-Za-z0-9._~-]{3,128}$/.test(adminClientId)) {
    problems.push('ADMIN_CLIENT_ID must be 3-128 characters of letters, digits, ".", "_", "~" or "-"');
  }
  if (adminClientSecret !== undefined && adminClientSecret.length < 16) {
    problems.push('ADMIN_CLIENT_SECRET must be at least 16 characters long');
  }

  const ttlRaw = env.ACCESS_TOKEN_TTL_SECONDS ?? '3600';
  const accessTokenTtlSeconds = Number(ttlRaw);
  if (!/^\d+$/.test(ttlRaw) || accessTokenTtlSeconds < 1 || accessTokenTtlSeconds > 86400) {
    problems.push(`ACCESS_TOKEN_TTL_SECONDS must be an integer between 1 and 86400 (got "${ttlRaw}")`);
  }

  const logLevel = (env.LOG_LEVEL ?? 'log') as AppConfig['logLevel'];
  if (!['error', 'warn', 'log', 'debug'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of error, warn, log, debug (got "${env.LOG_LEVEL}")`);
  }

  const threadsRaw = env.SAML_VALIDATION_THREADS ?? String(availableParallelism());
  const samlValidationThreads = Number(threadsRaw);
  if (!/^\d+$/.test(threadsRaw) || samlValidationThreads > 64) {
    problems.push(`SAML_VALIDATION_THREADS must be an integer between 0 and 64 (got "${threadsRaw}")`);
  }

  const heapRaw = env.HEAP_GROWING_PERCENT ?? '50';
  const heapGrowingPercent = Number(heapRaw);
  if (!/^\d+$/.test(heapRaw) || heapGrowingPercent > 300) {
    problems.push(`HEAP_GROWING_PERCENT must be an integer between 0 and 300, 0 for V8's own heuristic (got "${heapRaw}")`);
  }

  const dormantRaw = env.JIT_DORMANT_USERS_INTERVAL_SECONDS ?? '3600';
  const jitDormantUsersIntervalSeconds = Number(dormantRaw);
  if (!/^\d+$/.test(dormantRaw) || jitDormantUsersIntervalSeconds > 604800) {
    problems.push(`JIT_DORMANT_USERS_INTERVAL_SECONDS must be a whole number of seconds from 0 (never on this instance) to 604800 (a week) (got "${dormantRaw}")`);
  }

  const production = env.NODE_ENV === 'production';
  const secrets = parseSecrets(env, database, production, problems);

  if (problems.length) throw new ConfigError(problems);
  return { port, host, publicUrl: publicUrlRaw, database, adminClientId, adminClientSecret, accessTokenTtlSeconds, logLevel, samlValidationThreads, heapGrowingPercent, jitDormantUsersIntervalSeconds, production, secrets };
}

const KEK_FORMAT = '32 random bytes as 64 hex digits or 44 base64 characters (e.g. the output of `openssl rand -base64 32`)';

/**
 * The key-encryption key rule. SECRETS_KEK when set. Otherwise SQLite keeps a generated key in `secrets.key` beside
 * the database file (one host, one data directory: the embedded default needs no setup). PostgreSQL has no shared
 * directory for several instances to agree on a file, so it needs SECRETS_KEK; without production mode it falls back
 * to a publicly known development key (a warning at every start says so), so that development instances work
 * unconfigured. Values never appear in the messages.
 */
function parseSecrets(env: NodeJS.ProcessEnv, database: DatabaseConfig, production: boolean, problems: string[]): SecretsConfig {
  const previous: KeyEncryptionKey[] = [];
  const previousRaw = (env.SECRETS_KEK_PREVIOUS ?? '').split(',').filter((s) => s.trim());
  previousRaw.forEach((raw, i) => {
    const kek = parseKeyEncryptionKey(raw);
    if (kek) previous.push(kek);
    else problems.push(`SECRETS_KEK_PREVIOUS must be a comma-separated list of keys, each ${KEK_FORMAT} (entry ${i + 1} is not)`);
  });
  if (env.SECRETS_KEK) {
    const key = parseKeyEncryptionKey(env.SECRETS_KEK);
    if (!key) problems.push(`SECRETS_KEK must be ${KEK_FORMAT}`);
    return { source: key ? { kind: 'environment', key } : { kind: 'ephemeral' }, previous };
  }
  if (database.type === 'sqlite') return { source: database.path === ':memory:' ? { kind: 'ephemeral' } : { kind: 'file', path: keyFilePath(database.path) }, previous };
  if (production) problems.push(`SECRETS_KEK must be set when NODE_ENV=production on PostgreSQL: it encrypts the signing keys stored in the database; ${KEK_FORMAT}, the same on every instance`);
  return { source: { kind: 'insecure-development' }, previous };
}
