import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import { Access, Role } from '@app/auth';
import { APP_CONFIG, AppConfig, secretBoxFor } from '@app/config';
import { GroupsRepository } from '@app/groups';
import { federatedSubjectOf, GROUP_REFERENCE_LISTS, groupReferenceOwner, JitLoginService, MappedAttributesService, referencedGroupIds } from '@app/jit';
import { Database, newId } from '@app/persistence';
import {
  applyPatch,
  Doc,
  DocumentRepository,
  ListQuery,
  normalizeResource,
  parsePatchRequest,
  ProjectionRequest,
  PublicUrl,
  ResourceChange,
  ResourcePipeline,
  ResourceResult,
  ScimError,
  SqlExpr,
  fitColumn,
  writerOf,
} from '@app/scim';
import { consumerSecretContext, encryptConsumerSecretsAtRest } from './consumer-secrets';
import { IdentityProviderEntity } from './identity-provider.entity';
import { IDENTITY_PROVIDER_RESOURCE_TYPE, SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID } from './identity-provider.schema';
import { checkConsumerSecret, patchedIdentityProvider, prepareIdentityProvider, previewAssertionOf, socialRedirectUrl, takeConsumerSecret } from './identity-provider-rules';
import { findIdentityProviderRow, IdentityProviderRef, SignInConfiguration, mappedAttributeKey, SignInConfigurationCache, signInConfigurationKeys, signInConfigurationOf } from './sign-in-configuration';
import { signingKeyWarnings, withSigningKeyStatus } from './signing-keys';

const rt = IDENTITY_PROVIDER_RESOURCE_TYPE;

/** Attributes stored in columns of their own, for filters and sorting. */
const COLUMNS: Record<string, SqlExpr> = {
  partnerName: { expr: 'r.partner_name_lower', lowered: true },
  partnerProviderId: { expr: 'r.partner_provider_id' },
  type: { expr: 'r.type' },
  enabled: { expr: 'r.enabled' },
  succinctId: { expr: 'r.succinct_id' },
  serviceInstanceIdentifier: { expr: 'r.service_instance_identifier', lowered: true },
};

export type IdentityProviderResult = ResourceResult;

/** The row (indexed columns + JSON document) of an identity provider representation. */
function identityProviderRow(id: string, doc: Doc, version: number, created: string, lastModified: string): IdentityProviderEntity {
  return {
    id,
    // The columns are bounded (an index on PostgreSQL); say so rather than let the database refuse the row.
    partnerName: fitColumn(doc.partnerName as string, 255, 'partnerName')!,
    partnerNameLower: fitColumn((doc.partnerName as string).toLowerCase(), 255, 'partnerName')!,
    partnerProviderId: fitColumn((doc.partnerProviderId as string | undefined) ?? null, 1024, 'partnerProviderId'),
    succinctId: fitColumn((doc.succinctId as string | undefined) ?? null, 255, 'succinctId'),
    serviceInstanceIdentifier: fitColumn((doc.serviceInstanceIdentifier as string | undefined)?.toLowerCase() ?? null, 255, 'serviceInstanceIdentifier'),
    type: doc.type as string,
    enabled: doc.enabled === true,
    data: JSON.stringify(doc),
    version,
    created,
    lastModified,
  };
}

/** Which unique value a write collided on, from the index or column the database names. */
function conflictDetail(message: string): string {
  if (/provider_id/.test(message)) return 'Another identity provider already has this partnerProviderId (IdP entity ID)';
  if (/succinct_id/.test(message)) return 'Another identity provider already has this succinctId';
  if (/service_instance_identifier/.test(message)) return 'Another identity provider already has this serviceInstanceIdentifier (unique, ignoring case)';
  return 'Another identity provider already has this partnerName (names are unique, ignoring case)';
}

/** The IdentityProviders resource: validation of SAML and JIT settings, metadata import, the linked MappedAttribute. */
@Injectable()
export class IdentityProvidersService implements OnModuleInit {
  private readonly repo: DocumentRepository<IdentityProviderEntity>;
  private readonly pipeline: ResourcePipeline<IdentityProviderEntity>;

  /** Sign-in configurations by the versions they were built from (signInConfiguration). */
  private readonly signInConfigurations = new SignInConfigurationCache();

  constructor(
    private readonly db: Database,
    private readonly urls: PublicUrl,
    private readonly audit: AuditService,
    private readonly mapped: MappedAttributesService,
    private readonly jit: JitLoginService,
    private readonly groups: GroupsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.repo = new DocumentRepository(IdentityProviderEntity, rt, COLUMNS, () => db.dialect);
    this.pipeline = new ResourcePipeline(db, urls, {
      rt,
      noun: 'identity provider',
      table: this.repo,
      list: (m, query) => this.repo.list(m, query),
      toRow: identityProviderRow,
      conflict: (e) => ScimError.conflict(conflictDetail(String((e as Error).message ?? ''))),
      render: (m, _row, doc) => this.render(m, doc),
    });
  }

  async onModuleInit(): Promise<void> {
    await encryptConsumerSecretsAtRest(this.db, secretBoxFor(this.config.secrets), new Logger('IdentityProviders'));
  }

  create(body: unknown, request: ProjectionRequest, actor: Actor): Promise<IdentityProviderResult> {
    const doc = normalizeResource(rt, body);
    if (doc.jitUserProvAttributes !== undefined) {
      throw ScimError.badRequest('mutability', 'jitUserProvAttributes is set by the service when the identity provider is created; leave it out');
    }
    doc.type ??= 'SAML';
    const secret = takeConsumerSecret(doc);
    prepareIdentityProvider(doc, new Set(Object.keys(doc)), true, undefined);
    checkConsumerSecret(doc, secret, false);
    const id = newId();
    return this.pipeline.create(doc, request, {
      id,
      extraColumns: secret === undefined ? undefined : { consumerSecret: this.sealConsumerSecret(id, secret) },
      before: async (m, id) => {
        await this.checkGroups(m, doc);
        const mappedId = await this.mapped.createForIdentityProvider(m, id, actor);
        doc.jitUserProvAttributes = { value: mappedId, $ref: this.urls.resource('/MappedAttributes', mappedId) };
      },
      written: this.audited(actor),
      by: writerOf(actor),
    });
  }

  get(id: string, request: ProjectionRequest): Promise<IdentityProviderResult> {
    return this.pipeline.get(id, request);
  }

  list(query: ListQuery): Promise<Doc> {
    return this.pipeline.list(query);
  }

  replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<IdentityProviderResult> {
    const incoming = normalizeResource(rt, body);
    const explicit = new Set(Object.keys(incoming));
    return this.mutate(id, ifMatch, request, actor, (old) => {
      const doc = structuredClone(incoming);
      // Attributes the service owns and clients rarely echo back are kept when a PUT leaves them out.
      doc.type ??= old.type;
      doc.jitUserProvAttributes ??= old.jitUserProvAttributes;
      // Never returned, so a client that GETs and PUTs back cannot echo it: leaving it out keeps it (PATCH removes it).
      if (doc.serviceInstanceIdentifier === undefined && old.serviceInstanceIdentifier !== undefined) doc.serviceInstanceIdentifier = old.serviceInstanceIdentifier;
      // `$ref` follows from `value` and the OCI SDK model makes it optional: the same value without it changes nothing.
      const linked = doc.jitUserProvAttributes as Doc | undefined;
      if (linked && linked.$ref === undefined && linked.value === (old.jitUserProvAttributes as Doc | undefined)?.value) doc.jitUserProvAttributes = old.jitUserProvAttributes;
      prepareIdentityProvider(doc, explicit, doc.metadata !== undefined, old);
      return doc;
    });
  }

  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<IdentityProviderResult> {
    const ops = parsePatchRequest(rt, body);
    return this.mutate(id, ifMatch, request, actor, (old) => patchedIdentityProvider(old, ops));
  }

  /**
   * Replace or patch through another view of the same identity providers (SocialIdentityProviders): `change`
   * computes the new representation from the stored one (it may throw, e.g. a 404 for an IdP the view does not
   * show), and it is then validated and written as this resource's own changes are: one version, one audit trail,
   * the consumerSecret sealed in its column. The answer is this resource's representation.
   */
  changeThroughView(id: string, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor, change: (old: Doc) => Doc): Promise<IdentityProviderResult> {
    return this.mutate(id, ifMatch, request, actor, (old) => {
      const doc = normalizeResource(rt, change(old));
      // The views show no metadata: nothing is imported, so no attribute counts as given explicitly over it.
      prepareIdentityProvider(doc, new Set(), false, old);
      return doc;
    });
  }

  delete(id: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    return this.pipeline.delete(id, ifMatch, {
      written: async (m, w) => {
        await this.mapped.deleteForIdentityProvider(m, id, actor);
        await this.audited(actor)(m, w);
      },
    });
  }

  /**
   * What a sign-in with this NameID and these attributes (or this assertion XML, unverified) would do with the
   * current configuration: the user matched, created or the rejection, attribute changes and group moves.
   * Writes nothing.
   */
  async jitPreview(id: string, body: unknown): Promise<Doc> {
    const { assertion, claims } = previewAssertionOf(body);
    const config = await this.signInConfiguration({ id });
    if (!config) throw this.pipeline.notFound(id);
    if (claims && !config.oidc) throw ScimError.badRequest('invalidValue', `"claims" are what OpenID Connect (SOCIAL) identity providers assert; this one is of type ${config.type}: give "nameId" and "attributes", or "assertion"`);
    assertion.issuer ||= config.saml.entityId;
    // What sign-in refuses before it plans (sso.controller.ts, saml-login.service.ts), after the same check of `enabled`.
    if (config.enabled && config.unsupported) return { matchedUser: null, outcome: 'reject', reason: config.unsupported.reason, detail: config.unsupported.detail };
    // An OpenID Connect sign-in finds its user by the subject's link first, and links only as the IdP allows.
    const federated = config.oidc ? federatedSubjectOf(claims ?? { sub: assertion.nameId }, config.oidc.accountLinkingEnabled, config.jit) : undefined;
    const { plan, user, groupNames } = await this.jit.preview(config.jit, assertion, federated);
    const groups = (ids: string[]) => ids.map((g) => ({ value: g, display: groupNames.get(g) }));
    const base = { matchedUser: user ?? null };
    switch (plan.kind) {
      case 'reject':
        return { ...base, outcome: 'reject', reason: plan.reason, detail: plan.detail, ...(plan.clause ? { clause: plan.clause } : {}) };
      case 'signIn':
        return { ...base, outcome: 'signIn', attributeChanges: [], groupsJoined: [], groupsLeft: [], groupsSkipped: [] };
      case 'create':
        return { ...base, outcome: 'create', newUser: plan.user, attributeChanges: plan.changes, groupsJoined: groups(plan.join), groupsLeft: [], groupsSkipped: plan.skipped };
      case 'update':
        return { ...base, outcome: 'update', attributeChanges: plan.changes, groupsJoined: groups(plan.join), groupsLeft: groups(plan.leave), groupsSkipped: plan.skipped };
    }
  }

  /**
   * A change of an identity provider computed by the metadata refresher (metadata-refresh.service.ts) from the
   * stored representation, written through the same pipeline as an administrator's: a new version only when
   * `change` returns a different representation, audited as admin.IdentityProvider.update by `actor`. Returns
   * whether a version was written.
   */
  async applyMetadataRefresh(id: string, actor: Actor, change: (old: Doc) => Doc): Promise<boolean> {
    let written = false;
    const audited = this.audited(actor);
    await this.pipeline.mutate(
      id,
      undefined,
      { attributes: ['id'] },
      (_m, old) => ({ doc: change(old) }),
      async (m, w) => {
        written = true;
        await audited(m, w);
      },
      writerOf(actor),
    );
    return written;
  }

  /**
   * What a sign-in through this IdP needs of it (SAML settings and JIT configuration), read once: the sign-in and
   * the JIT preview both work from this one reading of the row. Undefined when no IdP matches `ref`.
   */
  signInConfiguration(ref: IdentityProviderRef): Promise<SignInConfiguration | undefined> {
    return this.db.read(async (m) => {
      // The versions first (one statement): a configuration built from them before is used as it is. Through
      // TypeORM's query runner, which logs it as every read.
      const keys = await signInConfigurationKeys({ escape: this.db.sql(m).escape, query: (text, params) => m.query(text, params) }, ref);
      if (keys.length === 0) return undefined;
      const cached = keys.length === 1 ? this.signInConfigurations.get(keys[0]) : undefined;
      if (cached) return cached;
      const row = await findIdentityProviderRow(m, ref);
      if (!row) return undefined;
      const mapped = await this.mapped.findRowForIdentityProvider(m, row.id);
      const config = signInConfigurationOf(row, mapped ? (JSON.parse(mapped.data) as Doc) : undefined);
      if (keys.length === 1) this.signInConfigurations.set({ id: row.id, version: row.version, mapped: mappedAttributeKey(mapped) }, config);
      return config;
    });
  }

  /** Identity providers whose JIT settings point at a group, for the group-deletion check. */
  async referencesTo(m: EntityManager, groupId: string): Promise<{ row: IdentityProviderEntity; doc: Doc; where: string[] }[]> {
    // JIT settings are not indexed by group; identity providers are few, so a scan narrowed by LIKE is cheap.
    const rows = await m.createQueryBuilder(IdentityProviderEntity, 'r').where('r.data LIKE :p', { p: `%${groupId}%` }).getMany();
    const out = [];
    for (const row of rows) {
      const doc = JSON.parse(row.data) as Doc;
      const where = [...referencedGroupIds(doc).entries()].filter(([gid]) => gid === groupId).map(([, w]) => w);
      if (where.length) out.push({ row, doc, where });
    }
    return out;
  }

  /**
   * Removes a group from every identity provider's JIT settings (forceDelete of the group), as `actor`, who must
   * be allowed to change identity providers (403 otherwise).
   */
  async removeGroupReferences(m: EntityManager, groupId: string, actor: Actor): Promise<void> {
    const refs = await this.referencesTo(m, groupId);
    // Users and Groups are writable by roles that may not touch identity providers (UserAdministrator, provisioning
    // tokens). Without this check, deleting a group would let them rewrite an IdP's JIT group assignment.
    const allowed: readonly Role[] = Access.identityProviders.write;
    if (refs.length && !actor.principal?.roles.some((r) => allowed.includes(r))) {
      const idps = refs.map((r) => `identity provider "${r.row.partnerName}" (${r.where.join(', ')})`).join('; ');
      throw new ScimError(
        403,
        `Deleting this group with forceDelete would remove it from the JIT settings of ${idps}: that needs one of the roles ${allowed.join(', ')}; the caller has ${actor.principal?.roles.join(', ') || 'none'}`,
      );
    }
    for (const { row, doc: old } of refs) {
      const doc = structuredClone(old);
      for (const list of GROUP_REFERENCE_LISTS) {
        const owner = groupReferenceOwner(doc, list);
        if (!owner || owner[list.key] === undefined) continue;
        owner[list.key] = (owner[list.key] as Doc[]).filter((g) => g.value !== groupId);
        if (!(owner[list.key] as Doc[]).length) delete owner[list.key];
      }
      // An emptied static list would violate the JIT rules; the list is off once it has no groups.
      if (!doc.jitUserProvAssignedGroups) doc.jitUserProvGroupStaticListEnabled = false;
      const social = doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
      if (social?.jitProvGroupStaticListEnabled === true && !social.jitProvAssignedGroups) social.jitProvGroupStaticListEnabled = false;
      const next = await this.pipeline.update(m, row, doc, undefined, writerOf(actor));
      if (!next) throw new ScimError(409, `Identity provider "${row.partnerName}" is being changed by another request; retry the deletion`);
      await this.audited(actor)(m, { action: 'update', row: next, before: old, after: doc });
    }
  }

  /** Refuses (400) a representation whose JIT settings name a group that does not exist. */
  async checkGroups(m: EntityManager, doc: Doc): Promise<void> {
    const refs = referencedGroupIds(doc);
    if (!refs.size) return;
    const found = new Set((await this.groups.namesByIds(m, [...refs.keys()])).map((g) => g.id));
    for (const [id, where] of refs) {
      if (!found.has(id)) throw ScimError.badRequest('invalidValue', `${where}: no group with id "${id}"`, 'error.common.validation.invalidReferenceResource');
    }
  }

  private mutate(id: string, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor, change: (old: Doc) => Doc): Promise<IdentityProviderResult> {
    return this.pipeline.mutate(
      id,
      ifMatch,
      request,
      async (m, old, current) => {
        const doc = change(old);
        const secret = this.consumerSecretChange(current, doc);
        await this.checkGroups(m, doc);
        return { doc, ...secret };
      },
      this.audited(actor),
      writerOf(actor),
    );
  }

  /**
   * The consumerSecret column after a change: the secret given is sealed anew only when it differs from the stored
   * one (the same secret sent again is no new version); a change that leaves it out keeps it; it goes with the
   * social extension. Takes the secret out of `doc`.
   */
  private consumerSecretChange(current: IdentityProviderEntity, doc: Doc): Pick<ResourceChange<IdentityProviderEntity>, 'alsoChanged' | 'extraColumns'> {
    const given = takeConsumerSecret(doc);
    const stored = current.consumerSecret ?? null;
    checkConsumerSecret(doc, given, stored !== null);
    if (doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] === undefined) return stored === null ? {} : { alsoChanged: true, extraColumns: { consumerSecret: null } };
    if (given === undefined || (stored !== null && this.openConsumerSecret(current.id, stored) === given)) return {};
    return { alsoChanged: true, extraColumns: { consumerSecret: this.sealConsumerSecret(current.id, given) } };
  }

  private sealConsumerSecret(idpId: string, secret: string): string {
    return secretBoxFor(this.config.secrets).seal(secret, consumerSecretContext(idpId));
  }

  /** The stored secret, or undefined when the configured keys cannot open it: the one given is then sealed anew. */
  private openConsumerSecret(idpId: string, envelope: string): string | undefined {
    try {
      return secretBoxFor(this.config.secrets).open(envelope, consumerSecretContext(idpId), `the consumerSecret of identity provider ${idpId}`);
    } catch {
      return undefined;
    }
  }

  private audited(actor: Actor) {
    // Expired signing certificates are accepted (signing-keys.ts); the write's audit event and the log say so.
    return this.audit.resourceWrites<IdentityProviderEntity>(rt, actor, (row) => row.partnerName, (w) => {
      const warnings = signingKeyWarnings(w.after);
      if (!warnings.length) return undefined;
      new Logger('IdentityProviders').warn(`identity provider ${w.row.id} "${w.row.partnerName}": ${warnings.join('; ')}`);
      return warnings.join('; ');
    });
  }

  /** The stored representation with what other rows hold: the names of the groups JIT maps to. */
  private async render(m: EntityManager, stored: Doc): Promise<Doc> {
    const doc = { ...stored };
    const groupIds = [...referencedGroupIds(doc).keys()];
    if (groupIds.length) {
      const names = new Map((await this.groups.namesByIds(m, groupIds)).map((g) => [g.id, g.displayName]));
      for (const list of GROUP_REFERENCE_LISTS) {
        const items = groupReferenceOwner(doc, list)?.[list.key] as Doc[] | undefined;
        if (!items?.length) continue;
        const rendered = items.map((g) => ({ ...g, $ref: this.urls.resource('/Groups', String(g.value)), display: names.get(String(g.value)) }));
        // Copied, not changed in place: the stored document may be the one just written and audited.
        if (list.extension) doc[list.extension] = { ...(doc[list.extension] as Doc), [list.key]: rendered };
        else doc[list.key] = rendered;
      }
    }
    const social = doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] as Doc | undefined;
    // Ours, whatever was sent (identity-provider-rules.ts drops a value given).
    if (doc.type === 'SOCIAL' && social) doc[SOCIAL_IDENTITY_PROVIDER_SCHEMA_ID] = { ...social, redirectUrl: socialRedirectUrl(this.urls.base) };
    return withSigningKeyStatus({ ...doc, tenantProviderId: `${this.urls.base}/fed` });
  }
}
