import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { inspect } from 'node:util';

/**
 * C0 and C1 control characters (line feed, carriage return, escape, …) and the Unicode line and paragraph
 * separators: whatever can end a log line, or rewrite one on a terminal.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every control character written as an escape (\n, \x1b, \u2028), so it stays on one line. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}

/**
 * Nest's console logger, except that each record is exactly one line: messages carry request data (a SAML Issuer,
 * a URL, an error message quoting input), and a line break in one of them would let an unauthenticated caller
 * write a record of their choosing into the log. Escaping here, where every line is formatted, covers every caller
 * without each one having to remember it. Stack traces become one line too: their first line is the error message,
 * which may quote input, and cannot be told apart from the frames.
 */
export class OneLineConsoleLogger extends ConsoleLogger {
  protected override stringifyMessage(message: unknown, logLevel: LogLevel): string {
    const resolved = this.resolveMessage(message);
    // Only our own colour codes may reach the terminal: objects are inspected without colours, then escaped.
    if (typeof resolved === 'string') return this.colorize(escapeControlCharacters(resolved), logLevel);
    return escapeControlCharacters(oneLine(resolved));
  }

  protected override formatContext(context: string): string {
    return super.formatContext(escapeControlCharacters(context));
  }

  protected override stringifyParams(params: Record<string, unknown>): string {
    return escapeControlCharacters(oneLine(params));
  }

  protected override printStackTrace(stack: string): void {
    super.printStackTrace(stack ? escapeControlCharacters(stack) : stack);
  }
}

function oneLine(value: unknown): string {
  return inspect(value, { colors: false, compact: true, breakLength: Infinity, depth: 5 });
}
