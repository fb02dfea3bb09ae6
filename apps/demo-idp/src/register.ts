/**
 * Registers the demo IdP with the identity server through its REST API, exactly as an administrator would:
 * a token, two groups, the IdentityProvider (from the IdP's metadata, JIT on), then its MappedAttribute.
 */

export const DEMO_IDP_NAME = 'Demo IdP';

/** Local groups the demo creates, and the IdP group that JIT maps to each (explicit mapping). */
export const DEMO_GROUPS = [
  { idpGroup: 'Administrators', displayName: 'Domain Administrators' },
  { idpGroup: 'Engineering', displayName: 'Engineers' },
] as const;

/** NameID → userName, firstName → given name, familyName → family name, email → primary work email. */
export const DEMO_ATTRIBUTE_MAPPINGS = [
  { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.fed.nameidvalue)' },
  { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.firstName)' },
  { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.familyName)' },
  { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
];

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
  const api = options.apiUrl.replace(/\/+$/, '');
  const partnerName = options.partnerName ?? DEMO_IDP_NAME;

  // 1. An access token (OAuth 2.0 client credentials).
  const tokenResponse = await call('POST', `${api}/oauth2/v1/token`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=urn:opc:idm:__myscopes__',
  });
  const auth = { authorization: `Bearer ${tokenResponse.access_token}`, 'content-type': 'application/scim+json' };

  // 2. The local groups JIT will put people in.
  const groups = [];
  for (const g of DEMO_GROUPS) {
    const created = await call('POST', `${api}/admin/v1/Groups`, {
      headers: auth,
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: g.displayName }),
    });
    groups.push({ idpGroup: g.idpGroup, displayName: g.displayName, id: created.id as string });
  }

  // 3. The IdP, from its metadata, with JIT creating and updating users and mapping two IdP groups.
  const metadata = await (await fetchOk(options.idpMetadataUrl)).text();
  const idp = await call('POST', `${api}/admin/v1/IdentityProviders`, {
    headers: auth,
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider'],
      partnerName,
      type: 'SAML',
      enabled: true,
      metadata,
      nameIdFormat: 'saml-emailaddress',
      authnRequestBinding: 'Redirect',
      userMappingMethod: 'NameIDToUserAttribute',
      userMappingStoreAttribute: 'userName',
      jitUserProvEnabled: true,
      jitUserProvCreateUserEnabled: true,
      jitUserProvAttributeUpdateEnabled: true,
      jitUserProvGroupAssertionAttributeEnabled: true,
      jitUserProvGroupSAMLAttributeName: 'groups',
      jitUserProvGroupMappingMode: 'explicit',
      jitUserProvGroupMappings: groups.map((g) => ({ idpGroup: g.idpGroup, value: g.id })),
      jitUserProvGroupAssignmentMethod: 'Merge',
      jitUserProvIgnoreErrorOnAbsentGroups: true,
    }),
  });
  const mappedAttributeId = (idp.jitUserProvAttributes as { value: string }).value;

  // 4. Which assertion values become which user attributes.
  await call('PATCH', `${api}/admin/v1/MappedAttributes/${mappedAttributeId}`, {
    headers: auth,
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'attributeMappings', value: DEMO_ATTRIBUTE_MAPPINGS }],
    }),
  });

  return { idpId: idp.id as string, partnerName, mappedAttributeId, groups };
}

/** The sign-in link for an IdP: `${publicUrl}/fed/v1/sp/initiatesso?idp=<partnerName>`. */
export function initiateSsoUrl(publicUrl: string, partnerName = DEMO_IDP_NAME): string {
  return `${publicUrl.replace(/\/+$/, '')}/fed/v1/sp/initiatesso?idp=${encodeURIComponent(partnerName)}`;
}

async function call(method: string, url: string, init: { headers: Record<string, string>; body?: string }): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method, headers: { accept: 'application/scim+json, application/json', ...init.headers }, body: init.body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${new URL(url).pathname}: HTTP ${res.status} ${text.slice(0, 1000)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res;
}
