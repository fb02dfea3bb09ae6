import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { Database } from '@app/persistence';

/** Liveness and readiness for load balancers and orchestrators. */
@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly db: Database) {}

  @Get()
  @ApiOperation({ summary: 'Readiness: the server is up and its database answers' })
  @ApiOkResponse({ description: 'Up, database reachable', schema: { type: 'object', properties: { status: { type: 'string', example: 'ok' }, database: { type: 'string', example: 'sqlite' } } } })
  async health(): Promise<{ status: string; database: string }> {
    await this.db.read((m) => m.query('SELECT 1'));
    return { status: 'ok', database: this.db.dialect };
  }
}
