import { Doc, parseOne, ScimError } from '@app/scim/core';
import { USER_RESOURCE_TYPE } from '@app/users/core';
import { Expression, ExpressionError, parseExpression } from './expression';

export const MAX_ATTRIBUTE_MAPPINGS = 100;

/** Targets JIT must never write: server-managed or secret (IDCS: sensitive, internal and read-only attributes). */
const FORBIDDEN_TARGETS = new Set(['password', 'groups', 'id', 'meta', 'externalId']);

export interface CompiledMapping {
  index: number;
  target: string;
  source: Expression;
  required: boolean;
  appliesTo: { create: boolean; update: boolean };
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
    };
  });
}
