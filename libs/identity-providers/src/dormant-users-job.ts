import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Actor } from '@app/audit';
import { APP_CONFIG, AppConfig } from '@app/config';
import { DormantUsersReport, DormantUsersService, dormantUserPolicyOf, DormantUsersTarget, JIT_POLICY_EXTENSION_ID } from '@app/jit';
import { Database, LeasedJob } from '@app/persistence';
import { Doc, ScimError } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';

/** The job's row in job_leases. */
export const DORMANT_USERS_JOB = 'jit-dormant-users';

const MAX_COUNT = 500;

/** What `POST …/dormantUsers` (or the dry run `GET …/dormantUsers`) asks: dryRun, and the page of users listed. */
export interface DormantUsersRequest {
  dryRun: boolean;
  startIndex: number;
  count: number;
}

/** Reads and checks a dormantUsers request: `dryRun` (default true: acting must be asked for), startIndex, count. */
export function dormantUsersRequestOf(body: unknown, query: Record<string, unknown>, forceDry: boolean): DormantUsersRequest {
  const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Doc;
  const dry = b.dryRun ?? query.dryRun;
  if (dry !== undefined && typeof dry !== 'boolean' && dry !== 'true' && dry !== 'false') {
    throw ScimError.badRequest('invalidValue', `dryRun must be true (list the users the policy would act on, change nothing) or false (act now) (got ${JSON.stringify(dry)})`);
  }
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = query[name] ?? b[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw ScimError.badRequest('invalidValue', `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return n;
  };
  return { dryRun: forceDry || dry === undefined || dry === true || dry === 'true', startIndex: int('startIndex', 1, 1, Number.MAX_SAFE_INTEGER), count: int('count', 100, 0, MAX_COUNT) };
}

/**
 * The dormant-user policies of identity providers (the JIT policy extension's dormantUser* attributes), applied by
 * a scheduled job that exactly one instance runs per interval (a lease row, LeasedJob), and on request: a dry run
 * listing the users a policy would act on, or a run now.
 */
@Injectable()
export class DormantUsersJob implements OnApplicationBootstrap, OnModuleDestroy {
  readonly job: LeasedJob<DormantUsersReport[]>;
  private readonly logger = new Logger('DormantJitUsers');

  constructor(
    private readonly db: Database,
    private readonly dormant: DormantUsersService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.job = new LeasedJob(db, DORMANT_USERS_JOB, config.jitDormantUsersIntervalSeconds * 1000, (now) => this.runAll(now));
  }

  onApplicationBootstrap(): void {
    this.job.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }

  /** Runs every policy at `now` if this instance wins the interval's lease; undefined when another instance holds it. */
  runIfLeased(now: Date = new Date()): Promise<DormantUsersReport[] | undefined> {
    return this.job.runIfLeased(now);
  }

  /** Applies every identity provider's dormant-user policy (identity providers are few; only those with one are read). */
  private async runAll(now: Date): Promise<DormantUsersReport[]> {
    const rows = await this.db.read((m) => m.createQueryBuilder(IdentityProviderEntity, 'r').where('r.data LIKE :p', { p: '%"dormantUserDeactivateAfterDays"%' }).getMany());
    const reports: DormantUsersReport[] = [];
    for (const row of rows) {
      const target = targetOf(row);
      if (!target) continue;
      try {
        reports.push(await this.dormant.run(target, now, { dryRun: false, count: 0 }));
      } catch (e) {
        // One IdP's failure leaves the others' policies to run; the next interval tries it again.
        this.logger.error(`dormant-user policy of identity provider ${row.id} failed: ${(e as Error).stack ?? e}`);
      }
    }
    return reports;
  }

  /** One identity provider's policy, now: a dry run, or a run (the request's administrator is the audit actor). */
  async runFor(idpId: string, request: DormantUsersRequest, actor: Actor, now: Date = new Date()): Promise<DormantUsersReport> {
    const row = await this.db.read((m) => m.findOneBy(IdentityProviderEntity, { id: idpId }));
    if (!row) throw ScimError.notFound(`No identity provider with id "${idpId}"`);
    const target = targetOf(row);
    if (!target) {
      throw new ScimError(409, `Identity provider "${row.partnerName}" has no dormant-user policy: set ${JIT_POLICY_EXTENSION_ID}:dormantUserDeactivateAfterDays (and optionally dormantUserDeleteAfterDays, dormantUserScope) first`);
    }
    return this.dormant.run(target, now, { ...request, actor });
  }
}

function targetOf(row: IdentityProviderEntity): DormantUsersTarget | undefined {
  const doc = JSON.parse(row.data) as Doc;
  const policy = dormantUserPolicyOf(doc[JIT_POLICY_EXTENSION_ID] as Doc | undefined);
  return policy && { idpId: row.id, idpName: row.partnerName, policy };
}
