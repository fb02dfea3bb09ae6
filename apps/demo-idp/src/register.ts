/**
 * Registers the demo IdP with the identity server through its REST API, exactly as an administrator would:
 * a token, two groups, the IdentityProvider (from the IdP's metadata, JIT on), then its MappedAttribute (the OCI
 * tutorial's mappings).
 */
import { adminApi, clientCredentialsToken, createGroup, createJitIdentityProvider, groupsFromAssertion } from '@app/fixtures';

export const DEMO_IDP_NAME = 'Demo IdP';

/** Local groups the demo creates, and the IdP group that JIT maps to each (explicit mapping). */
export const DEMO_GROUPS = [
  { idpGroup: 'Administrators', displayName: 'Domain Administrators' },
  { idpGroup: 'Engineering', displayName: 'Engineers' },
] as const;

export interface RegisterDemoIdpOptions {
  /** Where to call the identity server, e.g. http://127.0.0.1:3000. */
  apiUrl: string;
  /** An administrator client (IdentityDomainAdministrator, or SecurityAdministrator + UserAdministrator). */
  clientId: string;
  clientSecret: string;
  /** Where to GET the demo IdP's SAML metadata. */
  idpMetadataUrl: string;
  partnerName?: string;
}

export interface DemoRegistration {
  idpId: string;
  partnerName: string;
  mappedAttributeId: string;
  /** The local groups created, with the IdP group mapped to each. */
  groups: { idpGroup: string; displayName: string; id: string }[];
}

export async function registerDemoIdp(options: RegisterDemoIdpOptions): Promise<DemoRegistration> {
  const partnerName = options.partnerName ?? DEMO_IDP_NAME;
  const admin = adminApi(options.apiUrl, await clientCredentialsToken(options.apiUrl, options.clientId, options.clientSecret));
  const groups: DemoRegistration['groups'] = [];
  for (const g of DEMO_GROUPS) groups.push({ ...g, id: await createGroup(admin, g.displayName) });
  const metadata = await (await fetchOk(options.idpMetadataUrl)).text();
  const { idpId, mappedAttributeId } = await createJitIdentityProvider(admin, {
    partnerName,
    metadata,
    settings: {
      type: 'SAML',
      nameIdFormat: 'saml-emailaddress',
      authnRequestBinding: 'Redirect',
      // Single logout both ways; the logout URLs come from the IdP's metadata (SingleLogoutService).
      logoutEnabled: true,
      logoutBinding: 'Redirect',
      userMappingMethod: 'NameIDToUserAttribute',
      userMappingStoreAttribute: 'userName',
      ...groupsFromAssertion(groups.map((g) => ({ idpGroup: g.idpGroup, value: g.id }))),
      jitUserProvGroupMappingMode: 'explicit',
      jitUserProvGroupAssignmentMethod: 'Merge',
      jitUserProvIgnoreErrorOnAbsentGroups: true,
    },
  });
  return { idpId, partnerName, mappedAttributeId, groups };
}

/** The sign-in link for an IdP: `${publicUrl}/fed/v1/sp/initiatesso?idp=<partnerName>`. */
export function initiateSsoUrl(publicUrl: string, partnerName = DEMO_IDP_NAME): string {
  return `${publicUrl.replace(/\/+$/, '')}/fed/v1/sp/initiatesso?idp=${encodeURIComponent(partnerName)}`;
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
}
