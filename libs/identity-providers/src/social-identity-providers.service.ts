import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable } from '@nestjs/common';
import { Actor } from '@app/audit';
import {
  applyPatch,
  checkImmutable,
  checkRequired,
  creationHook,
  Doc,
  ListQuery,
  normalizeResource,
  parsePatchRequest,
  Projection,
  ProjectionRequest,
  PublicUrl,
  ResourceResult,
  ScimError,
  withCreationHook,
} from '@app/scim';
import { prepareSocialSettings } from './identity-provider-rules';
import { IdentityProvidersService } from './identity-providers.service';
import { SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE } from './social-identity-provider.schema';
import { identityProviderFilterOf, identityProviderOf, identityProviderSortByOf, isSocialIdentityProvider, socialViewOf } from './social-identity-provider.view';

const rt = SOCIAL_IDENTITY_PROVIDER_RESOURCE_TYPE;

/** What the view asks of IdentityProviders: everything a response can carry; the view projects it itself. */
const EVERYTHING: ProjectionRequest = { attributeSets: ['all'] };

/**
 * IDCS /admin/v1/SocialIdentityProviders: the IdentityProviders of type SOCIAL, seen through their social extension
 * (social-identity-provider.view.ts). Every read and write goes through IdentityProvidersService, so both endpoints
 * share the rows, versions, rules, the sealed consumerSecret, the linked MappedAttribute and the audit trail.
 */
@Injectable()
export class SocialIdentityProvidersService {
  constructor(
    private readonly idps: IdentityProvidersService,
    private readonly urls: PublicUrl,
  ) {}

  async get(id: string, request: ProjectionRequest): Promise<ResourceResult> {
    const projection = new Projection(rt, request);
    const r = await this.idps.get(id, EVERYTHING);
    if (!isSocialIdentityProvider(r.body)) throw this.notFound(id, r.body.type);
    return this.answer(r, projection);
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(rt, query);
    const listed = await this.idps.list({
      filter: identityProviderFilterOf(query.filter),
      sortBy: identityProviderSortByOf(query.sortBy),
      sortOrder: query.sortOrder,
      startIndex: query.startIndex,
      count: query.count,
      ...EVERYTHING,
    });
    const resources = (listed.Resources as Doc[]).map((r) => projection.apply(socialViewOf(r, this.location(r))));
    return { ...listed, Resources: resources };
  }

  /** Creates a SOCIAL identity provider (with its MappedAttribute, as IdentityProviders does). */
  async create(body: unknown, request: ProjectionRequest, actor: Actor): Promise<ResourceResult> {
    const projection = new Projection(rt, request);
    const view = normalizeResource(rt, body);
    checkRequired(rt, view);
    if (view.consumerSecret === undefined) {
      throw ScimError.badRequest('invalidValue', 'Missing required attribute(s): consumerSecret (the client secret at the provider)', 'error.common.validation.missingReqAttributes');
    }
    prepareSocialSettings(view, undefined);
    // A retry under the same opc-retry-token must get this view's answer, not IdentityProviders': the hook that
    // keeps it (idempotent-create.ts) is called, in the request's own context, with the answer translated.
    const inRequestContext = AsyncLocalStorage.snapshot();
    const r = await withCreationHook(
      (m, answer) => inRequestContext(() => creationHook(m, this.answer(answer, projection))),
      () => this.idps.create(identityProviderOf(view), EVERYTHING, actor),
    );
    return this.answer(r, projection);
  }

  /** PUT: every attribute of the view is replaced; what only IdentityProviders shows is kept; a left-out consumerSecret is kept. */
  replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<ResourceResult> {
    const incoming = normalizeResource(rt, body);
    checkRequired(rt, incoming);
    return this.change(id, ifMatch, request, actor, () => structuredClone(incoming));
  }

  /** PATCH, its paths naming the view's attributes, applied to the view of the stored representation. */
  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<ResourceResult> {
    const ops = parsePatchRequest(rt, body);
    return this.change(id, ifMatch, request, actor, (before) => {
      const doc = normalizeResource(rt, applyPatch(before, ops));
      checkRequired(rt, doc);
      return doc;
    });
  }

  async delete(id: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    // `type` is immutable: an identity provider this view shows stays SOCIAL until it is deleted.
    const r = await this.idps.get(id, EVERYTHING);
    if (!isSocialIdentityProvider(r.body)) throw this.notFound(id, r.body.type);
    await this.idps.delete(id, ifMatch, actor);
  }

  private async change(id: string, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor, next: (before: Doc) => Doc): Promise<ResourceResult> {
    const projection = new Projection(rt, request);
    const r = await this.idps.changeThroughView(id, ifMatch, EVERYTHING, actor, (old) => {
      if (!isSocialIdentityProvider(old)) throw this.notFound(id, old.type);
      const before = socialViewOf(old);
      const after = next(structuredClone(before));
      // Checked here too, so that errors name the view's attributes rather than the extension's.
      prepareSocialSettings(after, before);
      checkImmutable(rt, before, after);
      return identityProviderOf(after, old);
    });
    return this.answer(r, projection);
  }

  /** An IdentityProviders answer as this view's: translated, projected, located under this endpoint. */
  private answer(r: { body: Doc; version: number }, projection: Projection): ResourceResult {
    const location = this.location(r.body);
    return { body: projection.apply(socialViewOf(r.body, location)), version: r.version, location };
  }

  private location(idp: Doc): string {
    return this.urls.resource(rt.endpoint, String(idp.id));
  }

  private notFound(id: string, type: unknown): ScimError {
    if (typeof type === 'string' && type !== 'SOCIAL') {
      return ScimError.notFound(`Identity provider "${id}" is of type ${type}, not SOCIAL: it is served at /admin/v1/IdentityProviders/${id} only`);
    }
    return ScimError.notFound(`No social identity provider with id "${id}"`);
  }
}
