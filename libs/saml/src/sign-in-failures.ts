import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '@app/audit';
import { Database, sweepDue } from '@app/persistence';
import { FAILED_SIGN_IN_RETENTION_MS } from './sso-limits';
import { SsoRejection } from './sso-rejection';

/**
 * Retention of the audit rows anonymous senders can make us write (refused sign-ins and refused logout messages,
 * both rate-limited per address: sso-limits.ts): older than FAILED_SIGN_IN_RETENTION_MS, at most once a minute per
 * process. Other audit events are kept.
 */
export async function sweepRefusedSsoEvents(m: EntityManager): Promise<void> {
  if (!sweepDue('audit_events:sso.failure')) return;
  const before = new Date(Date.now() - FAILED_SIGN_IN_RETENTION_MS).toISOString();
  await m.createQueryBuilder().delete().from('audit_events').where("event_id IN ('sso.login', 'sso.logout') AND outcome = 'failure' AND timestamp < :before", { before }).execute();
}

/**
 * The record of a sign-in refused before JIT (which audits its own outcome): a log line with the reason and the
 * correlation id the browser was shown, and an `sso.login` failure event naming the protocol. One mechanism for
 * SAML and OpenID Connect, with the retention of these anonymous-triggered rows.
 */
@Injectable()
export class SignInFailures {
  private readonly logger = new Logger('SignIn');

  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
  ) {}

  async record(rejection: SsoRejection, idp: { id: string; partnerName: string } | undefined, correlationId: string, protocol: 'saml' | 'oidc'): Promise<void> {
    this.logger.warn(`SSO sign-in refused: protocol=${protocol} reason=${rejection.reason} idp=${idp?.id ?? '-'} correlation=${correlationId} detail=${rejection.detail}`);
    await this.db.transaction(async (m) => {
      await sweepRefusedSsoEvents(m);
      await this.audit.record(m, {
        eventId: 'sso.login',
        outcome: 'failure',
        reason: rejection.reason,
        correlationId,
        ...(idp ? { resourceType: 'IdentityProvider', resourceId: idp.id, resourceName: idp.partnerName } : {}),
        message: rejection.detail.slice(0, 1000),
        details: { protocol },
      });
    });
  }
}
