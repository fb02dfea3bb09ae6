import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditService } from '@app/audit';
import { IdentityProvidersService, signingCertificateExpiries } from '@app/identity-providers';
import { Database, isUniqueViolation, nowIso } from '@app/persistence';
import { Doc, MAX_PAGE_SIZE, parseListQuery } from '@app/scim';
import { ExpiryFinding, expiryEvent, expiryFindings, expiryMessage, WatchedCertificate } from './certificate-expiry';
import { SpKeyService } from './sp-keys.service';

/** How often each instance looks for certificates that reached a threshold. */
export const CERTIFICATE_CHECK_INTERVAL_MS = 60 * 60 * 1000;
/** The first look after start-up: not during it (a start stays quick, and instances restarted together spread out). */
const FIRST_CHECK_DELAY_MS = 5 * 60 * 1000;
/** How long /health reuses a report: load balancers ask every few seconds. */
const REPORT_TTL_MS = 60 * 1000;

/** What /health says of the certificates: those expiring within 30 days, and those expired. */
export interface CertificateReport {
  expiringSoon: ExpiryFinding[];
  expired: ExpiryFinding[];
}

/**
 * Warns before the certificates we rely on expire: IdP signing certificates and our SP certificates (active or
 * next). Each instance looks every hour; a warning is given once per (holder, certificate, threshold) by whichever
 * instance first inserts its row in `certificate_expiry_notices` (the primary key refuses the others), as an audit
 * event and a log warning, in the transaction of that insert.
 */
@Injectable()
export class CertificateExpiryService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CertificateExpiry');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private cachedReport?: { at: number; report: Promise<CertificateReport> };

  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly idps: IdentityProvidersService,
    private readonly spKeys: SpKeyService,
  ) {}

  onApplicationBootstrap(): void {
    const run = () => {
      // One look at a time per instance; a failed look is logged and the next one tries again.
      this.running ??= this.check()
        .catch((e) => this.logger.error(`Looking for expiring certificates failed: ${(e as Error)?.message ?? e}`))
        .finally(() => (this.running = undefined));
    };
    this.timer = setTimeout(() => {
      run();
      this.timer = setInterval(run, CERTIFICATE_CHECK_INTERVAL_MS).unref();
    }, FIRST_CHECK_DELAY_MS).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Gives the warnings due at `now` that no instance gave yet; returns those this call gave. `now` is a parameter so
   * that tests can move the clock.
   */
  async check(now: Date = new Date()): Promise<ExpiryFinding[]> {
    const findings = expiryFindings(await this.watched(), now);
    const given: ExpiryFinding[] = [];
    for (const f of findings) {
      const { eventId, reason } = expiryEvent(f);
      const message = expiryMessage(f);
      try {
        await this.db.transaction(async (m) => {
          const runner = this.db.sql(m);
          const [sql, values] = runner.escape(
            'INSERT INTO certificate_expiry_notices (holder, fingerprint, threshold_days, not_after, notified) VALUES (:holder, :fingerprint, :threshold, :notAfter, :now)',
            { holder: `${f.holderType}/${f.holderId}`, fingerprint: f.fingerprint, threshold: f.threshold, notAfter: f.notAfter, now: nowIso() },
          );
          await runner.query(sql, values);
          await this.audit.record(m, {
            eventId,
            outcome: 'success',
            reason,
            resourceType: f.holderType,
            resourceId: f.holderId,
            resourceName: f.holderName,
            message,
            details: { fingerprint: f.fingerprint, subject: f.subject, notAfter: f.notAfter, thresholdDays: f.threshold },
          });
        });
      } catch (e) {
        if (isUniqueViolation(e)) continue; // given already, by this instance or another
        throw e;
      }
      this.logger.warn(message);
      given.push(f);
    }
    this.cachedReport = undefined;
    return given;
  }

  /** The certificates expiring within 30 days or expired, at `now` (cached for a minute when `now` is not given). */
  report(now?: Date): Promise<CertificateReport> {
    if (now) return this.buildReport(now);
    const at = Date.now();
    if (!this.cachedReport || at - this.cachedReport.at > REPORT_TTL_MS) {
      const report = this.buildReport(new Date(at));
      this.cachedReport = { at, report };
      report.catch(() => {
        if (this.cachedReport?.report === report) this.cachedReport = undefined;
      });
    }
    return this.cachedReport.report;
  }

  private async buildReport(now: Date): Promise<CertificateReport> {
    const findings = expiryFindings(await this.watched(), now);
    return { expiringSoon: findings.filter((f) => f.threshold !== 0), expired: findings.filter((f) => f.threshold === 0) };
  }

  /** Every certificate watched: those of every identity provider, and our SP keys in use or staged. */
  private async watched(): Promise<WatchedCertificate[]> {
    const out: WatchedCertificate[] = [];
    for (let startIndex = 1; ; startIndex += MAX_PAGE_SIZE) {
      const page = await this.idps.list(parseListQuery({ startIndex, count: MAX_PAGE_SIZE }));
      const resources = (page.Resources as Doc[] | undefined) ?? [];
      for (const idp of resources) {
        for (const c of signingCertificateExpiries(idp)) out.push({ holderType: 'IdentityProvider', holderId: String(idp.id), holderName: String(idp.partnerName ?? ''), ...c });
      }
      if (resources.length < MAX_PAGE_SIZE) break;
    }
    for (const key of (await this.spKeys.keySet()).keys) {
      const uses = key.roles.filter((r) => r.status !== 'previous');
      if (!uses.length) continue; // no longer used: it only decrypts late assertions until retired
      const c = key.certificate;
      out.push({ holderType: 'SpKey', holderId: key.credentials.keyId, holderName: uses.map((r) => `${r.status} ${r.use}`).join(', '), fingerprint: c.fingerprintSha256, subject: c.subject, notAfter: c.notAfter });
    }
    return out;
  }
}
