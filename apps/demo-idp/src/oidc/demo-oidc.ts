/**
 * The demo's OpenID Connect provider: its people, its client, and its registration with the identity server
 * through the REST API, as an administrator would make it (like registerDemoIdp for the SAML demo IdP).
 */
import { adminApi, AdminApi, clientCredentialsToken, createGroup, createOidcIdentityProvider, groupsFromAssertion, OIDC_CALLBACK_PATH, requireStatus } from '@app/fixtures';
import { DEMO_GROUPS } from '../register';
import type { OidcAccount, OidcClientSpec } from './oidc-provider-options';

export const DEMO_OIDC_IDP_NAME = 'Demo OpenID Provider';

/**
 * The people of the demo OpenID provider: other people than the SAML demo IdP's, so that each sign-in creates
 * its own users. `uniqueUserId` becomes the userName; their `groups` use the SAML demo's IdP group names, mapped
 * to the same local groups ("Contractors" is mapped to nothing and ignored).
 */
export const DEMO_OIDC_ACCOUNTS: readonly OidcAccount[] = [
  demoAccount('dana', 'Dana', 'Diaz', ['Administrators']),
  demoAccount('erik', 'Erik', 'Eriksen', ['Engineering', 'Contractors']),
  demoAccount('fatima', 'Fatima', 'Farouk', ['Administrators', 'Engineering']),
];

/** The identity server's client at the demo provider: fixed, as the demo's admin client is. Demo only. */
export function demoOidcClient(publicUrl: string): OidcClientSpec {
  return { clientId: 'identity-domain-demo', clientSecret: 'identity-domain-demo-secret-0123456789', redirectUris: [`${publicUrl.replace(/\/+$/, '')}${OIDC_CALLBACK_PATH}`] };
}

export interface RegisterDemoOidcIdpOptions {
  /** Where to call the identity server, e.g. http://127.0.0.1:3000. */
  apiUrl: string;
  /** An administrator client (IdentityDomainAdministrator, or SecurityAdministrator + UserAdministrator). */
  clientId: string;
  clientSecret: string;
  /** The provider's discovery document, `${issuer}/.well-known/openid-configuration`. */
  discoveryUrl: string;
  /** The server's client at the provider (demoOidcClient). */
  oidcClient: OidcClientSpec;
  partnerName?: string;
}

export interface DemoOidcRegistration {
  idpId: string;
  partnerName: string;
  mappedAttributeId: string;
  /** The local groups mapped, with the IdP group mapped to each. */
  groups: { idpGroup: string; displayName: string; id: string }[];
}

/**
 * Registers the demo OpenID provider: the DEMO_GROUPS (found by name, made when missing: the SAML registration
 * may have made them), then the `SOCIAL` IdentityProvider with JIT on (create and update; `groups` with explicit
 * mappings, Merge, unmapped groups ignored) and its MappedAttribute (OIDC_MAPPINGS).
 */
export async function registerDemoOidcIdp(options: RegisterDemoOidcIdpOptions): Promise<DemoOidcRegistration> {
  const partnerName = options.partnerName ?? DEMO_OIDC_IDP_NAME;
  const admin = adminApi(options.apiUrl, await clientCredentialsToken(options.apiUrl, options.clientId, options.clientSecret));
  const groups: DemoOidcRegistration['groups'] = [];
  for (const g of DEMO_GROUPS) groups.push({ ...g, id: await groupNamed(admin, g.displayName) });
  const { idpId, mappedAttributeId } = await createOidcIdentityProvider(admin, {
    partnerName,
    clientId: options.oidcClient.clientId,
    clientSecret: options.oidcClient.clientSecret,
    discoveryUrl: options.discoveryUrl,
    settings: {
      ...groupsFromAssertion(groups.map((g) => ({ idpGroup: g.idpGroup, value: g.id }))),
      jitUserProvGroupMappingMode: 'explicit',
      jitUserProvGroupAssignmentMethod: 'Merge',
      jitUserProvIgnoreErrorOnAbsentGroups: true,
    },
  });
  return { idpId, partnerName, mappedAttributeId, groups };
}

/** The id of the local group with this display name, made when there is none. */
async function groupNamed(admin: AdminApi, displayName: string): Promise<string> {
  const found = await admin.api('GET', `/admin/v1/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}&attributes=id`);
  requireStatus('GET /admin/v1/Groups', found, 200);
  return found.body.Resources?.[0]?.id ?? createGroup(admin, displayName);
}

function demoAccount(id: string, givenName: string, familyName: string, groups: string[]): OidcAccount {
  const email = `${id}@example.com`;
  return { sub: `demo-${id}`, claims: { uniqueUserId: email, name: `${givenName} ${familyName}`, given_name: givenName, family_name: familyName, email, email_verified: true, groups } };
}
