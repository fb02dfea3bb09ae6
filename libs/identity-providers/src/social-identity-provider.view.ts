import type { Filter } from 'scim2-parse-filter';
import { COMMON_ATTRIBUTES, Doc, filterText, parseFilter, resolvePath, ScimError, syncSchemas } from '@app/scim';
import { IDENTITY_PROVIDER_RESOURCE_TYPE, SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID } from './identity-provider.schema';
import { SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID, SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE, SOCIAL_VIEW_CORE_ATTRIBUTES } from './social-identity-provider.schema';

/*
 * The SocialIdentityProviders view of an IdentityProvider of type SOCIAL, as pure functions both ways:
 * - an IdentityProvider representation → the SocialIdentityProvider representation (socialViewOf);
 * - a SocialIdentityProvider document → the IdentityProvider document to store, over the stored one (identityProviderOf);
 * - a filter or sortBy naming SocialIdentityProvider attributes → the same over IdentityProvider attributes.
 * name ⇄ partnerName, showOnLogin ⇄ shownOnLoginPage, description, enabled and iconUrl are core attributes of both;
 * every other attribute of the view is the social extension's, under the same name. The common attributes (id,
 * meta, ocid, tags, …) are the resource's own: one id, one version, one OCID.
 */

const EXT = SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID;
const SOCIAL_RT = SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE;
const CORE = Object.entries(SOCIAL_VIEW_CORE_ATTRIBUTES) as [keyof typeof SOCIAL_VIEW_CORE_ATTRIBUTES, string][];
const CORE_NAMES = new Set<string>(Object.keys(SOCIAL_VIEW_CORE_ATTRIBUTES));
/** Common attributes a client may write (externalId, tags): carried over both ways. */
const WRITABLE_COMMON = COMMON_ATTRIBUTES.filter((a) => a.mutability !== 'readOnly').map((a) => a.name);

/** Whether an IdentityProvider representation (stored or rendered) is one the social view shows. */
export function isSocialIdentityProvider(idp: Doc): boolean {
  return idp.type === 'SOCIAL' && typeof idp[EXT] === 'object' && idp[EXT] !== null;
}

/**
 * The SocialIdentityProvider representation of an IdentityProvider one (stored, or rendered with id and meta).
 * `location` is the view's own URI of the resource; meta names the view. consumerSecret is never in it (it is
 * never in an IdentityProvider representation either). showOnLogin, required by IDCS, reads false where
 * shownOnLoginPage is absent, as the login page reads it.
 */
export function socialViewOf(idp: Doc, location?: string): Doc {
  const out: Doc = { schemas: [SOCIAL_IDENTITY_PROVIDER_RESOURCE_SCHEMA_ID] };
  for (const a of COMMON_ATTRIBUTES) if (idp[a.name] !== undefined) out[a.name] = idp[a.name];
  if (idp.meta && typeof idp.meta === 'object') {
    out.meta = { ...(idp.meta as Doc), resourceType: SOCIAL_RT.name, ...(location ? { location } : {}) };
  }
  for (const [view, stored] of CORE) if (idp[stored] !== undefined) out[view] = idp[stored];
  out.showOnLogin ??= false;
  const { consumerSecret: _never, ...social } = (idp[EXT] as Doc | undefined) ?? {};
  Object.assign(out, social);
  return out;
}

/**
 * The IdentityProvider document a SocialIdentityProvider document (normalized, as a POST, PUT or patched document)
 * makes: over `old`, the stored document, when there is one. Every attribute the view shows is replaced, so what
 * the view document leaves out is removed, as a PUT does; what only IdentityProviders shows (SAML settings, the
 * jitUserProv* rules, their MappedAttribute, the x509 and trust extensions) is kept. consumerSecret travels in the
 * extension, where the IdentityProviders service takes it out to seal it.
 */
export function identityProviderOf(view: Doc, old?: Doc): Doc {
  const doc: Doc = old ? structuredClone(old) : { type: 'SOCIAL' };
  for (const name of WRITABLE_COMMON) {
    if (view[name] === undefined) delete doc[name];
    else doc[name] = view[name];
  }
  for (const [from, to] of CORE) {
    if (view[from] === undefined) delete doc[to];
    else doc[to] = view[from];
  }
  // showOnLogin false where shownOnLoginPage was absent is how the view reads it: no change to store.
  if (view.showOnLogin === false && old && old.shownOnLoginPage === undefined) delete doc.shownOnLoginPage;
  const social: Doc = {};
  for (const [k, v] of Object.entries(view)) {
    if (k === 'schemas' || CORE_NAMES.has(k) || COMMON_ATTRIBUTES.some((a) => a.name === k)) continue;
    social[k] = v;
  }
  doc[EXT] = social;
  syncSchemas(IDENTITY_PROVIDER_RESOURCE_TYPE, doc);
  return doc;
}

/** The IdentityProvider path of a SocialIdentityProvider attribute path (validated against the view's schema). */
export function identityProviderPathOf(path: string, errorType: 'invalidPath' | 'invalidFilter'): string {
  const p = resolvePath(SOCIAL_RT, path, errorType);
  if (p.schemaId === undefined) return p.canonical;
  const sub = p.subAttribute ? `.${p.subAttribute.name}` : '';
  const core = SOCIAL_VIEW_CORE_ATTRIBUTES[p.attribute.name as keyof typeof SOCIAL_VIEW_CORE_ATTRIBUTES];
  return core ? `${core}${sub}` : `${EXT}:${p.attribute.name}${sub}`;
}

/**
 * A filter over SocialIdentityProvider attributes as one over IdentityProvider attributes, limited to the SOCIAL
 * ones: what the IdentityProviders list query runs. Attribute paths are checked against the view's schema, so an
 * error names what the client wrote. meta.resourceType, the same for every resource of a view, is decided here.
 */
export function identityProviderFilterOf(filter: string | undefined): string {
  const social = 'type eq "SOCIAL"';
  return filter ? `${social} and (${filterText(translate(parseFilter(filter)))})` : social;
}

function translate(f: Filter): Filter {
  switch (f.op) {
    case 'and':
    case 'or':
      return { op: f.op, filters: f.filters.map(translate) };
    case 'not':
      return { op: 'not', filter: translate(f.filter) };
    case '[]':
      // Sub-attributes keep their names: only the path of the multi-valued attribute moves.
      return { op: '[]', attrPath: identityProviderPathOf(f.attrPath, 'invalidFilter'), valFilter: f.valFilter };
    default: {
      const path = identityProviderPathOf(f.attrPath, 'invalidFilter');
      if (path === 'meta.resourceType') return constant(f.op === 'pr' || compare(f.op, SOCIAL_RT.name, f.compValue));
      return { ...f, attrPath: path };
    }
  }
}

/** A filter that matches every resource (true) or none (false): `id` is always present. */
function constant(matches: boolean): Filter {
  const all: Filter = { op: 'pr', attrPath: 'id' };
  return matches ? all : { op: 'not', filter: all };
}

/** A comparison of a caseExact string, as the SQL filter would make it. */
function compare(op: string, actual: string, value: unknown): boolean {
  if (typeof value !== 'string') return op === 'ne';
  switch (op) {
    case 'eq':
      return actual === value;
    case 'ne':
      return actual !== value;
    case 'co':
      return actual.includes(value);
    case 'sw':
      return actual.startsWith(value);
    case 'ew':
      return actual.endsWith(value);
    case 'gt':
      return actual > value;
    case 'ge':
      return actual >= value;
    case 'lt':
      return actual < value;
    case 'le':
      return actual <= value;
    default:
      throw ScimError.badRequest('invalidFilter', `Unknown filter operator "${op}"`);
  }
}

/** sortBy over SocialIdentityProvider attributes as one over IdentityProvider attributes. */
export function identityProviderSortByOf(sortBy: string | undefined): string | undefined {
  return sortBy === undefined ? undefined : identityProviderPathOf(sortBy, 'invalidPath');
}
