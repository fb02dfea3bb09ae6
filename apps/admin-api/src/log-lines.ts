import { ConsoleLogger, ConsoleLoggerOptions, LogLevel } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { inspect } from 'node:util';
import { ConfigError } from '@app/config';
import { OPC_REQUEST_ID } from './request-id';

export type LogFormat = 'text' | 'json';

/** LOG_FORMAT: `text` (the default, for a terminal) or `json` (one object per line, for a log collector). */
export function parseLogFormat(value: string | undefined): LogFormat {
  if (value === undefined || value === '' || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new ConfigError([`LOG_FORMAT must be text or json (got ${JSON.stringify(value)})`]);
}

/**
 * Nest's report of its wiring: a line per module and per route, some 60 of them, above the lines that matter at
 * start-up (the URLs, the bootstrap credentials). Kept at LOG_LEVEL=debug, where the routes are worth reading.
 */
const WIRING_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/** The request a log line was written for: its correlation id (opc-request-id) goes into JSON lines. */
const requestContext = new AsyncLocalStorage<{ correlationId: string }>();

/**
 * Runs the rest of the request with its correlation id in scope for the logger. Mounted after the body parsers
 * (as Nest middleware): a parser reads the body from socket events, which would run outside this scope.
 */
export function logCorrelationId(format: LogFormat = parseLogFormat(process.env.LOG_FORMAT)): RequestHandler {
  // Only JSON lines carry the id. On Node 20 an AsyncLocalStorage in use turns on promise hooks for every promise
  // of every request (measured: a third of the main thread idle or in hooks under load), so text logs go without.
  if (format !== 'json') return (_req: Request, _res: Response, next: NextFunction) => next();
  return (_req: Request, res: Response, next: NextFunction) => {
    const id = res.getHeader(OPC_REQUEST_ID);
    if (typeof id !== 'string') return next();
    requestContext.run({ correlationId: id }, next);
  };
}

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
  constructor(options: ConsoleLoggerOptions & { format?: LogFormat } = {}) {
    const { format, ...rest } = options;
    super(format === 'json' ? { ...rest, json: true, colors: false } : rest);
  }

  protected override printMessages(messages: unknown[], context = '', logLevel: LogLevel = 'log', ...rest: [('stdout' | 'stderr')?, unknown?, Record<string, unknown>?]): void {
    if (logLevel === 'log' && WIRING_CONTEXTS.has(context) && !this.isLevelEnabled('debug')) return;
    super.printMessages(messages, context, logLevel, ...rest);
  }

  /**
   * {time, level, context, message, correlationId?, …}: JSON.stringify escapes control characters itself, so a
   * JSON record stays on one line without the escaping below.
   */
  protected override stringifyJsonLogObject(logObject: Record<string, unknown>): string {
    const { timestamp, level, pid: _pid, ...rest } = logObject;
    const correlationId = requestContext.getStore()?.correlationId;
    return super.stringifyJsonLogObject({ time: new Date(timestamp as number).toISOString(), level, ...rest, ...(correlationId ? { correlationId } : {}) });
  }


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
