import { Doc, resolvePath, ScimError } from '@app/scim/core';
import { USER_RESOURCE_TYPE } from '@app/users/core';
import { checkDormantUserPolicy } from './dormant-users';
import { compileSignInGate, JIT_POLICY_EXTENSION_ID, SIGN_IN_GATE_SCOPES } from './sign-in-gate';

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

  const policy = doc[JIT_POLICY_EXTENSION_ID] as Doc | undefined;
  if (policy) {
    if (policy.signInGate !== undefined) compileSignInGate(String(policy.signInGate));
    const scope = canonical(policy.signInGateScope, [...SIGN_IN_GATE_SCOPES], `${JIT_POLICY_EXTENSION_ID}:signInGateScope`);
    if (scope) policy.signInGateScope = scope;
    else if (policy.signInGate !== undefined) policy.signInGateScope = 'create';
    const days = policy.signInInputRetentionDays;
    if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > 3650)) {
      throw ScimError.badRequest('invalidValue', `${JIT_POLICY_EXTENSION_ID}:signInInputRetentionDays must be a whole number of days from 0 (keep none) to 3650 (got ${JSON.stringify(days)})`);
    }
    checkDormantUserPolicy(policy);
  }

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

/**
 * The social extension of an IdentityProvider, whose static JIT group list refers to groups too. Defined here, as
 * the identity-providers lib (which describes the extension) depends on this one.
 */
export const SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:social:IdentityProvider';

/** Where an identity provider refers to domain groups: the lists of `{ value: groupId }` items, by owner and key. */
export const GROUP_REFERENCE_LISTS: readonly { extension?: string; key: string }[] = [
  { key: 'jitUserProvGroupMappings' },
  { key: 'jitUserProvAssignedGroups' },
  { extension: SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID, key: 'jitProvAssignedGroups' },
];

/** The object holding a group reference list: the representation, or its extension (undefined when absent). */
export function groupReferenceOwner(doc: Doc, list: (typeof GROUP_REFERENCE_LISTS)[number]): Doc | undefined {
  return list.extension ? (doc[list.extension] as Doc | undefined) : doc;
}

/** Ids of the domain groups the JIT settings refer to, with where they are referenced (for error details). */
export function referencedGroupIds(doc: Doc): Map<string, string> {
  const out = new Map<string, string>();
  for (const list of GROUP_REFERENCE_LISTS) {
    const items = (groupReferenceOwner(doc, list)?.[list.key] as Doc[] | undefined) ?? [];
    const where = list.extension ? `${list.extension}:${list.key}` : list.key;
    items.forEach((g, i) => out.set(String(g.value), `${where}[${i}].value`));
  }
  return out;
}

/**
 * The canonical spelling of a User attribute path (userMappingStoreAttribute), or a 400 naming what is wrong. Any
 * User attribute is accepted, as IDCS accepts it; which of them sign-in can find users by is the planner's
 * business (lookupAttributeOf), so that the refusal is reported at sign-in and in the JIT preview.
 */
export function userAttributePath(path: string, where: string): string {
  let p;
  try {
    p = resolvePath(USER_RESOURCE_TYPE, path.trim(), 'invalidPath');
  } catch (e) {
    if (!(e instanceof ScimError)) throw e;
    throw ScimError.badRequest('invalidValue', `${where} must be a User attribute, such as userName, emails.value, externalId or name.givenName: ${e.detail}`);
  }
  const leaf = p.subAttribute ?? p.attribute;
  if (leaf.type === 'complex') {
    throw ScimError.badRequest('invalidValue', `${where}: "${path}" is a complex User attribute, not a value to match; name one of its sub-attributes, e.g. ${p.attribute.name}.${p.attribute.subAttributes?.[0]?.name ?? 'value'}`);
  }
  return p.canonical;
}
