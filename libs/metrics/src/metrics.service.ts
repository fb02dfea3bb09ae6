import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a SAML sign-in ended: the JIT outcomes, or refused (with a reason code). */
export type SignInOutcome = 'created' | 'updated' | 'unchanged' | 'refused';

/** Requests that matched no route (404s, body-parser refusals): one label value, whatever the URL was. */
const UNMATCHED_ROUTE = '(unmatched)';

/**
 * The server's Prometheus metrics. One Registry per application, not prom-client's global one: tests start several
 * applications in one process, and a second registration of a metric name on a shared registry throws. Labels hold
 * only bounded values (route patterns, status codes, reason codes, configured IdP ids), never request text: a
 * label per raw URL or per asserted Issuer would let any caller grow the scrape without bound.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /**
   * The histogram's child per (method, route, status): prom-client hashes the label set on every observation
   * otherwise, and this runs on every request. Bounded as the labels are (methods Node's parser accepts, route
   * patterns, status codes).
   */
  private readonly httpChildren = new Map<string, { observe(value: number): void }>();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status, with their latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly signIns = new Counter({
    name: 'idd_sso_sign_ins_total',
    help: 'SAML sign-ins by identity provider (its id; "unknown" before one is identified), outcome and refusal reason',
    labelNames: ['idp', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly jitGroupChanges = new Counter({
    name: 'idd_jit_group_changes_total',
    help: 'Group memberships joined or left by JIT provisioning at sign-in, by identity provider',
    labelNames: ['idp', 'change'] as const,
    registers: [this.registry],
  });

  private readonly tokensIssued = new Counter({
    name: 'idd_oauth_tokens_issued_total',
    help: 'Access tokens issued by the token endpoint',
    registers: [this.registry],
  });

  private readonly tokenFailures = new Counter({
    name: 'idd_oauth_token_failures_total',
    help: 'Token requests refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Process CPU, memory, GC, handles and the event-loop delay histogram (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
  }

  /** A SAML sign-in's end. `reason` only for refusals: a code from a fixed set, never a message. */
  signIn(idp: string | undefined, outcome: SignInOutcome, reason?: string): void {
    this.signIns.inc({ idp: idp ?? 'unknown', outcome, reason: outcome === 'refused' ? (reason ?? 'unspecified') : '' });
  }

  jitGroupsChanged(idp: string, joined: number, left: number): void {
    if (joined > 0) this.jitGroupChanges.inc({ idp, change: 'joined' }, joined);
    if (left > 0) this.jitGroupChanges.inc({ idp, change: 'left' }, left);
  }

  tokenIssued(): void {
    this.tokensIssued.inc();
  }

  tokenRefused(reason: string): void {
    this.tokenFailures.inc({ reason });
  }

  /**
   * A gauge read when scraped: for state that another part owns (a pool's size, a queue's depth), so that it is
   * read where it lives rather than mirrored by every change to it.
   */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (set: (labels: Partial<Record<L, string>>, value: number) => void) => void): void {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        read((labels, value) => this.set(labels, value));
      },
    });
  }

  /**
   * One request's end, labelled by the route pattern Express matched (`/admin/v1/Users/:id`). Called by the
   * application's first middleware (apps/admin-api/src/request-edge.ts), so that refusals before routing (body
   * parsers' 413 and 400, 401 before a body is read) are counted too.
   */
  httpRequest(req: Request, res: Response, seconds: number): void {
    const path = (req.route as { path?: unknown } | undefined)?.path;
    const route = typeof path === 'string' ? path : UNMATCHED_ROUTE;
    const key = `${req.method} ${res.statusCode} ${route}`;
    let child = this.httpChildren.get(key);
    if (!child) {
      child = this.httpDuration.labels({ method: req.method, route, status: String(res.statusCode) });
      this.httpChildren.set(key, child);
    }
    child.observe(seconds);
  }

  /** The exposition: Prometheus text format. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
