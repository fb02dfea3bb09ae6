import { Doc } from '@app/scim/core';
import { compileMappedAttribute } from './attribute-mappings';
import { GroupAssignmentMethod, GroupMappingMode } from './jit-settings';
import { JitConfig } from './planner';
import { JIT_POLICY_EXTENSION_ID, signInGateOf } from './sign-in-gate';
import { DEFAULT_INPUT_RETENTION_DAYS } from './sign-in-inputs';

function retentionDaysOf(policy: Doc | undefined): number {
  const days = policy?.signInInputRetentionDays;
  return typeof days === 'number' && Number.isInteger(days) && days >= 0 ? days : DEFAULT_INPUT_RETENTION_DAYS;
}

/** The parts of a stored IdentityProvider that JIT reads: its row's id, name and enabled flag, and its representation. */
export interface StoredIdentityProvider {
  id: string;
  partnerName: string;
  enabled: boolean;
  doc: Doc;
}

/**
 * The planner's view of an IdP's stored jitUserProv* settings, user mapping and MappedAttribute. Pure: the
 * identity-providers library, which owns the row, reads it once per sign-in and hands the result to JIT.
 */
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
      storeAttribute: (d.userMappingStoreAttribute as string | undefined) ?? 'userName',
      assertionAttribute: d.assertionAttribute as string | undefined,
    },
    gate: signInGateOf(d[JIT_POLICY_EXTENSION_ID] as Doc | undefined),
    inputRetentionDays: retentionDaysOf(d[JIT_POLICY_EXTENSION_ID] as Doc | undefined),
    mappings: compileMappedAttribute(mappedAttribute),
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
