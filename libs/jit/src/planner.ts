import { applyPatchInPlace, checkRequired, Doc, normalizeResource, parseOne, readValue, ScimError } from '@app/scim/core';
import { AttributeSource, hasPrimaryEmail, isLocked, ORACLE_USER_SCHEMA_ID, USER_RESOURCE_TYPE, USER_SCHEMA_ID } from '@app/users/core';
import { CompiledMapping } from './attribute-mappings';
import { AssertionContext, evaluateExpression } from './expression';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { evaluateSignInGate, SignInGate } from './sign-in-gate';

/** IDCS's userMappingMethod values. */
export const USER_MAPPING_METHODS = ['NameIDToUserAttribute', 'AssertionAttributeToUserAttribute', 'CorrelationPolicyRule'] as const;

/** The user attributes a sign-in can find a user by: indexed, and unique enough to name one person. */
export const LOOKUP_ATTRIBUTES = ['userName', 'emails.value', 'externalId'] as const;
export type LookupAttribute = (typeof LOOKUP_ATTRIBUTES)[number];

/**
 * How a signed-in person is matched to a user (IDCS userMappingMethod / userMappingStoreAttribute), as stored:
 * IDCS accepts any User attribute and a correlation policy, which sign-in here cannot use (lookupAttributeOf).
 */
export interface UserLookup {
  method: (typeof USER_MAPPING_METHODS)[number];
  storeAttribute: string;
  assertionAttribute?: string;
}

/** The JIT settings of one identity provider, as the planner needs them. */
export interface JitConfig {
  idpId: string;
  idpName: string;
  idpEnabled: boolean;
  enabled: boolean;
  createUser: boolean;
  updateUser: boolean;
  lookup: UserLookup;
  /** Our JIT policy extension's sign-in gate, if the IdP has one. */
  gate?: SignInGate;
  /** Days a user's last sign-in inputs are kept for the change-impact report (0: none). */
  inputRetentionDays?: number;
  mappings: CompiledMapping[];
  groups: {
    fromAssertion: boolean;
    attributeName?: string;
    mode: GroupMappingMode;
    /** idpGroup → domain group id. */
    explicit: Map<string, string>;
    staticList: boolean;
    staticGroupIds: string[];
    method: GroupAssignmentMethod;
    ignoreAbsent: boolean;
  };
}

export interface VerifiedAssertion extends AssertionContext {
  nameIdFormat?: string;
}

/** A user as stored: its writable SCIM representation and direct memberships. */
export interface ExistingUser {
  id: string;
  active: boolean;
  doc: Doc;
  groupIds: string[];
  /**
   * The memberships a JIT sign-in granted, with the identity provider whose JIT did (group id → IdP id). JIT removes
   * only those its own IdP granted; the others an administrator or a SCIM client granted (or were granted before
   * grants were recorded).
   */
  jitGrants: Map<string, string>;
  /**
   * Who last set each attribute, by ownership key (libs/users attribute-sources.ts). Read only when a mapping has
   * authority `defer`; a missing entry means no recorded source, which `defer` treats as not JIT's.
   */
  sources?: Map<string, AttributeSource>;
}

/** The domain's groups, by id and by lower-cased displayName (for implicit mapping). */
export interface GroupDirectory {
  byId: Map<string, string>;
  byName: Map<string, string>;
}

export enum RejectReason {
  IdpDisabled = 'idp_disabled',
  EmptyNameId = 'empty_nameid',
  LookupValueMissing = 'lookup_value_missing',
  UserNotFound = 'user_not_found',
  /** Found by the applier, not the planner: several users share the lookup value. */
  AmbiguousUser = 'ambiguous_user',
  UserInactive = 'user_inactive',
  /** IDCS userState `locked.on`: an administrator (or IDCS) locked the account. */
  UserLocked = 'user_locked',
  TransientNameId = 'transient_nameid',
  RequiredAttributeMissing = 'required_attribute_missing',
  AttributeConversionFailed = 'attribute_conversion_failed',
  MandatoryUserAttributeMissing = 'mandatory_user_attribute_missing',
  AbsentGroup = 'absent_group',
  /** Found by the applier: the user the lookup found is linked to another subject (OpenID Connect `sub`) of this IdP. */
  LinkedToAnotherSubject = 'linked_to_another_subject',
  /** Found by the applier: the user the lookup found is not linked to this subject, and linking is not allowed. */
  AccountLinkingRefused = 'account_linking_refused',
  /** The verified assertion does not pass the IdP's sign-in gate (JIT policy extension). */
  SignInGate = 'sign_in_gate',
  /** The IdP's user mapping is stored as IDCS accepts it, but sign-in here cannot find users that way. */
  UnsupportedUserMapping = 'unsupported_user_mapping',
}

export interface AttributeChange {
  attribute: string;
  oldValue: unknown;
  newValue: unknown;
}

export interface SkippedGroup {
  /** The asserted or configured value that could not be resolved. */
  value: string;
  source: 'assertion' | 'static';
  why: string;
}

export type JitPlan =
  | { kind: 'reject'; reason: RejectReason; detail: string; /** The sign-in gate's clause that failed (sign_in_gate only). */ clause?: string }
  | { kind: 'signIn'; userId: string }
  | { kind: 'create'; user: Doc; changes: AttributeChange[]; join: string[]; skipped: SkippedGroup[] }
  | { kind: 'update'; userId: string; user: Doc; changes: AttributeChange[]; join: string[]; leave: string[]; skipped: SkippedGroup[] };

const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';

const reject = (reason: RejectReason, detail: string): JitPlan => ({ kind: 'reject', reason, detail });

/**
 * The attribute sign-in finds the user by, or why it cannot: a correlation policy (an IDCS policy object, not
 * implemented here), or an attribute that is not indexed for sign-in and would rarely name one person
 * (name.givenName: matching on it could sign one person in as another).
 */
export function lookupAttributeOf(lookup: UserLookup): { attribute: LookupAttribute } | { unsupported: string } {
  if (lookup.method === 'CorrelationPolicyRule') {
    return { unsupported: 'userMappingMethod is CorrelationPolicyRule: finding users through an IDCS correlation policy is not implemented; set NameIDToUserAttribute or AssertionAttributeToUserAttribute' };
  }
  const attribute = LOOKUP_ATTRIBUTES.find((a) => a === lookup.storeAttribute);
  if (!attribute) {
    return { unsupported: `userMappingStoreAttribute is "${lookup.storeAttribute}": sign-in finds users only by userName, emails.value (the primary email) or externalId, values that name one person` };
  }
  return { attribute };
}

/** The value to look the user up by, from the assertion. */
export function lookupValue(config: JitConfig, a: VerifiedAssertion): string | undefined {
  if (config.lookup.method === 'NameIDToUserAttribute') return a.nameId.trim() || undefined;
  const v = a.attributes[config.lookup.assertionAttribute ?? '']?.[0]?.trim();
  return v || undefined;
}

/** Asserted group names: several AttributeValues, or one value with comma-separated names. */
export function assertedGroups(config: JitConfig, a: VerifiedAssertion): string[] {
  if (!config.groups.fromAssertion || !config.groups.attributeName) return [];
  const raw = a.attributes[config.groups.attributeName] ?? [];
  const names = raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  return [...new Set(names)];
}

/**
 * Decides what a sign-in does, from the IdP's JIT configuration, the verified assertion, the matching user
 * (if any) and the domain's groups. Pure: no I/O, so every combination of settings can be tested cheaply.
 */
export function plan(config: JitConfig, a: VerifiedAssertion, existing: ExistingUser | undefined, groups: GroupDirectory): JitPlan {
  if (!config.idpEnabled) return reject(RejectReason.IdpDisabled, `Identity provider "${config.idpName}" is disabled`);
  const lookup = lookupAttributeOf(config.lookup);
  if ('unsupported' in lookup) return reject(RejectReason.UnsupportedUserMapping, `Identity provider "${config.idpName}": ${lookup.unsupported}`);
  if (!a.nameId.trim()) return reject(RejectReason.EmptyNameId, 'The assertion has an empty NameID');
  if (lookupValue(config, a) === undefined) {
    return reject(RejectReason.LookupValueMissing, `The assertion lacks the attribute "${config.lookup.assertionAttribute}" used to find the user`);
  }

  if (config.gate?.scope === 'everySignIn') {
    const refused = gateRefusal(config.gate, a);
    if (refused) return refused;
  }

  if (existing) {
    if (!existing.active) return reject(RejectReason.UserInactive, `User ${existing.id} is deactivated`);
    if (isLocked(existing.doc)) return reject(RejectReason.UserLocked, `User ${existing.id} is locked`);
    if (!config.enabled || !config.updateUser) return { kind: 'signIn', userId: existing.id };
    return planUpdate(config, a, existing, groups);
  }
  if (!config.enabled || !config.createUser) {
    return reject(RejectReason.UserNotFound, `No user matches ${config.lookup.storeAttribute} "${lookupValue(config, a)}" and JIT user creation is off`);
  }
  if (a.nameIdFormat === TRANSIENT) {
    return reject(RejectReason.TransientNameId, 'A transient NameID changes at every sign-in and never creates an account');
  }
  if (config.gate?.scope === 'create') {
    const refused = gateRefusal(config.gate, a);
    if (refused) return refused;
  }
  return planCreate(config, a, groups);
}

/** The refusal of a sign-in the gate does not let through, naming the clause that failed. */
function gateRefusal(gate: SignInGate, a: VerifiedAssertion): JitPlan | undefined {
  const refused = evaluateSignInGate(gate, a);
  if (!refused) return undefined;
  const what = gate.scope === 'create' ? 'creating a user' : 'signing in';
  return { kind: 'reject', reason: RejectReason.SignInGate, clause: refused.clause, detail: `The sign-in gate refuses ${what}: clause ${refused.clause} is not met (${refused.why})` };
}

const isEmptyValue = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * Whether a mapping may write its attribute when JIT updates a user (its authority: attribute-mappings.ts): always
 * (jit), never (initial), or only over an empty value or one JIT last set (defer).
 */
function mayUpdate(m: CompiledMapping, current: unknown, sources: Map<string, AttributeSource> | undefined): boolean {
  switch (m.authority) {
    case 'initial':
      return false;
    case 'defer':
      return isEmptyValue(current) || sources?.get(m.sourceKey)?.sourceType === 'jit';
    default:
      return true;
  }
}

function applyMappings(config: JitConfig, a: VerifiedAssertion, start: Doc, action: 'create' | 'update', sources?: Map<string, AttributeSource>): { doc: Doc; changes: AttributeChange[] } | JitPlan {
  // One copy, changed mapping by mapping: a failing mapping rejects the whole plan, so a half-changed copy is dropped.
  const doc = structuredClone(start);
  const touched = new Map<string, { op: ReturnType<typeof parseOne>; old: unknown }>();
  for (const m of config.mappings) {
    if (!m.appliesTo[action]) continue;
    const values = evaluateExpression(m.source, a);
    if (values === undefined) {
      if (m.required) return reject(RejectReason.RequiredAttributeMissing, `attributeMappings[${m.index}] (${m.target}) is required but the assertion has no value for it`);
      continue; // Absent in the assertion: leave the attribute as it is.
    }
    const value = values[0] ?? '';
    if (value === '' && m.required) {
      return reject(RejectReason.RequiredAttributeMissing, `attributeMappings[${m.index}] (${m.target}) is required but the asserted value is empty`);
    }
    const op = value === '' ? parseOne(USER_RESOURCE_TYPE, 'remove', m.target, undefined) : parseOne(USER_RESOURCE_TYPE, 'replace', m.target, value);
    // The authority decides over the value as it stands now (after earlier mappings), the recorded source over the stored one.
    if (action === 'update' && !mayUpdate(m, readValue(doc, op), sources)) continue;
    if (!touched.has(m.target)) touched.set(m.target, { op, old: readValue(start, op) });
    try {
      // An empty asserted value clears the attribute (IDCS); otherwise the last mapping to a target wins.
      applyPatchInPlace(doc, [op]); // the SCIM PATCH engine: one implementation for the API and JIT
    } catch (e) {
      return reject(RejectReason.AttributeConversionFailed, `attributeMappings[${m.index}] (${m.target}): ${(e as ScimError).detail ?? (e as Error).message}`);
    }
  }
  const changes: AttributeChange[] = [];
  for (const [attribute, t] of touched) {
    const newValue = readValue(doc, t.op);
    if (JSON.stringify(newValue) !== JSON.stringify(t.old)) changes.push({ attribute, oldValue: t.old, newValue });
  }
  return { doc, changes };
}

function validateUser(doc: Doc): Doc | JitPlan {
  try {
    const normalized = normalizeResource(USER_RESOURCE_TYPE, doc);
    checkRequired(USER_RESOURCE_TYPE, normalized);
    return normalized;
  } catch (e) {
    return reject(RejectReason.AttributeConversionFailed, `The mapped user is invalid: ${(e as ScimError).detail ?? (e as Error).message}`);
  }
}

function isPlan(x: unknown): x is JitPlan {
  return !!x && typeof x === 'object' && 'kind' in (x as object);
}

function planCreate(config: JitConfig, a: VerifiedAssertion, groups: GroupDirectory): JitPlan {
  const start: Doc = { schemas: [USER_SCHEMA_ID] };
  const mapped = applyMappings(config, a, start, 'create');
  if (isPlan(mapped)) return mapped;
  const doc = mapped.doc;
  const name = (doc.name as Doc | undefined) ?? {};
  const primaryEmail = ((doc.emails as Doc[] | undefined) ?? []).find((e) => e.primary === true)?.value;
  const missing = [
    !doc.userName && 'userName',
    !name.givenName && 'name.givenName',
    !name.familyName && 'name.familyName',
    !primaryEmail && 'a primary email',
  ].filter(Boolean);
  if (missing.length) {
    return reject(RejectReason.MandatoryUserAttributeMissing, `A new user needs ${missing.join(', ')}; map them from the assertion`);
  }
  doc.active = true;
  const ext = { ...((doc[ORACLE_USER_SCHEMA_ID] as Doc | undefined) ?? {}) };
  ext.isFederatedUser ??= true;
  ext.creationMechanism = 'samljit';
  ext.syncedFromApp = { value: config.idpId, type: 'IdentityProvider' };
  doc[ORACLE_USER_SCHEMA_ID] = ext;
  doc.schemas = [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID];
  const user = validateUser(doc);
  if (isPlan(user)) return user;
  const g = planGroups(config, a, [], groups, new Map());
  if ('kind' in g) return g;
  return { kind: 'create', user, changes: mapped.changes, join: g.join, skipped: g.skipped };
}

function planUpdate(config: JitConfig, a: VerifiedAssertion, existing: ExistingUser, groups: GroupDirectory): JitPlan {
  const mapped = applyMappings(config, a, existing.doc, 'update', existing.sources);
  if (isPlan(mapped)) return mapped;
  // Every user needs a primary email (IDCS); an assertion that empties it must not leave the user without one.
  if (hasPrimaryEmail(existing.doc) && !hasPrimaryEmail(mapped.doc)) {
    return reject(RejectReason.MandatoryUserAttributeMissing, 'The assertion would leave the user without a primary email; map a non-empty email from the assertion');
  }
  const user = validateUser(mapped.doc);
  if (isPlan(user)) return user;
  const g = planGroups(config, a, existing.groupIds, groups, existing.jitGrants);
  if ('kind' in g) return g;
  return { kind: 'update', userId: existing.id, user, changes: mapped.changes, join: g.join, leave: g.leave, skipped: g.skipped };
}

function planGroups(config: JitConfig, a: VerifiedAssertion, current: string[], groups: GroupDirectory, jitGrants: Map<string, string>): { join: string[]; leave: string[]; skipped: SkippedGroup[] } | JitPlan {
  const c = config.groups;
  // With no group source configured, JIT leaves memberships alone (Overwrite would otherwise empty them).
  if (!c.fromAssertion && !c.staticList) return { join: [], leave: [], skipped: [] };
  const target = new Set<string>();
  const skipped: SkippedGroup[] = [];
  for (const name of assertedGroups(config, a)) {
    let id: string | undefined;
    if (c.mode === GroupMappingMode.Explicit) {
      id = c.explicit.get(name);
      if (id === undefined) skipped.push({ value: name, source: 'assertion', why: 'no jitUserProvGroupMappings entry for it' });
      else if (!groups.byId.has(id)) {
        skipped.push({ value: name, source: 'assertion', why: `its mapped group ${id} no longer exists` });
        id = undefined;
      }
    } else {
      id = groups.byName.get(name.toLowerCase());
      if (id === undefined) skipped.push({ value: name, source: 'assertion', why: 'no group has this displayName' });
    }
    if (id) target.add(id);
  }
  if (c.staticList) {
    for (const id of c.staticGroupIds) {
      if (groups.byId.has(id)) target.add(id);
      else skipped.push({ value: id, source: 'static', why: 'the group no longer exists' });
    }
  }
  if (skipped.length && !c.ignoreAbsent) {
    return reject(RejectReason.AbsentGroup, `Absent group(s): ${skipped.map((s) => `"${s.value}" (${s.why})`).join(', ')}; jitUserProvIgnoreErrorOnAbsentGroups is false`);
  }
  const have = new Set(current);
  const join = [...target].filter((id) => !have.has(id));
  // Groups covered by explicit mappings follow the assertion, with Merge too (Oracle doc): the administrator made this
  // IdP the authority on them. Overwrite also removes the other memberships, but only those its own IdP's JIT granted,
  // never one an administrator, a SCIM client or another IdP granted (attribute ownership; Keycloak's most-reported
  // group-sync bug is removing memberships it did not grant).
  const mappedGroups = c.mode === GroupMappingMode.Explicit && c.fromAssertion ? new Set(c.explicit.values()) : new Set<string>();
  const overwrite = c.method === GroupAssignmentMethod.Overwrite;
  const leave = current.filter((id) => !target.has(id) && (mappedGroups.has(id) || (overwrite && jitGrants.get(id) === config.idpId)));
  return { join, leave, skipped };
}
