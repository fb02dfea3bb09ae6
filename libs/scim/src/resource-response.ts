import type { Response } from 'express';
import { etagFor } from './etag';
import { SCIM_SCHEMAS } from './schema';

/** RFC 7644 §3.4.2 list response. */
export function listResponse(resources: Record<string, unknown>[], totalResults: number, startIndex: number): Record<string, unknown> {
  return {
    schemas: [SCIM_SCHEMAS.listResponse],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** Sets ETag (= meta.version) and, for creations, Location (= meta.location). */
export function setResourceHeaders(res: Response, version: number, location?: string): void {
  res.setHeader('ETag', etagFor(version));
  if (location) res.setHeader('Location', location);
}
