import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AuditService } from '@app/audit';
import { GroupMemberships, GroupsRepository } from '@app/groups';
import { MetricsService } from '@app/metrics';
import { Database, isTransactionConflict, isUniqueViolation, sweepDue } from '@app/persistence';
import { resourceWriter } from '@app/scim';
import { attributeSourcesOf, UserEntity, UsersService } from '@app/users';
import { FederatedIdentityEntity } from './federated-identity.entity';
import { DEFAULT_INPUT_RETENTION_DAYS, JitSignInInputEntity, recordedInputsOf } from './sign-in-inputs';
import { GroupMappingMode } from './jit-settings';
import { assertedGroups, ExistingUser, GroupDirectory, JitConfig, JitPlan, lookupAttributeOf, lookupValue, plan, RejectReason, VerifiedAssertion } from './planner';

export type JitLoginResult =
  | { ok: true; userId: string; outcome: 'created' | 'updated' | 'unchanged'; plan: JitPlan }
  | { ok: false; reason: RejectReason | 'internal'; detail: string };

/** Raised inside the transaction when another sign-in or request changed the user first: start over. */
class Conflict extends Error {}

/** The sign-in protocol, named in the audit trail. */
export type SignInProtocol = 'saml' | 'oidc';

/**
 * The IdP's stable identifier of the person (OpenID Connect `sub`). With it, a sign-in first finds the user this
 * subject was linked to by an earlier sign-in, and links the user it creates or finds by the configured lookup.
 */
export interface FederatedSubject {
  subject: string;
  /**
   * Why a user found by the lookup, and not yet linked to this subject, must not be linked (and the sign-in is
   * refused): account linking is off, or the lookup matched an email the IdP does not say it verified. Undefined
   * when linking is allowed.
   */
  linkRefusal?: string;
}

export interface SignInInput {
  /** The IdP's JIT configuration, from the one read of its sign-in configuration that also judged the assertion. */
  config: JitConfig;
  assertion: VerifiedAssertion;
  correlationId: string;
  /** SAML unless said otherwise. */
  protocol?: SignInProtocol;
  federated?: FederatedSubject;
  /**
   * Runs first in the sign-in's transaction: the caller's single-use claims (a SAML assertion id, its request). It
   * refuses the sign-in by throwing SignInClaimRefused, whose error signIn then throws, with nothing written.
   */
  claim?: (m: EntityManager) => Promise<void>;
  onSignedIn?: (m: EntityManager, userId: string) => Promise<void>;
}

/** Thrown by SignInInput.claim: the transaction rolls back, and signIn throws `refusal` to its caller, who audits it. */
export class SignInClaimRefused extends Error {
  constructor(readonly refusal: Error) {
    super(refusal.message);
  }
}

/** The user a sign-in is about: found through its federated identity (linked) or the lookup, none, or a refusal. */
type FoundUser = { user: ExistingUser; row: UserEntity; linked: boolean } | undefined | 'ambiguous' | { refused: JitPlan };

const MAX_ATTEMPTS = 4;

/** The IdentityProvider resource type, as the writer of what a sign-in changes names it (jit cannot import its lib). */
const IDENTITY_PROVIDER = { name: 'IdentityProvider', endpoint: '/IdentityProviders' };

const ambiguous = (config: JitConfig, a: VerifiedAssertion): JitPlan => ({
  kind: 'reject',
  reason: RejectReason.AmbiguousUser,
  detail: `Several users match ${config.lookup.storeAttribute} "${lookupValue(config, a)}"`,
});

/**
 * Applies the JIT plan of a verified SAML assertion: looks the user up, asks the pure planner what to do,
 * and writes the result (user, memberships, one audit event) in one transaction. A rejection writes only
 * its audit event. Concurrent first sign-ins of one new user converge: the loser of the unique userName
 * race plans again against the user the winner created.
 */
@Injectable()
export class JitLoginService {
  private readonly logger = new Logger('JitLogin');

  constructor(
    private readonly db: Database,
    private readonly users: UsersService,
    private readonly groups: GroupsRepository,
    private readonly memberships: GroupMemberships,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Signs in (creating or updating the user as the IdP's JIT settings say). `onSignedIn` runs in the same
   * transaction once the user is known, for what the caller writes with the sign-in (the browser session), so that
   * a sign-in costs one transaction; it runs again if the transaction is retried.
   */
  async signIn(input: SignInInput): Promise<JitLoginResult> {
    const result = await this.signInOnce(input);
    const p = result.ok ? result.plan : undefined;
    this.metrics.signIn(input.config.idpId, result.ok ? result.outcome : 'refused', result.ok ? undefined : result.reason);
    if (p && (p.kind === 'create' || p.kind === 'update')) this.metrics.jitGroupsChanged(input.config.idpId, p.join.length, p.kind === 'update' ? p.leave.length : 0);
    return result;
  }

  private async signInOnce(input: SignInInput): Promise<JitLoginResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(input);
      } catch (e) {
        if (e instanceof SignInClaimRefused) throw e.refusal;
        const retry = e instanceof Conflict || isUniqueViolation(e) || isTransactionConflict(e);
        if (!retry || attempt >= MAX_ATTEMPTS) {
          this.logger.error(`JIT sign-in failed (correlation ${input.correlationId}): ${(e as Error).stack ?? e}`);
          const detail = retry ? `Still conflicting with concurrent changes after ${attempt} attempts` : 'Unexpected error; see the server log';
          await this.recordFailure(input, 'internal', detail);
          return { ok: false, reason: 'internal', detail: 'The sign-in could not be completed' };
        }
      }
    }
  }

  /** What a sign-in with this configuration would do, without writing anything (JIT preview). */
  async preview(config: JitConfig, assertion: VerifiedAssertion, federated?: FederatedSubject): Promise<{ plan: JitPlan; user?: { id: string; userName: string }; groupNames: Map<string, string> }> {
    return this.db.read(async (m) => {
      const found = await this.findUser(m, config, assertion, federated);
      const directory = await this.directory(m, config, assertion);
      if (found === 'ambiguous') return { plan: ambiguous(config, assertion), groupNames: directory.byId };
      if (found && 'refused' in found) return { plan: found.refused, groupNames: directory.byId };
      const existing = found?.user;
      const p = plan(config, assertion, existing, directory);
      if (p.kind === 'update') await this.nameGroups(m, directory, p.leave);
      return {
        plan: p,
        user: existing ? { id: existing.id, userName: String(existing.doc.userName) } : undefined,
        groupNames: directory.byId,
      };
    });
  }

  private async attempt(input: SignInInput): Promise<JitLoginResult> {
    const { config, assertion: a, correlationId, federated } = input;
    return this.db.transaction(async (m) => {
      await input.claim?.(m);
      const found = await this.findUser(m, config, a, federated);
      const user = found === 'ambiguous' || (found && 'refused' in found) ? undefined : found;
      const existing = user?.user;
      const directory = await this.directory(m, config, a);
      const p = found === 'ambiguous' ? ambiguous(config, a) : found && 'refused' in found ? found.refused : plan(config, a, existing, directory);
      if (p.kind === 'update') await this.nameGroups(m, directory, p.leave);
      // The sources each change replaces, read before the write records this sign-in as their source.
      const changes = await this.changesWithSources(m, config, p, existing);
      const base = { eventId: 'sso.login', correlationId, resourceType: 'IdentityProvider', resourceId: config.idpId, resourceName: config.idpName };
      const names = (ids: string[]) => ids.map((id) => ({ id, displayName: directory.byId.get(id) }));
      const who = { protocol: input.protocol ?? 'saml', nameId: a.nameId };
      // What the change-impact report plans from: this sign-in's inputs, as much of them as the IdP's JIT reads.
      const remember = (userId: string) => this.rememberInputs(m, config, a, userId);
      // The first sign-in of a subject links it to the user it created or found; later ones find the user by it.
      const link = async (userId: string) => {
        if (federated && !user?.linked) await m.insert(FederatedIdentityEntity, { idpId: config.idpId, subject: federated.subject, userId, created: new Date().toISOString() });
      };

      if (p.kind === 'reject') {
        await this.audit.record(m, { ...base, outcome: 'failure', reason: p.reason, message: p.detail, actor: existing ? { kind: 'user', id: existing.id } : undefined, details: p.clause ? { ...who, gateClause: p.clause } : who });
        return { ok: false, reason: p.reason, detail: p.detail };
      }
      if (p.kind === 'signIn') {
        await link(p.userId);
        await remember(p.userId);
        await this.audit.record(m, { ...base, outcome: 'success', actor: { kind: 'user', id: p.userId }, details: { ...who, jit: 'none', ...(federated && !user?.linked ? { linked: true } : {}) } });
        await input.onSignedIn?.(m, p.userId);
        return { ok: true, userId: p.userId, outcome: 'unchanged', plan: p };
      }
      // Users and memberships are written by the libraries that own them: the user through the users'
      // resource pipeline (index rows, versions), memberships through the one membership writer (group versions).
      // Both are written by the identity provider (idcsCreatedBy / idcsLastModifiedBy: common-attributes.ts).
      const by = resourceWriter(IDENTITY_PROVIDER, config.idpId, config.idpName);
      let userId: string;
      if (p.kind === 'create') {
        userId = (await this.users.pipeline.insert(m, p.user, undefined, undefined, by)).id;
      } else {
        userId = p.userId;
        // Written against the version the plan was made from: a change another request made meanwhile is not
        // overwritten, the sign-in plans again instead.
        const planned = user?.row;
        if (!planned || !(await this.users.pipeline.update(m, planned, p.user, undefined, by))) throw new Conflict();
      }
      await link(userId);
      await remember(userId);
      await this.audit.record(m, {
        ...base,
        outcome: 'success',
        actor: { kind: 'user', id: userId, name: String(p.user.userName) },
        changes,
        details: {
          ...who,
          ...(federated && !user?.linked && p.kind === 'update' ? { linked: true } : {}),
          jit: p.kind === 'create' ? 'userCreated' : 'userUpdated',
          groupsJoined: names(p.join),
          groupsLeft: names(p.kind === 'update' ? p.leave : []),
          groupsSkipped: p.skipped,
        },
      });
      await input.onSignedIn?.(m, userId);
      // Last: giving each group joined or left a new version locks its row until the commit, and every sign-in
      // that joins a popular group waits for that lock, so it is held for as short a time as possible.
      await this.memberships.moveUser(m, userId, p.join, p.kind === 'update' ? p.leave : [], by);
      return { ok: true, userId, outcome: p.kind === 'create' ? 'created' : 'updated', plan: p };
    });
  }

  /**
   * Keeps the user's inputs of this sign-in (replacing the last ones) for the change-impact report, unless the IdP
   * keeps none; drops this IdP's inputs older than its retention, at most once a minute per process.
   */
  private async rememberInputs(m: EntityManager, config: JitConfig, a: VerifiedAssertion, userId: string): Promise<void> {
    const days = config.inputRetentionDays ?? DEFAULT_INPUT_RETENTION_DAYS;
    const now = new Date();
    if (sweepDue(`jit_sign_in_inputs:${config.idpId}`)) {
      const before = new Date(now.getTime() - days * 86_400_000).toISOString();
      await m.createQueryBuilder().delete().from(JitSignInInputEntity).where('idp_id = :idp AND updated < :before', { idp: config.idpId, before }).execute();
    }
    if (days === 0) return;
    await m
      .createQueryBuilder()
      .insert()
      .into(JitSignInInputEntity)
      .values({ idpId: config.idpId, userId, inputs: JSON.stringify(recordedInputsOf(config, a)), updated: now.toISOString() })
      .orUpdate(['inputs', 'updated'], ['idp_id', 'user_id'])
      .updateEntity(false)
      .execute();
  }

  /**
   * The plan's attribute changes as the audit event names them, each with the source it replaced (attribute ownership).
   * The sources were read before planning when a mapping defers to other sources; otherwise only those of the changed
   * attributes are read, and only when something changes (a returning sign-in that changes nothing reads none).
   */
  private async changesWithSources(m: EntityManager, config: JitConfig, p: JitPlan, existing: ExistingUser | undefined): Promise<{ attribute: string; oldValue: unknown; newValue: unknown; replacedSource?: unknown }[]> {
    if (p.kind !== 'create' && p.kind !== 'update') return [];
    const keyOf = new Map(config.mappings.map((x) => [x.target, x.sourceKey]));
    let sources = existing?.sources;
    if (p.kind === 'update' && p.changes.length && existing && !sources) {
      const keys = [...new Set(p.changes.map((c) => keyOf.get(c.attribute)).filter((k): k is string => !!k))];
      sources = (await attributeSourcesOf(m, [existing.id], keys)).get(existing.id);
    }
    return p.changes.map((c) => {
      const replaced = p.kind === 'update' ? sources?.get(keyOf.get(c.attribute) ?? '') : undefined;
      return { attribute: c.attribute, oldValue: c.oldValue, newValue: c.newValue, ...(replaced ? { replacedSource: replaced } : {}) };
    });
  }

  /** Every attempt leaves an audit event, also one that failed for a reason outside the plan. */
  private async recordFailure(input: SignInInput, reason: string, detail: string): Promise<void> {
    try {
      await this.db.transaction((m) =>
        this.audit.record(m, { eventId: 'sso.login', correlationId: input.correlationId, resourceType: 'IdentityProvider', resourceId: input.config.idpId, resourceName: input.config.idpName, outcome: 'failure', reason, message: detail, details: { protocol: input.protocol ?? 'saml', nameId: input.assertion.nameId } }),
      );
    } catch (e) {
      this.logger.error(`Could not audit the failed sign-in (correlation ${input.correlationId}): ${(e as Error).message}`);
    }
  }

  /**
   * The user the assertion designates, none, or 'ambiguous' when several users share the lookup value. With a
   * federated subject, the user it was linked to comes first; a user found by the lookup instead is one this
   * subject would be linked to, which must be allowed, and must not be linked to another subject of this IdP.
   */
  private async findUser(m: EntityManager, config: JitConfig, a: VerifiedAssertion, federated?: FederatedSubject): Promise<FoundUser> {
    if (federated) {
      const link = await m.findOneBy(FederatedIdentityEntity, { idpId: config.idpId, subject: federated.subject });
      const linkedUser = link ? await this.users.findForSignInById(m, link.userId) : undefined;
      if (linkedUser) return { ...(await this.existing(m, config, linkedUser)), linked: true };
    }
    const lookup = lookupAttributeOf(config.lookup);
    const value = lookupValue(config, a);
    // A lookup sign-in cannot do finds nobody; the planner then refuses the sign-in, saying why.
    if (value === undefined || 'unsupported' in lookup) return undefined;
    const found = await this.users.findForSignIn(m, lookup.attribute, value);
    if (found === undefined || found === 'ambiguous') return found;
    if (federated) {
      const other = await m.findOneBy(FederatedIdentityEntity, { idpId: config.idpId, userId: found.row.id });
      if (other) {
        return { refused: { kind: 'reject', reason: RejectReason.LinkedToAnotherSubject, detail: `User ${found.row.id} (found by ${config.lookup.storeAttribute} "${value}") is linked to another subject of identity provider "${config.idpName}"; a subject is never linked to a user another subject signs in as` } };
      }
      if (federated.linkRefusal) {
        return { refused: { kind: 'reject', reason: RejectReason.AccountLinkingRefused, detail: `User ${found.row.id} matches ${config.lookup.storeAttribute} "${value}" but is not linked to this subject, and ${federated.linkRefusal}` } };
      }
    }
    return { ...(await this.existing(m, config, found)), linked: false };
  }

  /**
   * The planner's view of a stored user: its memberships with who granted them (one query), and the sources of its
   * attributes only when a mapping defers to other sources (one more).
   */
  private async existing(m: EntityManager, config: JitConfig, found: { row: UserEntity; doc: ExistingUser['doc']; active: boolean }): Promise<{ user: ExistingUser; row: UserEntity }> {
    const { row, doc, active } = found;
    const memberships = await this.groups.membershipsOf(m, row.id);
    const jitGrants = new Map(memberships.filter((g) => g.grantedByIdp).map((g) => [g.groupId, g.grantedByIdp!]));
    const sources = config.mappings.some((x) => x.authority === 'defer') ? ((await attributeSourcesOf(m, [row.id])).get(row.id) ?? new Map()) : undefined;
    return { row, user: { id: row.id, active, doc, groupIds: memberships.map((g) => g.groupId), jitGrants, ...(sources ? { sources } : {}) } };
  }

  /** Adds the displayNames of groups left that the directory did not need for planning (Overwrite drops any group). */
  private async nameGroups(m: EntityManager, directory: GroupDirectory, ids: string[]): Promise<void> {
    const missing = ids.filter((id) => !directory.byId.has(id));
    if (!missing.length) return;
    for (const g of await this.groups.namesByIds(m, missing)) directory.byId.set(g.id, g.displayName);
  }

  /** Only the groups this sign-in can involve: configured ids, and asserted names for implicit mapping. */
  private async directory(m: EntityManager, config: JitConfig, a: VerifiedAssertion): Promise<GroupDirectory> {
    const ids = [...new Set([...config.groups.explicit.values(), ...config.groups.staticGroupIds])];
    const names = config.groups.mode === GroupMappingMode.Implicit ? assertedGroups(config, a).map((n) => n.toLowerCase()) : [];
    const found = [...(await this.groups.namesByIds(m, ids)), ...(await this.groups.namesByLowerNames(m, names))];
    return {
      byId: new Map(found.map((g) => [g.id, g.displayName])),
      byName: new Map(found.map((g) => [g.displayNameLower, g.id])),
    };
  }
}
