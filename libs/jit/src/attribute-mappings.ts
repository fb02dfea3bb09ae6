import { attr, complex, Doc, parseOne, ScimError, ScimSchema } from '@app/scim/core';
import { attributeSourceKey, USER_RESOURCE_TYPE } from '@app/users/core';
import { Expression, ExpressionError, parseExpression } from './expression';

export const MAX_ATTRIBUTE_MAPPINGS = 100;

/**
 * Who has the last word on a mapped attribute (attribute ownership, our extension beyond IDCS):
 * - jit (the default, IDCS's behaviour): JIT sets it at every sign-in;
 * - initial: JIT sets it only when it creates the user;
 * - defer: JIT sets it when it is empty or JIT itself (through any IdP) last set it, never over a value an
 *   administrator or a SCIM client set (nor over one whose source was never recorded).
 */
export const MAPPING_AUTHORITIES = ['jit', 'initial', 'defer'] as const;
export type MappingAuthority = (typeof MAPPING_AUTHORITIES)[number];

/**
 * Our extension of MappedAttribute for JIT policies IDCS does not have. Listed in a MappedAttribute's `schemas` only
 * when it carries something, so IDCS clients and Oracle's SDK never meet an unknown core attribute.
 */
export const JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID = 'urn:identity-domain:scim:schemas:extension:jitPolicy:2.0:MappedAttribute';

export const JIT_POLICY_MAPPED_ATTRIBUTE_SCHEMA: ScimSchema = {
  id: JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID,
  name: 'MappedAttributeJitPolicy',
  description: 'Just-In-Time provisioning policies beyond IDCS for the mappings of an identity provider: which source has the last word on each mapped attribute',
  attributes: [
    complex(
      'attributeAuthorities',
      'The authority of mappings, by their idcsAttributeName (a mapping not listed has authority jit). jit: JIT sets the attribute at every sign-in (IDCS); initial: only when it creates the user; ' +
        'defer: JIT never overwrites a value an administrator or a SCIM client set (nor one whose source is unknown), and sets it when it is empty or JIT last set it. Sources are recorded per attribute, multi-valued attributes as a whole (see the User extension urn:identity-domain:scim:schemas:extension:attributeSources:2.0:User)',
      [
        attr('idcsAttributeName', 'string', 'The idcsAttributeName of attributeMappings entries, exactly as written there', { required: true, caseExact: true, example: 'title' }),
        attr('authority', 'string', 'jit, initial or defer', { required: true, caseExact: true, canonicalValues: [...MAPPING_AUTHORITIES], example: 'defer' }),
      ],
      { multiValued: true },
    ),
  ],
};

/** Targets JIT must never write: server-managed or secret (IDCS: sensitive, internal and read-only attributes). */
const FORBIDDEN_TARGETS = new Set(['password', 'groups', 'id', 'meta', 'externalId']);

export interface CompiledMapping {
  index: number;
  target: string;
  source: Expression;
  required: boolean;
  appliesTo: { create: boolean; update: boolean };
  authority: MappingAuthority;
  /** The attribute whose recorded source the authority reads (libs/users attribute-sources.ts). */
  sourceKey: string;
}

function fail(index: number, target: unknown, field: string, why: string): never {
  const label = typeof target === 'string' && target ? ` (${target})` : '';
  throw ScimError.badRequest('invalidValue', `attributeMappings[${index}]${label}: ${field} ${why}`);
}

/**
 * Validates inbound User mappings at write time, so that a login never meets a mapping it cannot apply:
 * the target must be a writable User attribute path, the source must parse.
 */
export function compileAttributeMappings(mappings: Doc[] | undefined): CompiledMapping[] {
  const list = mappings ?? [];
  if (list.length > MAX_ATTRIBUTE_MAPPINGS) {
    throw ScimError.badRequest('invalidValue', `At most ${MAX_ATTRIBUTE_MAPPINGS} attributeMappings are allowed (got ${list.length})`);
  }
  return list.map((m, index) => {
    const target = m.idcsAttributeName as string;
    let resolved;
    try {
      resolved = parseOne(USER_RESOURCE_TYPE, 'replace', target, undefined);
    } catch (e) {
      fail(index, target, 'idcsAttributeName', `is not a writable User attribute: ${(e as ScimError).detail ?? (e as Error).message}`);
    }
    const a = resolved.path.attribute;
    const leaf = resolved.path.subAttribute ?? a;
    if (FORBIDDEN_TARGETS.has(a.name) && !resolved.path.extension) fail(index, target, 'idcsAttributeName', `cannot be "${a.name}": it is managed by the server or secret`);
    if (leaf.mutability === 'writeOnly' || leaf.returned === 'never') fail(index, target, 'idcsAttributeName', 'cannot be a secret attribute');
    if (leaf.type === 'complex') fail(index, target, 'idcsAttributeName', `is complex; map a sub-attribute such as ${a.name}.${a.subAttributes?.[0]?.name ?? 'value'}`);
    if (a.multiValued && a.type === 'complex' && !resolved.valueFilter) {
      fail(index, target, 'idcsAttributeName', `must select one value, e.g. ${a.name}[primary eq true and type eq "work"].value`);
    }
    let source: Expression;
    try {
      source = parseExpression(m.managedObjectAttributeName as string);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      fail(index, target, 'managedObjectAttributeName', `has a syntax error: ${e.reason} at position ${e.position}`);
    }
    const actions = (m.appliesToActions as string[] | undefined)?.map((x) => x.toLowerCase());
    for (const x of actions ?? []) if (x !== 'create' && x !== 'update') fail(index, target, 'appliesToActions', `may only hold "create" and "update" (got "${x}")`);
    return {
      index,
      target,
      source,
      required: m.required === true,
      appliesTo: { create: !actions?.length || actions.includes('create'), update: !actions?.length || actions.includes('update') },
      authority: 'jit' as MappingAuthority,
      sourceKey: attributeSourceKey(resolved.path),
    };
  });
}

/**
 * Validates a MappedAttribute's mappings and, in our JIT policy extension, their authorities: each names a mapping's
 * idcsAttributeName once, with a known authority.
 */
export function compileMappedAttribute(doc: Doc | undefined): CompiledMapping[] {
  const mappings = compileAttributeMappings(doc?.attributeMappings as Doc[] | undefined);
  const entries = ((doc?.[JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID] as Doc | undefined)?.attributeAuthorities as Doc[] | undefined) ?? [];
  const where = (i: number, target: unknown) => `${JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID}:attributeAuthorities[${i}]${typeof target === 'string' && target ? ` (${target})` : ''}`;
  if (entries.length > MAX_ATTRIBUTE_MAPPINGS) {
    throw ScimError.badRequest('invalidValue', `At most ${MAX_ATTRIBUTE_MAPPINGS} ${JIT_POLICY_MAPPED_ATTRIBUTE_EXTENSION_ID}:attributeAuthorities are allowed (got ${entries.length})`);
  }
  const targets = new Set(mappings.map((m) => m.target));
  const authorities = new Map<string, MappingAuthority>();
  entries.forEach((e, i) => {
    const target = e.idcsAttributeName;
    if (typeof target !== 'string' || !target) throw ScimError.badRequest('invalidValue', `${where(i, target)}: idcsAttributeName is required`);
    if (!targets.has(target)) {
      throw ScimError.badRequest('invalidValue', `${where(i, target)}: idcsAttributeName names no attributeMappings entry; give the idcsAttributeName of a mapping exactly as written there`);
    }
    if (authorities.has(target)) throw ScimError.badRequest('invalidValue', `${where(i, target)}: idcsAttributeName is listed twice`);
    const authority = MAPPING_AUTHORITIES.find((a) => a === e.authority);
    if (!authority) throw ScimError.badRequest('invalidValue', `${where(i, target)}: authority must be one of ${MAPPING_AUTHORITIES.join(', ')} (got ${JSON.stringify(e.authority)})`);
    authorities.set(target, authority);
  });
  return mappings.map((m) => ({ ...m, authority: authorities.get(m.target) ?? 'jit' }));
}
