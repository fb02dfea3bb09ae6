import type { Filter } from 'scim2-parse-filter';
import { attr, filterText, parseFilter, ScimError, ScimSchema } from '@app/scim/core';
import type { AssertionContext } from './expression';

/**
 * Our extension of IdentityProvider for JIT policies IDCS does not have. Listed in an IdentityProvider's `schemas`
 * only when it carries something, so IDCS clients and Oracle's SDK never meet an unknown core attribute.
 */
export const JIT_POLICY_EXTENSION_ID = 'urn:identity-domain:scim:schemas:extension:jitPolicy:2.0:IdentityProvider';

export const SIGN_IN_GATE_SCOPES = ['create', 'everySignIn'] as const;
export type SignInGateScope = (typeof SIGN_IN_GATE_SCOPES)[number];

/** Which users a dormant-user policy acts on (dormant-users.ts): jitManaged, the default, or includeOtherSources too. */
export const DORMANT_USER_SCOPES = ['jitManaged', 'includeOtherSources'] as const;
export type DormantUserScope = (typeof DORMANT_USER_SCOPES)[number];

export const JIT_POLICY_EXTENSION_SCHEMA: ScimSchema = {
  id: JIT_POLICY_EXTENSION_ID,
  name: 'IdentityProviderJitPolicy',
  description: 'Just-In-Time provisioning policies beyond IDCS: a sign-in gate over the verified assertion attributes (or OpenID Connect claims), how long sign-in inputs are kept for the change-impact report, and what happens to users of this IdP who stop signing in',
  attributes: [
    attr(
      'signInGate',
      'string',
      'A SCIM filter over the verified assertion attributes (or OpenID Connect claims), by their names as sent: a sign-in goes on only if it matches, e.g. department eq "Engineering" and groups co "Employees". ' +
        'Comparisons ignore case; a multi-valued attribute matches when one of its values does (ne: when none equals); pr: present and not empty; fed.nameidvalue and fed.issuerid name the NameID (OIDC sub) and the issuer. A refused sign-in names the clause that failed in its audit event and in jitPreview',
      { caseExact: true, example: 'department eq "Engineering" and email ew "@acme.com"' },
    ),
    attr('signInGateScope', 'string', 'create (the default): the gate decides only whether JIT creates a new user; everySignIn: every sign-in through this IdP must pass it, existing users included', {
      canonicalValues: [...SIGN_IN_GATE_SCOPES],
      caseExact: true,
      example: 'create',
    }),
    attr('signInInputRetentionDays', 'integer', 'Days the last sign-in inputs of each user are kept for the change-impact report (jitImpact): only the assertion values or claims this IdP\'s mappings, group rule, lookup and gate read. Default 90; 0 keeps none', {
      example: 90,
    }),
    attr('dormantUserDeactivateAfterDays', 'integer', 'Dormant users: deactivate (active=false) the users of this IdP (see dormantUserScope) whose last successful sign-in, or creation when they never signed in, is this many days ago or more; 1 to 3650. A server job applies it every hour (JIT_DORMANT_USERS_INTERVAL_SECONDS); POST …/dormantUsers runs it, or with dryRun lists whom it would act on. Absent: no dormant-user policy', {
      example: 90,
    }),
    attr('dormantUserDeleteAfterDays', 'integer', 'Dormant users: delete a user this policy deactivated this many more days after it did, unless someone changed the user since (e.g. reactivated it); 1 to 3650, needs dormantUserDeactivateAfterDays. Absent: deactivated users are kept', {
      example: 30,
    }),
    attr('dormantUserScope', 'string', 'Which users the dormant-user policy acts on. jitManaged (the default): users this IdP\'s JIT created or last updated, and that nobody else changed since; includeOtherSources: also users this IdP\'s JIT created, or that last signed in through it, which an administrator, a SCIM client or another IdP changed since', {
      canonicalValues: [...DORMANT_USER_SCOPES],
      caseExact: true,
      example: 'jitManaged',
    }),
  ],
};

/** A compiled sign-in gate, or one stored before a rule that now refuses it (every sign-in it guards is then refused). */
export type SignInGate = { text: string; filter: Filter; scope: SignInGateScope } | { text: string; invalid: string; scope: SignInGateScope };

/** Why a gate refused: the smallest part of the filter that decided it, and what the assertion held there. */
export interface GateRefusal {
  clause: string;
  why: string;
}

const SPECIAL: Record<string, (a: AssertionContext) => string[]> = {
  'fed.nameidvalue': (a) => [a.nameId],
  'fed.issuerid': (a) => [a.issuer],
};

/** Parses and checks a gate filter; a 400 invalidValue naming what is wrong otherwise. */
export function compileSignInGate(text: string, scope: SignInGateScope = 'create'): SignInGate & { filter: Filter } {
  let filter: Filter;
  try {
    filter = parseFilter(text);
  } catch (e) {
    throw ScimError.badRequest('invalidValue', `${JIT_POLICY_EXTENSION_ID}:signInGate: ${(e as ScimError).detail ?? (e as Error).message}`);
  }
  const bracket = findValuePath(filter);
  if (bracket) {
    throw ScimError.badRequest('invalidValue', `${JIT_POLICY_EXTENSION_ID}:signInGate: "${bracket}[…]" is a value filter; assertion attributes are lists of strings, so compare them directly (e.g. groups eq "Employees")`);
  }
  return { text, filter, scope };
}

/** The stored gate of an IdP's JIT policy extension, compiled; undefined when it has none. Never throws. */
export function signInGateOf(extension: Record<string, unknown> | undefined): SignInGate | undefined {
  const text = extension?.signInGate;
  if (typeof text !== 'string' || !text.trim()) return undefined;
  const scope: SignInGateScope = extension?.signInGateScope === 'everySignIn' ? 'everySignIn' : 'create';
  try {
    return compileSignInGate(text, scope);
  } catch (e) {
    return { text, scope, invalid: (e as ScimError).detail ?? (e as Error).message };
  }
}

/** Whether the verified assertion passes the gate; if not, the clause that failed. Pure. */
export function evaluateSignInGate(gate: SignInGate, a: AssertionContext): GateRefusal | undefined {
  if ('invalid' in gate) return { clause: gate.text, why: `the gate cannot be evaluated: ${gate.invalid}` };
  return explain(gate.filter, a);
}

function explain(f: Filter, a: AssertionContext): GateRefusal | undefined {
  switch (f.op) {
    case 'and':
      for (const part of f.filters) {
        const refused = explain(part, a);
        if (refused) return refused;
      }
      return undefined;
    case 'or': {
      const refusals: GateRefusal[] = [];
      for (const part of f.filters) {
        const refused = explain(part, a);
        if (!refused) return undefined;
        refusals.push(refused);
      }
      return { clause: filterText(f), why: refusals.map((r) => r.why).join('; ') };
    }
    case 'not':
      return explain(f.filter, a) ? undefined : { clause: filterText(f), why: `${filterText(f.filter)} matched` };
    case '[]':
      return { clause: filterText(f), why: 'value filters do not apply to assertion attributes' };
    default: {
      const values = valuesOf(f.attrPath, a);
      return compare(f.op, values, f.op === 'pr' ? undefined : f.compValue) ? undefined : { clause: filterText(f), why: `${f.attrPath} ${describe(values)}` };
    }
  }
}

/** The values of an attribute by its name as sent (exactly, else ignoring case when that names one attribute). */
function valuesOf(name: string, a: AssertionContext): string[] | undefined {
  const special = SPECIAL[name.toLowerCase()];
  if (special) return special(a);
  if (Object.hasOwn(a.attributes, name)) return a.attributes[name];
  const lower = name.toLowerCase();
  const matches = Object.keys(a.attributes).filter((k) => k.toLowerCase() === lower);
  return matches.length === 1 ? a.attributes[matches[0]] : undefined;
}

function compare(op: string, values: string[] | undefined, expected: unknown): boolean {
  const present = (values ?? []).filter((v) => v !== '');
  if (op === 'pr') return present.length > 0;
  if (expected === null) return op === 'eq' ? present.length === 0 : op === 'ne' ? present.length > 0 : false;
  const e = String(expected).toLowerCase();
  const numeric = typeof expected === 'number';
  const test = (raw: string): boolean => {
    const v = raw.toLowerCase();
    switch (op) {
      case 'eq':
        return v === e;
      case 'co':
        return v.includes(e);
      case 'sw':
        return v.startsWith(e);
      case 'ew':
        return v.endsWith(e);
      case 'gt':
        return numeric ? Number(raw) > (expected as number) : v > e;
      case 'ge':
        return numeric ? Number(raw) >= (expected as number) : v >= e;
      case 'lt':
        return numeric ? Number(raw) < (expected as number) : v < e;
      case 'le':
        return numeric ? Number(raw) <= (expected as number) : v <= e;
      default:
        return false;
    }
  };
  // `ne` reads as "is not": no value equals (a person in Sales and Contractors is not outside Contractors).
  if (op === 'ne') return !present.some((v) => v.toLowerCase() === e);
  return present.some(test);
}

function describe(values: string[] | undefined): string {
  if (values === undefined) return 'is absent';
  if (!values.length) return 'has no value';
  const shown = values.slice(0, 10).map((v) => JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v));
  return `is ${shown.join(', ')}${values.length > 10 ? ` and ${values.length - 10} more` : ''}`;
}

function findValuePath(f: Filter): string | undefined {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.map(findValuePath).find(Boolean);
    case 'not':
      return findValuePath(f.filter);
    case '[]':
      return f.attrPath;
    default:
      return undefined;
  }
}
