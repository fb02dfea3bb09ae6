import { Controller, Get, Logger } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { Database } from '@app/persistence';
import { CertificateExpiryService, ExpiryFinding } from '@app/saml';

/** A certificate in the health report. */
interface ReportedCertificate {
  holderType: string;
  holderId: string;
  holderName: string;
  subject?: string;
  fingerprint: string;
  notAfter: string;
  daysLeft: number;
}

/** What /health answers. */
export interface HealthReport {
  status: 'ok';
  database: string;
  certificates: { expiringSoon: ReportedCertificate[]; expired: ReportedCertificate[] } | { error: string };
}

const CERTIFICATE = {
  type: 'object',
  properties: {
    holderType: { type: 'string', enum: ['IdentityProvider', 'SpKey'], description: 'What holds the certificate' },
    holderId: { type: 'string', description: 'The identity provider id, or the SP key id', example: 'saml-sp-1' },
    holderName: { type: 'string', description: "The identity provider's partnerName, or the SP key's uses", example: 'active signing, active encryption' },
    subject: { type: 'string', description: 'Subject distinguished name', example: 'CN=idp.example.com' },
    fingerprint: { type: 'string', description: 'SHA-256 of the certificate, upper-case hex pairs separated by colons' },
    notAfter: { type: 'string', format: 'date-time', description: "End of the certificate's validity" },
    daysLeft: { type: 'integer', description: 'Whole days left; negative once expired', example: 12 },
  },
};

function shown(f: ExpiryFinding): ReportedCertificate {
  return { holderType: f.holderType, holderId: f.holderId, holderName: f.holderName, ...(f.subject ? { subject: f.subject } : {}), fingerprint: f.fingerprint, notAfter: f.notAfter, daysLeft: f.daysLeft };
}

/** Liveness and readiness for load balancers and orchestrators. */
@ApiTags('Health')
@Public()
@Controller('health')
export class HealthController {
  private readonly logger = new Logger('Health');

  constructor(
    private readonly db: Database,
    private readonly certificates: CertificateExpiryService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Readiness: the server is up and its database answers',
    description:
      'Also lists the IdP signing certificates and SAML SP certificates that expire within 30 days or have expired. They do not make the server unready: status stays "ok" (logins through an IdP keep working while its other keys verify).',
  })
  @ApiOkResponse({
    description: 'Up, database reachable',
    schema: {
      type: 'object',
      properties: {
        status: { type: 'string', example: 'ok' },
        database: { type: 'string', example: 'sqlite' },
        certificates: {
          type: 'object',
          description: 'Certificates to renew (computed at most once a minute)',
          properties: { expiringSoon: { type: 'array', items: CERTIFICATE }, expired: { type: 'array', items: CERTIFICATE } },
        },
      },
    },
  })
  async health(): Promise<HealthReport> {
    await this.db.read((m) => m.query('SELECT 1'));
    return { status: 'ok', database: this.db.dialect, certificates: await this.certificateReport() };
  }

  private async certificateReport(): Promise<HealthReport['certificates']> {
    try {
      const report = await this.certificates.report();
      return { expiringSoon: report.expiringSoon.map(shown), expired: report.expired.map(shown) };
    } catch (e) {
      // Readiness is about answering requests: a report that could not be made is said, not turned into a 503.
      this.logger.warn(`The certificate report failed: ${(e as Error)?.message ?? e}`);
      return { error: 'the certificate report could not be made; see the server log' };
    }
  }
}
