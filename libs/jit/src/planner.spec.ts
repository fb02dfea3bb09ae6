import { compileSignInGate, signInGateOf } from './sign-in-gate';
import { compileAttributeMappings, compileMappedAttribute, MappingAuthority } from './attribute-mappings';
import { AttributeSource } from '@app/users/core';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { ExistingUser, GroupDirectory, JitConfig, JitPlan, lookupAttributeOf, plan, RejectReason, UserLookup, VerifiedAssertion } from './planner';

const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ORACLE = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User';

const groups: GroupDirectory = {
  byId: new Map([
    ['g-admins', 'Admins'],
    ['g-old', 'Old'],
    ['g-manual', 'Manual'],
    ['g-static', 'Everyone'],
  ]),
  byName: new Map([
    ['admins', 'g-admins'],
    ['old', 'g-old'],
    ['manual', 'g-manual'],
    ['everyone', 'g-static'],
  ]),
};

function config(o: { jit: boolean; create: boolean; update: boolean; mode: GroupMappingMode; method: GroupAssignmentMethod; ignoreAbsent: boolean }): JitConfig {
  return {
    idpId: 'idp-1',
    idpName: 'Okta',
    idpEnabled: true,
    enabled: o.jit,
    createUser: o.create,
    updateUser: o.update,
    lookup: { method: 'NameIDToUserAttribute', storeAttribute: 'userName' },
    mappings: compileAttributeMappings([
      { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
      { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
      { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
      { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
    ]),
    groups: {
      fromAssertion: true,
      attributeName: 'groups',
      mode: o.mode,
      explicit: new Map([
        ['Admins', 'g-admins'],
        ['Old', 'g-old'],
      ]),
      staticList: false,
      staticGroupIds: [],
      method: o.method,
      ignoreAbsent: o.ignoreAbsent,
    },
  };
}

type UserState = 'found' | 'notFound' | 'inactive';
type AttributeState = 'present' | 'changed' | 'empty' | 'absent';

function assertion(attr: AttributeState): VerifiedAssertion {
  const attributes: Record<string, string[]> = { familyName: ['Doe'], email: ['jdoe@example.com'], groups: ['Admins, Ghost'] };
  if (attr === 'present') attributes.firstName = ['Jane'];
  if (attr === 'changed') attributes.firstName = ['Janet'];
  if (attr === 'empty') attributes.firstName = [''];
  return { nameId: 'jdoe@example.com', issuer: 'http://idp', attributes };
}

function existing(state: UserState): ExistingUser | undefined {
  if (state === 'notFound') return undefined;
  return {
    id: 'u-1',
    active: state === 'found',
    doc: {
      schemas: [USER_SCHEMA],
      userName: 'jdoe@example.com',
      name: { givenName: 'Jane', familyName: 'Doe' },
      emails: [{ value: 'jdoe@example.com', type: 'work', primary: true }],
      active: state === 'found',
    },
    groupIds: ['g-manual', 'g-old'],
    // g-old was granted by this IdP's JIT; g-manual by an administrator (Overwrite does not remove it).
    jitGrants: new Map([['g-old', 'idp-1']]),
  };
}

const bools = [true, false];
const matrix: [boolean, boolean, boolean, UserState, AttributeState, GroupMappingMode, GroupAssignmentMethod, boolean][] = [];
for (const jit of bools)
  for (const create of bools)
    for (const update of bools)
      for (const user of ['found', 'notFound', 'inactive'] as UserState[])
        for (const attr of ['present', 'changed', 'empty', 'absent'] as AttributeState[])
          for (const mode of [GroupMappingMode.Explicit, GroupMappingMode.Implicit])
            for (const method of [GroupAssignmentMethod.Overwrite, GroupAssignmentMethod.Merge])
              for (const ignoreAbsent of bools) matrix.push([jit, create, update, user, attr, mode, method, ignoreAbsent]);

/** What the IDCS rules say should happen, stated rule by rule. */
function expected(jit: boolean, create: boolean, update: boolean, user: UserState, attr: AttributeState, mode: GroupMappingMode, method: GroupAssignmentMethod, ignoreAbsent: boolean) {
  if (user === 'inactive') return { kind: 'reject', reason: RejectReason.UserInactive };
  if (user === 'found' && !(jit && update)) return { kind: 'signIn' };
  if (user === 'notFound' && !(jit && create)) return { kind: 'reject', reason: RejectReason.UserNotFound };
  // "Ghost" is asserted but exists nowhere: fail the whole sign-in, or skip it.
  if (user === 'notFound' && (attr === 'empty' || attr === 'absent')) return { kind: 'reject', reason: RejectReason.MandatoryUserAttributeMissing };
  if (!ignoreAbsent) return { kind: 'reject', reason: RejectReason.AbsentGroup };
  const givenName = { present: 'Jane', changed: 'Janet', empty: undefined, absent: 'Jane' }[attr];
  if (user === 'notFound') return { kind: 'create', givenName, join: ['g-admins'], leave: [] as string[] };
  // Explicitly mapped groups follow the assertion (g-old); Overwrite also removes other memberships this IdP's JIT
  // granted, never the administrator's (g-manual).
  const leave = method === GroupAssignmentMethod.Overwrite ? ['g-old'] : mode === GroupMappingMode.Explicit ? ['g-old'] : [];
  const changed = attr === 'changed' || attr === 'empty';
  return { kind: 'update', givenName, join: ['g-admins'], leave, changes: changed ? [{ attribute: 'name.givenName', oldValue: 'Jane', newValue: givenName }] : [] };
}

function summary(p: JitPlan) {
  switch (p.kind) {
    case 'reject':
      return { kind: p.kind, reason: p.reason };
    case 'signIn':
      return { kind: p.kind };
    case 'create':
      return { kind: p.kind, givenName: (p.user.name as Record<string, unknown>)?.givenName, join: p.join, leave: [] as string[] };
    case 'update':
      return { kind: p.kind, givenName: (p.user.name as Record<string, unknown>)?.givenName, join: p.join, leave: p.leave, changes: p.changes };
  }
}

describe(plan.name, () => {
  it.each(matrix)('jit=%s create=%s update=%s user=%s firstName=%s mode=%s method=%s ignoreAbsent=%s', (jit, create, update, user, attr, mode, method, ignoreAbsent) => {
    const p = plan(config({ jit, create, update, mode, method, ignoreAbsent }), assertion(attr), existing(user), groups);
    expect(summary(p)).toEqual(expected(jit, create, update, user, attr, mode, method, ignoreAbsent));
  });

  it('should mark new users as federated, created by SAML JIT, synced from the IdP', () => {
    const p = plan(config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true }), assertion('present'), undefined, groups);
    expect(p.kind).toBe('create');
    if (p.kind !== 'create') return;
    expect(p.user).toMatchObject({
      userName: 'jdoe@example.com',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'jdoe@example.com' }],
      [ORACLE]: { isFederatedUser: true, creationMechanism: 'samljit', syncedFromApp: { value: 'idp-1', type: 'IdentityProvider' } },
    });
    expect(p.skipped).toEqual([{ value: 'Ghost', source: 'assertion', why: 'no jitUserProvGroupMappings entry for it' }]);
  });

  it('should reject a disabled IdP, an empty NameID and a transient NameID for a new user', () => {
    const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
    expect(summary(plan({ ...c, idpEnabled: false }, assertion('present'), undefined, groups))).toEqual({ kind: 'reject', reason: RejectReason.IdpDisabled });
    expect(summary(plan(c, { ...assertion('present'), nameId: ' ' }, undefined, groups))).toEqual({ kind: 'reject', reason: RejectReason.EmptyNameId });
    expect(summary(plan(c, { ...assertion('present'), nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' }, undefined, groups))).toEqual({
      kind: 'reject',
      reason: RejectReason.TransientNameId,
    });
  });

  it('should honour required mappings, appliesToActions, the last mapping winning, and conversion failures', () => {
    const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
    const withMappings = (extra: Record<string, unknown>[]) => ({ ...c, mappings: compileAttributeMappings([...c.mappings.map((m) => ({ idcsAttributeName: m.target, managedObjectAttributeName: srcOf(m.target) })), ...extra]) });
    const srcOf = (t: string) => ({ userName: '$(assertion.fed.nameidvalue)', 'name.givenName': '$(assertion.firstName)', 'name.familyName': '$(assertion.familyName)' })[t] ?? '$(assertion.email)';
    expect(summary(plan(withMappings([{ idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.title)', required: true }]), assertion('present'), undefined, groups))).toEqual({
      kind: 'reject',
      reason: RejectReason.RequiredAttributeMissing,
    });
    const onlyCreate = plan(withMappings([{ idcsAttributeName: 'title', managedObjectAttributeName: '"Newcomer"', appliesToActions: ['create'] }]), assertion('present'), existing('found'), groups);
    expect(onlyCreate.kind === 'update' && onlyCreate.user.title).toBeUndefined();
    const lastWins = plan(withMappings([{ idcsAttributeName: 'name.givenName', managedObjectAttributeName: '#upper($(assertion.firstName))' }]), assertion('changed'), existing('found'), groups);
    expect(lastWins.kind === 'update' && lastWins.user.name).toEqual({ givenName: 'JANET', familyName: 'Doe' });
    const badBoolean = plan(withMappings([{ idcsAttributeName: 'active', managedObjectAttributeName: '"maybe"' }]), assertion('present'), existing('found'), groups);
    expect(summary(badBoolean)).toEqual({ kind: 'reject', reason: RejectReason.AttributeConversionFailed });
  });

  it('should refuse a locked user (userState locked.on), whatever the JIT settings', () => {
    const locked = { ...existing('found')!, doc: { ...existing('found')!.doc, 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User': { locked: { on: true, reason: 1 } } } };
    for (const update of bools) {
      const c = config({ jit: true, create: true, update, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
      expect(summary(plan(c, assertion('present'), locked, groups))).toEqual({ kind: 'reject', reason: RejectReason.UserLocked });
    }
    const unlocked = { ...locked, doc: { ...locked.doc, 'urn:ietf:params:scim:schemas:oracle:idcs:extension:userState:User': { locked: { on: false } } } };
    const c = config({ jit: true, create: true, update: false, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
    expect(summary(plan(c, assertion('present'), unlocked, groups))).toEqual({ kind: 'signIn' });
  });

  it('should refuse an update that would leave the user without a primary email, and create no user without one', () => {
    const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
    const noEmail = { ...assertion('present'), attributes: { ...assertion('present').attributes, email: [''] } };
    expect(summary(plan(c, noEmail, existing('found'), groups))).toEqual({ kind: 'reject', reason: RejectReason.MandatoryUserAttributeMissing });
    expect(summary(plan(c, noEmail, undefined, groups))).toEqual({ kind: 'reject', reason: RejectReason.MandatoryUserAttributeMissing });
    // A user stored without one (before the rule) still signs in and is updated.
    const legacy = { ...existing('found')!, doc: { ...existing('found')!.doc, emails: undefined } };
    expect(plan(c, noEmail, legacy, groups).kind).toBe('update');
  });

  it('should leave memberships alone when no group source is configured, and add static groups', () => {
    const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Overwrite, ignoreAbsent: true });
    const none = plan({ ...c, groups: { ...c.groups, fromAssertion: false } }, assertion('present'), existing('found'), groups);
    expect(none.kind === 'update' && [none.join, none.leave]).toEqual([[], []]);
    const withStatic = plan({ ...c, groups: { ...c.groups, staticList: true, staticGroupIds: ['g-static'] } }, assertion('present'), existing('found'), groups);
    expect(withStatic.kind === 'update' && [withStatic.join, withStatic.leave]).toEqual([['g-admins', 'g-static'], ['g-old']]);
  });
});

describe(lookupAttributeOf.name, () => {
  it.each<[UserLookup, string | RegExp]>([
    [{ method: 'NameIDToUserAttribute', storeAttribute: 'userName' }, 'userName'],
    [{ method: 'AssertionAttributeToUserAttribute', storeAttribute: 'emails.value', assertionAttribute: 'mail' }, 'emails.value'],
    [{ method: 'NameIDToUserAttribute', storeAttribute: 'externalId' }, 'externalId'],
    [{ method: 'CorrelationPolicyRule', storeAttribute: 'userName' }, /CorrelationPolicyRule.*not implemented/],
    [{ method: 'NameIDToUserAttribute', storeAttribute: 'name.givenName' }, /userMappingStoreAttribute is "name\.givenName": sign-in finds users only by userName, emails\.value \(the primary email\) or externalId/],
  ])('should say how %j finds a user, or why it cannot', (lookup, expected) => {
    const found = lookupAttributeOf(lookup);
    if (typeof expected === 'string') expect(found).toEqual({ attribute: expected });
    else expect('unsupported' in found && found.unsupported).toMatch(expected);
  });

  it('should make the plan refuse, naming the IdP, before it looks at the user, and only once the IdP is enabled', () => {
    const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
    for (const lookup of [{ method: 'CorrelationPolicyRule' as const, storeAttribute: 'userName' }, { method: 'NameIDToUserAttribute' as const, storeAttribute: 'name.givenName' }]) {
      for (const user of ['found', 'notFound', 'inactive'] as UserState[]) {
        const p = plan({ ...c, lookup }, assertion('present'), existing(user), groups);
        expect(summary(p)).toEqual({ kind: 'reject', reason: RejectReason.UnsupportedUserMapping });
        expect(p.kind === 'reject' && p.detail).toMatch(/^Identity provider "Okta": /);
      }
      expect(summary(plan({ ...c, lookup, idpEnabled: false }, assertion('present'), undefined, groups))).toEqual({ kind: 'reject', reason: RejectReason.IdpDisabled });
    }
  });
});

describe('plan with a sign-in gate', () => {
  const base = () => config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true });
  const engineer = (): VerifiedAssertion => ({ ...assertion('present'), attributes: { ...assertion('present').attributes, department: ['Engineering'] } });
  const salesperson = (): VerifiedAssertion => ({ ...assertion('present'), attributes: { ...assertion('present').attributes, department: ['Sales'] } });
  const GATE = 'department eq "engineering" and email ew "@example.com"';

  /** The rule: a gate guards creation only (create) or every sign-in (everySignIn); a failing gate names its clause. */
  function expected(scope: 'create' | 'everySignIn', user: 'found' | 'notFound', passes: boolean): 'reject' | 'create' | 'update' {
    if (!passes && (scope === 'everySignIn' || user === 'notFound')) return 'reject';
    return user === 'found' ? 'update' : 'create';
  }

  it.each(
    (['create', 'everySignIn'] as const).flatMap((scope) => (['found', 'notFound'] as const).flatMap((user) => [true, false].map((passes) => [scope, user, passes] as const))),
  )('should, with scope %s, a user %s and a gate that %s, plan as the rule says', (scope, user, passes) => {
    const c: JitConfig = { ...base(), gate: compileSignInGate(GATE, scope) };
    const p = plan(c, passes ? engineer() : salesperson(), existing(user), groups);
    const want = expected(scope, user, passes);
    expect(p.kind).toBe(want);
    if (want === 'reject') {
      expect(p).toMatchObject({ reason: RejectReason.SignInGate, clause: 'department eq "engineering"' });
      expect((p as { detail: string }).detail).toContain('department is "Sales"');
    }
  });

  it('should refuse every sign-in it guards when the stored gate cannot be compiled any more', () => {
    const p = plan({ ...base(), gate: signInGateOf({ signInGate: 'department eq', signInGateScope: 'everySignIn' }) }, engineer(), existing('found'), groups);
    expect(p).toMatchObject({ kind: 'reject', reason: RejectReason.SignInGate });
  });
});

describe('plan with attribute authorities', () => {
  const MAPPINGS = [
    { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
    { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
    { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
    { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
    { idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.title)' },
  ];
  const withAuthority = (authority: MappingAuthority): JitConfig => ({
    ...config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method: GroupAssignmentMethod.Merge, ignoreAbsent: true }),
    mappings: compileMappedAttribute({
      attributeMappings: MAPPINGS,
      'urn:identity-domain:scim:schemas:extension:jitPolicy:2.0:MappedAttribute': { attributeAuthorities: [{ idcsAttributeName: 'title', authority }] },
    }),
  });
  const asserted = (): VerifiedAssertion => ({ ...assertion('present'), attributes: { ...assertion('present').attributes, title: ['Engineer'] } });

  /** Who set the stored title: a SCIM client, an administrator, JIT, nobody recorded (before sources existed), or nobody (empty). */
  type SetBy = 'scim' | 'admin' | 'jit' | 'unrecorded' | 'empty';
  function user(setBy: SetBy): ExistingUser {
    const u = existing('found')!;
    const sources = new Map<string, AttributeSource>();
    if (setBy === 'scim' || setBy === 'admin' || setBy === 'jit') sources.set('title', { sourceType: setBy, sourceId: 'x', updated: '2026-01-01T00:00:00.000Z' });
    return { ...u, doc: setBy === 'empty' ? u.doc : { ...u.doc, title: 'Manager' }, sources };
  }

  /** The rule: create always maps; jit overwrites; initial never updates; defer updates only an empty value or JIT's own. */
  function expected(authority: MappingAuthority, setBy: SetBy, action: 'create' | 'update'): string {
    if (action === 'create' || authority === 'jit') return 'Engineer';
    if (authority === 'initial') return setBy === 'empty' ? 'absent' : 'Manager';
    return setBy === 'empty' || setBy === 'jit' ? 'Engineer' : 'Manager';
  }

  const cases = (['jit', 'initial', 'defer'] as const).flatMap((authority) =>
    (['scim', 'admin', 'jit', 'unrecorded', 'empty'] as const).flatMap((setBy) => (['create', 'update'] as const).map((action) => [authority, setBy, action] as const)),
  );

  it.each(cases)('should, with authority %s, a title set by %s and a %s, leave the title the rule says', (authority, setBy, action) => {
    const p = plan(withAuthority(authority), asserted(), action === 'create' ? undefined : user(setBy), groups);
    expect(p.kind).toBe(action);
    if (p.kind !== 'create' && p.kind !== 'update') return;
    const want = expected(authority, setBy, action);
    expect(p.user.title ?? 'absent').toBe(want);
    // A title the plan did not write is not a change; one it wrote over another value is.
    const before = action === 'create' || setBy === 'empty' ? undefined : 'Manager';
    const titleChange = p.changes.find((c) => c.attribute === 'title');
    expect(titleChange).toEqual(want !== 'absent' && want !== before ? { attribute: 'title', oldValue: before, newValue: want } : undefined);
  });

  it('should let the other mappings of an update go on when one is not JIT\'s to write', () => {
    const p = plan(withAuthority('defer'), { ...asserted(), attributes: { ...asserted().attributes, firstName: ['Janet'] } }, user('scim'), groups);
    expect(p.kind === 'update' && p.changes.map((c) => c.attribute)).toEqual(['name.givenName']);
  });
});

describe('plan with JIT-granted memberships', () => {
  /** Who granted membership of g-manual, which the assertion does not give and no mapping covers. */
  const cases: [string, Map<string, string>, GroupAssignmentMethod, GroupMappingMode, boolean][] = [];
  for (const [who, grants] of [
    ['this IdP', new Map([['g-manual', 'idp-1']])],
    ['another IdP', new Map([['g-manual', 'idp-2']])],
    ['an administrator or SCIM client', new Map<string, string>()],
  ] as const)
    for (const method of [GroupAssignmentMethod.Overwrite, GroupAssignmentMethod.Merge])
      for (const mode of [GroupMappingMode.Explicit, GroupMappingMode.Implicit]) cases.push([who, grants, method, mode, method === GroupAssignmentMethod.Overwrite && who === 'this IdP']);

  it.each(cases)('should, for an unmapped membership granted by %s, with %s and %s mapping, remove it: %s', (_who, grants, method, mode, removed) => {
    const c = config({ jit: true, create: true, update: true, mode, method, ignoreAbsent: true });
    const p = plan(c, assertion('present'), { ...existing('found')!, groupIds: ['g-manual'], jitGrants: grants }, groups);
    expect(p.kind === 'update' && p.leave).toEqual(removed ? ['g-manual'] : []);
  });

  it('should make explicitly mapped groups follow the assertion whoever granted them', () => {
    for (const method of [GroupAssignmentMethod.Overwrite, GroupAssignmentMethod.Merge]) {
      const c = config({ jit: true, create: true, update: true, mode: GroupMappingMode.Explicit, method, ignoreAbsent: true });
      const p = plan(c, assertion('present'), { ...existing('found')!, groupIds: ['g-old'], jitGrants: new Map() }, groups);
      expect(p.kind === 'update' && p.leave).toEqual(['g-old']);
    }
  });
});

describe(compileMappedAttribute.name, () => {
  const EXT = 'urn:identity-domain:scim:schemas:extension:jitPolicy:2.0:MappedAttribute';
  const doc = (attributeAuthorities: unknown[]) => ({ attributeMappings: [{ idcsAttributeName: 'title', managedObjectAttributeName: '$(assertion.title)' }], [EXT]: { attributeAuthorities } });

  it('should give each mapping its authority (jit when not listed) and the attribute whose source it reads', () => {
    const [m] = compileMappedAttribute(doc([{ idcsAttributeName: 'title', authority: 'defer' }]));
    expect([m.authority, m.sourceKey]).toEqual(['defer', 'title']);
    expect(compileMappedAttribute(doc([]))[0].authority).toBe('jit');
    const [email] = compileAttributeMappings([{ idcsAttributeName: 'emails[type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' }]);
    expect(email.sourceKey).toBe('emails');
  });

  it.each([
    [[{ idcsAttributeName: 'name.givenName', authority: 'defer' }], /attributeAuthorities\[0\] \(name\.givenName\): idcsAttributeName names no attributeMappings entry/],
    [[{ idcsAttributeName: 'title', authority: 'sometimes' }], /attributeAuthorities\[0\] \(title\): authority must be one of jit, initial, defer \(got "sometimes"\)/],
    [[{ idcsAttributeName: 'title', authority: 'jit' }, { idcsAttributeName: 'title', authority: 'defer' }], /attributeAuthorities\[1\] \(title\): idcsAttributeName is listed twice/],
    [[{ authority: 'jit' }], /attributeAuthorities\[0\]: idcsAttributeName is required/],
  ])('should refuse %j with a 400 saying why', (entries, detail) => {
    expect(() => compileMappedAttribute(doc(entries))).toThrow(expect.objectContaining({ status: 400, detail: expect.stringMatching(detail) }));
  });
});
