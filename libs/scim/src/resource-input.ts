import { ScimError } from './errors';
import { checkResourceSize, checkValueCount, ValueCap, valueCapOf } from './limits';
import { isForbiddenKey, schemasOf } from './paths';
import { COMMON_ATTRIBUTES, ScimAttribute, ScimResourceType, ScimSchema } from './schema';

export type Doc = Record<string, unknown>;

/** PostgreSQL text cannot hold U+0000 and its jsonb refuses unpaired surrogates: refused on input, on both stores alike. */
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Converts one JSON value to an attribute's type; accepts the "True"/"False" strings Entra ID sends. */
export function coerceValue(a: ScimAttribute, value: unknown, where: string): unknown {
  const bad = (expected: string): never => {
    throw ScimError.badRequest('invalidValue', `"${where}" must be ${expected} (got ${JSON.stringify(value)?.slice(0, 80)})`);
  };
  switch (a.type) {
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return bad('a boolean');
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value);
      return bad('an integer');
    case 'decimal':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return bad('a number');
    case 'dateTime': {
      if (typeof value !== 'string') return bad('an xsd:dateTime string such as 2026-01-31T12:00:00Z');
      const d = new Date(value);
      if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) return bad('an xsd:dateTime string such as 2026-01-31T12:00:00Z');
      return d.toISOString();
    }
    case 'complex':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('an object');
      return value;
    default:
      if (typeof value !== 'string') return bad('a string');
      if (value.length > (a.maxLength ?? 8192)) return bad(`at most ${a.maxLength ?? 8192} characters long`);
      if (UNSTORABLE_TEXT.test(value)) return bad('text without NUL characters or unpaired UTF-16 surrogates');
      return value;
  }
}

/**
 * Refuses a value longer than the column that stores or indexes it, counting characters as SQL does (code
 * points): PostgreSQL would fail the write, and SQLite would silently keep what PostgreSQL cannot.
 */
export function fitColumn(value: string | null, max: number, where: string): string | null {
  const length = value === null ? 0 : [...value].length;
  if (length > max) throw ScimError.badRequest('invalidValue', `"${where}" must be at most ${max} characters long (got ${length})`);
  return value;
}

/**
 * Attributes by lower-cased name, per attribute list: a body may carry tens of thousands of keys (empty unknown ones
 * are skipped, not refused), and each is looked up here, so a lookup must not scan the list.
 */
const BY_NAME = new WeakMap<ScimAttribute[], Map<string, ScimAttribute>>();

function findAttr(list: ScimAttribute[], name: string, lowerCased = name.toLowerCase()): ScimAttribute | undefined {
  let byName = BY_NAME.get(list);
  if (!byName) {
    byName = new Map();
    for (const a of list) if (!byName.has(a.name.toLowerCase())) byName.set(a.name.toLowerCase(), a);
    BY_NAME.set(list, byName);
  }
  return byName.get(lowerCased);
}

/** Schema extensions of a resource type by lower-cased URN, for the same reason. */
const EXTENSIONS = new WeakMap<ScimResourceType, Map<string, ScimResourceType['schemaExtensions'][number]>>();

function findExtension(rt: ScimResourceType, lowerCasedUrn: string): ScimResourceType['schemaExtensions'][number] | undefined {
  let byUrn = EXTENSIONS.get(rt);
  if (!byUrn) EXTENSIONS.set(rt, (byUrn = new Map(rt.schemaExtensions.map((e) => [e.schema.id.toLowerCase(), e]))));
  return byUrn.get(lowerCasedUrn);
}

const NO_ATTRIBUTES: ScimAttribute[] = [];

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || v === '';
}

/**
 * Normalises a resource body from a client: canonical attribute names, coerced types, extensions under their URN,
 * read-only attributes dropped (RFC 7644 §3.5.1 says they are ignored), unknown attributes rejected
 * so that a typo never passes silently.
 */
export function normalizeResource(rt: ScimResourceType, body: unknown): Doc {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ScimError.badRequest('invalidSyntax', `The request body must be a JSON object describing a ${rt.name}`);
  }
  const input = body as Doc;
  const schemasRaw = input.schemas ?? input.Schemas;
  if (schemasRaw !== undefined && (!Array.isArray(schemasRaw) || schemasRaw.some((s) => typeof s !== 'string'))) {
    throw ScimError.badRequest('invalidSyntax', '"schemas" must be an array of schema URNs');
  }
  const declared = ((schemasRaw as string[] | undefined) ?? []).map((s) => s.toLowerCase());
  if (!declared.includes(rt.schema.id.toLowerCase())) {
    throw ScimError.badRequest('invalidSyntax', `"schemas" must include "${rt.schema.id}"`);
  }
  const known = schemasOf(rt).map((s) => s.id.toLowerCase());
  // Named as the client spelled it.
  const unknownSchema = (schemasRaw as string[]).find((s) => !known.includes(s.toLowerCase()));
  if (unknownSchema) throw ScimError.badRequest('invalidSyntax', `Unknown schema "${unknownSchema}" for resource type ${rt.name}`);

  // `schemas` comes first whatever the input order, so re-normalising a stored document yields the same JSON
  // and services can tell an unchanged resource (no new version) by comparing the serialised documents.
  const out: Doc = { schemas: [] };
  const usedExtensions = new Set<string>();
  // Object.keys, not Object.entries: a body of tens of thousands of (empty, skipped) keys is a dictionary-mode
  // object, for which entries() alone costs several times the whole loop.
  for (const key of Object.keys(input)) {
    const value = input[key];
    if (isForbiddenKey(key)) throw ScimError.badRequest('invalidSyntax', `"${key}" is not an attribute name`);
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue;
    const ext = findExtension(rt, lower);
    if (ext) {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw ScimError.badRequest('invalidSyntax', `"${key}" must be an object holding the extension's attributes`);
      }
      const normalized = normalizeAttributes(ext.schema, [], value as Doc, key);
      if (Object.keys(normalized).length) {
        out[ext.schema.id] = normalized;
        usedExtensions.add(ext.schema.id);
      }
      continue;
    }
    const common = findAttr(COMMON_ATTRIBUTES, key, lower);
    if (common) {
      // Read-only ones (id, meta, ocid, idcsCreatedBy…) come back from every GET a client PUTs again: ignored.
      const v = normalizeAttribute(common, value, common.name);
      if (v !== undefined) out[common.name] = v;
      continue;
    }
    const a = findAttr(rt.schema.attributes, key, lower);
    // An empty unknown attribute carries nothing that could be lost, and Entra ID sends `"roles": []` on every
    // user it creates; one with a value is still refused, so a typo never passes silently.
    if (!a && isEmpty(value)) continue;
    if (!a) throw ScimError.badRequest('invalidSyntax', `Unknown attribute "${key}" for resource type ${rt.name}`);
    const v = normalizeAttribute(a, value, a.name, valueCapOf(rt.schema.id, a));
    if (v !== undefined) out[a.name] = v;
  }
  out.schemas = [rt.schema.id, ...rt.schemaExtensions.filter((e) => usedExtensions.has(e.schema.id)).map((e) => e.schema.id)];
  checkResourceSize(rt, out);
  return out;
}

function normalizeAttributes(schema: ScimSchema, _prefix: string[], obj: Doc, where: string): Doc {
  const out: Doc = {};
  for (const [key, value] of Object.entries(obj)) {
    if (isForbiddenKey(key)) throw ScimError.badRequest('invalidSyntax', `"${key}" is not an attribute name`);
    const a = findAttr(schema.attributes, key);
    if (!a) throw ScimError.badRequest('invalidSyntax', `Unknown attribute "${key}" in "${where}"`);
    const v = normalizeAttribute(a, value, `${where}:${a.name}`, valueCapOf(schema.id, a));
    if (v !== undefined) out[a.name] = v;
  }
  return out;
}

/**
 * Normalises one attribute value; returns undefined for "no value" and for read-only attributes. `cap` bounds the
 * values of a multi-valued attribute (see limits.ts); it is checked before any value is looked at.
 */
export function normalizeAttribute(a: ScimAttribute, value: unknown, where: string, cap: ValueCap = valueCapOf(undefined, a)): unknown {
  if (a.mutability === 'readOnly') return undefined;
  if (isEmpty(value)) return undefined;
  if (a.multiValued) {
    // An element left without any value (e.g. `{}`) is no element at all.
    const items = (Array.isArray(value) ? value : [value]).filter((v) => !isEmpty(v));
    checkValueCount(where, items.length, cap);
    const out = items.map((v, i) => normalizeSingle(a, v, `${where}[${i}]`)).filter((v) => v !== undefined);
    if (a.type === 'complex') {
      const primaries = out.filter((v) => (v as Doc).primary === true).length;
      if (primaries > 1) throw ScimError.badRequest('invalidValue', `At most one "${where}" value may be primary (got ${primaries})`);
    }
    const unique = a.idcsCompositeKey ? withoutRepeatedKeys(a, out as Doc[]) : out;
    return unique.length ? unique : undefined;
  }
  if (Array.isArray(value)) throw ScimError.badRequest('invalidValue', `"${where}" takes a single value, not an array`);
  return normalizeSingle(a, value, where);
}

/**
 * What identifies an element of a multi-valued complex attribute that has an IDCS composite key (tags: key and
 * value): those sub-attributes' values, lower-cased where the sub-attribute is case-insensitive. Undefined for an
 * attribute without one. PATCH compares elements by it too.
 */
export function compositeKeyOf(a: ScimAttribute, item: Doc): unknown[] | undefined {
  return a.idcsCompositeKey?.map((name) => {
    const v = item[name];
    return typeof v === 'string' && !findAttr(a.subAttributes ?? NO_ATTRIBUTES, name)?.caseExact ? v.toLowerCase() : v;
  });
}

/**
 * The values of `a` without those whose composite key repeats an earlier one's: sending a tag twice is one tag, as
 * adding a value already there changes nothing (RFC 7644 §3.5.2.1).
 */
function withoutRepeatedKeys(a: ScimAttribute, values: Doc[]): Doc[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = JSON.stringify(compositeKeyOf(a, v));
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function normalizeSingle(a: ScimAttribute, value: unknown, where: string): unknown {
  const v = coerceValue(a, value, where);
  if (a.type !== 'complex') return v;
  const out: Doc = {};
  for (const [key, subValue] of Object.entries(v as Doc)) {
    if (isForbiddenKey(key)) throw ScimError.badRequest('invalidSyntax', `"${key}" is not an attribute name`);
    const s = findAttr(a.subAttributes ?? NO_ATTRIBUTES, key);
    if (!s) throw ScimError.badRequest('invalidSyntax', `Unknown sub-attribute "${key}" of "${where}"`);
    if (s.mutability === 'readOnly' || isEmpty(subValue)) continue;
    if (s.multiValued) {
      const items = Array.isArray(subValue) ? subValue : [subValue];
      checkValueCount(`${where}.${s.name}`, items.length, valueCapOf(undefined, a, s));
      out[s.name] = items.map((x, i) => coerceValue(s, x, `${where}.${s.name}[${i}]`));
    } else out[s.name] = coerceValue(s, subValue, `${where}.${s.name}`);
  }
  for (const s of a.subAttributes ?? []) {
    if (s.required && s.mutability !== 'readOnly' && isEmpty(out[s.name])) {
      throw ScimError.badRequest('invalidValue', `"${where}" needs a "${s.name}"`, 'error.common.validation.missingReqAttributes');
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/** Checks required attributes of the final representation (after create, PUT or PATCH). */
export function checkRequired(rt: ScimResourceType, doc: Doc): void {
  const missing: string[] = [];
  for (const a of rt.schema.attributes) {
    if (a.required && a.mutability !== 'readOnly' && isEmpty(doc[a.name])) missing.push(a.name);
  }
  for (const ext of rt.schemaExtensions) {
    const e = doc[ext.schema.id] as Doc | undefined;
    if (!e) continue;
    for (const a of ext.schema.attributes) {
      if (a.required && a.mutability !== 'readOnly' && isEmpty(e[a.name])) missing.push(`${ext.schema.id}:${a.name}`);
    }
  }
  if (missing.length) {
    throw ScimError.badRequest('invalidValue', `Missing required attribute(s): ${missing.join(', ')}`, 'error.common.validation.missingReqAttributes');
  }
}

/** JSON with object keys sorted, so that equal values compare equal whatever order a client sent. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Doc).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** RFC 7643 §2.2 "immutable": may be set once, then never changed. */
export function checkImmutable(rt: ScimResourceType, before: Doc, after: Doc): void {
  const check = (attrs: ScimAttribute[], b: Doc | undefined, a: Doc | undefined, prefix: string) => {
    for (const attribute of attrs) {
      const old = b?.[attribute.name];
      if (isEmpty(old)) continue;
      if (attribute.mutability !== 'immutable') {
        // Immutable parts of a single complex value (e.g. syncedFromApp.type) are fixed while that value exists;
        // the value as a whole stays removable, as its own mutability allows.
        const now = a?.[attribute.name];
        if (attribute.type === 'complex' && !attribute.multiValued && attribute.subAttributes && !isEmpty(now)) {
          check(attribute.subAttributes, old as Doc, now as Doc, `${prefix}${attribute.name}.`);
        }
        continue;
      }
      if (canonicalJson(old) !== canonicalJson(a?.[attribute.name])) {
        throw ScimError.badRequest('mutability', `"${prefix}${attribute.name}" is immutable and already has a value; it cannot be changed`);
      }
    }
  };
  check(rt.schema.attributes, before, after, '');
  for (const ext of rt.schemaExtensions) {
    check(ext.schema.attributes, before[ext.schema.id] as Doc, after[ext.schema.id] as Doc, `${ext.schema.id}:`);
  }
}

/** Rewrites `schemas` as the core schema and every extension the representation carries, in the resource type's order. */
export function syncSchemas(rt: ScimResourceType, doc: Doc): void {
  doc.schemas = [rt.schema.id, ...rt.schemaExtensions.filter((e) => isPresent(doc[e.schema.id])).map((e) => e.schema.id)];
}

function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);
}

/**
 * RFC 7644 §3.5.1 lets a PUT omit what it does not assert. An immutable attribute that already has a value cannot
 * be cleared, so a PUT that leaves one out keeps it (rather than failing: clients such as Okta PUT back only the
 * attributes they know).
 */
export function retainUnsentImmutable(rt: ScimResourceType, old: Doc, doc: Doc): void {
  for (const a of rt.schema.attributes) if (a.mutability === 'immutable' && doc[a.name] === undefined && old[a.name] !== undefined) doc[a.name] = old[a.name];
  for (const { schema } of rt.schemaExtensions) {
    const before = old[schema.id] as Doc | undefined;
    if (!before) continue;
    for (const a of schema.attributes) {
      if (a.mutability !== 'immutable' || before[a.name] === undefined) continue;
      const ext = (doc[schema.id] ??= {}) as Doc;
      if (ext[a.name] === undefined) ext[a.name] = before[a.name];
    }
  }
  syncSchemas(rt, doc);
}
