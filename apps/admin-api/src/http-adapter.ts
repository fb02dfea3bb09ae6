import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express } from 'express';
import * as http from 'node:http';
import type { Socket } from 'node:net';

/**
 * Nest's Express adapter, with an HTTP server whose requests and responses are born with Express's prototypes.
 *
 * Express gives every request and response its own methods by `Object.setPrototypeOf(req, app.request)` (and
 * `res`). Changing an object's prototype after creation costs V8 a new hidden class and throws away its inline
 * caches; measured on this machine, a one-line Express route ran ~4× slower than the same route on a server whose
 * objects already have those prototypes (where the call is a no-op), and a third of what each request allocated
 * outlived young-generation collections (none with the prototypes set at birth). Node's server takes the classes
 * to instantiate (`IncomingMessage` / `ServerResponse` options), so they are created with Express's prototypes.
 *
 * Node implements both as plain constructor functions; if a future Node made them ES classes (which cannot be
 * called without `new`), this falls back to the default server.
 */
export class ExpressHttpAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    if (options?.httpsOptions || options?.forceCloseConnections) return;
    const classes = expressServerClasses(this.getInstance<Express>());
    if (classes) this.httpServer = http.createServer(classes, this.getInstance());
  }
}

/** IncomingMessage / ServerResponse "subclasses" whose instances have `app.request` / `app.response` as prototype. */
export function expressServerClasses(app: Express): { IncomingMessage: typeof http.IncomingMessage; ServerResponse: typeof http.ServerResponse } | undefined {
  const isClass = (f: unknown) => /^class\b/.test(Function.prototype.toString.call(f));
  if (isClass(http.IncomingMessage) || isClass(http.ServerResponse)) return undefined;
  const IncomingMessage = http.IncomingMessage as unknown as (this: unknown, socket: Socket) => void;
  const ServerResponse = http.ServerResponse as unknown as (this: unknown, req: http.IncomingMessage, options?: unknown) => void;
  function Request(this: unknown, socket: Socket): void {
    IncomingMessage.call(this, socket);
  }
  Request.prototype = app.request;
  function Response(this: unknown, req: http.IncomingMessage, options?: unknown): void {
    ServerResponse.call(this, req, options);
  }
  Response.prototype = app.response;
  return { IncomingMessage: Request as unknown as typeof http.IncomingMessage, ServerResponse: Response as unknown as typeof http.ServerResponse };
}
