import { Doc, ScimError } from '@app/scim/core';

export const MAX_GROUP_MAPPINGS = 250;

export enum GroupMappingMode {
  Explicit = 'explicit',
  Implicit = 'implicit',
}

export enum GroupAssignmentMethod {
  Overwrite = 'Overwrite',
  Merge = 'Merge',
}

function canonical<T extends string>(value: unknown, allowed: T[], name: string): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a.toLowerCase() === String(value).toLowerCase());
  if (!found) throw ScimError.badRequest('invalidValue', `${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return found;
}

/**
 * IDCS rules for the jitUserProv* attributes of an identity provider (Oracle JIT doc), applied to a normalised
 * representation in place: canonical enum spelling, defaults, and consistency of the switches.
 */
export function applyJitSettingsRules(doc: Doc): void {
  const enabled = doc.jitUserProvEnabled === true;
  if (enabled && doc.jitUserProvCreateUserEnabled !== true && doc.jitUserProvAttributeUpdateEnabled !== true) {
    throw ScimError.badRequest('invalidValue', 'jitUserProvEnabled needs jitUserProvCreateUserEnabled or jitUserProvAttributeUpdateEnabled to be true');
  }
  if (doc.jitUserProvGroupAssertionAttributeEnabled === true && !doc.jitUserProvGroupSAMLAttributeName) {
    throw ScimError.badRequest('invalidValue', 'jitUserProvGroupAssertionAttributeEnabled needs jitUserProvGroupSAMLAttributeName (the assertion attribute holding group names)');
  }
  if (doc.jitUserProvGroupStaticListEnabled === true && !(doc.jitUserProvAssignedGroups as unknown[] | undefined)?.length) {
    throw ScimError.badRequest('invalidValue', 'jitUserProvGroupStaticListEnabled needs at least one group in jitUserProvAssignedGroups');
  }
  const mode = canonical(doc.jitUserProvGroupMappingMode, Object.values(GroupMappingMode), 'jitUserProvGroupMappingMode') ?? GroupMappingMode.Explicit;
  doc.jitUserProvGroupMappingMode = mode;
  doc.jitUserProvGroupAssignmentMethod =
    canonical(doc.jitUserProvGroupAssignmentMethod, Object.values(GroupAssignmentMethod), 'jitUserProvGroupAssignmentMethod') ?? GroupAssignmentMethod.Overwrite;
  // Oracle: ignoring absent groups defaults to true with explicit mappings and to false with implicit ones.
  if (doc.jitUserProvIgnoreErrorOnAbsentGroups === undefined) doc.jitUserProvIgnoreErrorOnAbsentGroups = mode === GroupMappingMode.Explicit;

  const mappings = (doc.jitUserProvGroupMappings as Doc[] | undefined) ?? [];
  if (mappings.length > MAX_GROUP_MAPPINGS) {
    throw ScimError.badRequest('invalidValue', `At most ${MAX_GROUP_MAPPINGS} jitUserProvGroupMappings are allowed (got ${mappings.length})`);
  }
  const seen = new Set<string>();
  for (const [i, m] of mappings.entries()) {
    const key = String(m.idpGroup);
    if (seen.has(key)) throw ScimError.badRequest('invalidValue', `jitUserProvGroupMappings[${i}]: idpGroup "${key}" is mapped twice`);
    seen.add(key);
  }
}

/** Ids of the domain groups the JIT settings refer to, with where they are referenced (for error details). */
export function referencedGroupIds(doc: Doc): Map<string, string> {
  const out = new Map<string, string>();
  ((doc.jitUserProvGroupMappings as Doc[] | undefined) ?? []).forEach((m, i) => out.set(String(m.value), `jitUserProvGroupMappings[${i}].value`));
  ((doc.jitUserProvAssignedGroups as Doc[] | undefined) ?? []).forEach((g, i) => out.set(String(g.value), `jitUserProvAssignedGroups[${i}].value`));
  return out;
}
