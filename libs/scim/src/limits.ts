import { ScimError } from './errors';
import { ScimAttribute, ScimResourceType } from './schema';

/**
 * Caps on multi-valued attributes. Without them one request could name tens of thousands of values: the
 * validation and PATCH work grows with them, and so do the index rows written for them, until a driver's
 * bound-parameter limit turns the request into a 500.
 *
 * Where the numbers come from:
 * - Group `members`: IDCS answers a Group GET or search with at most 10,000 members and fails above that (OCI
 *   Identity Domains API: "The Group SEARCH and GET operations … will throw an exception if the response has
 *   more than 10,000 members"; the SDKs' GroupMembers docs say the same; MAX_MEMBERS_PER_RESPONSE in the groups
 *   lib). One request may name as many members as one response can return. Memberships are rows, paged on read,
 *   so a group may hold more: this cap is per request only, and a larger group is filled by further requests.
 * - IdentityProvider `jitUserProvGroupMappings`: IDCS documents at most 250 (MAX_GROUP_MAPPINGS in the jit lib);
 *   `jitUserProvAssignedGroups` gets the same figure.
 * - Everything else, User `emails`, `phoneNumbers` and `addresses` included: IDCS documents no figure we could
 *   find, so 100: far above the few addresses and numbers a person has, equal to the jit lib's
 *   MAX_ATTRIBUTE_MAPPINGS, and small enough that a user has at most 200 index rows (emails and phoneNumbers).
 * A cap applies to one request (all operations of a PATCH together) and to the resulting resource.
 */
export const DEFAULT_MAX_VALUES = 100;
export const MAX_GROUP_MEMBERS_PER_REQUEST = 10_000;

export interface ValueCap {
  max: number;
  /** True when the cap bounds what one request names, not what the resource holds. */
  perRequestOnly: boolean;
}

const DEFAULT_CAP: ValueCap = { max: DEFAULT_MAX_VALUES, perRequestOnly: false };

const CAPS: Record<string, Record<string, ValueCap>> = {
  'urn:ietf:params:scim:schemas:core:2.0:User': { emails: DEFAULT_CAP, phoneNumbers: DEFAULT_CAP, addresses: DEFAULT_CAP },
  'urn:ietf:params:scim:schemas:core:2.0:Group': { members: { max: MAX_GROUP_MEMBERS_PER_REQUEST, perRequestOnly: true } },
  'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider': {
    jitUserProvGroupMappings: { max: 250, perRequestOnly: false },
    jitUserProvAssignedGroups: { max: 250, perRequestOnly: false },
  },
};

/**
 * A stored resource must fit in a request body (MAX_BODY_BYTES, 1 MiB), so that a client can always send back what
 * it read (GET, then PUT); this also bounds the work every later request on it does (parse, clone, compare,
 * serialise). Not imported from body.middleware.ts, which loads Express: this file is part of the pure core.
 */
export const MAX_RESOURCE_BYTES = 1024 * 1024;

/** The cap of multi-valued `attribute` of schema `schemaId`, or of its multi-valued sub-attribute `sub`. */
export function valueCapOf(schemaId: string | undefined, attribute: ScimAttribute, sub?: ScimAttribute): ValueCap {
  if (sub || !schemaId) return DEFAULT_CAP;
  return CAPS[schemaId]?.[attribute.name] ?? DEFAULT_CAP;
}

/** Refuses more than `cap.max` values of `where` in one value (a body's list, one operation's value). */
export function checkValueCount(where: string, count: number, cap: ValueCap): void {
  if (count > cap.max) throw ScimError.badRequest('tooMany', `At most ${cap.max} "${where}" values are allowed (got ${count})`);
}

/** Refuses more than `cap.max` values of `where` named by the operations of one PATCH request together. */
export function checkValueCountInRequest(where: string, count: number, cap: ValueCap): void {
  if (count <= cap.max) return;
  const advice = cap.perRequestOnly ? '; send the others in further requests' : '';
  throw ScimError.badRequest('tooMany', `At most ${cap.max} "${where}" values are allowed in one request (its operations name ${count})${advice}`);
}

/** Refuses a representation larger than MAX_RESOURCE_BYTES as JSON. */
export function checkResourceSize(rt: ScimResourceType, doc: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > MAX_RESOURCE_BYTES) {
    throw ScimError.badRequest(
      'invalidValue',
      `This ${rt.name} would take ${bytes} bytes as JSON; a resource may take at most ${MAX_RESOURCE_BYTES} (the request body limit), so that it can always be sent back whole with PUT. Shorten or remove values`,
    );
  }
}

/** The cap of every writable multi-valued attribute, by resource type and attribute path, for discovery. */
export function valueCapsByResourceType(types: ScimResourceType[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const rt of types) {
    const caps: Record<string, number> = {};
    const schemas = [{ schema: rt.schema, prefix: '' }, ...rt.schemaExtensions.map((e) => ({ schema: e.schema, prefix: `${e.schema.id}:` }))];
    for (const { schema, prefix } of schemas) {
      for (const a of schema.attributes) {
        if (a.mutability === 'readOnly') continue;
        if (a.multiValued) caps[`${prefix}${a.name}`] = valueCapOf(schema.id, a).max;
        for (const s of a.subAttributes ?? []) {
          if (s.multiValued && s.mutability !== 'readOnly') caps[`${prefix}${a.name}.${s.name}`] = valueCapOf(schema.id, a, s).max;
        }
      }
    }
    if (Object.keys(caps).length) out[rt.name] = caps;
  }
  return out;
}
