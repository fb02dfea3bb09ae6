import { escapeControlCharacters, OneLineConsoleLogger } from './log-lines';

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
