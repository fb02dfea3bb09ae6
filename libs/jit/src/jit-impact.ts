import type { ExistingUser, JitPlan } from './planner';

/** Where a user ends after a sign-in planned one way: refused, or signed in with this representation and groups. */
interface Outcome {
  outcome: 'signIn' | 'update' | 'reject';
  reason?: string;
  clause?: string;
  groups: Set<string>;
}

export interface AttributeImpact {
  attribute: string;
  current: unknown;
  proposed: unknown;
}

/** How one user's next sign-in differs between the current and the proposed configuration. */
export interface UserImpact {
  current: { outcome: Outcome['outcome']; reason?: string; clause?: string };
  proposed: { outcome: Outcome['outcome']; reason?: string; clause?: string };
  /** Attributes that would end with another value (the value each configuration leaves). */
  attributes: AttributeImpact[];
  /** Groups the user would be in under the proposed configuration and not under the current one, and the reverse. */
  groupsGained: string[];
  groupsLost: string[];
}

function outcomeOf(p: JitPlan, existing: ExistingUser): Outcome {
  const groups = new Set(existing.groupIds);
  switch (p.kind) {
    case 'reject':
      return { outcome: 'reject', reason: p.reason, ...(p.clause ? { clause: p.clause } : {}), groups };
    case 'update':
      for (const id of p.join) groups.add(id);
      for (const id of p.leave) groups.delete(id);
      return { outcome: 'update', groups };
    default:
      // A user with stored inputs exists, so a plan never creates one; signIn leaves everything as it is.
      return { outcome: 'signIn', groups };
  }
}

/** The value a plan leaves on an attribute path it changes; the existing value otherwise. */
function changedValues(p: JitPlan): Map<string, { old: unknown; value: unknown }> {
  const out = new Map<string, { old: unknown; value: unknown }>();
  if (p.kind === 'update' || p.kind === 'create') for (const c of p.changes) out.set(c.attribute, { old: c.oldValue, value: c.newValue });
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * How the proposed plan of a user's next sign-in differs from the current one, or undefined when both end the same:
 * the same outcome, the same attribute values, the same groups. Pure.
 */
export function impactOf(current: JitPlan, proposed: JitPlan, existing: ExistingUser): UserImpact | undefined {
  const a = outcomeOf(current, existing);
  const b = outcomeOf(proposed, existing);
  const ca = changedValues(current);
  const cb = changedValues(proposed);
  const attributes: AttributeImpact[] = [];
  for (const attribute of new Set([...ca.keys(), ...cb.keys()])) {
    // What an attribute holds now is the `old` of whichever plan changes it; a plan that does not change it leaves that.
    const before = (ca.get(attribute) ?? cb.get(attribute))!.old;
    const va = a.outcome === 'reject' ? before : ca.has(attribute) ? ca.get(attribute)!.value : before;
    const vb = b.outcome === 'reject' ? before : cb.has(attribute) ? cb.get(attribute)!.value : before;
    if (!same(va, vb)) attributes.push({ attribute, current: va, proposed: vb });
  }
  const groupsGained = [...b.groups].filter((g) => !a.groups.has(g));
  const groupsLost = [...a.groups].filter((g) => !b.groups.has(g));
  // An update that changes nothing ends where a plain sign-in does: only being refused (and why) is an outcome of its own.
  const outcomeChanged = (a.outcome === 'reject') !== (b.outcome === 'reject') || a.reason !== b.reason;
  if (!outcomeChanged && !attributes.length && !groupsGained.length && !groupsLost.length) return undefined;
  const view = (o: Outcome) => ({ outcome: o.outcome, ...(o.reason ? { reason: o.reason } : {}), ...(o.clause ? { clause: o.clause } : {}) });
  return { current: view(a), proposed: view(b), attributes, groupsGained, groupsLost };
}
