import { ScimError } from './errors';
import { canonicalJson } from './resource-input';

/** Weak ETag for a resource version counter; `meta.version` carries the same string. */
export function etagFor(version: number): string {
  return `W/"${version}"`;
}

/**
 * Enforces `If-Match` (RFC 7644 §3.14): `*` matches any version, otherwise one of the listed tags must
 * equal the current one (weak comparison, so `"3"` and `W/"3"` both match version 3).
 */
export function checkIfMatch(header: string | undefined, version: number): void {
  if (!header) return;
  const current = String(version);
  const tags = header.split(',').map((t) => t.trim());
  if (tags.includes('*')) return;
  const ok = tags.some((t) => t.replace(/^W\//, '').replace(/^"|"$/g, '') === current);
  if (!ok) {
    throw new ScimError(412, `The resource has changed: its current version is ${etagFor(version)}, not ${header}. Read it again and retry`);
  }
}

/**
 * Whether two stored representations are the same resource, whatever the order of their keys (which follows
 * the client's input): an unchanged resource must keep its version, or every read-then-PUT sync would
 * invalidate the ETags other clients hold.
 */
export function sameRepresentation(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
