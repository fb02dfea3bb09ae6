import { ScimError } from './errors';
import { COMMON_ATTRIBUTES, ScimAttribute, ScimResourceType, ScimSchema } from './schema';

/** An attribute path resolved against a resource type's schemas, with canonical (schema-cased) names. */
export interface ResolvedPath {
  /** Schema URN that defines the attribute; undefined for common attributes (id, externalId, meta). */
  schemaId?: string;
  /** True when the attribute belongs to a schema extension and lives under its URN key in JSON. */
  extension: boolean;
  attribute: ScimAttribute;
  subAttribute?: ScimAttribute;
  /** Keys into the JSON representation, e.g. ["name", "givenName"] or [extensionUrn, "employeeNumber"]. */
  keys: string[];
  /** Dotted canonical path without URN, e.g. "name.givenName"; used as a stable lookup key. */
  canonical: string;
}

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const ATTR_NAME = /^[A-Za-z$][\w$-]*$/;

function findAttr(list: ScimAttribute[] | undefined, name: string): ScimAttribute | undefined {
  const lower = name.toLowerCase();
  return list?.find((a) => a.name.toLowerCase() === lower);
}

/** All schemas of a resource type: core first, then extensions. */
export function schemasOf(rt: ScimResourceType): ScimSchema[] {
  return [rt.schema, ...rt.schemaExtensions.map((e) => e.schema)];
}

/** Splits a leading schema URN off a path (case-insensitively), returning the schema and the rest. */
export function splitUrn(rt: ScimResourceType, path: string): { schema?: ScimSchema; rest: string } {
  const lower = path.toLowerCase();
  let best: ScimSchema | undefined;
  for (const s of schemasOf(rt)) {
    const id = s.id.toLowerCase();
    if ((lower.startsWith(id + ':') || lower === id) && (!best || s.id.length > best.id.length)) best = s;
  }
  if (!best) return { rest: path };
  return { schema: best, rest: path.slice(best.id.length + 1) };
}

/**
 * The schema a path names whole, as a bare URN (`urn:…:enterprise:2.0:User`), or undefined. Clients name an extension
 * this way to PATCH it as one object (RFC 7644 §3.5.2: a path may be a schema URN) or to ask for all of it in
 * `attributes` (scim2-models does).
 */
export function wholeSchemaOf(rt: ScimResourceType, path: string): ScimSchema | undefined {
  const { schema, rest } = splitUrn(rt, path);
  return schema && rest === '' && path.length === schema.id.length ? schema : undefined;
}

/** `attributes`-style lists with each bare schema URN replaced by the paths of that schema's attributes. */
export function expandSchemaUrns(rt: ScimResourceType, paths: string[] | undefined): string[] | undefined {
  if (!paths?.some((p) => wholeSchemaOf(rt, p))) return paths;
  return paths.flatMap((p) => {
    const whole = wholeSchemaOf(rt, p);
    return whole ? whole.attributes.map((a) => `${whole.id}:${a.name}`) : [p];
  });
}

/**
 * Resolves "attr", "attr.sub" or "urn:...:attr[.sub]" against the resource type.
 * Throws invalidPath/invalidFilter (by `errorType`) naming the unknown part, so a client can fix its request.
 */
export function resolvePath(rt: ScimResourceType, path: string, errorType: 'invalidPath' | 'invalidFilter' = 'invalidPath'): ResolvedPath {
  let cache = RESOLVED.get(rt);
  if (!cache) RESOLVED.set(rt, (cache = new Map()));
  // Keyed by path alone: `errorType` only shapes the error, and failures are not kept.
  let resolved = cache.get(path);
  if (!resolved) {
    resolved = resolveUncached(rt, path, errorType);
    Object.freeze(resolved.keys);
    Object.freeze(resolved);
    if (cache.size >= RESOLVED_PER_TYPE) cache.clear();
    cache.set(path, resolved);
  }
  return resolved;
}

/**
 * Resolved paths per resource type and path (successes only, shared and frozen): every filter, PATCH and
 * projection resolves the same few paths again, e.g. `userName` on each `userName eq "…"` lookup. Bounded, as
 * paths come from requests.
 */
const RESOLVED = new WeakMap<ScimResourceType, Map<string, ResolvedPath>>();
const RESOLVED_PER_TYPE = 1000;

function resolveUncached(rt: ScimResourceType, path: string, errorType: 'invalidPath' | 'invalidFilter'): ResolvedPath {
  const fail = (why: string): never => {
    throw ScimError.badRequest(errorType, `${why} in path "${path}" of resource type ${rt.name}`);
  };
  const { schema, rest } = splitUrn(rt, path);
  if (schema && rest === '') {
    fail('A schema URN alone is not an attribute');
  }
  const parts = rest.split('.');
  if (parts.length > 2 || parts.some((p) => !ATTR_NAME.test(p) || FORBIDDEN_NAMES.has(p))) fail('Malformed attribute name');

  let attribute: ScimAttribute | undefined;
  let owner: ScimSchema | undefined = schema;
  if (schema) {
    attribute = findAttr(schema.attributes, parts[0]);
    if (!attribute && schema.id === rt.schema.id) attribute = findAttr(COMMON_ATTRIBUTES, parts[0]);
  } else {
    attribute = findAttr(COMMON_ATTRIBUTES, parts[0]);
    owner = attribute ? undefined : rt.schema;
    attribute ??= findAttr(rt.schema.attributes, parts[0]);
  }
  if (!attribute) return fail(`Unknown attribute "${parts[0]}"`);
  if (COMMON_ATTRIBUTES.includes(attribute)) owner = undefined;

  let subAttribute: ScimAttribute | undefined;
  if (parts.length === 2) {
    if (attribute.type !== 'complex') fail(`"${attribute.name}" has no sub-attributes`);
    subAttribute = findAttr(attribute.subAttributes, parts[1]);
    if (!subAttribute) fail(`Unknown sub-attribute "${parts[1]}" of "${attribute.name}"`);
  }
  const extension = !!owner && owner.id !== rt.schema.id;
  const names = [attribute.name, ...(subAttribute ? [subAttribute.name] : [])];
  return {
    schemaId: owner?.id,
    extension,
    attribute,
    subAttribute,
    keys: extension ? [owner!.id, ...names] : names,
    canonical: extension ? `${owner!.id}:${names.join('.')}` : names.join('.'),
  };
}

/** Resolves a sub-attribute inside a value filter (e.g. `type` in `emails[type eq "work"]`). */
export function resolveSubPath(parent: ResolvedPath, name: string, errorType: 'invalidPath' | 'invalidFilter'): ScimAttribute {
  const sub = parent.attribute.subAttributes ? findAttr(parent.attribute.subAttributes, name) : undefined;
  if (!sub || name.includes('.')) {
    throw ScimError.badRequest(errorType, `Unknown sub-attribute "${name}" of "${parent.attribute.name}"`);
  }
  return sub;
}

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_NAMES.has(key);
}
