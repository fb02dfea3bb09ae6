import { parse as parseScimFilter, Filter } from 'scim2-parse-filter';
import type { Dialect } from '@app/persistence/core';
import { ScimError } from './errors';
import { ResolvedPath, resolvePath, resolveSubPath } from './paths';
import { ScimAttribute, ScimResourceType } from './schema';

// Defined by persistence, the lower layer; re-exported for the importers that know it from here.
export type { Dialect };

/** A SQL expression yielding one attribute value. `lowered` means the column already holds lower-cased text. */
export interface SqlExpr {
  expr: string;
  lowered?: boolean;
  /** The value comes out of a JSON document: Postgres returns text for every JSON scalar. */
  json?: boolean;
}

/** Rows of a multi-valued attribute, correlated with the resource row. */
export interface SqlCollection {
  /** FROM item with its alias, e.g. `user_attribute_values v`. */
  from: string;
  /** Correlation and discriminator, e.g. `v.user_id = r.id AND v.attribute = 'emails'`. */
  on: string;
  /** Expression for a sub-attribute (complex) or for the value itself (sub undefined). */
  value(sub?: ScimAttribute): SqlExpr;
}

/**
 * How a resource's attributes are stored. Columns and child tables serve the indexed attributes;
 * everything else falls back to the JSON document column, so any schema attribute stays filterable in SQL.
 */
export interface SqlMapping {
  /** JSON document column holding the full representation, e.g. `r.data`. */
  documentColumn: string;
  /** Dedicated storage for an attribute, or undefined to use the JSON document. */
  column?(path: ResolvedPath): SqlExpr | undefined;
  collection?(path: ResolvedPath): SqlCollection | undefined;
}

export interface SqlFragment {
  sql: string;
  params: Record<string, unknown>;
}

type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';
type CompValue = string | number | boolean | null;

const MAX_FILTER_LENGTH = 4096;
const MAX_FILTER_NODES = 200;

/**
 * A filter's string literal, escapes paired left to right as JSON pairs them. No other filter token contains a
 * double quote, so this finds exactly the filter's string values.
 */
const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/gs;
const ESCAPE = /\\(u[0-9a-fA-F]{4}|.?)/gs;
const JSON_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * Decodes a string literal by JSON rules (RFC 7644 §3.4.2.2). Checked before JSON.parse, whose message names
 * neither the offending character nor the fix; once checked, the literal is valid JSON.
 */
function decodeStringLiteral(literal: string): string {
  for (const [escape, rest] of literal.matchAll(ESCAPE)) {
    if (rest.length === 5 || JSON_ESCAPES.has(rest)) continue;
    throw ScimError.badRequest(
      'invalidFilter',
      `The string ${literal} in the filter has the escape "${escape}", which JSON does not allow: write \\\\ for a backslash (valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`,
    );
  }
  const control = CONTROL_CHARACTER.exec(literal);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).padStart(4, '0');
    throw ScimError.badRequest('invalidFilter', `The string ${literal} in the filter contains the control character U+${code.toUpperCase()}; write it as \\u${code}`);
  }
  const decoded = JSON.parse(literal) as string;
  // PostgreSQL refuses NUL in text (a 500 there), and no stored value can hold one or an unpaired surrogate:
  // resource input refuses both.
  if (UNSTORABLE_IN_FILTER.test(decoded)) {
    throw ScimError.badRequest('invalidFilter', `The string ${literal} in the filter holds a NUL character or an unpaired UTF-16 surrogate, which no stored value can contain`);
  }
  return decoded;
}

const UNSTORABLE_IN_FILTER = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parses a SCIM filter (RFC 7644 §3.4.2.2) with scim2-parse-filter, mapping syntax errors to invalidFilter.
 * String values are decoded here by JSON rules: the package's tokenizer doubles every backslash not followed by
 * a quote, so it would read `"a\\b"` as two backslashes and reject `"\\"`. It is given placeholders instead:
 * `"0"`, `"1"`… index the decoded strings.
 */
export function parseFilter(filter: string): Filter {
  if (filter.length > MAX_FILTER_LENGTH) {
    throw ScimError.badRequest('invalidFilter', `The filter is longer than ${MAX_FILTER_LENGTH} characters`);
  }
  const literals: string[] = [];
  const strings: string[] = [];
  const masked = filter.replace(STRING_LITERAL, (literal) => {
    strings.push(decodeStringLiteral(literal));
    return `"${literals.push(literal) - 1}"`;
  });
  let parsed: Filter;
  try {
    parsed = parseScimFilter(masked);
  } catch (e) {
    const message = (e as Error).message.replace(/"(\d+)"/g, (p, i: string) => literals[Number(i)] ?? p);
    throw ScimError.badRequest('invalidFilter', `The filter "${filter}" is not a valid SCIM filter: ${message}`);
  }
  restoreStrings(parsed, strings);
  return parsed;
}

/**
 * A parsed filter written out again, as parseFilter reads it: string values in JSON notation, and parentheses around
 * an `and`/`or` inside another, so that the text keeps the parsed precedence.
 */
export function filterText(f: Filter): string {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.map((x) => (x.op === 'and' || x.op === 'or' ? `(${filterText(x)})` : filterText(x))).join(` ${f.op} `);
    case 'not':
      return `not (${filterText(f.filter)})`;
    case '[]':
      return `${f.attrPath}[${filterText(f.valFilter)}]`;
    case 'pr':
      return `${f.attrPath} pr`;
    default:
      return `${f.attrPath} ${f.op} ${JSON.stringify(f.compValue)}`;
  }
}

function restoreStrings(f: Filter, strings: string[]): void {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.forEach((x) => restoreStrings(x, strings));
    case 'not':
      return restoreStrings(f.filter, strings);
    case '[]':
      return restoreStrings(f.valFilter, strings);
    case 'pr':
      return;
    default:
      if (typeof f.compValue === 'string') f.compValue = strings[Number(f.compValue)];
  }
}

function jsonPathSqlite(keys: string[]): string {
  return '$' + keys.map((k) => `."${k.replace(/"/g, '')}"`).join('');
}
function jsonPathPg(keys: string[]): string {
  return `'{${keys.map((k) => `"${k.replace(/["'{}\\]/g, '')}"`).join(',')}}'`;
}

/** Translates a parsed filter into a parameterised SQL condition over one resource table. */
export class FilterTranslator {
  private n = 0;
  private nodes = 0;
  private readonly params: Record<string, unknown> = {};

  constructor(
    private readonly rt: ScimResourceType,
    private readonly mapping: SqlMapping,
    private readonly dialect: Dialect,
    private readonly paramPrefix = 'f',
  ) {}

  translate(filter: Filter): SqlFragment {
    const sql = this.node(filter, undefined);
    return { sql, params: this.params };
  }

  private param(value: unknown): string {
    const name = `${this.paramPrefix}${this.n++}`;
    this.params[name] = value;
    return `:${name}`;
  }

  private node(f: Filter, scope: { path: ResolvedPath; coll: SqlCollection } | undefined): string {
    if (++this.nodes > MAX_FILTER_NODES) {
      throw ScimError.badRequest('invalidFilter', `The filter has more than ${MAX_FILTER_NODES} terms`);
    }
    switch (f.op) {
      case 'and':
      case 'or':
        return '(' + f.filters.map((x) => this.node(x, scope)).join(f.op === 'and' ? ' AND ' : ' OR ') + ')';
      case 'not':
        return `(NOT ${this.nullSafe(this.node(f.filter, scope))})`;
      case '[]': {
        if (scope) throw ScimError.badRequest('invalidFilter', 'Value filters cannot be nested');
        const path = resolvePath(this.rt, f.attrPath, 'invalidFilter');
        if (!path.attribute.multiValued || path.attribute.type !== 'complex' || path.subAttribute) {
          throw ScimError.badRequest('invalidFilter', `"${f.attrPath}[...]" needs a multi-valued complex attribute`);
        }
        const coll = this.collectionFor(path);
        return `EXISTS (SELECT 1 FROM ${coll.from} WHERE ${coll.on} AND ${this.node(f.valFilter, { path, coll })})`;
      }
      case 'pr':
        return this.leaf(f.attrPath, 'pr', null, scope);
      default:
        return this.leaf(f.attrPath, f.op as CompareOp, f.compValue as CompValue, scope);
    }
  }

  /** NOT over SQL three-valued logic: a NULL comparison must count as false, so NOT of it is true. */
  private nullSafe(cond: string): string {
    return `COALESCE(${cond}, ${this.dialect === 'postgres' ? 'false' : '0'})`;
  }

  private leaf(attrPath: string, op: CompareOp | 'pr', value: CompValue, scope?: { path: ResolvedPath; coll: SqlCollection }): string {
    if (scope) {
      const sub = resolveSubPath(scope.path, attrPath, 'invalidFilter');
      return this.condition(scope.coll.value(sub), sub, op, value);
    }
    const path = resolvePath(this.rt, attrPath, 'invalidFilter');
    if (path.attribute.multiValued) {
      const coll = this.collectionFor(path);
      let target = path.subAttribute;
      if (!target && path.attribute.type === 'complex') {
        // RFC 7644: a filter on a complex multi-valued attribute without sub-attribute means its "value".
        target = path.attribute.subAttributes?.find((s) => s.name === 'value');
        if (!target) throw ScimError.badRequest('invalidFilter', `Name a sub-attribute of "${path.attribute.name}" to filter on`);
      }
      const def = target ?? path.attribute;
      const cond = op === 'pr' && !path.subAttribute ? '1=1' : this.condition(coll.value(target), def, op, value);
      return `EXISTS (SELECT 1 FROM ${coll.from} WHERE ${coll.on} AND ${cond})`;
    }
    const def = path.subAttribute ?? path.attribute;
    if (def.type === 'complex') {
      if (op !== 'pr') throw ScimError.badRequest('invalidFilter', `"${attrPath}" is complex; compare one of its sub-attributes`);
      const subs = (def.subAttributes ?? []).map((s) => this.condition(this.singular({ ...path, subAttribute: s, keys: [...path.keys, s.name] }), s, 'pr', null));
      return `(${subs.join(' OR ')})`;
    }
    return this.condition(this.singular(path), def, op, value);
  }

  /** Condition on the rows of one collection, e.g. the `value eq "…"` of `members[value eq "…"]` in a PATCH path. */
  translateWithin(path: ResolvedPath, coll: SqlCollection, filter: Filter): SqlFragment {
    const sql = this.node(filter, { path, coll });
    return { sql, params: this.params };
  }

  sortExpr(path: ResolvedPath): string {
    let def = path.subAttribute ?? path.attribute;
    let target: SqlExpr;
    let wrap = (e: string) => e;
    // A multi-valued complex attribute sorts by its "value" (RFC 7644 §3.4.2.3); other complex values have no order.
    if (def.type === 'complex' && (!path.attribute.multiValued || !def.subAttributes?.some((s) => s.name === 'value'))) {
      throw ScimError.badRequest('invalidPath', `Sort by a sub-attribute of "${def.name}", not the complex attribute itself`);
    }
    if (path.attribute.multiValued) {
      const coll = this.collectionFor(path);
      const sub = path.subAttribute ?? path.attribute.subAttributes?.find((s) => s.name === 'value');
      def = sub ?? path.attribute;
      target = coll.value(sub);
      // PostgreSQL has no MIN(boolean): a boolean column (e.g. emails.primary) is compared as 0/1, as SQLite stores it.
      const comparable = (e: string) => (this.dialect === 'postgres' && def.type === 'boolean' && !target.json ? `(${e})::int` : e);
      wrap = (e) => `(SELECT MIN(${comparable(e)}) FROM ${coll.from} WHERE ${coll.on})`;
    } else {
      target = this.singular(path, 'sort');
    }
    const isText = def.type === 'string' || def.type === 'reference';
    const e = isText && !def.caseExact && !target.lowered ? `lower(${target.expr})` : target.expr;
    return wrap(e);
  }

  private singular(path: ResolvedPath, use: 'filter' | 'sort' = 'filter'): SqlExpr {
    const col = this.mapping.column?.(path);
    if (col) return col;
    // meta is assembled at read time, never stored in the document: what is not mapped to a column cannot be
    // looked up there, and a filter on it would silently match nothing.
    if (!path.extension && path.attribute.name === 'meta') {
      if (path.subAttribute?.name === 'resourceType') return { expr: `'${this.rt.name.replace(/'/g, "''")}'` };
      // Every location is the same prefix followed by the id: they sort as the ids do.
      if (use === 'sort' && path.subAttribute?.name === 'location') return this.singular(resolvePath(this.rt, 'id', 'invalidPath'), 'sort');
      throw use === 'filter'
        ? ScimError.badRequest('invalidFilter', `"${path.canonical}" cannot be used in a filter of ${this.rt.name} resources; filter on id or meta.lastModified instead`)
        : ScimError.badRequest('invalidPath', `${this.rt.name} resources cannot be sorted by "${path.canonical}"; sort by meta.created or meta.lastModified instead`);
    }
    const doc = this.mapping.documentColumn;
    return this.dialect === 'postgres'
      ? { expr: `(${doc}::jsonb #>> ${jsonPathPg(path.keys)})`, json: true }
      : { expr: `json_extract(${doc}, '${jsonPathSqlite(path.keys)}')`, json: true };
  }

  private collectionFor(path: ResolvedPath): SqlCollection {
    const mapped = this.mapping.collection?.(path);
    if (mapped) return mapped;
    const doc = this.mapping.documentColumn;
    const keys = path.subAttribute ? path.keys.slice(0, -1) : path.keys;
    const alias = `j${this.n++}`;
    if (this.dialect === 'postgres') {
      const fn = path.attribute.type === 'complex' ? 'jsonb_array_elements' : 'jsonb_array_elements_text';
      return {
        from: `${fn}(COALESCE(${doc}::jsonb #> ${jsonPathPg(keys)}, '[]'::jsonb)) ${alias}(value)`,
        on: '1=1',
        value: (sub) => ({ expr: sub ? `(${alias}.value #>> '{${sub.name}}')` : `${alias}.value`, json: true }),
      };
    }
    return {
      from: `json_each(${doc}, '${jsonPathSqlite(keys)}') ${alias}`,
      on: '1=1',
      value: (sub) => ({ expr: sub ? `json_extract(${alias}.value, '$.${sub.name}')` : `${alias}.value`, json: true }),
    };
  }

  private condition(target: SqlExpr, def: ScimAttribute, op: CompareOp | 'pr', raw: CompValue): string {
    const isText = def.type === 'string' || def.type === 'reference' || def.type === 'binary';
    if (op === 'pr') {
      return isText ? `(${target.expr} IS NOT NULL AND ${target.expr} <> '')` : `(${target.expr} IS NOT NULL)`;
    }
    if (raw === null) {
      if (op === 'eq') return `(${target.expr} IS NULL)`;
      if (op === 'ne') return `(${target.expr} IS NOT NULL)`;
      throw ScimError.badRequest('invalidFilter', `"${op} null" is not meaningful for "${def.name}"`);
    }
    if (def.type === 'complex') throw ScimError.badRequest('invalidFilter', `"${def.name}" is complex; compare one of its sub-attributes`);
    if ((op === 'co' || op === 'sw' || op === 'ew') && !isText) {
      throw ScimError.badRequest('invalidFilter', `Operator "${op}" applies only to string attributes, not to "${def.name}" (${def.type})`);
    }
    if ((op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') && (def.type === 'boolean' || def.type === 'binary')) {
      throw ScimError.badRequest('invalidFilter', `Operator "${op}" cannot compare ${def.type} attribute "${def.name}"`);
    }

    let expr = target.expr;
    let value: unknown = this.coerce(def, raw);
    if (isText && !def.caseExact) {
      value = (value as string).toLowerCase();
      if (!target.lowered) expr = `lower(${expr})`;
    }
    if (target.json && this.dialect === 'postgres') {
      if (def.type === 'boolean') value = String(value);
      if (def.type === 'integer' || def.type === 'decimal') expr = `(${expr})::numeric`;
    }
    if (target.json && this.dialect === 'sqlite' && def.type === 'boolean') value = value ? 1 : 0;

    switch (op) {
      case 'eq':
        return `(${expr} = ${this.param(value)})`;
      case 'ne':
        return `(${expr} <> ${this.param(value)} OR ${expr} IS NULL)`;
      case 'gt':
        return `(${expr} > ${this.param(value)})`;
      case 'ge':
        return `(${expr} >= ${this.param(value)})`;
      case 'lt':
        return `(${expr} < ${this.param(value)})`;
      case 'le':
        return `(${expr} <= ${this.param(value)})`;
      case 'co': {
        const v = value as string;
        if (v === '') return `(${expr} IS NOT NULL)`;
        return this.dialect === 'postgres' ? `(strpos(${expr}, ${this.param(v)}) > 0)` : `(instr(${expr}, ${this.param(v)}) > 0)`;
      }
      case 'sw': {
        const v = value as string;
        if (v === '') return `(${expr} IS NOT NULL)`;
        // The range lets a B-tree index on a dedicated column (binary / "C" collation) serve the prefix
        // search on both dialects; the substr comparison keeps the match exact.
        const exact = `substr(${expr}, 1, ${[...v].length}) = ${this.param(v)}`;
        if (target.json) return `(${exact})`;
        return `(${expr} >= ${this.param(v)} AND ${expr} < ${this.param(v + '\u{10FFFF}')} AND ${exact})`;
      }
      case 'ew': {
        const v = value as string;
        if (v === '') return `(${expr} IS NOT NULL)`;
        const len = [...v].length;
        return this.dialect === 'postgres'
          ? `(right(${expr}, ${len}) = ${this.param(v)})`
          : `(substr(${expr}, -${len}) = ${this.param(v)})`;
      }
    }
  }

  private coerce(def: ScimAttribute, raw: string | number | boolean): unknown {
    const bad = (): never => {
      throw ScimError.badRequest('invalidFilter', `${JSON.stringify(raw)} is not a valid ${def.type} value for "${def.name}"`);
    };
    switch (def.type) {
      case 'boolean':
        if (typeof raw === 'boolean') return raw;
        if (typeof raw === 'string' && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
        return bad();
      case 'integer':
        return typeof raw === 'number' && Number.isInteger(raw) ? raw : bad();
      case 'decimal':
        return typeof raw === 'number' ? raw : bad();
      case 'dateTime': {
        if (typeof raw !== 'string') return bad();
        const d = new Date(raw);
        return Number.isNaN(d.getTime()) ? bad() : d.toISOString();
      }
      default:
        return typeof raw === 'string' ? raw : bad();
    }
  }
}

/**
 * SQL expression to sort by (RFC 7644 §3.4.2.3): case-insensitive attributes sort by their lower-cased
 * value; a multi-valued attribute sorts by its smallest value.
 */
export function sortExpression(rt: ScimResourceType, mapping: SqlMapping, dialect: Dialect, sortBy: string): string {
  const t = new FilterTranslator(rt, mapping, dialect, 's');
  return t.sortExpr(resolvePath(rt, sortBy, 'invalidPath'));
}

/** Parses and translates in one step. */
export function filterToSql(rt: ScimResourceType, mapping: SqlMapping, dialect: Dialect, filter: string): SqlFragment {
  return new FilterTranslator(rt, mapping, dialect).translate(parseFilter(filter));
}
