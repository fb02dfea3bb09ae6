import { Doc, sameRepresentation, ScimError } from '@app/scim';
import { MetadataError, parseIdpMetadata } from './idp-metadata';
import { prepareIdentityProvider } from './identity-provider-rules';
import { metadataRefreshSettingsOf, refreshOutcomeOf, withRefreshOutcome } from './metadata-refresh-settings';

/** What a read of an IdP's metadataUrl gave: the document (its signed content when a signature is required), or why not. */
export type MetadataRead = { url: string; xml: string } | { url: string; error: string };

/** What a refresh does to an identity provider. */
export type RefreshDecision =
  | { kind: 'applied'; doc: Doc }
  /** Read and valid, but nothing an IdP is configured with changed (a re-signed document, a new validUntil). */
  | { kind: 'unchanged'; doc: Doc }
  | { kind: 'refused'; doc: Doc; error: string }
  /** The settings changed (or were removed) while the document was read: the read is for a URL no longer configured. */
  | { kind: 'stale'; doc: Doc };

/**
 * The representation an IdP has after `read`, computed from the stored one (`old`) at `now`. Pure: the refresher
 * writes the result through the resource pipeline, which writes nothing when it equals `old`.
 * - The document is imported as an administrator's `metadata` would be, except that it decides every attribute
 *   metadata fills (the metadata URL is the administrator's choice of source).
 * - It must describe this IdP: in an aggregate the entity named by partnerProviderId, and an entityID other
 *   than partnerProviderId is refused rather than applied (a document that names another entity would otherwise
 *   move sign-in to that entity's issuer).
 * - A new version is written only when something sign-in uses changed; a document that differs only in
 *   what we do not take from it writes nothing.
 * - A refusal keeps every setting, and records its reason in metadataLastError (a new version only when the
 *   reason differs from the one recorded).
 */
export function refreshedRepresentation(old: Doc, read: MetadataRead, now: string): RefreshDecision {
  const settings = metadataRefreshSettingsOf(old);
  if (!settings || settings.url !== read.url) return { kind: 'stale', doc: old };
  const refuse = (error: string): RefreshDecision => ({ kind: 'refused', error, doc: refreshOutcomeOf(old).lastError === error ? old : withRefreshOutcome(old, { error }) });
  if ('error' in read) return refuse(read.error);

  const partnerProviderId = typeof old.partnerProviderId === 'string' ? old.partnerProviderId : undefined;
  try {
    const md = parseIdpMetadata(read.xml, { entityId: partnerProviderId });
    if (partnerProviderId !== undefined && md.entityId !== partnerProviderId) {
      return refuse(`the document describes entity ${JSON.stringify(md.entityId.slice(0, 200))}, not this identity provider's partnerProviderId ${JSON.stringify(partnerProviderId.slice(0, 200))}`);
    }
  } catch (e) {
    if (e instanceof MetadataError) return refuse(e.message);
    throw e;
  }
  const doc = structuredClone(old);
  doc.metadata = read.xml;
  try {
    prepareIdentityProvider(doc, new Set(), true, old);
  } catch (e) {
    if (e instanceof ScimError) return refuse(e.detail);
    throw e;
  }
  if (sameRepresentation({ ...doc, metadata: old.metadata }, old)) {
    return { kind: 'unchanged', doc: refreshOutcomeOf(old).lastError === undefined ? old : withRefreshOutcome(old, { clearError: true }) };
  }
  return { kind: 'applied', doc: withRefreshOutcome(doc, { refreshed: now }) };
}
