import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database } from '@app/persistence';
import { Doc } from '@app/scim';
import { compileAttributeMappings } from './attribute-mappings';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { MappedAttributesService } from './mapped-attributes.service';
import { JitConfig } from './planner';

/** The parts of a stored IdentityProvider that JIT reads: its row's id, name and enabled flag, and its representation. */
export interface StoredIdentityProvider {
  id: string;
  partnerName: string;
  enabled: boolean;
  doc: Doc;
}

/** The planner's view of an IdP's stored jitUserProv* settings, user mapping and MappedAttribute. Pure. */
export function jitConfigOf(idp: StoredIdentityProvider, mappedAttribute: Doc | undefined): JitConfig {
  const d = idp.doc;
  const groupMappings = (d.jitUserProvGroupMappings as Doc[] | undefined) ?? [];
  return {
    idpId: idp.id,
    idpName: idp.partnerName,
    idpEnabled: idp.enabled,
    enabled: d.jitUserProvEnabled === true,
    createUser: d.jitUserProvCreateUserEnabled === true,
    updateUser: d.jitUserProvAttributeUpdateEnabled === true,
    lookup: {
      method: (d.userMappingMethod as JitConfig['lookup']['method']) ?? 'NameIDToUserAttribute',
      storeAttribute: (d.userMappingStoreAttribute as JitConfig['lookup']['storeAttribute']) ?? 'userName',
      assertionAttribute: d.assertionAttribute as string | undefined,
    },
    mappings: compileAttributeMappings(mappedAttribute?.attributeMappings as Doc[] | undefined),
    groups: {
      fromAssertion: d.jitUserProvGroupAssertionAttributeEnabled === true,
      attributeName: d.jitUserProvGroupSAMLAttributeName as string | undefined,
      mode: (d.jitUserProvGroupMappingMode as GroupMappingMode) ?? GroupMappingMode.Explicit,
      explicit: new Map(groupMappings.map((g) => [String(g.idpGroup), String(g.value)])),
      staticList: d.jitUserProvGroupStaticListEnabled === true,
      staticGroupIds: ((d.jitUserProvAssignedGroups as Doc[] | undefined) ?? []).map((g) => String(g.value)),
      method: (d.jitUserProvGroupAssignmentMethod as GroupAssignmentMethod) ?? GroupAssignmentMethod.Overwrite,
      // Stored IdPs always carry the value (applyJitSettingsRules fills the IDCS default by mode).
      ignoreAbsent: d.jitUserProvIgnoreErrorOnAbsentGroups !== false,
    },
  };
}

/**
 * Loads an IdP's JIT configuration at sign-in time. It reads the identity_providers row by table rather than
 * through IdentityProvidersService because the identity-providers module depends on this one (it validates
 * the jitUserProv* rules with them); importing it back would make a cycle.
 */
@Injectable()
export class JitRuntimeConfig {
  constructor(
    private readonly db: Database,
    private readonly mapped: MappedAttributesService,
  ) {}

  /** The configuration of IdP `idpId`, or undefined when there is no such IdP. */
  get(idpId: string): Promise<JitConfig | undefined> {
    return this.db.read((m) => this.load(m, idpId));
  }

  /** Same as get, inside the caller's transaction (so the sign-in plans against what it then writes beside). */
  async load(m: EntityManager, idpId: string): Promise<JitConfig | undefined> {
    const rows: { id: string; partner_name: string; enabled: boolean | number; data: string }[] = await m
      .createQueryBuilder()
      .select(['i.id AS id', 'i.partner_name AS partner_name', 'i.enabled AS enabled', 'i.data AS data'])
      .from('identity_providers', 'i')
      .where('i.id = :idpId', { idpId })
      .getRawMany();
    if (!rows.length) return undefined;
    const r = rows[0];
    const idp: StoredIdentityProvider = { id: r.id, partnerName: r.partner_name, enabled: r.enabled === true || r.enabled === 1, doc: JSON.parse(r.data) as Doc };
    return jitConfigOf(idp, await this.mapped.findForIdentityProvider(m, idpId));
  }
}
