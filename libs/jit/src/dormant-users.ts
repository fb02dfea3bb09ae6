import { Doc, ScimError } from '@app/scim/core';
import { DORMANT_USER_SCOPES, DormantUserScope, JIT_POLICY_EXTENSION_ID } from './sign-in-gate';

/** An IdP's dormant-user policy, from its JIT policy extension. */
export interface DormantUserPolicy {
  /** Deactivate users whose last sign-in (or creation, when they never signed in) is this many days ago or more. */
  deactivateAfterDays: number;
  /** Delete a user the policy deactivated this many more days after it did; undefined: never. */
  deleteAfterDays?: number;
  scope: DormantUserScope;
}

export type DormantUserAction = 'deactivate' | 'delete';

/** What the policy reads of one user: its row's state, writers, last sign-in and the policy's own deactivation. */
export interface DormantUserFacts {
  id: string;
  userName: string;
  active: boolean;
  version: number;
  created: string;
  /** The stored writers (JSON of a ResourceWriter, common-attributes.ts), null when unknown. */
  createdBy: string | null;
  lastModifiedBy: string | null;
  lastSignInAt?: string;
  lastSignInIdpId?: string | null;
  /** When a dormant-user policy deactivated the user, which IdP's, and the version it left the user at. */
  deactivation?: { idpId: string; at: string; version: number };
}

export interface DormantUserDecision {
  action: DormantUserAction;
  /** What the days are counted from: the last sign-in, the creation (never signed in), or the deactivation. */
  since: string;
  sinceWhat: 'lastSignIn' | 'created' | 'deactivated';
  days: number;
}

const DAY_MS = 86_400_000;
const MAX_DAYS = 3650;

/** The endpoint a JIT sign-in's writer names (jit-login.service.ts resourceWriter(IDENTITY_PROVIDER, …)). */
const IDP_ENDPOINT = '/IdentityProviders';

function isDays(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_DAYS;
}

/**
 * The dormant-user rules of a JIT policy extension being stored, applied in place: whole days, a deletion only after
 * a deactivation, the scope's canonical spelling (default jitManaged once a policy is set). A 400 invalidValue
 * naming the attribute and what to send otherwise.
 */
export function checkDormantUserPolicy(policy: Doc): void {
  const name = (a: string) => `${JIT_POLICY_EXTENSION_ID}:${a}`;
  for (const a of ['dormantUserDeactivateAfterDays', 'dormantUserDeleteAfterDays']) {
    const v = policy[a];
    if (v !== undefined && !isDays(v)) throw ScimError.badRequest('invalidValue', `${name(a)} must be a whole number of days from 1 to ${MAX_DAYS} (got ${JSON.stringify(v)}); remove it to turn this part of the policy off`);
  }
  if (policy.dormantUserDeleteAfterDays !== undefined && policy.dormantUserDeactivateAfterDays === undefined) {
    throw ScimError.badRequest('invalidValue', `${name('dormantUserDeleteAfterDays')} counts from the deactivation by ${name('dormantUserDeactivateAfterDays')}, which is not set: set both, or neither`);
  }
  const scope = policy.dormantUserScope;
  if (scope !== undefined) {
    const found = DORMANT_USER_SCOPES.find((s) => s.toLowerCase() === String(scope).toLowerCase());
    if (!found) throw ScimError.badRequest('invalidValue', `${name('dormantUserScope')} must be one of ${DORMANT_USER_SCOPES.join(', ')} (got ${JSON.stringify(scope)})`);
    policy.dormantUserScope = found;
  } else if (policy.dormantUserDeactivateAfterDays !== undefined) {
    policy.dormantUserScope = 'jitManaged';
  }
}

/** The stored dormant-user policy of an IdP's JIT policy extension; undefined when it has none. Never throws. */
export function dormantUserPolicyOf(extension: Doc | undefined): DormantUserPolicy | undefined {
  const deactivate = extension?.dormantUserDeactivateAfterDays;
  if (!isDays(deactivate)) return undefined;
  const remove = extension?.dormantUserDeleteAfterDays;
  return {
    deactivateAfterDays: deactivate,
    ...(isDays(remove) ? { deleteAfterDays: remove } : {}),
    scope: extension?.dormantUserScope === 'includeOtherSources' ? 'includeOtherSources' : 'jitManaged',
  };
}

/** Whether a stored writer is identity provider `idpId` (its JIT sign-ins, or its dormant-user policy). */
export function writtenByIdentityProvider(stored: string | null | undefined, idpId: string): boolean {
  if (!stored) return false;
  try {
    const w = JSON.parse(stored) as { value?: unknown; endpoint?: unknown };
    return w.value === idpId && w.endpoint === IDP_ENDPOINT;
  } catch {
    return false;
  }
}

/**
 * Whether the user is one of identity provider `idpId`'s under the scope. jitManaged: its JIT created or last
 * updated the user and nobody else wrote it since (the last writer is the IdP). includeOtherSources: also a user its
 * JIT created, or that last signed in through it, whoever changed it since.
 */
export function inDormantUserScope(scope: DormantUserScope, idpId: string, u: Pick<DormantUserFacts, 'createdBy' | 'lastModifiedBy' | 'lastSignInIdpId'>): boolean {
  if (writtenByIdentityProvider(u.lastModifiedBy, idpId)) return true;
  return scope === 'includeOtherSources' && (writtenByIdentityProvider(u.createdBy, idpId) || u.lastSignInIdpId === idpId);
}

const daysBetween = (from: string, now: Date) => Math.floor((now.getTime() - Date.parse(from)) / DAY_MS);

/**
 * What identity provider `idpId`'s dormant-user policy does to a user at `now`: deactivate an active user in its
 * scope whose last sign-in (or creation, when it never signed in) is deactivateAfterDays old; delete a user this
 * policy deactivated deleteAfterDays ago, if the user is still the version the policy left (nobody reactivated or
 * changed it since); otherwise nothing. Pure: the job and its dry run apply it to rows read page by page.
 */
export function dormantUserDecision(policy: DormantUserPolicy, idpId: string, u: DormantUserFacts, now: Date): DormantUserDecision | undefined {
  const d = u.deactivation;
  // A deactivation record is this policy's only while the user is as the policy left it; a stale one is ignored.
  if (d && d.idpId === idpId && !u.active && u.version === d.version) {
    if (policy.deleteAfterDays === undefined) return undefined;
    const days = daysBetween(d.at, now);
    return days >= policy.deleteAfterDays ? { action: 'delete', since: d.at, sinceWhat: 'deactivated', days } : undefined;
  }
  if (!u.active || !inDormantUserScope(policy.scope, idpId, u)) return undefined;
  const since = u.lastSignInAt ?? u.created;
  const days = daysBetween(since, now);
  return days >= policy.deactivateAfterDays ? { action: 'deactivate', since, sinceWhat: u.lastSignInAt ? 'lastSignIn' : 'created', days } : undefined;
}

/** The latest time a user's reference time (last sign-in, creation or deactivation) may have to be `days` old at `now`. */
export function dormantCutoff(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}
