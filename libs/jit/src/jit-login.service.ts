import { Injectable, Logger } from '@nestjs/common';
import { EntityManager, In } from 'typeorm';
import { AuditService } from '@app/audit';
import { GroupEntity, GroupMemberEntity, GroupsRepository } from '@app/groups';
import { Database, isUniqueViolation, newId, nowIso } from '@app/persistence';
import { Doc } from '@app/scim';
import { UserAttributeValueEntity, UserEntity, UsersRepository, UsersService } from '@app/users';
import { compileAttributeMappings } from './attribute-mappings';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { MappedAttributesService } from './mapped-attributes.service';
import { assertedGroups, ExistingUser, GroupDirectory, JitConfig, JitPlan, lookupValue, plan, RejectReason, VerifiedAssertion } from './planner';

export type JitLoginResult =
  | { ok: true; userId: string; outcome: 'created' | 'updated' | 'unchanged'; plan: JitPlan }
  | { ok: false; reason: RejectReason | 'unknown_idp' | 'internal'; detail: string };

/** Raised inside the transaction when another sign-in or request changed the user first: start over. */
class Conflict extends Error {}

const MAX_ATTEMPTS = 4;

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
    private readonly mapped: MappedAttributesService,
    private readonly users: UsersRepository,
    private readonly userRows: UsersService,
    private readonly groups: GroupsRepository,
    private readonly audit: AuditService,
  ) {}

  async signIn(input: { idpId: string; assertion: VerifiedAssertion; correlationId: string }): Promise<JitLoginResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(input);
      } catch (e) {
        const retry = e instanceof Conflict || isUniqueViolation(e);
        if (!retry || attempt >= MAX_ATTEMPTS) {
          this.logger.error(`JIT sign-in failed (correlation ${input.correlationId}): ${(e as Error).stack ?? e}`);
          return { ok: false, reason: 'internal', detail: 'The sign-in could not be completed' };
        }
      }
    }
  }

  /** What a sign-in would do, without writing anything (JIT preview). */
  async preview(idpId: string, assertion: VerifiedAssertion): Promise<{ plan: JitPlan; user?: { id: string; userName: string }; groupNames: Map<string, string> }> {
    return this.db.read(async (m) => {
      const config = await this.loadConfig(m, idpId);
      if (!config) throw new Error(`unknown identity provider ${idpId}`);
      const existing = await this.findUser(m, config, assertion);
      const directory = await this.directory(m, config, assertion);
      return {
        plan: plan(config, assertion, existing, directory),
        user: existing ? { id: existing.id, userName: String(existing.doc.userName) } : undefined,
        groupNames: directory.byId,
      };
    });
  }

  private async attempt(input: { idpId: string; assertion: VerifiedAssertion; correlationId: string }): Promise<JitLoginResult> {
    const { idpId, assertion: a, correlationId } = input;
    return this.db.transaction(async (m) => {
      const config = await this.loadConfig(m, idpId);
      if (!config) return { ok: false, reason: 'unknown_idp', detail: `No identity provider ${idpId}` };
      const existing = await this.findUser(m, config, a);
      const directory = await this.directory(m, config, a);
      const p = plan(config, a, existing, directory);
      const base = { eventId: 'sso.login', correlationId, resourceType: 'IdentityProvider', resourceId: idpId, resourceName: config.idpName };
      const names = (ids: string[]) => ids.map((id) => ({ id, displayName: directory.byId.get(id) }));

      if (p.kind === 'reject') {
        await this.audit.record(m, { ...base, outcome: 'failure', reason: p.reason, message: p.detail, actor: existing ? { kind: 'user', id: existing.id } : undefined, details: { nameId: a.nameId } });
        return { ok: false, reason: p.reason, detail: p.detail };
      }
      if (p.kind === 'signIn') {
        await this.audit.record(m, { ...base, outcome: 'success', actor: { kind: 'user', id: p.userId }, details: { nameId: a.nameId, jit: 'none' } });
        return { ok: true, userId: p.userId, outcome: 'unchanged', plan: p };
      }
      const now = nowIso();
      let userId: string;
      if (p.kind === 'create') {
        userId = newId();
        const row = this.userRows.toRow(userId, p.user, 1, now, now);
        await this.users.insert(m, row, this.userRows.indexRows(p.user));
      } else {
        userId = p.userId;
        const current = await this.users.findById(m, userId);
        if (!current) throw new Conflict();
        if (JSON.stringify(p.user) !== current.data) {
          const row = this.userRows.toRow(userId, p.user, current.version + 1, current.created, now);
          delete (row as Partial<UserEntity>).passwordHash; // JIT never touches the password
          if (!(await this.users.updateIfVersion(m, row, current.version, this.userRows.indexRows(p.user)))) throw new Conflict();
        }
      }
      for (const g of p.join) await this.groups.addMembers(m, g, [userId]);
      for (const g of p.kind === 'update' ? p.leave : []) await this.groups.removeMembers(m, g, [userId]);
      await this.audit.record(m, {
        ...base,
        outcome: 'success',
        actor: { kind: 'user', id: userId, name: String(p.user.userName) },
        changes: p.changes.map((c) => ({ attribute: c.attribute, oldValue: c.oldValue, newValue: c.newValue })),
        details: {
          nameId: a.nameId,
          jit: p.kind === 'create' ? 'userCreated' : 'userUpdated',
          groupsJoined: names(p.join),
          groupsLeft: names(p.kind === 'update' ? p.leave : []),
          groupsSkipped: p.skipped,
        },
      });
      return { ok: true, userId, outcome: p.kind === 'create' ? 'created' : 'updated', plan: p };
    });
  }

  /** The planner's view of an IdP's stored JIT settings and attribute mappings. */
  private async loadConfig(m: EntityManager, idpId: string): Promise<JitConfig | undefined> {
    // Read by table rather than through the identity-providers module, which depends on this one.
    const rows: { id: string; partner_name: string; enabled: boolean | number; data: string }[] = await m
      .createQueryBuilder()
      .select(['i.id AS id', 'i.partner_name AS partner_name', 'i.enabled AS enabled', 'i.data AS data'])
      .from('identity_providers', 'i')
      .where('i.id = :idpId', { idpId })
      .getRawMany();
    if (!rows.length) return undefined;
    const idp = JSON.parse(rows[0].data) as Doc;
    const mapping = await this.mapped.findForIdentityProvider(m, idpId);
    const groupMappings = (idp.jitUserProvGroupMappings as Doc[] | undefined) ?? [];
    return {
      idpId,
      idpName: rows[0].partner_name,
      idpEnabled: rows[0].enabled === true || rows[0].enabled === 1,
      enabled: idp.jitUserProvEnabled === true,
      createUser: idp.jitUserProvCreateUserEnabled === true,
      updateUser: idp.jitUserProvAttributeUpdateEnabled === true,
      lookup: {
        method: (idp.userMappingMethod as JitConfig['lookup']['method']) ?? 'NameIDToUserAttribute',
        storeAttribute: (idp.userMappingStoreAttribute as JitConfig['lookup']['storeAttribute']) ?? 'userName',
        assertionAttribute: idp.assertionAttribute as string | undefined,
      },
      mappings: compileAttributeMappings(mapping?.attributeMappings as Doc[] | undefined),
      groups: {
        fromAssertion: idp.jitUserProvGroupAssertionAttributeEnabled === true,
        attributeName: idp.jitUserProvGroupSAMLAttributeName as string | undefined,
        mode: (idp.jitUserProvGroupMappingMode as GroupMappingMode) ?? GroupMappingMode.Explicit,
        explicit: new Map(groupMappings.map((g) => [String(g.idpGroup), String(g.value)])),
        staticList: idp.jitUserProvGroupStaticListEnabled === true,
        staticGroupIds: ((idp.jitUserProvAssignedGroups as Doc[] | undefined) ?? []).map((g) => String(g.value)),
        method: (idp.jitUserProvGroupAssignmentMethod as GroupAssignmentMethod) ?? GroupAssignmentMethod.Overwrite,
        ignoreAbsent: idp.jitUserProvIgnoreErrorOnAbsentGroups !== false,
      },
    };
  }

  private async findUser(m: EntityManager, config: JitConfig, a: VerifiedAssertion): Promise<ExistingUser | undefined> {
    const value = lookupValue(config, a);
    if (value === undefined) return undefined;
    const qb = m.createQueryBuilder(UserEntity, 'r');
    switch (config.lookup.storeAttribute) {
      case 'emails.value':
        qb.where(
          `EXISTS (SELECT 1 FROM user_attribute_values v WHERE v.user_id = r.id AND v.attribute = 'emails' AND v.is_primary = :yes AND v.value_lower = :value)`,
          { yes: true, value: value.toLowerCase() },
        );
        break;
      case 'externalId':
        qb.where('r.external_id = :value', { value });
        break;
      default:
        qb.where('r.user_name_lower = :value', { value: value.toLowerCase() });
    }
    const rows = await qb.limit(2).getMany();
    if (rows.length !== 1) return undefined; // none, or ambiguous (several users share the value): no match
    const row = rows[0];
    const memberships = await m.find(GroupMemberEntity, { where: { memberId: row.id }, select: ['groupId'] });
    return { id: row.id, active: row.active === true || (row.active as unknown) === 1, doc: JSON.parse(row.data), groupIds: memberships.map((g) => g.groupId) };
  }

  /** Only the groups this sign-in can involve: configured ids, and asserted names for implicit mapping. */
  private async directory(m: EntityManager, config: JitConfig, a: VerifiedAssertion): Promise<GroupDirectory> {
    const ids = [...new Set([...config.groups.explicit.values(), ...config.groups.staticGroupIds])];
    const names = config.groups.mode === GroupMappingMode.Implicit ? assertedGroups(config, a).map((n) => n.toLowerCase()) : [];
    const found: GroupEntity[] = [];
    if (ids.length) found.push(...(await m.find(GroupEntity, { where: { id: In(ids) }, select: ['id', 'displayName', 'displayNameLower'] })));
    if (names.length) found.push(...(await m.find(GroupEntity, { where: { displayNameLower: In(names) }, select: ['id', 'displayName', 'displayNameLower'] })));
    return {
      byId: new Map(found.map((g) => [g.id, g.displayName])),
      byName: new Map(found.map((g) => [g.displayNameLower, g.id])),
    };
  }
}
