import { Doc, ScimError } from '@app/scim/core';
import { USER_STATE_SCHEMA_ID } from './user-extensions.schema';
import { retainUnsentImmutable } from '@app/scim/core';
import { checkEmails, dropRequestOnly, isLocked, PRIMARY_EMAIL_NOT_SPECIFIED, retainUnsentLocks, settleUserState } from './user-rules';
import { ORACLE_USER_SCHEMA_ID, USER_RESOURCE_TYPE, USER_SCHEMA_ID } from './user.schema';

const rt = USER_RESOURCE_TYPE;
const NOW = '2026-11-26T12:00:00.000Z';
const LATER = '2026-11-27T08:00:00.000Z';

const errorOf = (f: () => void): ScimError | undefined => {
  try {
    f();
  } catch (e) {
    return e as ScimError;
  }
  return undefined;
};

const state = (s: Doc): Doc => ({ schemas: [USER_SCHEMA_ID, USER_STATE_SCHEMA_ID], userName: 'u', [USER_STATE_SCHEMA_ID]: s });

describe('user rules', () => {
  describe(checkEmails.name, () => {
    it.each([
      ['no emails', undefined, PRIMARY_EMAIL_NOT_SPECIFIED],
      ['no primary', [{ value: 'a@x' }], PRIMARY_EMAIL_NOT_SPECIFIED],
      ['a primary without value', [{ type: 'work', primary: true }], PRIMARY_EMAIL_NOT_SPECIFIED],
      ['two secondaries', [{ value: 'a@x', primary: true }, { value: 'b@x', secondary: true }, { value: 'c@x', secondary: true }], undefined],
      ['one primary', [{ value: 'a@x', primary: true }], 'ok'],
      ['a primary and a secondary', [{ value: 'a@x', primary: true }, { value: 'b@x', secondary: true, verified: true }], 'ok'],
    ])('should judge %s', (_case, emails, outcome) => {
      const e = errorOf(() => checkEmails({ userName: 'u', emails }));
      if (outcome === 'ok') return expect(e).toBeUndefined();
      expect(e?.status).toBe(400);
      expect(e?.scimType).toBe('invalidValue');
      expect(e?.messageId).toBe(outcome);
    });
  });

  describe(dropRequestOnly.name, () => {
    it('should drop what IDCS returns never (bypassNotification, allowSelfChange), emptied extensions and their URNs', () => {
      const SELF_CHANGE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:selfChange:User';
      const doc: Doc = { schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID, SELF_CHANGE], userName: 'u', [ORACLE_USER_SCHEMA_ID]: { bypassNotification: true, isFederatedUser: true }, [SELF_CHANGE]: { allowSelfChange: true } };
      dropRequestOnly(rt, doc);
      expect(doc).toEqual({ schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID], userName: 'u', [ORACLE_USER_SCHEMA_ID]: { isFederatedUser: true } });
    });
  });

  describe(retainUnsentImmutable.name, () => {
    it('should keep the immutable values a PUT leaves out, and only those', () => {
      const old: Doc = { schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID], userName: 'u', [ORACLE_USER_SCHEMA_ID]: { creationMechanism: 'api', serviceUser: true, isFederatedUser: true } };
      const doc: Doc = { schemas: [USER_SCHEMA_ID], userName: 'u' };
      retainUnsentImmutable(rt, old, doc);
      expect(doc).toEqual({ schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID], userName: 'u', [ORACLE_USER_SCHEMA_ID]: { creationMechanism: 'api', serviceUser: true } });
      const sent: Doc = { schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID], userName: 'u', [ORACLE_USER_SCHEMA_ID]: { serviceUser: false } };
      retainUnsentImmutable(rt, old, sent);
      // What the PUT sends stays as sent: the immutability check refuses it later.
      expect(sent[ORACLE_USER_SCHEMA_ID]).toEqual({ serviceUser: false, creationMechanism: 'api' });
    });
  });

  describe(settleUserState.name, () => {
    it.each([
      ['a new lock', undefined, { on: true }, { on: true, lockDate: NOW, reason: 1 }],
      ['a new lock, ignoring the client\'s date and reason', undefined, { on: true, lockDate: '2001-01-01T00:00:00.000Z', reason: 0 }, { on: true, lockDate: NOW, reason: 1 }],
      ['a lock that stays on', { on: true, lockDate: NOW, reason: 0 }, { on: true }, { on: true, lockDate: NOW, reason: 0 }],
      ['an unlock', { on: true, lockDate: NOW, reason: 1 }, { on: false, lockDate: NOW, reason: 1, expired: true }, { on: false, expired: true }],
      ['a relock', { on: false }, { on: true }, { on: true, lockDate: LATER, reason: 1 }],
    ])('should complete %s', (_case, before, sent, expected) => {
      const doc = state({ locked: sent });
      settleUserState(before && state({ locked: before }), doc, before?.on === false ? LATER : NOW);
      expect((doc[USER_STATE_SCHEMA_ID] as Doc).locked).toEqual(expected);
      expect(isLocked(doc)).toBe(expected.on);
    });

    it('should refuse maxConcurrentSessions below 1', () => {
      expect(errorOf(() => settleUserState(undefined, state({ maxConcurrentSessions: 0 }), NOW))?.detail).toMatch(/maxConcurrentSessions" must be at least 1/);
      expect(errorOf(() => settleUserState(undefined, state({ maxConcurrentSessions: 1 }), NOW))).toBeUndefined();
    });
  });

  describe(retainUnsentLocks.name, () => {
    it('should keep a lock a PUT leaves out, and apply one it sends', () => {
      const old = state({ locked: { on: true, lockDate: NOW, reason: 1 }, maxConcurrentSessions: 3 });
      const silent: Doc = { schemas: [USER_SCHEMA_ID], userName: 'u' };
      retainUnsentLocks(rt, old, silent);
      expect(silent).toEqual(state({ locked: { on: true, lockDate: NOW, reason: 1 } }));
      const unlocking = state({ locked: { on: false } });
      retainUnsentLocks(rt, old, unlocking);
      expect(unlocking).toEqual(state({ locked: { on: false } }));
    });
  });
});
