import { compileAttributeMappings } from './attribute-mappings';
import { impactOf } from './jit-impact';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { ExistingUser, JitConfig, JitPlan } from './planner';
import { compileSignInGate } from './sign-in-gate';
import { inputNamesOf, recordedInputsOf } from './sign-in-inputs';

const user: ExistingUser = { id: 'u1', active: true, doc: { userName: 'jdoe', name: { givenName: 'Jane' } }, groupIds: ['g-manual', 'g-admins'], jitGrants: new Map() };
const update = (o: Partial<Extract<JitPlan, { kind: 'update' }>> = {}): JitPlan => ({ kind: 'update', userId: 'u1', user: user.doc, changes: [], join: [], leave: [], skipped: [], ...o });

describe('impactOf', () => {
  it('should see no impact when both plans end the same', () => {
    expect(impactOf(update(), { kind: 'signIn', userId: 'u1' }, user)).toBeUndefined();
  });

  it('should name the groups lost and gained', () => {
    expect(impactOf(update(), update({ leave: ['g-manual'], join: ['g-new'] }), user)).toMatchObject({ groupsLost: ['g-manual'], groupsGained: ['g-new'], attributes: [] });
  });

  it('should compare the value each plan leaves on an attribute', () => {
    const changed = update({ changes: [{ attribute: 'name.givenName', oldValue: 'Jane', newValue: 'JANE' }] });
    expect(impactOf(update(), changed, user)?.attributes).toEqual([{ attribute: 'name.givenName', current: 'Jane', proposed: 'JANE' }]);
    expect(impactOf(changed, { kind: 'reject', reason: 'sign_in_gate' as never, detail: 'x', clause: 'a eq "b"' }, user)).toMatchObject({
      current: { outcome: 'update' },
      proposed: { outcome: 'reject', reason: 'sign_in_gate', clause: 'a eq "b"' },
      attributes: [{ attribute: 'name.givenName', current: 'JANE', proposed: 'Jane' }],
    });
  });
});

describe('inputNamesOf', () => {
  const config = {
    mappings: compileAttributeMappings([
      { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '#upper($(assertion.firstName))' },
      { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
    ]),
    groups: { fromAssertion: true, attributeName: 'groups', mode: GroupMappingMode.Explicit, explicit: new Map(), staticList: false, staticGroupIds: [], method: GroupAssignmentMethod.Merge, ignoreAbsent: true },
    lookup: { method: 'AssertionAttributeToUserAttribute', storeAttribute: 'userName', assertionAttribute: 'uid' },
    gate: compileSignInGate('department eq "Eng" and fed.issuerid pr'),
  } as unknown as JitConfig;

  it('should name what the mappings, the group rule, the lookup and the gate read, and keep nothing else', () => {
    expect([...inputNamesOf(config)].sort()).toEqual(['department', 'firstName', 'groups', 'uid']);
    const kept = recordedInputsOf(config, { nameId: 'n', issuer: 'i', attributes: { firstName: ['A'], secret: ['s'], department: ['Eng'] } });
    expect(kept).toEqual({ nameId: 'n', issuer: 'i', attributes: { firstName: ['A'], department: ['Eng'] } });
  });
});
