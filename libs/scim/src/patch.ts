import { Filter } from 'scim2-parse-filter';
import { ScimError } from './errors';
import { parseFilter } from './filter';
import { isForbiddenKey, ResolvedPath, resolvePath, resolveSubPath } from './paths';
import { coerceValue, Doc, normalizeAttribute } from './resource-input';
import { SCIM_SCHEMAS, ScimAttribute, ScimResourceType } from './schema';

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
    out.push(parseOne(rt, op, pathRaw, value));
  });
  return out;
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

/** A path-less add/replace: each key of the value object is an attribute (or a dotted / URN path, as Entra ID sends). */
function expandPathless(rt: ScimResourceType, op: PatchOpName, value: Doc, i: number): ParsedPatchOp[] {
  const out: ParsedPatchOp[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (isForbiddenKey(key)) throw ScimError.badRequest('invalidPath', `Operations[${i}]: "${key}" is not an attribute name`);
    if (key.toLowerCase() === 'schemas') continue;
    const ext = rt.schemaExtensions.find((e) => e.schema.id.toLowerCase() === key.toLowerCase());
    if (ext) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw ScimError.badRequest('invalidValue', `Operations[${i}]: "${key}" must be an object`);
      for (const [k2, v2] of Object.entries(v as Doc)) out.push(parseOne(rt, op, `${ext.schema.id}:${k2}`, v2));
      continue;
    }
    const id = resolvePath(rt, key, 'invalidPath');
    if (id.attribute.name === 'id' || id.attribute.name === 'meta') continue; // echoes of server attributes are harmless
    out.push(parseOne(rt, op, key, v));
  }
  return out;
}

/** Tests one element of a multi-valued attribute against a value filter, honouring caseExact. */
export function matchesValueFilter(parent: ScimAttribute, f: Filter, item: Doc): boolean {
  switch (f.op) {
    case 'and':
      return f.filters.every((x) => matchesValueFilter(parent, x, item));
    case 'or':
      return f.filters.some((x) => matchesValueFilter(parent, x, item));
    case 'not':
      return !matchesValueFilter(parent, f.filter, item);
    case '[]':
      return false;
    default: {
      const sub = parent.subAttributes?.find((s) => s.name.toLowerCase() === f.attrPath.toLowerCase());
      if (!sub) return false;
      const actual = item[sub.name];
      if (f.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      let expected: unknown = f.compValue;
      if (expected === null) return f.op === 'eq' ? actual === undefined : f.op === 'ne' ? actual !== undefined : false;
      try {
        expected = coerceValue(sub, expected, sub.name);
      } catch {
        return false;
      }
      let a = actual;
      let e = expected;
      if (typeof a === 'string' && typeof e === 'string' && !sub.caseExact) {
        a = a.toLowerCase();
        e = e.toLowerCase();
      }
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

/** `type eq "work" and primary eq true` → {type: "work", primary: true}; undefined when not only equalities. */
function equalitiesOf(parent: ScimAttribute, f: Filter): Doc | undefined {
  if (f.op === 'eq') {
    const sub = parent.subAttributes?.find((s) => s.name.toLowerCase() === f.attrPath.toLowerCase());
    if (!sub || f.compValue === null) return undefined;
    return { [sub.name]: coerceValue(sub, f.compValue, sub.name) };
  }
  if (f.op === 'and') {
    const parts = f.filters.map((x) => equalitiesOf(parent, x));
    return parts.every(Boolean) ? Object.assign({}, ...parts) : undefined;
  }
  return undefined;
}

function container(doc: Doc, path: ResolvedPath, create: boolean): Doc | undefined {
  if (!path.extension) return doc;
  const key = path.keys[0];
  if (!doc[key] && create) doc[key] = {};
  return doc[key] as Doc | undefined;
}

function sameItem(a: unknown, b: unknown): boolean {
  if (a && b && typeof a === 'object' && typeof b === 'object' && 'value' in (a as Doc) && 'value' in (b as Doc)) {
    return JSON.stringify((a as Doc).value) === JSON.stringify((b as Doc).value) && (a as Doc).type === (b as Doc).type;
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/** When a new value is primary, the others stop being primary (RFC 7643 §2.4: at most one primary). */
function keepOnePrimary(list: Doc[], fresh: Doc[]): void {
  if (!fresh.some((v) => v?.primary === true)) return;
  for (const item of list) if (!fresh.includes(item) && item.primary === true) item.primary = false;
}

/**
 * Applies operations to a (writable) representation and returns the new one. The input is not modified.
 * Values are type-checked here; the caller re-validates the whole result (required, immutable, uniqueness).
 */
export function applyPatch(doc: Doc, ops: ParsedPatchOp[]): Doc {
  const next = structuredClone(doc) as Doc;
  for (const o of ops) applyOne(next, o);
  return next;
}

function applyOne(doc: Doc, o: ParsedPatchOp): void {
  const { path } = o;
  const a = path.attribute;
  const where = o.rawPath;
  const holder = container(doc, path, o.op !== 'remove');
  if (!holder) return;

  if (o.valueFilter) {
    const list = (holder[a.name] as Doc[] | undefined) ?? [];
    const matched = list.filter((item) => matchesValueFilter(a, o.valueFilter!, item));
    if (o.op === 'remove') {
      if (path.subAttribute) matched.forEach((m) => delete m[path.subAttribute!.name]);
      else holder[a.name] = list.filter((item) => !matched.includes(item));
      cleanup(holder, a.name);
      return;
    }
    if (path.subAttribute) {
      const s = path.subAttribute;
      const v = s.multiValued ? normalizeAttribute(s, o.value, where) : coerceValue(s, o.value, where);
      if (matched.length === 0) {
        // Entra ID adds `emails[type eq "work"].value` to users that have no work email yet: create the element.
        const seed = equalitiesOf(a, o.valueFilter);
        if (!seed) throw ScimError.badRequest('noTarget', `No value matches "${where}"`);
        const item = { ...seed, [s.name]: v };
        list.push(item);
        keepOnePrimary(list, [item]);
      } else {
        matched.forEach((m) => (m[s.name] = v));
        if (s.name === 'primary' && v === true) keepOnePrimary(list, matched.slice(-1));
      }
      holder[a.name] = list;
      return;
    }
    if (matched.length === 0) throw ScimError.badRequest('noTarget', `No value matches "${where}"`);
    const replacement = normalizeAttribute({ ...a, multiValued: false }, o.value, where) as Doc;
    for (const m of matched) {
      if (o.op === 'replace') Object.keys(m).forEach((k) => delete m[k]);
      Object.assign(m, replacement);
    }
    keepOnePrimary(list, matched);
    return;
  }

  if (path.subAttribute) {
    const s = path.subAttribute;
    if (a.multiValued) {
      // `emails.value` without a filter addresses every element.
      const list = (holder[a.name] as Doc[] | undefined) ?? [];
      if (o.op === 'remove') list.forEach((m) => delete m[s.name]);
      else list.forEach((m) => (m[s.name] = coerceValue(s, o.value, where)));
      cleanup(holder, a.name);
      return;
    }
    const parent = (holder[a.name] as Doc | undefined) ?? {};
    if (o.op === 'remove') delete parent[s.name];
    else {
      const v = normalizeAttribute(s, o.value, where);
      if (v === undefined) delete parent[s.name];
      else parent[s.name] = v;
    }
    holder[a.name] = parent;
    cleanup(holder, a.name);
    return;
  }

  if (o.op === 'remove') {
    if (a.multiValued && o.value !== undefined && o.value !== null) {
      // Entra ID removes members as `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`.
      const doomed = (Array.isArray(o.value) ? o.value : [o.value]) as unknown[];
      const list = (holder[a.name] as unknown[] | undefined) ?? [];
      holder[a.name] = list.filter((item) => !doomed.some((d) => sameItem(item, d) || (isObj(d) && isObj(item) && (d as Doc).value === (item as Doc).value)));
    } else delete holder[a.name];
    cleanup(holder, a.name);
    return;
  }

  const v = normalizeAttribute(a, o.value, where);
  if (a.multiValued) {
    const fresh = (v as unknown[] | undefined) ?? [];
    if (o.op === 'replace') holder[a.name] = fresh;
    else {
      // RFC 7644 §3.5.2.1: values already present are not added twice; the order of existing values is kept.
      const list = [...((holder[a.name] as unknown[] | undefined) ?? [])];
      for (const f of fresh) {
        const at = list.findIndex((item) => sameItem(item, f));
        if (at >= 0) list[at] = f;
        else list.push(f);
      }
      holder[a.name] = list;
    }
    if (a.type === 'complex') keepOnePrimary(holder[a.name] as Doc[], fresh as Doc[]);
  } else if (a.type === 'complex' && v !== undefined) {
    // Add and replace alike: sub-attributes not given keep their values (RFC 7644 §3.5.2.1 and §3.5.2.3).
    holder[a.name] = { ...((holder[a.name] as Doc) ?? {}), ...(v as Doc) };
  } else if (v === undefined) delete holder[a.name];
  else holder[a.name] = v;
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

function isObj(v: unknown): boolean {
  return v !== null && typeof v === 'object';
}

function cleanup(holder: Doc, key: string): void {
  const v = holder[key];
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isObj(v) && !Array.isArray(v) && Object.keys(v as Doc).length === 0)) {
    delete holder[key];
  }
}
