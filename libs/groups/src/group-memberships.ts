import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ResourceWriter, ScimError, SqlFragment } from '@app/scim';
import { UsersRepository } from '@app/users';
import { GroupsRepository } from './groups.repository';

/**
 * The one writer of group memberships; every path goes through it (Group POST/PUT/PATCH, user deletion, JIT
 * join and leave), in the caller's transaction. Every membership change gives the group a new version: a
 * change made while writing the group itself counts towards that write's single new version (the pipeline
 * claims it), a change made from the user's side (`moveUser`, `removeUser`) bumps each group it touched.
 */
@Injectable()
export class GroupMemberships {
  constructor(
    private readonly groups: GroupsRepository,
    private readonly users: UsersRepository,
  ) {}

  /**
   * Adds users to a group being written; ids that name no user are refused. Returns whether any was new, or was a
   * membership JIT had granted that the writer now takes over (the group gets a new version either way).
   */
  async add(m: EntityManager, groupId: string, userIds: string[], where: string): Promise<boolean> {
    if (!userIds.length) return false;
    const unique = [...new Set(userIds)];
    await this.requireUsers(m, unique, where);
    const added = await this.groups.insertMembers(m, groupId, unique);
    // Adding a member JIT had granted makes the membership the adder's: JIT no longer removes it.
    const takenOver = added < unique.length ? await this.groups.clearJitGrants(m, groupId, unique) : 0;
    return added + takenOver > 0;
  }

  /** Removes users from a group being written. Returns whether any was a member. */
  async remove(m: EntityManager, groupId: string, userIds: string[]): Promise<boolean> {
    return userIds.length > 0 && (await this.groups.deleteMembers(m, groupId, [...new Set(userIds)])) > 0;
  }

  /** Removes the members matching a value filter of a group being written. Returns whether any matched. */
  async removeWhere(m: EntityManager, groupId: string, condition: SqlFragment): Promise<boolean> {
    return (await this.groups.deleteMembersWhere(m, groupId, condition)) > 0;
  }

  /** Makes the members of a group being written exactly `userIds`. Returns whether that changed anything. */
  async set(m: EntityManager, groupId: string, userIds: string[], where: string): Promise<boolean> {
    const wanted = new Set(userIds);
    const current = new Set(await this.groups.memberIds(m, groupId));
    const leaving = [...current].filter((id) => !wanted.has(id));
    const joining = [...wanted].filter((id) => !current.has(id));
    if (joining.length) await this.requireUsers(m, joining, where);
    const removed = leaving.length ? await this.groups.deleteMembers(m, groupId, leaving) : 0;
    const added = joining.length ? await this.groups.insertMembers(m, groupId, joining) : 0;
    return removed + added > 0;
  }

  /**
   * A user joins and leaves groups (JIT sign-in, `by` its identity provider); each group whose members changed gets a
   * new version. Memberships it adds are recorded as granted by that IdP (the planner lets Overwrite remove only those).
   */
  async moveUser(m: EntityManager, userId: string, join: string[], leave: string[], by: ResourceWriter): Promise<void> {
    const changed: string[] = [];
    for (const g of new Set(join)) if ((await this.groups.insertMembers(m, g, [userId], by.value)) > 0) changed.push(g);
    for (const g of new Set(leave)) if ((await this.groups.deleteMembers(m, g, [userId])) > 0) changed.push(g);
    if (changed.length) await this.groups.bumpVersions(m, changed, by);
  }

  /** Before a user is deleted (`by` someone): removes their memberships, and each group they left gets a new version. */
  async removeUser(m: EntityManager, userId: string, by: ResourceWriter | undefined): Promise<void> {
    const left = await this.groups.deleteMembershipsOf(m, userId);
    if (left.length) await this.groups.bumpVersions(m, left, by);
  }

  private async requireUsers(m: EntityManager, ids: string[], where: string): Promise<void> {
    const found = await this.users.existingIds(m, ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length) {
      throw ScimError.badRequest(
        'invalidValue',
        `${where}: no user with id ${missing.slice(0, 5).map((x) => `"${x}"`).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`,
        'error.common.validation.invalidReferenceResource',
      );
    }
  }
}
