import { Injectable } from '@nestjs/common';
import { compileMappedAttribute, JitImpactPage, JitImpactReport, JitImpactService, MAPPED_ATTRIBUTE_RESOURCE_TYPE, MappedAttributesService } from '@app/jit';
import { Database } from '@app/persistence';
import { applyPatch, Doc, normalizeResource, parsePatchRequest, ScimError } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
import { IDENTITY_PROVIDER_RESOURCE_TYPE } from './identity-provider.schema';
import { patchedIdentityProvider, takeConsumerSecret } from './identity-provider-rules';
import { IdentityProvidersService } from './identity-providers.service';
import { signInConfigurationOf } from './sign-in-configuration';

const MAX_PAGE = 500;

/** startIndex (1-based, default 1) and count (default 50, at most 500) of a jitImpact request. */
export function impactPageOf(q: Record<string, unknown>): JitImpactPage {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = q[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw ScimError.badRequest('invalidValue', `${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return n;
  };
  return { startIndex: int('startIndex', 1, 1, Number.MAX_SAFE_INTEGER), count: int('count', 50, 0, MAX_PAGE) };
}

/**
 * `POST /admin/v1/IdentityProviders/{id}/jitImpact`: a proposed change (a PATCH body for the IdP and/or one for its
 * MappedAttribute), validated as the PATCH itself would be, turned into the JIT configuration it would make, and
 * compared with the current one over every user whose last sign-in inputs are kept. Changes nothing.
 */
@Injectable()
export class IdentityProviderImpact {
  constructor(
    private readonly db: Database,
    private readonly mapped: MappedAttributesService,
    private readonly idps: IdentityProvidersService,
    private readonly impact: JitImpactService,
  ) {}

  async report(id: string, body: unknown, page: JitImpactPage): Promise<JitImpactReport> {
    const b = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Doc;
    if (b.identityProvider === undefined && b.mappedAttribute === undefined) {
      throw ScimError.badRequest('invalidValue', 'Give the change to assess: "identityProvider" (a SCIM PATCH body for this identity provider) and/or "mappedAttribute" (one for its MappedAttribute)');
    }
    const { current, proposed } = await this.db.read(async (m) => {
      const row = await m.findOneBy(IdentityProviderEntity, { id });
      if (!row) throw new ScimError(404, `No identity provider with id "${id}"`);
      const mapped = await this.mapped.findForIdentityProvider(m, id);
      const stored = JSON.parse(row.data) as Doc;
      const doc = b.identityProvider === undefined ? stored : patchedIdentityProvider(stored, parsePatchRequest(IDENTITY_PROVIDER_RESOURCE_TYPE, b.identityProvider));
      takeConsumerSecret(doc);
      await this.idps.checkGroups(m, doc);
      let proposedMapped = mapped;
      if (b.mappedAttribute !== undefined) {
        if (!mapped) throw new ScimError(409, `Identity provider "${row.partnerName}" has no MappedAttribute to change`);
        proposedMapped = normalizeResource(MAPPED_ATTRIBUTE_RESOURCE_TYPE, applyPatch(mapped, parsePatchRequest(MAPPED_ATTRIBUTE_RESOURCE_TYPE, b.mappedAttribute)));
        compileMappedAttribute(proposedMapped);
      }
      return {
        current: signInConfigurationOf(row, mapped),
        proposed: signInConfigurationOf({ ...row, data: JSON.stringify(doc), enabled: doc.enabled === true, type: String(doc.type) }, proposedMapped),
      };
    });
    return this.impact.report(current.jit, proposed.jit, page);
  }
}
