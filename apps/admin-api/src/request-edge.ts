import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { performance } from 'node:perf_hooks';
import { MetricsService } from '@app/metrics';
import { HttpDrain } from './http-drain';
import { assignRequestId } from './request-id';

/**
 * What every request meets first, as one middleware: its `opc-request-id`, admission (503 once shutdown has
 * begun: HttpDrain), and, when the response is over, its latency metric and the drain's bookkeeping. These were
 * three middlewares with a response listener each; bench:scim measured the extra Express layers and listeners at
 * about a fifth of the throughput of its cheapest authenticated request, so they share one layer and one listener.
 * First, so that every request is counted and timed, also those the body parsers and authentication refuse.
 */
export function requestEdge(metrics: MetricsService, drain: HttpDrain): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    assignRequestId(req, res);
    // 'close' comes once per response, whether it finished or its connection was lost.
    res.once('close', () => {
      drain.closed(req, res);
      metrics.httpRequest(req, res, (performance.now() - started) / 1000);
    });
    if (drain.admit(req, res)) next();
  };
}
