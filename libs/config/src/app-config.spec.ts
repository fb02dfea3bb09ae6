import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('should apply the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      database: { type: 'sqlite', path: 'data/identity.sqlite' },
      adminClientId: undefined,
      adminClientSecret: undefined,
      accessTokenTtlSeconds: 3600,
      logLevel: 'log',
      samlValidationThreads: availableParallelism(),
      heapGrowingPercent: 50,
    });
    expect(loadConfig({ SAML_VALIDATION_THREADS: '0' }).samlValidationThreads).toBe(0);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    expect(loadConfig({ PORT: '8080' }).publicUrl).toBe('http://localhost:8080');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/idd' }).database).toEqual({ type: 'postgres', url: 'postgres://u:p@db:5432/idd' });
  });

  it('should list every bad value at once, each with a message a person can act on', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        PUBLIC_URL: 'not a url',
        DATABASE_URL: 'mysql://x',
        ADMIN_CLIENT_ID: 'only-id',
        ACCESS_TOKEN_TTL_SECONDS: '0',
        LOG_LEVEL: 'chatty',
        SAML_VALIDATION_THREADS: 'all',
        HEAP_GROWING_PERCENT: '50%',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT must be an integer between 0 and 65535 (got "eighty")',
      'PUBLIC_URL must be an absolute URL such as https://id.example.com (got "not a url")',
      'DATABASE_URL must start with "sqlite:" or "postgres://" (got "mysql:…")',
      'ADMIN_CLIENT_ID and ADMIN_CLIENT_SECRET must be set together (or both left unset to generate credentials)',
      'ACCESS_TOKEN_TTL_SECONDS must be an integer between 1 and 86400 (got "0")',
      'LOG_LEVEL must be one of error, warn, log, debug (got "chatty")',
      'SAML_VALIDATION_THREADS must be an integer between 0 and 64 (got "all")',
      'HEAP_GROWING_PERCENT must be an integer between 0 and 300, 0 for V8\'s own heuristic (got "50%")',
    ]);
  });

  it('should refuse a short bootstrap secret', () => {
    expect(() => loadConfig({ ADMIN_CLIENT_ID: 'admin', ADMIN_CLIENT_SECRET: 'short' })).toThrow(/at least 16 characters/);
  });
});
