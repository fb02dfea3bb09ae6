import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '@app/audit';
import { Access, Role } from '@app/auth';
import { GroupsRepository } from '@app/groups';
import { JitLoginService, MappedAttributesService, referencedGroupIds } from '@app/jit';
import { Database } from '@app/persistence';
import {
  applyPatch,
  Doc,
  DocumentRepository,
  ListQuery,
  normalizeResource,
  parsePatchRequest,
  ProjectionRequest,
  PublicUrl,
  ResourcePipeline,
  ResourceResult,
  ScimError,
  SqlExpr,
  fitColumn,
} from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
import { IDENTITY_PROVIDER_RESOURCE_TYPE } from './identity-provider.schema';
import { prepareIdentityProvider, previewAssertionOf } from './identity-provider-rules';
import { findIdentityProviderRow, IdentityProviderRef, SignInConfiguration, signInConfigurationOf } from './sign-in-configuration';

const rt = IDENTITY_PROVIDER_RESOURCE_TYPE;

/** Attributes stored in columns of their own, for filters and sorting. */
const COLUMNS: Record<string, SqlExpr> = {
  partnerName: { expr: 'r.partner_name_lower', lowered: true },
  partnerProviderId: { expr: 'r.partner_provider_id' },
  type: { expr: 'r.type' },
  enabled: { expr: 'r.enabled' },
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
    type: doc.type as string,
    enabled: doc.enabled === true,
    data: JSON.stringify(doc),
    version,
    created,
    lastModified,
  };
}

/** The IdentityProviders resource: validation of SAML and JIT settings, metadata import, the linked MappedAttribute. */
@Injectable()
export class IdentityProvidersService {
  private readonly repo: DocumentRepository<IdentityProviderEntity>;
  private readonly pipeline: ResourcePipeline<IdentityProviderEntity>;

  constructor(
    private readonly db: Database,
    private readonly urls: PublicUrl,
    private readonly audit: AuditService,
    private readonly mapped: MappedAttributesService,
    private readonly jit: JitLoginService,
    private readonly groups: GroupsRepository,
  ) {
    this.repo = new DocumentRepository(IdentityProviderEntity, rt, COLUMNS, () => db.dialect);
    this.pipeline = new ResourcePipeline(db, urls, {
      rt,
      noun: 'identity provider',
      table: this.repo,
      list: (m, query) => this.repo.list(m, query),
      toRow: identityProviderRow,
      conflict: (e) =>
        ScimError.conflict(
          /provider_id/.test(String((e as Error).message ?? ''))
            ? 'Another identity provider already has this partnerProviderId (IdP entity ID)'
            : 'Another identity provider already has this partnerName (names are unique, ignoring case)',
        ),
      render: (m, _row, doc) => this.render(m, doc),
    });
  }

  create(body: unknown, request: ProjectionRequest, actor: Actor): Promise<IdentityProviderResult> {
    const doc = normalizeResource(rt, body);
    if (doc.jitUserProvAttributes !== undefined) {
      throw ScimError.badRequest('mutability', 'jitUserProvAttributes is set by the service when the identity provider is created; leave it out');
    }
    doc.type ??= 'SAML';
    prepareIdentityProvider(doc, new Set(Object.keys(doc)), true, undefined);
    return this.pipeline.create(doc, request, {
      before: async (m, id) => {
        await this.checkGroups(m, doc);
        const mappedId = await this.mapped.createForIdentityProvider(m, id, actor);
        doc.jitUserProvAttributes = { value: mappedId, $ref: this.urls.resource('/MappedAttributes', mappedId) };
      },
      written: this.audited(actor),
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
      // `$ref` follows from `value` and the OCI SDK model makes it optional: the same value without it changes nothing.
      const linked = doc.jitUserProvAttributes as Doc | undefined;
      if (linked && linked.$ref === undefined && linked.value === (old.jitUserProvAttributes as Doc | undefined)?.value) doc.jitUserProvAttributes = old.jitUserProvAttributes;
      prepareIdentityProvider(doc, explicit, doc.metadata !== undefined, old);
      return doc;
    });
  }

  patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: Actor): Promise<IdentityProviderResult> {
    const ops = parsePatchRequest(rt, body);
    const explicit = new Set(ops.filter((o) => o.path.attribute.name !== 'metadata').map((o) => o.path.attribute.name));
    return this.mutate(id, ifMatch, request, actor, (old) => {
      const doc = normalizeResource(rt, applyPatch(old, ops));
      prepareIdentityProvider(doc, explicit, doc.metadata !== undefined && doc.metadata !== old.metadata, old);
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
    const assertion = previewAssertionOf(body);
    const config = await this.signInConfiguration({ id });
    if (!config) throw this.pipeline.notFound(id);
    assertion.issuer ||= config.saml.entityId;
    const { plan, user, groupNames } = await this.jit.preview(config.jit, assertion);
    const groups = (ids: string[]) => ids.map((g) => ({ value: g, display: groupNames.get(g) }));
    const base = { matchedUser: user ?? null };
    switch (plan.kind) {
      case 'reject':
        return { ...base, outcome: 'reject', reason: plan.reason, detail: plan.detail };
      case 'signIn':
        return { ...base, outcome: 'signIn', attributeChanges: [], groupsJoined: [], groupsLeft: [], groupsSkipped: [] };
      case 'create':
        return { ...base, outcome: 'create', newUser: plan.user, attributeChanges: plan.changes, groupsJoined: groups(plan.join), groupsLeft: [], groupsSkipped: plan.skipped };
      case 'update':
        return { ...base, outcome: 'update', attributeChanges: plan.changes, groupsJoined: groups(plan.join), groupsLeft: groups(plan.leave), groupsSkipped: plan.skipped };
    }
  }

  /**
   * What a sign-in through this IdP needs of it (SAML settings and JIT configuration), read once: the sign-in and
   * the JIT preview both work from this one reading of the row. Undefined when no IdP matches `ref`.
   */
  signInConfiguration(ref: IdentityProviderRef): Promise<SignInConfiguration | undefined> {
    return this.db.read(async (m) => {
      const row = await findIdentityProviderRow(m, ref);
      return row ? signInConfigurationOf(row, await this.mapped.findForIdentityProvider(m, row.id)) : undefined;
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
      doc.jitUserProvGroupMappings = ((doc.jitUserProvGroupMappings as Doc[] | undefined) ?? []).filter((g) => g.value !== groupId);
      doc.jitUserProvAssignedGroups = ((doc.jitUserProvAssignedGroups as Doc[] | undefined) ?? []).filter((g) => g.value !== groupId);
      for (const k of ['jitUserProvGroupMappings', 'jitUserProvAssignedGroups']) if (!(doc[k] as unknown[]).length) delete doc[k];
      // An emptied static list would violate the JIT rules; the list is off once it has no groups.
      if (!doc.jitUserProvAssignedGroups) doc.jitUserProvGroupStaticListEnabled = false;
      const next = await this.pipeline.update(m, row, doc);
      if (!next) throw new ScimError(409, `Identity provider "${row.partnerName}" is being changed by another request; retry the deletion`);
      await this.audited(actor)(m, { action: 'update', row: next, before: old, after: doc });
    }
  }

  private async checkGroups(m: EntityManager, doc: Doc): Promise<void> {
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
      async (m, old) => {
        const doc = change(old);
        await this.checkGroups(m, doc);
        return { doc };
      },
      this.audited(actor),
    );
  }

  private audited(actor: Actor) {
    return this.audit.resourceWrites<IdentityProviderEntity>(rt, actor, (row) => row.partnerName);
  }

  /** The stored representation with what other rows hold: the names of the groups JIT maps to. */
  private async render(m: EntityManager, stored: Doc): Promise<Doc> {
    const doc = { ...stored };
    const groupIds = [...referencedGroupIds(doc).keys()];
    if (groupIds.length) {
      const names = new Map((await this.groups.namesByIds(m, groupIds)).map((g) => [g.id, g.displayName]));
      for (const key of ['jitUserProvGroupMappings', 'jitUserProvAssignedGroups']) {
        doc[key] = ((doc[key] as Doc[] | undefined) ?? []).map((g) => ({ ...g, $ref: this.urls.resource('/Groups', String(g.value)), display: names.get(String(g.value)) }));
        if (!(doc[key] as Doc[]).length) delete doc[key];
      }
    }
    return { ...doc, tenantProviderId: `${this.urls.base}/fed` };
  }
}
