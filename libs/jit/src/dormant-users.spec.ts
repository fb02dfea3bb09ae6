import { ScimError } from '@app/scim/core';
import { checkDormantUserPolicy, dormantCutoff, DormantUserFacts, DormantUserPolicy, dormantUserDecision, dormantUserPolicyOf, inDormantUserScope } from './dormant-users';

const IDP = 'a'.repeat(32);
const OTHER_IDP = 'b'.repeat(32);
const NOW = new Date('2026-11-26T12:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();

/** Writers as stored (common-attributes.ts): a JIT sign-in writes as its identity provider, an administrator as an App. */
const idpWriter = (id: string) => JSON.stringify({ type: 'App', value: id, display: 'IdP', ocid: `ocid1.identityprovider.oc1..${id}`, endpoint: '/IdentityProviders' });
const adminWriter = JSON.stringify({ type: 'App', value: IDP, display: 'an admin client whose id happens to look like the IdP id' });

const user = (over: Partial<DormantUserFacts> = {}): DormantUserFacts => ({
  id: 'u1',
  userName: 'contractor@example.com',
  active: true,
  version: 3,
  created: daysAgo(400),
  createdBy: idpWriter(IDP),
  lastModifiedBy: idpWriter(IDP),
  lastSignInAt: daysAgo(100),
  lastSignInIdpId: IDP,
  ...over,
});

const policy = (over: Partial<DormantUserPolicy> = {}): DormantUserPolicy => ({ deactivateAfterDays: 90, deleteAfterDays: 30, scope: 'jitManaged', ...over });

describe('dormant users', () => {
  describe(dormantUserDecision.name, () => {
    it.each<[string, Partial<DormantUserPolicy>, Partial<DormantUserFacts>, string | undefined]>([
      // Deactivation: last sign-in (or creation) at least N days ago, active, in scope.
      ['a JIT user whose last sign-in is older than N days', {}, {}, 'deactivate'],
      ['a JIT user whose last sign-in is exactly N days ago', {}, { lastSignInAt: daysAgo(90) }, 'deactivate'],
      ['a JIT user who signed in N-1 days ago', {}, { lastSignInAt: daysAgo(89) }, undefined],
      ['a JIT user who never signed in, created more than N days ago', {}, { lastSignInAt: undefined, lastSignInIdpId: undefined }, 'deactivate'],
      ['a JIT user who never signed in, created recently', {}, { lastSignInAt: undefined, created: daysAgo(10) }, undefined],
      ['a user created long ago who signed in recently through another IdP', {}, { lastSignInAt: daysAgo(5), lastSignInIdpId: OTHER_IDP }, undefined],
      ['an inactive user', {}, { active: false }, undefined],
      // Scope: the last writer decides who owns the user.
      ['a JIT user an administrator changed since (jitManaged)', {}, { lastModifiedBy: adminWriter }, undefined],
      ['a JIT user an administrator changed since (includeOtherSources)', { scope: 'includeOtherSources' }, { lastModifiedBy: adminWriter }, 'deactivate'],
      ['a user another IdP last updated (jitManaged)', {}, { lastModifiedBy: idpWriter(OTHER_IDP) }, undefined],
      ['an admin-created user that last signed in through this IdP (jitManaged)', {}, { createdBy: adminWriter, lastModifiedBy: adminWriter }, undefined],
      ['an admin-created user that last signed in through this IdP (includeOtherSources)', { scope: 'includeOtherSources' }, { createdBy: adminWriter, lastModifiedBy: adminWriter }, 'deactivate'],
      ['an admin-created user that last signed in elsewhere (includeOtherSources)', { scope: 'includeOtherSources' }, { createdBy: adminWriter, lastModifiedBy: adminWriter, lastSignInIdpId: OTHER_IDP }, undefined],
      ['an admin-created user this IdP JIT last updated (jitManaged)', {}, { createdBy: adminWriter }, 'deactivate'],
      ['a user with no recorded writers', { scope: 'includeOtherSources' }, { createdBy: null, lastModifiedBy: null, lastSignInIdpId: null }, undefined],
      // Deletion: M days after this policy's deactivation, while the user is as the policy left it.
      ['a user this policy deactivated M days ago, unchanged since', {}, { active: false, deactivation: { idpId: IDP, at: daysAgo(30), version: 3 } }, 'delete'],
      ['a user this policy deactivated M-1 days ago', {}, { active: false, deactivation: { idpId: IDP, at: daysAgo(29), version: 3 } }, undefined],
      ['a deactivated user when the policy deletes nobody', { deleteAfterDays: undefined }, { active: false, deactivation: { idpId: IDP, at: daysAgo(300), version: 3 } }, undefined],
      ['a deactivated user changed since (another version)', {}, { active: false, deactivation: { idpId: IDP, at: daysAgo(300), version: 2 } }, undefined],
      ['a deactivated user another IdP policy deactivated', {}, { active: false, deactivation: { idpId: OTHER_IDP, at: daysAgo(300), version: 3 } }, undefined],
      ['a reactivated user gone dormant again (stale deactivation record)', {}, { version: 7, deactivation: { idpId: IDP, at: daysAgo(300), version: 3 } }, 'deactivate'],
    ])('%s → %s', (_case, p, u, expected) => {
      expect(dormantUserDecision(policy(p), IDP, user(u), NOW)?.action).toBe(expected);
    });

    it('should say what the days count from', () => {
      expect(dormantUserDecision(policy(), IDP, user(), NOW)).toEqual({ action: 'deactivate', since: daysAgo(100), sinceWhat: 'lastSignIn', days: 100 });
      expect(dormantUserDecision(policy(), IDP, user({ lastSignInAt: undefined }), NOW)).toEqual({ action: 'deactivate', since: daysAgo(400), sinceWhat: 'created', days: 400 });
      expect(dormantUserDecision(policy(), IDP, user({ active: false, deactivation: { idpId: IDP, at: daysAgo(45), version: 3 } }), NOW)).toEqual({ action: 'delete', since: daysAgo(45), sinceWhat: 'deactivated', days: 45 });
    });

    it('should agree with the SQL pre-selection cutoff at the boundary', () => {
      const cutoff = dormantCutoff(NOW, 90);
      expect(dormantUserDecision(policy(), IDP, user({ lastSignInAt: cutoff }), NOW)?.action).toBe('deactivate');
      const justAfter = new Date(Date.parse(cutoff) + 1).toISOString();
      expect(dormantUserDecision(policy(), IDP, user({ lastSignInAt: justAfter }), NOW)).toBeUndefined();
    });
  });

  describe(inDormantUserScope.name, () => {
    it('should not take an admin client whose id equals the IdP id for the IdP', () => {
      expect(inDormantUserScope('jitManaged', IDP, { createdBy: null, lastModifiedBy: adminWriter, lastSignInIdpId: null })).toBe(false);
      expect(inDormantUserScope('jitManaged', IDP, { createdBy: null, lastModifiedBy: '{not json', lastSignInIdpId: null })).toBe(false);
    });
  });

  describe(checkDormantUserPolicy.name, () => {
    const detailOf = (p: Record<string, unknown>) => {
      try {
        checkDormantUserPolicy(p);
      } catch (e) {
        expect(e).toBeInstanceOf(ScimError);
        expect((e as ScimError).scimType).toBe('invalidValue');
        return (e as ScimError).detail;
      }
      return undefined;
    };

    it.each<[string, Record<string, unknown>, RegExp]>([
      ['zero days', { dormantUserDeactivateAfterDays: 0 }, /dormantUserDeactivateAfterDays must be a whole number of days from 1 to 3650 \(got 0\)/],
      ['a fraction', { dormantUserDeactivateAfterDays: 1.5 }, /dormantUserDeactivateAfterDays must be a whole number/],
      ['a string', { dormantUserDeactivateAfterDays: '90' }, /got "90"/],
      ['more than ten years', { dormantUserDeactivateAfterDays: 90, dormantUserDeleteAfterDays: 4000 }, /dormantUserDeleteAfterDays must be a whole number of days from 1 to 3650/],
      ['a deletion without a deactivation', { dormantUserDeleteAfterDays: 30 }, /counts from the deactivation by .*dormantUserDeactivateAfterDays, which is not set/],
      ['an unknown scope', { dormantUserDeactivateAfterDays: 90, dormantUserScope: 'everyone' }, /dormantUserScope must be one of jitManaged, includeOtherSources \(got "everyone"\)/],
    ])('should refuse %s, saying what to send', (_case, p, detail) => {
      expect(detailOf(p)).toMatch(detail);
    });

    it('should default the scope to jitManaged and spell it canonically', () => {
      const p: Record<string, unknown> = { dormantUserDeactivateAfterDays: 90 };
      checkDormantUserPolicy(p);
      expect(p.dormantUserScope).toBe('jitManaged');
      const q: Record<string, unknown> = { dormantUserDeactivateAfterDays: 90, dormantUserScope: 'INCLUDEOTHERSOURCES' };
      checkDormantUserPolicy(q);
      expect(q.dormantUserScope).toBe('includeOtherSources');
      const none: Record<string, unknown> = { signInGate: 'department eq "x"' };
      checkDormantUserPolicy(none);
      expect(none).toEqual({ signInGate: 'department eq "x"' });
    });
  });

  describe(dormantUserPolicyOf.name, () => {
    it('should read a stored policy, and none without dormantUserDeactivateAfterDays', () => {
      expect(dormantUserPolicyOf({ dormantUserDeactivateAfterDays: 90, dormantUserScope: 'includeOtherSources' })).toEqual({ deactivateAfterDays: 90, scope: 'includeOtherSources' });
      expect(dormantUserPolicyOf({ dormantUserDeactivateAfterDays: 90, dormantUserDeleteAfterDays: 30 })).toEqual({ deactivateAfterDays: 90, deleteAfterDays: 30, scope: 'jitManaged' });
      expect(dormantUserPolicyOf({ signInGate: 'x pr' })).toBeUndefined();
      expect(dormantUserPolicyOf(undefined)).toBeUndefined();
    });
  });
});
