import { ScimError } from './errors';
import { SCIM_SCHEMAS } from './schema';

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

export type SortOrder = 'ascending' | 'descending';
export type AttributeSet = 'all' | 'always' | 'never' | 'request' | 'default';

/** Which attributes a response should carry (RFC 7644 §3.9 plus IDCS attributeSets). */
export interface ProjectionRequest {
  attributes?: string[];
  excludedAttributes?: string[];
  attributeSets?: AttributeSet[];
}

export interface ListQuery extends ProjectionRequest {
  filter?: string;
  sortBy?: string;
  sortOrder: SortOrder;
  startIndex: number;
  count: number;
}

const ATTRIBUTE_SETS: AttributeSet[] = ['all', 'always', 'never', 'request', 'default'];

function list(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw ScimError.badRequest('invalidValue', `"${name}" must be a comma-separated string or an array of strings`);
    out.push(...splitAttributeList(item));
  }
  return out.length ? out : undefined;
}

/** Splits "a,b,members[startIndex=1&count=10]" on commas outside brackets. */
function splitAttributeList(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function integer(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(String(value).trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw ScimError.badRequest('invalidValue', `"${name}" must be an integer (got ${JSON.stringify(value)})`);
  return n;
}

export function parseProjection(source: Record<string, unknown>): ProjectionRequest {
  const attributeSets = list(source.attributeSets, 'attributeSets')?.map((s) => {
    const lower = s.toLowerCase() as AttributeSet;
    if (!ATTRIBUTE_SETS.includes(lower)) {
      throw ScimError.badRequest('invalidValue', `Unknown attribute set "${s}"; use one of ${ATTRIBUTE_SETS.join(', ')}`);
    }
    return lower;
  });
  const attributes = list(source.attributes, 'attributes');
  const excludedAttributes = list(source.excludedAttributes, 'excludedAttributes');
  if (attributes && excludedAttributes) {
    throw ScimError.badRequest('invalidSyntax', 'Give either "attributes" or "excludedAttributes", not both');
  }
  return { attributes, excludedAttributes, attributeSets };
}

/**
 * Reads list parameters from a GET query string or a POST .search body (same names, RFC 7644 §3.4.3).
 * `count` above the maximum is lowered to it (RFC 7644 §3.4.2.4 lets the server return fewer).
 */
export function parseListQuery(source: Record<string, unknown>, fromSearchBody = false): ListQuery {
  if (fromSearchBody) {
    const schemas = source.schemas;
    if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.includes(SCIM_SCHEMAS.searchRequest))) {
      throw ScimError.badRequest('invalidSyntax', `A search request must list the schema "${SCIM_SCHEMAS.searchRequest}"`);
    }
  }
  const filter = source.filter;
  if (filter !== undefined && typeof filter !== 'string') throw ScimError.badRequest('invalidFilter', '"filter" must be a string');
  const sortBy = source.sortBy;
  if (sortBy !== undefined && (typeof sortBy !== 'string' || !sortBy)) throw ScimError.badRequest('invalidValue', '"sortBy" must be an attribute path');
  const orderRaw = source.sortOrder ?? 'ascending';
  if (typeof orderRaw !== 'string' || !/^(ascending|descending)$/i.test(orderRaw)) {
    throw ScimError.badRequest('invalidValue', `"sortOrder" must be "ascending" or "descending" (got ${JSON.stringify(orderRaw)})`);
  }
  // The OCI SDK pages with `limit`; it means the same as `count`.
  let startIndex = integer(source.startIndex, 'startIndex') ?? 1;
  if (startIndex < 1) startIndex = 1; // RFC 7644: a value below 1 is interpreted as 1.
  let count = integer(source.count ?? source.limit, 'count') ?? DEFAULT_PAGE_SIZE;
  if (count < 0) count = 0; // RFC 7644: a negative count is interpreted as 0.
  count = Math.min(count, MAX_PAGE_SIZE);
  return {
    filter: filter?.trim() ? filter : undefined,
    sortBy: sortBy as string | undefined,
    sortOrder: orderRaw.toLowerCase() as SortOrder,
    startIndex,
    count,
    ...parseProjection(source),
  };
}
