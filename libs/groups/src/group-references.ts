import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { Actor } from '@app/audit';

/** Something outside the groups module that points at groups by id (e.g. an IdP's JIT group mappings). */
export interface GroupReferenceHolder {
  /** Human-readable descriptions of what references the group, empty when nothing does. */
  referencesTo(m: EntityManager, groupId: string): Promise<string[]>;
  /**
   * Removes those references (forceDelete), in the caller's transaction, as `actor`: the holder refuses (403) when
   * the actor may delete groups but not change what holds the references, and audits the change with the actor.
   */
  removeReferencesTo(m: EntityManager, groupId: string, actor: Actor): Promise<void>;
}

/**
 * Modules that reference groups register here, so deleting a group can refuse (409) or clean up (forceDelete)
 * without the groups module depending on them.
 */
@Injectable()
export class GroupReferences {
  private readonly holders: GroupReferenceHolder[] = [];

  register(holder: GroupReferenceHolder): void {
    this.holders.push(holder);
  }

  async referencesTo(m: EntityManager, groupId: string): Promise<string[]> {
    const all: string[] = [];
    for (const h of this.holders) all.push(...(await h.referencesTo(m, groupId)));
    return all;
  }

  async removeReferencesTo(m: EntityManager, groupId: string, actor: Actor): Promise<void> {
    for (const h of this.holders) await h.removeReferencesTo(m, groupId, actor);
  }
}
