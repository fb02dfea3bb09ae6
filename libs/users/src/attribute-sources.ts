import { attr, complex, Doc, ResolvedPath, ScimAttribute, ScimSchema } from '@app/scim/core';

/*
 * Attribute ownership: which source last set (or cleared) each attribute of a user. Pure: the JIT planner reads the
 * same keys (attributeSourceKey) that every write records (changedAttributeKeys, called by the users' resource
 * pipeline for SCIM, administrators and JIT alike), so a mapping's authority and the recorded source always speak of
 * the same attribute.
 *
 * Granularity, one key per:
 * - singular simple attribute: `title`, `active`, `userName`;
 * - sub-attribute of a singular complex attribute: `name.givenName`;
 * - multi-valued attribute, as a whole: `emails` (a mapping to `emails[type eq "work"].value` is owned as `emails`),
 *   since SCIM clients replace such lists whole and primary flags move between their values;
 * - the same in an extension, prefixed by its URN: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
 */

export const ATTRIBUTE_SOURCES_SCHEMA_ID = 'urn:identity-domain:scim:schemas:extension:attributeSources:2.0:User';

/** jit: a sign-in through an identity provider; scim: a provisioning token's SCIM client; admin: an admin API client. */
export const ATTRIBUTE_SOURCE_TYPES = ['jit', 'scim', 'admin'] as const;
export type AttributeSourceType = (typeof ATTRIBUTE_SOURCE_TYPES)[number];

/** Who last set an attribute. */
export interface AttributeSource {
  sourceType: AttributeSourceType;
  /** The identity provider's id (jit), the provisioning token's id (scim) or the client_id (admin). */
  sourceId: string;
  sourceName?: string;
  updated: string;
}

/** The IdentityProvider endpoint, as a JIT writer names it (resourceWriter in libs/scim common-attributes.ts). */
const IDENTITY_PROVIDERS_ENDPOINT = '/IdentityProviders';

/** What attributeSourceOf reads of a writer: libs/scim's ResourceWriter, named by shape to keep this module pure. */
export interface AttributeWriter {
  value: string;
  display?: string;
  endpoint?: string;
  principalKind?: string;
}

/** The source a write by `by` records; undefined for a write by nobody known (seeding). */
export function attributeSourceOf(by: AttributeWriter | undefined, updated: string): AttributeSource | undefined {
  if (!by) return undefined;
  const sourceType: AttributeSourceType = by.endpoint === IDENTITY_PROVIDERS_ENDPOINT ? 'jit' : by.principalKind === 'provisioningToken' ? 'scim' : 'admin';
  return { sourceType, sourceId: by.value, ...(by.display ? { sourceName: by.display } : {}), updated };
}

/** The ownership key of a resolved attribute path (see the granularity above). */
export function attributeSourceKey(path: ResolvedPath): string {
  const a = path.attribute;
  const local = a.multiValued || !path.subAttribute ? a.name : `${a.name}.${path.subAttribute.name}`;
  return path.extension && path.schemaId ? `${path.schemaId}:${local}` : local;
}

/** Equal JSON values, whatever their key order and prototypes (normalised documents have null-prototype objects). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => sameValue(x, (b as unknown[])[i]));
  const ka = Object.keys(a).filter((k) => (a as Doc)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Doc)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameValue((a as Doc)[k], (b as Doc)[k]));
}

/** Attributes that are not the user's data: never owned. */
const UNOWNED = new Set(['schemas', 'id', 'meta', 'groups', 'password']);

function keysOf(schema: ScimAttribute[], prefix: string, before: Doc | undefined, after: Doc | undefined, out: string[]): void {
  for (const a of schema) {
    if (UNOWNED.has(a.name) && !prefix) continue;
    const b = before?.[a.name];
    const n = after?.[a.name];
    if (b === undefined && n === undefined) continue;
    if (a.type === 'complex' && !a.multiValued && a.subAttributes?.length) {
      for (const s of a.subAttributes) {
        if (!sameValue((b as Doc | undefined)?.[s.name], (n as Doc | undefined)?.[s.name])) out.push(`${prefix}${a.name}.${s.name}`);
      }
    } else if (!sameValue(b, n)) {
      out.push(`${prefix}${a.name}`);
    }
  }
}

/**
 * The ownership keys whose value differs between two representations of a user (`before` undefined: a new user,
 * every attribute it has). Attributes outside the schemas are not owned.
 */
export function changedAttributeKeys(schemas: ScimSchema[], before: Doc | undefined, after: Doc): string[] {
  const out: string[] = [];
  const [core, ...extensions] = schemas;
  keysOf(core.attributes, '', before, after, out);
  for (const ext of extensions) keysOf(ext.attributes, `${ext.id}:`, before?.[ext.id] as Doc | undefined, after[ext.id] as Doc | undefined, out);
  return out;
}

/** Our extension of User that shows each attribute's source, on request only. */
export const ATTRIBUTE_SOURCES_SCHEMA: ScimSchema = {
  id: ATTRIBUTE_SOURCES_SCHEMA_ID,
  name: 'UserAttributeSources',
  description:
    'Which source last set each attribute of the user: a JIT sign-in through an identity provider, a SCIM client (provisioning token) or an administrator (admin client). ' +
    'One entry per singular attribute, per sub-attribute of a singular complex attribute (name.givenName), per multi-valued attribute as a whole (emails), extension attributes prefixed by their schema URN. Returned only on request',
  attributes: [
    complex(
      'attributeSources',
      'The source of each attribute that a recorded write set or cleared (attributes written before sources were recorded have none). Returned only when asked for: attributes=urn:identity-domain:scim:schemas:extension:attributeSources:2.0:User:attributeSources',
      [
        attr('attribute', 'string', 'The attribute path, e.g. name.givenName, emails, or an extension attribute with its schema URN', { mutability: 'readOnly', caseExact: true, example: 'name.givenName' }),
        attr('sourceType', 'string', 'jit: a sign-in through an identity provider; scim: a provisioning token\'s SCIM client; admin: an admin API client', {
          mutability: 'readOnly',
          caseExact: true,
          canonicalValues: [...ATTRIBUTE_SOURCE_TYPES],
          example: 'jit',
        }),
        attr('sourceId', 'string', 'The identity provider\'s id (jit), the provisioning token\'s id (scim) or the client_id (admin)', { mutability: 'readOnly', caseExact: true }),
        attr('sourceName', 'string', 'The identity provider\'s partnerName, the provisioning token\'s or the client\'s name', { mutability: 'readOnly' }),
        attr('updated', 'dateTime', 'When that source last set or cleared the attribute', { mutability: 'readOnly' }),
      ],
      { multiValued: true, mutability: 'readOnly', returned: 'request' },
    ),
  ],
};
