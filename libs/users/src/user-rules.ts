import { Doc, ScimError, ScimResourceType, syncSchemas } from '@app/scim/core';
import { ADMIN_LOCK_REASON, USER_STATE_SCHEMA_ID } from './user-extensions.schema';

/** IDCS's messageId when a user would have no primary email. */
export const PRIMARY_EMAIL_NOT_SPECIFIED = 'error.identity.user.primaryEmailNotSpecified';

const PRIMARY_EMAIL_EXAMPLE = '"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]';

function emailsOf(doc: Doc): Doc[] {
  return Array.isArray(doc.emails) ? (doc.emails as Doc[]) : [];
}

/** Whether a user representation has an email marked primary, which IDCS requires of every user. */
export function hasPrimaryEmail(doc: Doc): boolean {
  return emailsOf(doc).some((e) => e.primary === true && typeof e.value === 'string' && e.value !== '');
}

/**
 * The email rules of an IDCS user, on a normalised representation: one email is primary (IDCS refuses a user
 * without one: "Primary email address required" is on by default in every identity domain) and at most one is
 * secondary (SDK model UserEmails). At most one primary is the generic SCIM rule, checked on input.
 */
export function checkEmails(doc: Doc): void {
  const emails = emailsOf(doc);
  if (!hasPrimaryEmail(doc)) {
    const detail = emails.length
      ? `None of the user's ${emails.length} email(s) is marked primary; a user needs a primary email: mark one with "primary": true, e.g. ${PRIMARY_EMAIL_EXAMPLE}`
      : `A user needs a primary email; send ${PRIMARY_EMAIL_EXAMPLE}`;
    throw ScimError.badRequest('invalidValue', detail, PRIMARY_EMAIL_NOT_SPECIFIED);
  }
  const secondary = emails.filter((e) => e.secondary === true).length;
  if (secondary > 1) throw ScimError.badRequest('invalidValue', `At most one "emails" value may be secondary (got ${secondary})`);
}

/**
 * Drops the attributes IDCS returns `never` and keeps no secret for (e.g. `bypassNotification`): they instruct the
 * request they come with and have no later meaning. Storing one would break every later PUT: a client cannot send
 * back what it is never shown, and most of them are immutable. The password (returned never as well) is taken
 * out earlier, to be hashed. Empty extension objects go, with their `schemas` entries.
 */
export function dropRequestOnly(rt: ScimResourceType, doc: Doc): void {
  for (const a of rt.schema.attributes) if (a.returned === 'never' && a.name !== 'password') delete doc[a.name];
  for (const { schema } of rt.schemaExtensions) {
    const ext = doc[schema.id] as Doc | undefined;
    if (!ext) continue;
    for (const a of schema.attributes) if (a.returned === 'never') delete ext[a.name];
    if (!Object.keys(ext).length) delete doc[schema.id];
  }
  syncSchemas(rt, doc);
}

const LOCKS = ['locked', 'recoveryLocked'] as const;

function userState(doc: Doc | undefined): Doc | undefined {
  return doc?.[USER_STATE_SCHEMA_ID] as Doc | undefined;
}

/** Whether the account is locked (IDCS userState `locked.on`): a locked user cannot sign in. */
export function isLocked(doc: Doc): boolean {
  return (userState(doc)?.locked as Doc | undefined)?.on === true;
}

/**
 * A PUT that leaves out a lock keeps it as it is: clients that know nothing of Oracle's userState extension
 * (Okta, Entra ID) PUT users back on every sync, and must not unlock accounts by doing so. Unlocking is explicit:
 * `"locked": {"on": false}`.
 */
export function retainUnsentLocks(rt: ScimResourceType, old: Doc, doc: Doc): void {
  const before = userState(old);
  if (!before) return;
  for (const lock of LOCKS) {
    if (before[lock] === undefined || userState(doc)?.[lock] !== undefined) continue;
    ((doc[USER_STATE_SCHEMA_ID] ??= {}) as Doc)[lock] = before[lock];
  }
  syncSchemas(rt, doc);
}

/**
 * Completes and checks the userState extension of a representation about to be stored, given the one stored
 * before (none on create). `lockDate` and `reason` are the server's: a lock that turns on gets the time (a lock
 * cannot be backdated) and, for `locked`, reason 1 "admin lock" (what a lock through this API is); a lock that stays
 * on keeps both; a lock that is off carries neither.
 */
export function settleUserState(old: Doc | undefined, doc: Doc, now: string): void {
  const state = userState(doc);
  if (!state) return;
  const sessions = state.maxConcurrentSessions;
  if (sessions !== undefined && (typeof sessions !== 'number' || sessions < 1)) {
    throw ScimError.badRequest('invalidValue', `"${USER_STATE_SCHEMA_ID}:maxConcurrentSessions" must be at least 1 (got ${JSON.stringify(sessions)})`);
  }
  for (const lock of LOCKS) {
    const value = state[lock] as Doc | undefined;
    if (!value) continue;
    const before = userState(old)?.[lock] as Doc | undefined;
    const wasOn = before?.on === true;
    if (value.on === true) {
      value.lockDate = wasOn && before?.lockDate ? before.lockDate : now;
      if (lock === 'locked') value.reason = wasOn && before?.reason !== undefined ? before.reason : ADMIN_LOCK_REASON;
    } else {
      delete value.lockDate;
      delete value.reason;
    }
  }
}
