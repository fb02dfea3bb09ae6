import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import type { ResourceWriter } from '@app/scim';

/** Something outside the users module that points at users (group memberships). */
export interface UserReferenceHolder {
  /** Removes what refers to the user about to be deleted, in the caller's transaction, as `by` (who deletes it). */
  removeReferencesTo(m: EntityManager, userId: string, by: ResourceWriter | undefined): Promise<void>;
  /**
   * The user was just written deactivated or locked, in the caller's transaction: ends what lets it act without
   * signing in again (browser sessions).
   */
  signInRevoked?(m: EntityManager, userId: string): Promise<void>;
}

/**
 * Modules that refer to users register here, so deleting a user cleans up after itself (and, for groups,
 * gives each group the user left a new version), and deactivating or locking one ends its sessions, without the
 * users module depending on them.
 */
@Injectable()
export class UserReferences {
  private readonly holders: UserReferenceHolder[] = [];

  register(holder: UserReferenceHolder): void {
    this.holders.push(holder);
  }

  async removeReferencesTo(m: EntityManager, userId: string, by: ResourceWriter | undefined): Promise<void> {
    for (const h of this.holders) await h.removeReferencesTo(m, userId, by);
  }

  async signInRevoked(m: EntityManager, userId: string): Promise<void> {
    for (const h of this.holders) await h.signInRevoked?.(m, userId);
  }
}
