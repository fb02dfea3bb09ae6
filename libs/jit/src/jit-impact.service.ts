import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { GroupMemberEntity, GroupsRepository } from '@app/groups';
import { Database } from '@app/persistence';
import { Doc } from '@app/scim';
import { attributeSourcesOf, UserEntity } from '@app/users';
import { impactOf, UserImpact } from './jit-impact';
import { GroupMappingMode } from './jit-settings';
import { assertedGroups, ExistingUser, GroupDirectory, JitConfig, plan, VerifiedAssertion } from './planner';
import { JitSignInInputEntity } from './sign-in-inputs';

/** Users read per query: bounded memory whatever the number of users. */
const BATCH = 500;
const YIELD_EVERY = 25;

export interface JitImpactPage {
  startIndex: number;
  count: number;
}

export interface JitImpactReport {
  /** Users whose last sign-in inputs through this IdP are kept (the users the report can speak for). */
  usersWithInputs: number;
  /** Of those, how many would end differently at their next sign-in. */
  affectedUsers: number;
  startIndex: number;
  itemsPerPage: number;
  /** This page of affected users: what each would gain and lose. */
  Resources: (Omit<UserImpact, 'groupsGained' | 'groupsLost'> & {
    user: { id: string; userName: string };
    lastSignIn: string;
    groupsGained: { value: string; display?: string }[];
    groupsLost: { value: string; display?: string }[];
  })[];
}

/**
 * The change-impact report: for every user whose last verified sign-in inputs through an IdP are kept, the pure
 * planner's plan of the next sign-in under the current and the proposed configuration, compared. Reads the users
 * in batches, keeps only the counts and the requested page, and writes nothing.
 */
@Injectable()
export class JitImpactService {
  constructor(
    private readonly db: Database,
    private readonly groups: GroupsRepository,
  ) {}

  report(current: JitConfig, proposed: JitConfig, page: JitImpactPage): Promise<JitImpactReport> {
    return this.db.read(async (m) => {
      const directory: GroupDirectory = { byId: new Map(), byName: new Map() };
      const fixed = [current, proposed].flatMap((c) => [...c.groups.explicit.values(), ...c.groups.staticGroupIds]);
      for (const g of await this.groups.namesByIds(m, [...new Set(fixed)])) {
        directory.byId.set(g.id, g.displayName);
        directory.byName.set(g.displayNameLower, g.id);
      }
      const implicit = [current, proposed].filter((c) => c.groups.mode === GroupMappingMode.Implicit);
      const knownNames = new Set<string>();
      // Mappings that defer to other sources plan from the recorded sources, as the sign-in does.
      const readSources = [current, proposed].some((c) => c.mappings.some((x) => x.authority === 'defer'));
      const out: JitImpactReport = { usersWithInputs: 0, affectedUsers: 0, startIndex: page.startIndex, itemsPerPage: 0, Resources: [] };
      let after = '';
      for (;;) {
        const rows = await m
          .createQueryBuilder(JitSignInInputEntity, 'i')
          .where('i.idp_id = :idp AND i.user_id > :after', { idp: current.idpId, after })
          .orderBy('i.user_id', 'ASC')
          .limit(BATCH)
          .getMany();
        if (!rows.length) break;
        after = rows[rows.length - 1].userId;
        const ids = rows.map((r) => r.userId);
        const users = new Map((await m.findBy(UserEntity, { id: In(ids) })).map((u) => [u.id, u]));
        const memberships = new Map<string, string[]>();
        const grants = new Map<string, Map<string, string>>();
        for (const r of await m.find(GroupMemberEntity, { where: { memberId: In(ids) }, select: ['groupId', 'memberId', 'grantedByIdp'] })) {
          (memberships.get(r.memberId) ?? memberships.set(r.memberId, []).get(r.memberId)!).push(r.groupId);
          if (r.grantedByIdp) (grants.get(r.memberId) ?? grants.set(r.memberId, new Map()).get(r.memberId)!).set(r.groupId, r.grantedByIdp);
        }
        const sources = readSources ? await attributeSourcesOf(m, ids) : undefined;
        const inputs = rows.map((r) => JSON.parse(r.inputs) as VerifiedAssertion);
        // Implicit group mapping finds groups by the asserted names: only those this batch asserts are read.
        const names = new Set<string>();
        for (const a of inputs) for (const c of implicit) for (const n of assertedGroups(c, a)) if (!knownNames.has(n.toLowerCase())) names.add(n.toLowerCase());
        for (const g of await this.groups.namesByLowerNames(m, [...names])) {
          directory.byId.set(g.id, g.displayName);
          directory.byName.set(g.displayNameLower, g.id);
        }
        names.forEach((n) => knownNames.add(n));

        for (let i = 0; i < rows.length; i++) {
          // Planning costs about 0.1 ms a user: other requests get the event loop back every few milliseconds.
          if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((r) => setImmediate(r));
          const row = rows[i];
          const user = users.get(row.userId);
          if (!user) continue;
          out.usersWithInputs++;
          const existing: ExistingUser = {
            id: user.id,
            // SQLite returns booleans as 0/1.
            active: user.active === true || (user.active as unknown) === 1,
            doc: JSON.parse(user.data) as Doc,
            groupIds: memberships.get(user.id) ?? [],
            jitGrants: grants.get(user.id) ?? new Map(),
            ...(sources ? { sources: sources.get(user.id) ?? new Map() } : {}),
          };
          const impact = impactOf(plan(current, inputs[i], existing, directory), plan(proposed, inputs[i], existing, directory), existing);
          if (!impact) continue;
          out.affectedUsers++;
          if (out.affectedUsers < page.startIndex || out.Resources.length >= page.count) continue;
          const named = (ids: string[]) => ids.map((value) => ({ value, display: directory.byId.get(value) }));
          out.Resources.push({ user: { id: user.id, userName: String(existing.doc.userName) }, lastSignIn: row.updated, ...impact, groupsGained: named(impact.groupsGained), groupsLost: named(impact.groupsLost) });
        }
      }
      // Groups a user would leave under Overwrite may be any group: name those the page shows.
      const unnamed = [...new Set(out.Resources.flatMap((r) => [...r.groupsGained, ...r.groupsLost]).filter((g) => g.display === undefined).map((g) => g.value))];
      if (unnamed.length) {
        const found = new Map((await this.groups.namesByIds(m, unnamed)).map((g) => [g.id, g.displayName]));
        for (const r of out.Resources) for (const g of [...r.groupsGained, ...r.groupsLost]) g.display ??= found.get(g.value);
      }
      out.itemsPerPage = out.Resources.length;
      return out;
    });
  }
}
