import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import type { Principal } from '@app/auth';
import { Database } from '@app/persistence';
import { etagFor, resourceWriter, ScimError } from '@app/scim';
import { lastSignInsOf, USER_RESOURCE_TYPE, UserReferences, UsersService } from '@app/users';
import { dormantCutoff, DormantUserAction, DormantUserDecision, dormantUserDecision, DormantUserFacts, DormantUserPolicy } from './dormant-users';

/** Thrown in a deactivation's transaction when the user signed in after it was read: nothing is written. */
class SignedInMeanwhile extends Error {}

/** Users read per query: bounded memory whatever the number of users. */
const BATCH = 200;

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** The IdentityProvider resource type, as the writer of what the policy changes names it (jit cannot import its lib). */
const IDENTITY_PROVIDER = { name: 'IdentityProvider', endpoint: '/IdentityProviders' };

/** Who the scheduled job's actions are made by in the audit trail (a request's run names its administrator). */
export const DORMANT_USER_POLICY: Principal = { kind: 'client', id: 'jit-dormant-users', name: 'Dormant JIT users (server)', roles: [] };

/** An identity provider whose dormant-user policy is applied. */
export interface DormantUsersTarget {
  idpId: string;
  idpName: string;
  policy: DormantUserPolicy;
}

export interface DormantUsersRunOptions {
  /** Only list the users the policy would act on; change nothing. */
  dryRun: boolean;
  /** Of the users listed, the 1-based index of the first to return, and how many. */
  startIndex?: number;
  count?: number;
  /** Who asked (an administrator's request); the policy itself when the schedule runs it. */
  actor?: Actor;
}

export interface DormantUserItem {
  id: string;
  userName: string;
  /** Absent for a user who never signed in (the days then count from its creation). */
  lastSuccessfulLoginDate?: string;
  action: DormantUserAction;
  /** Days since the last sign-in (or creation) for a deactivation, since the deactivation for a deletion. */
  inactiveDays: number;
  /** When the policy deactivated the user (deletions). */
  deactivatedAt?: string;
}

/** A ListResponse of the users a run acted on (or, dry, would act on). */
export interface DormantUsersReport {
  schemas: string[];
  dryRun: boolean;
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: DormantUserItem[];
}

interface CandidateRow {
  id: string;
  user_name: string;
  active: boolean | number;
  version: number | string;
  created: string;
  created_by: string | null;
  last_modified_by: string | null;
  last_sign_in_at: string | null;
  sign_in_idp_id: string | null;
  deactivated_by: string | null;
  deactivated_at: string | null;
  deactivated_version: number | string | null;
}

/**
 * Applies an identity provider's dormant-user policy (dormant-users.ts): reads candidate users page by page (a SQL
 * pre-selection that the pure dormantUserDecision then decides on), and deactivates or deletes each through the
 * users' resource pipeline, conditional on the version that was read (as an administrator's If-Match): a user
 * changed meanwhile, by a sign-in, a request or another instance's run, is left alone. Each action and its audit
 * event commit together; a deactivation also records itself, so that the deletion M days later deletes only a
 * user still as the policy left it.
 */
@Injectable()
export class DormantUsersService {
  private readonly logger = new Logger('DormantJitUsers');

  constructor(
    private readonly db: Database,
    private readonly users: UsersService,
    private readonly references: UserReferences,
    private readonly audit: AuditService,
  ) {}

  async run(target: DormantUsersTarget, now: Date, options: DormantUsersRunOptions): Promise<DormantUsersReport> {
    const startIndex = options.startIndex ?? 1;
    const count = options.count ?? 100;
    const report: DormantUsersReport = { schemas: [LIST_RESPONSE], dryRun: options.dryRun, totalResults: 0, startIndex, itemsPerPage: 0, Resources: [] };
    let after = '';
    for (;;) {
      const rows = await this.db.read((m) => this.candidates(m, target, now, after));
      if (!rows.length) break;
      after = rows[rows.length - 1].id;
      for (const row of rows) {
        const facts = factsOf(row);
        const decision = dormantUserDecision(target.policy, target.idpId, facts, now);
        if (!decision) continue;
        if (!options.dryRun && !(await this.act(target, facts, decision, now, options.actor))) continue;
        report.totalResults++;
        if (report.totalResults >= startIndex && report.Resources.length < count) report.Resources.push(itemOf(facts, decision));
      }
      if (rows.length < BATCH) break;
    }
    report.itemsPerPage = report.Resources.length;
    if (!options.dryRun && report.totalResults) this.logger.log(`identity provider ${target.idpId} "${target.idpName}": dormant-user policy acted on ${report.totalResults} user(s)`);
    return report;
  }

  /** Deactivates or deletes one user at the version read; false when it changed (or went) meanwhile. */
  private async act(target: DormantUsersTarget, u: DormantUserFacts, decision: DormantUserDecision, now: Date, actor: Actor | undefined): Promise<boolean> {
    const by = resourceWriter(IDENTITY_PROVIDER, target.idpId, target.idpName);
    const event = {
      outcome: 'success' as const,
      actor: actor?.principal ?? DORMANT_USER_POLICY,
      correlationId: actor?.correlationId,
      resourceType: USER_RESOURCE_TYPE.name,
      resourceId: u.id,
      resourceName: u.userName,
    };
    const details = {
      identityProviderId: target.idpId,
      identityProviderName: target.idpName,
      lastSuccessfulLoginDate: u.lastSignInAt ?? null,
      lastSignInIdentityProviderId: u.lastSignInIdpId ?? null,
      policy: target.policy,
    };
    try {
      if (decision.action === 'deactivate') {
        await this.users.pipeline.mutate(u.id, etagFor(u.version), {}, async (m, old) => {
          // A sign-in leaves the user's version as it was (user_sign_ins): one since the read is looked for here.
          if ((await lastSignInsOf(m, [u.id])).get(u.id) !== u.lastSignInAt) throw new SignedInMeanwhile();
          return { doc: { ...old, active: false } };
        }, async (m, w) => {
          await this.recordDeactivation(m, u.id, target.idpId, now.toISOString(), w.row.version);
          await this.audit.record(m, {
            ...event,
            eventId: 'jit.dormantUser.deactivated',
            reason: 'dormant',
            message: `No successful sign-in for ${decision.days} days (${decision.sinceWhat === 'created' ? 'never signed in; created' : 'last'} ${decision.since}): the dormant-user policy of identity provider "${target.idpName}" deactivates its users after ${target.policy.deactivateAfterDays} days`,
            changes: [{ attribute: 'active', oldValue: true, newValue: false }],
            details: { ...details, inactiveDays: decision.days },
          });
        }, by);
      } else {
        await this.users.pipeline.delete(u.id, etagFor(u.version), {
          before: (m, row) => this.references.removeReferencesTo(m, row.id, by),
          written: (m) =>
            this.audit.record(m, {
              ...event,
              eventId: 'jit.dormantUser.deleted',
              reason: 'dormantDeactivated',
              message: `Deactivated by the dormant-user policy of identity provider "${target.idpName}" on ${decision.since}, ${decision.days} days ago, and not changed since: the policy deletes such users after ${target.policy.deleteAfterDays} more days`,
              details: { ...details, deactivatedAt: decision.since, daysSinceDeactivation: decision.days },
            }),
        });
      }
      return true;
    } catch (e) {
      // Changed since it was read (412), or deleted (404): its next state is someone else's decision; the next run sees it.
      if (e instanceof SignedInMeanwhile || (e instanceof ScimError && (e.status === 412 || e.status === 404))) return false;
      throw e;
    }
  }

  /** Remembers, for the deletion M days later, that this policy deactivated the user and at which version. */
  private async recordDeactivation(m: EntityManager, userId: string, idpId: string, at: string, version: number): Promise<void> {
    const sql = this.db.sql(m);
    await sql.query(
      ...sql.escape(
        `INSERT INTO dormant_user_deactivations (user_id, idp_id, deactivated_at, user_version) VALUES (:userId, :idpId, :at, :version)
         ON CONFLICT (user_id) DO UPDATE SET idp_id = excluded.idp_id, deactivated_at = excluded.deactivated_at, user_version = excluded.user_version`,
        { userId, idpId, at, version },
      ),
    );
  }

  /**
   * The next page of users after `after` (by id) that the policy may act on: a superset of what dormantUserDecision
   * accepts, narrowed in SQL so that a domain of mostly active users costs few rows read.
   */
  private candidates(m: EntityManager, target: DormantUsersTarget, now: Date, after: string): Promise<CandidateRow[]> {
    const { policy, idpId } = target;
    // The stored writer of a JIT sign-in or of this policy: {"type":"App","value":"<idp id>",…} (ids are hex: no LIKE wildcards).
    const ownedBy = (column: string) => `${column} LIKE :writer`;
    const scope = policy.scope === 'includeOtherSources' ? `(${ownedBy('u.last_modified_by')} OR ${ownedBy('u.created_by')} OR s.idp_id = :idp)` : ownedBy('u.last_modified_by');
    const deactivate = `(u.active = :yes AND COALESCE(s.last_sign_in_at, u.created) <= :deactivateCutoff AND ${scope})`;
    const remove = policy.deleteAfterDays === undefined ? '' : ' OR (d.idp_id = :idp AND d.deactivated_at <= :deleteCutoff AND u.active = :no AND u.version = d.user_version)';
    const sql = this.db.sql(m);
    return sql.query<CandidateRow>(
      ...sql.escape(
        `SELECT u.id AS id, u.user_name AS user_name, u.active AS active, u.version AS version, u.created AS created,
                u.created_by AS created_by, u.last_modified_by AS last_modified_by,
                s.last_sign_in_at AS last_sign_in_at, s.idp_id AS sign_in_idp_id,
                d.idp_id AS deactivated_by, d.deactivated_at AS deactivated_at, d.user_version AS deactivated_version
           FROM users u
           LEFT JOIN user_sign_ins s ON s.user_id = u.id
           LEFT JOIN dormant_user_deactivations d ON d.user_id = u.id
          WHERE u.id > :after AND (${deactivate}${remove})
          ORDER BY u.id
          LIMIT ${BATCH}`,
        {
          after,
          yes: true,
          no: false,
          idp: idpId,
          writer: `{"type":"App","value":"${idpId}",%`,
          deactivateCutoff: dormantCutoff(now, policy.deactivateAfterDays),
          deleteCutoff: dormantCutoff(now, policy.deleteAfterDays ?? 0),
        },
      ),
    );
  }
}

function factsOf(r: CandidateRow): DormantUserFacts {
  return {
    id: r.id,
    userName: r.user_name,
    // SQLite returns booleans as 0/1.
    active: r.active === true || r.active === 1,
    version: Number(r.version),
    created: r.created,
    createdBy: r.created_by,
    lastModifiedBy: r.last_modified_by,
    lastSignInAt: r.last_sign_in_at ?? undefined,
    lastSignInIdpId: r.sign_in_idp_id,
    deactivation: r.deactivated_by && r.deactivated_at ? { idpId: r.deactivated_by, at: r.deactivated_at, version: Number(r.deactivated_version) } : undefined,
  };
}

function itemOf(u: DormantUserFacts, d: DormantUserDecision): DormantUserItem {
  return {
    id: u.id,
    userName: u.userName,
    ...(u.lastSignInAt ? { lastSuccessfulLoginDate: u.lastSignInAt } : {}),
    action: d.action,
    inactiveDays: d.days,
    ...(d.action === 'delete' ? { deactivatedAt: d.since } : {}),
  };
}
