import { Filter } from 'scim2-parse-filter';
import { ScimError } from './errors';
import { parseFilter } from './filter';
import { isForbiddenKey, ResolvedPath, resolvePath, resolveSubPath, wholeSchemaOf } from './paths';
import { checkValueCount, checkValueCountInRequest, valueCapOf } from './limits';
import { canonicalJson, coerceValue, compositeKeyOf, Doc, normalizeAttribute } from './resource-input';
import { SCIM_SCHEMAS, ScimAttribute, ScimResourceType, ScimSchema } from './schema';

export type PatchOpName = 'add' | 'remove' | 'replace';

/** One PATCH operation with its path resolved against the schema. */
export interface ParsedPatchOp {
  op: PatchOpName;
  /** Undefined only for add/replace without path, which are expanded into one op per attribute first. */
  path: ResolvedPath;
  /** Value filter of `attr[filter]` or `attr[filter].sub`. */
  valueFilter?: Filter;
  value?: unknown;
  rawPath: string;
}

export const MAX_PATCH_OPERATIONS = 1000;

/** Splits `emails[type eq "work"].value` into `emails`, `type eq "work"` and `value`. */
function splitValuePath(path: string): { attrPath: string; filter?: string; sub?: string } {
  const open = path.indexOf('[');
  if (open < 0) return { attrPath: path };
  const close = path.lastIndexOf(']');
  if (close < open) throw ScimError.badRequest('invalidPath', `Unbalanced "[" in path "${path}"`);
  const after = path.slice(close + 1);
  if (after && !/^\.[A-Za-z$][\w$-]*$/.test(after)) throw ScimError.badRequest('invalidPath', `Unexpected "${after}" after "]" in path "${path}"`);
  return { attrPath: path.slice(0, open), filter: path.slice(open + 1, close), sub: after ? after.slice(1) : undefined };
}

/** Parses and validates a PatchOp body (RFC 7644 §3.5.2), accepting `op` in any case as Entra ID and the OCI SDK send it. */
export function parsePatchRequest(rt: ScimResourceType, body: unknown): ParsedPatchOp[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw ScimError.badRequest('invalidSyntax', 'The request body must be a PatchOp object');
  }
  const b = body as Doc;
  const schemas = b.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(SCIM_SCHEMAS.patchOp)) {
    throw ScimError.badRequest('invalidSyntax', `A PATCH body must list the schema "${SCIM_SCHEMAS.patchOp}"`);
  }
  const ops = b.Operations ?? b.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw ScimError.badRequest('invalidSyntax', 'A PATCH body needs a non-empty "Operations" array');
  if (ops.length > MAX_PATCH_OPERATIONS) {
    throw new ScimError(413, `A PATCH request may carry at most ${MAX_PATCH_OPERATIONS} operations (got ${ops.length}); split it`, 'tooMany');
  }
  const out: ParsedPatchOp[] = [];
  ops.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw ScimError.badRequest('invalidSyntax', `Operations[${i}] must be an object`);
    const o = raw as Doc;
    const opRaw = o.op ?? o.Op;
    const op = typeof opRaw === 'string' ? (opRaw.toLowerCase() as PatchOpName) : undefined;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw ScimError.badRequest('invalidSyntax', `Operations[${i}].op must be "add", "remove" or "replace" (got ${JSON.stringify(opRaw)})`);
    }
    const pathRaw = o.path ?? o.Path;
    const value = 'value' in o ? o.value : o.Value;
    if (pathRaw === undefined || pathRaw === null || pathRaw === '') {
      if (op === 'remove') throw ScimError.badRequest('noTarget', `Operations[${i}]: "remove" needs a "path"`);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw ScimError.badRequest('invalidSyntax', `Operations[${i}]: "${op}" without "path" needs an object "value"`);
      }
      out.push(...expandPathless(rt, op, value as Doc, i));
      return;
    }
    if (typeof pathRaw !== 'string') throw ScimError.badRequest('invalidPath', `Operations[${i}].path must be a string`);
    if (op !== 'remove' && value === undefined) throw ScimError.badRequest('invalidValue', `Operations[${i}]: "${op}" needs a "value"`);
    const whole = wholeSchemaOf(rt, pathRaw.trim());
    if (whole) {
      out.push(...wholeSchemaOps(rt, op, whole, pathRaw.trim(), value, i));
      return;
    }
    out.push(parseOne(rt, op, pathRaw, value));
  });
  checkValuesNamed(out);
  return out;
}

/**
 * Caps what one request may name of each multi-valued attribute, all operations together, before any of them is
 * applied: the work of a request (and, for Group members, the rows it writes) stays bounded whatever its split.
 */
function checkValuesNamed(ops: ParsedPatchOp[]): void {
  const named = new Map<ScimAttribute, number>();
  for (const o of ops) {
    const a = o.path.attribute;
    if (!a.multiValued || o.path.subAttribute || o.value === undefined || o.value === null) continue;
    const count = (named.get(a) ?? 0) + (Array.isArray(o.value) ? o.value.length : 1);
    named.set(a, count);
    checkValueCountInRequest(attributeName(o.path), count, valueCapOf(o.path.schemaId, a));
  }
}

/** Parses one operation; also validates a writable attribute path (value filters allowed) for other uses. */
export function parseOne(rt: ScimResourceType, op: PatchOpName, rawPath: string, value: unknown): ParsedPatchOp {
  const { attrPath, filter, sub } = splitValuePath(rawPath.trim());
  const base = resolvePath(rt, attrPath, 'invalidPath');
  let path = base;
  let valueFilter: Filter | undefined;
  if (filter !== undefined) {
    if (!base.attribute.multiValued || base.attribute.type !== 'complex' || base.subAttribute) {
      throw ScimError.badRequest('invalidPath', `"${attrPath}" is not a multi-valued complex attribute, so "[...]" cannot follow it`);
    }
    try {
      valueFilter = parseFilter(filter);
    } catch (e) {
      throw ScimError.badRequest('invalidPath', `The value filter in path "${rawPath}" is invalid: ${(e as ScimError).detail}`);
    }
    checkFilterAttrs(base, valueFilter);
    if (sub) {
      const s = resolveSubPath(base, sub, 'invalidPath');
      path = { ...base, subAttribute: s, keys: [...base.keys, s.name], canonical: `${base.canonical}.${s.name}` };
    }
  }
  const target = path.subAttribute ?? path.attribute;
  if (path.attribute.mutability === 'readOnly' || target.mutability === 'readOnly') {
    throw ScimError.badRequest('mutability', `"${rawPath}" is read-only and cannot be changed`);
  }
  return { op, path, valueFilter, value, rawPath };
}

function checkFilterAttrs(base: ResolvedPath, f: Filter): void {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.forEach((x) => checkFilterAttrs(base, x));
    case 'not':
      return checkFilterAttrs(base, f.filter);
    case '[]':
      throw ScimError.badRequest('invalidPath', 'Value filters cannot be nested');
    default:
      resolveSubPath(base, f.attrPath, 'invalidPath');
  }
}

/**
 * A path naming a whole schema, e.g. an extension (RFC 7644 §3.5.2 allows a schema URN as path): add and replace
 * apply each attribute of the value object (attributes not given keep their values, §3.5.2.1 and §3.5.2.3); remove
 * removes each of the schema's attributes, so an immutable one that has a value is refused as it would be alone.
 * `urn` is the client's spelling, so that messages name what it sent.
 */
function wholeSchemaOps(rt: ScimResourceType, op: PatchOpName, schema: ScimSchema, urn: string, value: unknown, i: number): ParsedPatchOp[] {
  if (op === 'remove') {
    if (value !== undefined && value !== null) {
      throw ScimError.badRequest('invalidValue', `Operations[${i}]: "remove" of the whole schema "${urn}" takes no "value"; to remove some attributes, name each in "path"`);
    }
    return schema.attributes.filter((a) => a.mutability !== 'readOnly').map((a) => parseOne(rt, 'remove', `${urn}:${a.name}`, undefined));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw ScimError.badRequest('invalidValue', `Operations[${i}]: the value of "${urn}" must be an object holding the schema's attributes`);
  }
  const out: ParsedPatchOp[] = [];
  // A forbidden key (__proto__) fails path resolution like any malformed name.
  for (const [key, v] of Object.entries(value as Doc)) out.push(parseOne(rt, op, `${urn}:${key}`, v));
  return out;
}

/** A path-less add/replace: each key of the value object is an attribute (or a dotted / URN path, as Entra ID sends). */
function expandPathless(rt: ScimResourceType, op: PatchOpName, value: Doc, i: number): ParsedPatchOp[] {
  const out: ParsedPatchOp[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (isForbiddenKey(key)) throw ScimError.badRequest('invalidPath', `Operations[${i}]: "${key}" is not an attribute name`);
    if (key.toLowerCase() === 'schemas') continue;
    const whole = wholeSchemaOf(rt, key);
    if (whole) {
      out.push(...wholeSchemaOps(rt, op, whole, key, v, i));
      continue;
    }
    const id = resolvePath(rt, key, 'invalidPath');
    if (id.attribute.name === 'id' || id.attribute.name === 'meta') continue; // echoes of server attributes are harmless
    out.push(parseOne(rt, op, key, v));
  }
  return out;
}

/**
 * The filter's comparison value converted to the sub-attribute's type (and lower-cased for a case-insensitive
 * one), once per filter node rather than once per element it is tested against; null when it cannot be converted
 * (the comparison is then false).
 */
const COMPARANDS = new WeakMap<Filter, { value: unknown } | null>();

function comparand(sub: ScimAttribute, f: Filter & { compValue: unknown }): { value: unknown } | null {
  let c = COMPARANDS.get(f);
  if (c === undefined) {
    try {
      const value = coerceValue(sub, f.compValue, sub.name);
      c = { value: typeof value === 'string' && !sub.caseExact ? value.toLowerCase() : value };
    } catch {
      c = null;
    }
    COMPARANDS.set(f, c);
  }
  return c;
}

/**
 * Lower-cased element values for case-insensitive comparisons, kept for one applyPatch: an operation tests every
 * element of its list, so without this a request of many operations would lower-case the same values again and
 * again. Copies of an element share its strings, so they find them here too.
 */
class LowerCase {
  private readonly known = new Map<string, string>();

  of(s: string): string {
    let lower = this.known.get(s);
    if (lower === undefined) this.known.set(s, (lower = s.toLowerCase()));
    return lower;
  }
}

/** Tests one element of a multi-valued attribute against a value filter, honouring caseExact. */
export function matchesValueFilter(parent: ScimAttribute, f: Filter, item: Doc, lowerCase = new LowerCase()): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => matchesValueFilter(parent, x, item, lowerCase));
    case 'or':
      return f.filters.some((x) => matchesValueFilter(parent, x, item, lowerCase));
    case 'not':
      return !matchesValueFilter(parent, f.filter, item, lowerCase);
    case '[]':
      return false;
    default: {
      const sub = parent.subAttributes?.find((s) => s.name.toLowerCase() === f.attrPath.toLowerCase());
      if (!sub) return false;
      const actual = item[sub.name];
      if (f.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      if (f.compValue === null) return f.op === 'eq' ? actual === undefined : f.op === 'ne' ? actual !== undefined : false;
      const expected = comparand(sub, f);
      if (!expected) return false;
      const e = expected.value;
      const a = typeof actual === 'string' && typeof e === 'string' && !sub.caseExact ? lowerCase.of(actual) : actual;
      switch (f.op) {
        case 'eq':
          return a === e;
        case 'ne':
          return a !== e;
        case 'co':
          return typeof a === 'string' && a.includes(e as string);
        case 'sw':
          return typeof a === 'string' && a.startsWith(e as string);
        case 'ew':
          return typeof a === 'string' && a.endsWith(e as string);
        case 'gt':
          return a !== undefined && (a as number) > (e as number);
        case 'ge':
          return a !== undefined && (a as number) >= (e as number);
        case 'lt':
          return a !== undefined && (a as number) < (e as number);
        case 'le':
          return a !== undefined && (a as number) <= (e as number);
      }
      return false;
    }
  }
}

/**
 * `type eq "work" and primary eq true` → {type: "work", primary: true}; undefined when the filter is not made of
 * `eq` comparisons joined by `and` only, or when two of them ask one sub-attribute for different values.
 */
function equalitiesOf(parent: ScimAttribute, f: Filter): Doc | undefined {
  if (f.op === 'eq') {
    const sub = parent.subAttributes?.find((s) => s.name.toLowerCase() === f.attrPath.toLowerCase());
    if (!sub || f.compValue === null) return undefined;
    return { [sub.name]: coerceValue(sub, f.compValue, sub.name) };
  }
  if (f.op === 'and') {
    const out: Doc = {};
    for (const part of f.filters.map((x) => equalitiesOf(parent, x))) {
      if (!part) return undefined;
      for (const [k, v] of Object.entries(part)) {
        if (Object.hasOwn(out, k) && out[k] !== v) return undefined;
        out[k] = v;
      }
    }
    return out;
  }
  return undefined;
}

/**
 * The element a value-filter path names when none matches it: RFC 7644 §3.5.2 wants 400 noTarget, but Microsoft
 * Entra ID sends `{"op":"Replace","path":"emails[type eq \"work\"].value","value":"…"}` (and Add alike) to set a
 * value the user does not have yet, and Oracle's own Entra provisioning guides (e.g. Oracle Hospitality's OCI IAM
 * guide, "Additional Configurations for Federated Users") map Entra's `mail` to `emails[type eq "work"].value`,
 * which IDCS therefore accepts for users without a work email; the JIT planner writes
 * `emails[primary eq true and type eq "work"].value` the same way. So: a filter made only of `eq` comparisons
 * joined by `and`, on sub-attributes other than the one written, creates the element it describes; any other
 * filter that matches nothing is 400 noTarget, as the RFC says. See "SCIM PATCH notes" in README.md.
 */
function elementToCreate(o: ParsedPatchOp, written: ScimAttribute): Doc {
  const seed = equalitiesOf(o.path.attribute, o.valueFilter!);
  if (!seed || Object.hasOwn(seed, written.name)) {
    throw ScimError.badRequest(
      'noTarget',
      `No value matches "${o.rawPath}", and only a filter made of "eq" comparisons joined by "and" on sub-attributes other than "${written.name}" (e.g. ${o.path.attribute.name}[type eq "work"].${written.name}) creates the value it describes`,
    );
  }
  return seed;
}

function container(doc: Doc, path: ResolvedPath, create: boolean): Doc | undefined {
  if (!path.extension) return doc;
  const key = path.keys[0];
  if (!doc[key] && create) doc[key] = {};
  return doc[key] as Doc | undefined;
}

function isObj(v: unknown): v is Doc {
  return v !== null && typeof v === 'object';
}

const SIMPLE = Symbol('simple value');
const BY_VALUE = Symbol('value and type');
const WHOLE = Symbol('whole element');
const NESTED = Symbol('nested JSON');
const HERE = Symbol('entry');
const COMPOSITE = Symbol('composite key');

/**
 * What makes two elements of a multi-valued attribute "the same value" (RFC 7644 §3.5.2.1: values already present
 * are not added twice): the IDCS composite key where the attribute has one, else `value` and `type` for elements that
 * have a value, every sub-attribute otherwise, the value itself for simple attributes. As a path of parts rather than one serialised string, so that looking an element
 * up costs a few Map lookups whose string keys V8 hashes once, not a serialisation of the element per operation.
 */
function identity(item: unknown, a: ScimAttribute): unknown[] {
  if (!isObj(item)) return [SIMPLE, item];
  // An IDCS composite key (tags: key and value) identifies an element whatever its `value` alone.
  const composite = compositeKeyOf(a, item);
  if (composite) return [COMPOSITE, ...composite];
  if ('value' in item && !isObj(item.value) && !isObj(item.type)) return [BY_VALUE, item.type, item.value];
  const names = Object.keys(item).sort();
  const parts: unknown[] = [WHOLE, names.length];
  for (const name of names) {
    const v = item[name];
    if (isObj(v)) parts.push(name, NESTED, canonicalJson(v));
    else parts.push(name, v);
  }
  return parts;
}

/** A map from elements, compared by identity(), to what is known about them. */
class ElementMap<V> {
  private readonly root = new Map<unknown, unknown>();

  constructor(private readonly attribute: ScimAttribute) {}

  get(item: unknown): V | undefined {
    let node: Map<unknown, unknown> | undefined = this.root;
    for (const part of identity(item, this.attribute)) {
      node = node.get(part) as Map<unknown, unknown> | undefined;
      if (!node) return undefined;
    }
    return node.get(HERE) as V | undefined;
  }

  set(item: unknown, value: V): void {
    let node = this.root;
    for (const part of identity(item, this.attribute)) {
      let next = node.get(part) as Map<unknown, unknown> | undefined;
      if (!next) node.set(part, (next = new Map()));
      node = next;
    }
    node.set(HERE, value);
  }
}

/** When a fresh value is primary, the others stop being primary (RFC 7643 §2.4: at most one primary). */
function withOnePrimary(list: Doc[], fresh: Set<unknown>): Doc[] {
  let freshPrimary = false;
  for (const f of fresh) if (isObj(f) && f.primary === true) freshPrimary = true;
  if (!freshPrimary) return list;
  return list.map((item) => (!fresh.has(item) && isObj(item) && item.primary === true ? { ...item, primary: false } : item));
}

function without(item: Doc, key: string): Doc {
  const { [key]: _gone, ...rest } = item;
  return rest;
}

/** `emails`, or `urn:…:manager` for an extension attribute: how a client names the attribute in a body. */
function attributeName(path: ResolvedPath): string {
  return path.extension ? `${path.keys[0]}:${path.attribute.name}` : path.attribute.name;
}

/**
 * Applies operations to a (writable) representation and returns the new one. The input is not modified.
 * Values are type-checked here; the caller re-validates the whole result (required, immutable, uniqueness, caps).
 * The work is linear in the size of the document and of the operations.
 */
export function applyPatch(doc: Doc, ops: ParsedPatchOp[]): Doc {
  const next = structuredClone(doc) as Doc;
  applyPatchInPlace(next, ops);
  return next;
}

/**
 * applyPatch on a representation the caller owns (a copy it made): changes `doc` itself, so that a caller applying
 * operations one by one (JIT mappings, each reported on its own) copies the document once, not once per operation.
 * When an operation throws, `doc` may hold the operations before it: the caller discards it.
 */
export function applyPatchInPlace(doc: Doc, ops: ParsedPatchOp[]): void {
  const lowerCase = new LowerCase();
  for (const o of ops) applyOne(doc, o, lowerCase);
}

function applyOne(doc: Doc, o: ParsedPatchOp, lowerCase: LowerCase): void {
  const { path } = o;
  const a = path.attribute;
  const where = o.rawPath;
  const holder = container(doc, path, o.op !== 'remove');
  if (!holder) return;
  const cap = valueCapOf(path.schemaId, a);
  const before = Array.isArray(holder[a.name]) ? (holder[a.name] as unknown[]).length : 0;

  if (o.valueFilter) {
    const list = (holder[a.name] as Doc[] | undefined) ?? [];
    const matched = new Set(list.filter((item) => matchesValueFilter(a, o.valueFilter!, item, lowerCase)));
    if (o.op === 'remove') {
      const sub = path.subAttribute?.name;
      holder[a.name] = sub ? list.map((item) => (matched.has(item) ? without(item, sub) : item)) : list.filter((item) => !matched.has(item));
    } else if (path.subAttribute) {
      const s = path.subAttribute;
      const v = s.multiValued ? normalizeAttribute(s, o.value, where) : coerceValue(s, o.value, where);
      if (matched.size === 0) {
        const created = { ...elementToCreate(o, s), [s.name]: v };
        holder[a.name] = withOnePrimary([...list, created], new Set([created]));
      } else {
        let last: Doc | undefined;
        const updated = list.map((item) => (matched.has(item) ? (last = { ...item, [s.name]: v }) : item));
        holder[a.name] = s.name === 'primary' && v === true ? withOnePrimary(updated, new Set([last])) : updated;
      }
    } else {
      if (matched.size === 0) throw ScimError.badRequest('noTarget', `No value matches "${where}", so there is nothing to ${o.op}`);
      const replacement = normalizeAttribute({ ...a, multiValued: false }, o.value, where) as Doc | undefined;
      const fresh = new Set<Doc>();
      const updated = list.map((item) => {
        if (!matched.has(item)) return item;
        const changed = o.op === 'replace' ? { ...replacement } : { ...item, ...replacement };
        fresh.add(changed);
        return changed;
      });
      holder[a.name] = withOnePrimary(updated, fresh);
    }
  } else if (path.subAttribute && a.multiValued) {
    // `emails.value` without a filter addresses every element.
    const s = path.subAttribute;
    const list = (holder[a.name] as Doc[] | undefined) ?? [];
    if (o.op === 'remove') holder[a.name] = list.map((m) => without(m, s.name));
    else if (list.length) {
      const v = coerceValue(s, o.value, where);
      holder[a.name] = list.map((m) => ({ ...m, [s.name]: v }));
    }
  } else if (path.subAttribute) {
    const s = path.subAttribute;
    const parent = { ...((holder[a.name] as Doc | undefined) ?? {}) };
    const v = o.op === 'remove' ? undefined : normalizeAttribute(s, o.value, where);
    if (v === undefined) delete parent[s.name];
    else parent[s.name] = v;
    holder[a.name] = parent;
  } else if (o.op === 'remove') {
    if (a.multiValued && o.value !== undefined && o.value !== null) {
      // Entra ID removes members as `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`: an element goes
      // when it equals a given one, or when both have the same non-empty `value`.
      const doomed = new ElementMap<true>(a);
      const doomedValues = new Set<unknown>();
      for (const d of Array.isArray(o.value) ? o.value : [o.value]) {
        doomed.set(d, true);
        if (isObj(d) && d.value !== undefined && d.value !== null && !a.idcsCompositeKey) doomedValues.add(d.value);
      }
      const list = (holder[a.name] as unknown[] | undefined) ?? [];
      holder[a.name] = list.filter((item) => !doomed.get(item) && !(isObj(item) && doomedValues.has(item.value)));
    } else delete holder[a.name];
  } else {
    const v = normalizeAttribute(a, o.value, where, cap);
    if (a.multiValued) {
      const fresh = (v as unknown[] | undefined) ?? [];
      let list: unknown[];
      if (o.op === 'replace') list = fresh;
      else {
        // RFC 7644 §3.5.2.1: values already present are not added twice; the order of existing values is kept.
        list = [...((holder[a.name] as unknown[] | undefined) ?? [])];
        const at = new ElementMap<number>(a);
        list.forEach((item, i) => {
          if (at.get(item) === undefined) at.set(item, i);
        });
        for (const f of fresh) {
          const i = at.get(f);
          if (i !== undefined) list[i] = f;
          else {
            at.set(f, list.length);
            list.push(f);
          }
        }
      }
      holder[a.name] = a.type === 'complex' ? withOnePrimary(list as Doc[], new Set(fresh)) : list;
    } else if (a.type === 'complex' && v !== undefined) {
      // Add and replace alike: sub-attributes not given keep their values (RFC 7644 §3.5.2.1 and §3.5.2.3).
      holder[a.name] = { ...((holder[a.name] as Doc) ?? {}), ...(v as Doc) };
    } else if (v === undefined) delete holder[a.name];
    else holder[a.name] = v;
  }

  // Checked after each operation, so that no list grows past its cap between operations (each operation's work is
  // bounded by the cap, not by what earlier operations piled up); the caller checks the final resource again.
  const after = holder[a.name];
  if (Array.isArray(after) && after.length > before && !cap.perRequestOnly) checkValueCount(attributeName(path), after.length, cap);
  cleanup(holder, a.name);
}

/** The current value at an operation's path (first match for value-filter paths), or undefined. */
export function readValue(doc: Doc, o: ParsedPatchOp): unknown {
  const { path } = o;
  const holder = container(doc, path, false);
  const v = holder?.[path.attribute.name];
  if (v === undefined) return undefined;
  if (o.valueFilter) {
    const matched = (v as Doc[]).filter((item) => matchesValueFilter(path.attribute, o.valueFilter!, item));
    if (!matched.length) return undefined;
    return path.subAttribute ? matched[0][path.subAttribute.name] : matched;
  }
  if (path.subAttribute) return Array.isArray(v) ? v.map((x) => (x as Doc)[path.subAttribute!.name]) : (v as Doc)[path.subAttribute.name];
  return v;
}

function cleanup(holder: Doc, key: string): void {
  const v = holder[key];
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && !Array.isArray(v) && Object.keys(v as Doc).length === 0)) {
    delete holder[key];
  }
}
