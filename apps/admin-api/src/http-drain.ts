import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Server } from 'node:http';

/**
 * Lets the requests under way finish when the server shuts down, and takes no new ones. Nest closes the HTTP
 * server after this hook and the database only after that; but closing a server only stops it accepting
 * connections: a client's keep-alive connection would go on carrying new requests (into a server about to close
 * its database), and would hold the shutdown open until its idle timeout (65 s). So, from the shutdown on, a
 * request arriving on an open connection is answered 503, every response closes its connection, and connections
 * are closed as soon as they are idle.
 */
@Injectable()
export class HttpDrain implements BeforeApplicationShutdown {
  private draining = false;
  private readonly unanswered = new Set<Response>();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  middleware(): RequestHandler {
    return (_req: Request, res: Response, next: NextFunction) => {
      if (this.draining) {
        res.setHeader('Connection', 'close');
        res.status(503).json({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503', detail: 'The server is shutting down' });
        return;
      }
      this.unanswered.add(res);
      res.once('close', () => {
        this.unanswered.delete(res);
        // The connection becomes idle once this response is out; close it then rather than at its idle timeout.
        if (this.draining) setImmediate(() => this.server.closeIdleConnections());
      });
      next();
    };
  }

  beforeApplicationShutdown(): void {
    this.draining = true;
    for (const res of this.unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.server.closeIdleConnections();
  }

  private get server(): Server {
    return this.adapterHost.httpAdapter.getHttpServer() as Server;
  }
}
