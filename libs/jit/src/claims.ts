import type { FederatedSubject } from './jit-login.service';
import type { JitConfig, VerifiedAssertion } from './planner';

/** Deeper nesting than this in a claim is not read (no real IdP nests profile claims this deep). */
const MAX_DEPTH = 8;
/** Values kept per claim: a `groups` claim of a big tenant stays usable, a hostile one stays bounded. */
const MAX_VALUES = 1000;

/**
 * What JIT reads from the verified claims of an OpenID Connect sign-in (ID token merged with UserInfo), in the
 * shape it reads SAML assertions in, so that MappedAttribute expressions, the user lookup and the group claim work
 * the same for both protocols:
 * - `nameId` is the `sub` (`$(assertion.fed.nameidvalue)`), `issuer` the `iss` (`$(assertion.fed.issuerid)`);
 * - every claim is an attribute under its own name, exactly as sent, so a name holding dots or slashes (Entra's
 *   claim URIs, `http://schemas.microsoft.com/ws/2008/06/identity/claims/groups`) is named as it is;
 * - the members of an object claim are attributes too, under dotted paths (`address.country`), unless a claim of
 *   that exact name exists: the claim as sent wins;
 * - an array gives one value per item (`groups`); strings are kept as they are, numbers and booleans as their JSON
 *   text (`email_verified` reads "true"); objects inside arrays and nulls are not values.
 */
export function assertionFromClaims(claims: Record<string, unknown>): VerifiedAssertion {
  const attributes: Record<string, string[]> = Object.create(null);
  const exact = new Set(Object.keys(claims));
  const add = (name: string, value: unknown, depth: number, top: boolean) => {
    if (name === '__proto__' || (!top && exact.has(name))) return;
    if (Array.isArray(value)) {
      const values = value.slice(0, MAX_VALUES).flatMap(scalar);
      if (values.length || value.length === 0) attributes[name] = values;
      return;
    }
    if (value !== null && typeof value === 'object') {
      if (depth >= MAX_DEPTH) return;
      for (const [k, v] of Object.entries(value)) add(`${name}.${k}`, v, depth + 1, false);
      return;
    }
    const values = scalar(value);
    if (values.length) attributes[name] = values;
  };
  for (const [name, value] of Object.entries(claims)) add(name, value, 0, true);
  return {
    nameId: typeof claims.sub === 'string' ? claims.sub : '',
    issuer: typeof claims.iss === 'string' ? claims.iss : '',
    // A plain object for the planner (hasOwnProperty checks), built without a prototype to read into.
    attributes: { ...attributes },
  };
}

function scalar(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [JSON.stringify(value)];
  return [];
}

/**
 * The subject an OpenID Connect sign-in links, and whether a user found by the lookup may be linked to it: only
 * with the IdP's accountLinkingEnabled, and, when the lookup matched an email, only if the provider asserts
 * `email_verified: true` (an unverified email is anyone's to claim: linking on it is an account takeover).
 */
export function federatedSubjectOf(claims: Record<string, unknown>, accountLinkingEnabled: boolean, jit: JitConfig): FederatedSubject {
  const subject = String(claims.sub);
  if (!accountLinkingEnabled) return { subject, linkRefusal: 'accountLinkingEnabled is off for this identity provider' };
  const byEmail = jit.lookup.storeAttribute === 'emails.value' || (jit.lookup.method === 'AssertionAttributeToUserAttribute' && /^e?mail$/i.test(jit.lookup.assertionAttribute ?? ''));
  if (byEmail && claims.email_verified !== true) return { subject, linkRefusal: 'the lookup matched an email the identity provider does not assert as verified (email_verified is not true)' };
  return { subject };
}
