import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** On a connection: the response it is carrying now, if any. */
const IN_FLIGHT = Symbol('in-flight response');
type TrackedSocket = Socket & { [IN_FLIGHT]?: Response };

/**
 * Lets the requests under way finish when the server shuts down, and takes no new ones. Nest closes the HTTP
 * server after this hook and the database only after that; but closing a server only stops it accepting
 * connections: a client's keep-alive connection would go on carrying new requests (into a server about to close
 * its database), and would hold the shutdown open until its idle timeout (65 s). So, from the shutdown on, a
 * request arriving on an open connection is answered 503, every response closes its connection, and connections
 * are closed as soon as they are idle. Called by the application's first middleware (request-edge.ts).
 *
 * The responses under way are found through their connections, each of which remembers the response it carries:
 * a Set of every response, added and deleted per request, cost a tenth of the server's time on a cheap request
 * in bench:scim, nearly all of it in the garbage collector; connections live long and change rarely.
 */
@Injectable()
export class HttpDrain implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private draining = false;
  private readonly connections = new Set<TrackedSocket>();

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onApplicationBootstrap(): void {
    this.server.on('connection', (socket: TrackedSocket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /** Whether a new request may go on; once the shutdown has begun, it is answered 503 here and may not. */
  admit(req: Request, res: Response): boolean {
    if (this.draining) {
      res.setHeader('Connection', 'close');
      res.status(503).json({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503', detail: 'The server is shutting down' });
      return false;
    }
    (req.socket as TrackedSocket)[IN_FLIGHT] = res;
    return true;
  }

  /** A response has ended (or its connection was lost). Its request still knows the connection; the response no longer does. */
  closed(req: Request, res: Response): void {
    const socket = req.socket as TrackedSocket;
    if (socket[IN_FLIGHT] === res) socket[IN_FLIGHT] = undefined;
    // The connection becomes idle once this response is out; close it then rather than at its idle timeout.
    if (this.draining) setImmediate(() => this.server.closeIdleConnections());
  }

  beforeApplicationShutdown(): void {
    this.draining = true;
    for (const socket of this.connections) {
      const res = socket[IN_FLIGHT];
      if (res && !res.headersSent) res.setHeader('Connection', 'close');
    }
    this.server.closeIdleConnections();
  }

  private get server(): Server {
    return this.adapterHost.httpAdapter.getHttpServer() as Server;
  }
}
