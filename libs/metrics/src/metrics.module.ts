import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Global: every lib that counts something injects MetricsService without importing this module. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}
