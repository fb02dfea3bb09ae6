import { ConfigError } from '@app/config';
import { escapeControlCharacters, LogFormat, OneLineConsoleLogger, parseLogFormat } from './log-lines';

describe('escapeControlCharacters', () => {
  it.each([
    ['line feed', 'a\nb', 'a\\nb'],
    ['carriage return', 'a\rb', 'a\\rb'],
    ['tab', 'a\tb', 'a\\tb'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
    ['terminal escape (ESC)', '\u001b[2J', '\\x1b[2J'],
    ['DEL', '\u007f', '\\x7f'],
    ['C1 next line', 'a\u0085b', 'a\\x85b'],
    ['line separator', 'a\u2028b', 'a\\u2028b'],
    ['paragraph separator', 'a\u2029b', 'a\\u2029b'],
  ])('should escape a %s', (_name, input, expected) => {
    expect(escapeControlCharacters(input)).toBe(expected);
  });

  it('should leave printable text, including non-ASCII, as it is', () => {
    expect(escapeControlCharacters('Zoë — 東京 ✓ "quoted" \\n')).toBe('Zoë — 東京 ✓ "quoted" \\n');
  });
});

describe(OneLineConsoleLogger.name, () => {
  function written(log: (logger: OneLineConsoleLogger) => void): string {
    const chunks: string[] = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c) => (chunks.push(String(c)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((c) => (chunks.push(String(c)), true));
    try {
      log(new OneLineConsoleLogger({ colors: false }));
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    return chunks.join('');
  }

  it.each([
    ['a string message', (l: OneLineConsoleLogger) => l.warn('issuer=x\n[Nest] 1 - forged')],
    ['an object message', (l: OneLineConsoleLogger) => l.log({ issuer: 'x\n[Nest] 1 - forged', nested: { a: [1, 2, 3] } })],
    ['an Error message', (l: OneLineConsoleLogger) => l.log(new Error('x\n[Nest] 1 - forged'))],
    ['a context', (l: OneLineConsoleLogger) => l.log('message', 'Ctx\n[Nest] 1 - forged')],
    ['a stack trace', (l: OneLineConsoleLogger) => l.error('failed', 'Error: x\n[Nest] 1 - forged\n    at f (a.ts:1:1)')],
  ])('should write %s without starting a forged line', (_name, log) => {
    const lines = written(log).split('\n');
    expect(lines.filter((l) => l.startsWith('[Nest] 1 - forged'))).toEqual([]);
    expect(lines.join('\n')).toContain('\\n[Nest] 1 - forged');
  });
});

describe(OneLineConsoleLogger.name, () => {
  function written(log: (logger: OneLineConsoleLogger) => void, options: { format?: LogFormat; debug?: boolean } = {}): string[] {
    const chunks: string[] = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((c) => (chunks.push(String(c)), true));
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((c) => (chunks.push(String(c)), true));
    try {
      const logLevels = options.debug ? (['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const) : (['fatal', 'error', 'warn', 'log'] as const);
      log(new OneLineConsoleLogger({ colors: false, format: options.format, logLevels: [...logLevels] }));
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    return chunks.join('').split('\n').filter((l) => l !== '');
  }

  describe('wiring lines', () => {
    it.each(['InstanceLoader', 'RoutesResolver', 'RouterExplorer'])('should leave out %s at the default level and keep it at debug', (context) => {
      expect(written((l) => l.log('Mapped {/admin/v1/Users, GET} route', context))).toEqual([]);
      expect(written((l) => l.log('Mapped {/admin/v1/Users, GET} route', context), { debug: true })).toEqual([expect.stringContaining('Mapped {/admin/v1/Users, GET} route')]);
    });

    it('should keep the other contexts, and warnings from the wiring contexts', () => {
      expect(written((l) => l.log('Admin API:  http://localhost:8080/admin/v1', 'App'))).toHaveLength(1);
      expect(written((l) => l.warn('something odd', 'RoutesResolver'))).toHaveLength(1);
    });
  });

  describe('the JSON format', () => {
    it('should write one object per record with time, level, context and message', () => {
      const lines = written((l) => l.warn('issuer=x\n{"forged":true}', 'Sso'), { format: 'json' });
      expect(lines).toHaveLength(1);
      const record = JSON.parse(lines[0]);
      expect(record).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'warn', context: 'Sso', message: 'issuer=x\n{"forged":true}' });
    });

    it('should keep a stack trace inside the record', () => {
      const lines = written((l) => l.error('failed', 'Error: x\n    at f (a.ts:1:1)', 'Db'), { format: 'json' });
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({ level: 'error', context: 'Db', message: 'failed', stack: 'Error: x\n    at f (a.ts:1:1)' });
    });
  });
});

describe(parseLogFormat.name, () => {
  it.each([
    [undefined, 'text'],
    ['', 'text'],
    ['text', 'text'],
    ['json', 'json'],
  ])('should read %p as %s', (value, expected) => {
    expect(parseLogFormat(value)).toBe(expected);
  });

  it('should refuse anything else', () => {
    expect(() => parseLogFormat('JSON ')).toThrow(ConfigError);
  });
});
