import { Controller, Get, Header, Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import { Access, RequireAccess } from '@app/auth';
import { MetricsService } from '@app/metrics';
import { Database } from '@app/persistence';
import { SamlValidationPool } from '@app/saml';

/**
 * Prometheus scrape endpoint. It needs an administrator's or auditor's bearer token like the rest of the admin API
 * (Prometheus' `oauth2` scrape setting gets one from /oauth2/v1/token): the series name routes, identity providers
 * and refusal reasons, which an anonymous caller has no business reading. Not part of the IDCS API, so not in
 * the OpenAPI document.
 */
@ApiExcludeController()
@RequireAccess(Access.domainAdministration)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}

/**
 * Gauges read at each scrape from the parts that own the state. Wired here, in the app, because the metrics lib
 * sits under the libs that count into it and so cannot import them.
 */
@Injectable()
export class ResourceGauges implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly db: Database,
    private readonly modules: ModuleRef,
  ) {}

  onModuleInit(): void {
    // Looked up rather than injected: SamlModule keeps its pool to itself, and the gauge only reads a count.
    const samlPool = this.modules.get(SamlValidationPool, { strict: false });
    this.metrics.gauge('idd_db_pool_connections', 'Database connections by state (SQLite: its one connection, busy while the lock is held)', ['state'], (set) => {
      const u = this.db.poolUsage();
      set({ state: 'idle' }, u.idle);
      set({ state: 'busy' }, u.total - u.idle);
    });
    this.metrics.gauge('idd_db_pool_waiting', 'Callers waiting for a database connection (SQLite: for the read/write lock)', [], (set) => set({}, this.db.poolUsage().waiting));
    this.metrics.gauge('idd_saml_validation_queue_depth', 'SAML responses handed to the validation threads and not yet answered', [], (set) => set({}, samlPool.inFlight));
  }
}
