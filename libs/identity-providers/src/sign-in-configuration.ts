import { Brackets, EntityManager } from 'typeorm';
import { compileAttributeMappings, GroupAssignmentMethod, JitConfig, jitConfigOf, lookupAttributeOf, RejectReason, SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID } from '@app/jit';
import type { SqlRunner } from '@app/persistence';
import { Doc } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
import { isProviderEndpoint } from './identity-provider-rules';
import { NAME_ID_FORMATS } from './identity-provider.schema';
import { SignInSigningKey, signInKeysOf } from './signing-keys';

/** The SAML settings of an IdP that its sign-ins are checked against, as stored. */
export interface SamlSignInSettings {
  /** partnerProviderId: the Issuer its responses must name ("" when not configured). */
  entityId: string;
  idpSsoUrl?: string;
  /** Base64 DER, as stored. */
  signingCertificate?: string;
  /** Every key a response may be verified with (the trust extension's signingCertificates; see signing-keys.ts). */
  signingKeys: SignInSigningKey[];
  /** Keys whose certificate has expired are not used (trust extension's refuseExpiredSigningKeys). */
  refuseExpiredSigningKeys: boolean;
  binding: 'Redirect' | 'Post';
  /** Set to SHA-1 by its administrator: RSA-SHA1 signatures and SHA-1 digests are then accepted. */
  allowSha1: boolean;
  requiresEncryptedAssertion: boolean;
  allowUnsolicitedResponses: boolean;
  requireSignedResponse: boolean;
  includeSigningCertInSignature: boolean;
  forceAuthn: boolean;
  /** The NameID format to ask for, or null for any. */
  nameIdFormat: string | null;
  requestedAuthenticationContext: string[];
  /** Single logout with this IdP (logoutEnabled): our sign-out tells it, and its LogoutRequests are accepted. */
  logoutEnabled: boolean;
  /** logoutBinding: how logout messages travel to the IdP. */
  logoutBinding: 'Redirect' | 'Post';
  /** Where our LogoutRequests go. */
  logoutRequestUrl?: string;
  /** Where our LogoutResponses go (logoutRequestUrl when not set). */
  logoutResponseUrl?: string;
}

/** The OpenID Connect settings of a SOCIAL IdP (its social extension), as its sign-ins use them. */
export interface OidcSignInSettings {
  serviceProviderName: string;
  /** consumerKey: our client_id at the provider. */
  clientId: string;
  /** consumerSecret as stored: a SecretBox envelope bound to the row (consumer-secrets.ts), opened by the sign-in. */
  sealedClientSecret: string | null;
  /** Where the provider's metadata is read: discoveryUrl, or the well-known one of a provider type that has one. */
  discoveryUrl?: string;
  scopes: string[];
  /** clientCredentialInPayload: client_secret_post instead of HTTP Basic (client_secret_basic). */
  clientSecretPost: boolean;
  clockSkewSeconds: number;
  accountLinkingEnabled: boolean;
  /** relayIdpParamMappings: extra authorization request parameters (e.g. Entra's domain_hint, Google's hd). */
  relayParams: Record<string, string>;
}

/**
 * Everything one sign-in needs of an IdP, from one read of its row and its MappedAttribute: the SAML settings
 * the ACS checks the response against, and the JIT configuration it then applies. Whether the IdP is enabled is
 * decided from `enabled`, once, by whoever starts the sign-in.
 */
export interface SignInConfiguration {
  id: string;
  partnerName: string;
  enabled: boolean;
  /** The row's version: what is derived from the SAML settings may be kept until it changes. */
  version: number;
  /** IdentityProvider type: SAML, SOCIAL (OpenID Connect) or X509. */
  type: string;
  saml: SamlSignInSettings;
  /** Present on SOCIAL IdPs. */
  oidc?: OidcSignInSettings;
  jit: JitConfig;
  /**
   * Why no SAML sign-in can go through this IdP as it is configured, if none can: it is stored as IDCS accepts it
   * (a SOCIAL IdP, a NameID format that is no URI, a lookup by name.givenName), and the refusal is reported at
   * sign-in (before the IdP is asked, when it can be) and by the JIT preview.
   */
  unsupported?: UnsupportedSignIn;
}

/** Reason codes (audit trail, log, JIT preview) of configurations a SAML sign-in cannot honour. */
export const UnsupportedSignInReason = {
  IdpType: 'unsupported_idp_type',
  /** A SOCIAL IdP without what an OpenID Connect sign-in needs (a discovery URL, a client). */
  OidcSettings: 'unsupported_oidc_settings',
  NameIdFormat: 'unsupported_name_id_format',
  /** The JIT planner's reason too (RejectReason.UnsupportedUserMapping): here it also stops an SP-initiated sign-in before the IdP is asked. */
  UserMapping: RejectReason.UnsupportedUserMapping,
} as const;

export interface UnsupportedSignIn {
  reason: (typeof UnsupportedSignInReason)[keyof typeof UnsupportedSignInReason];
  detail: string;
}

/**
 * The NameID Format URI an AuthnRequest asks for, from a stored nameIdFormat: a short token's URI, or the value
 * itself when it is a URI (SAML Core §8.3; metadata lists formats as URNs); null for any; undefined when the value
 * names no format (IDCS stores any string: Oracle's Terraform acceptance test sends "nameIdFormat").
 */
export function nameIdFormatUri(value: unknown): string | null | undefined {
  if (value === undefined || value === null) return null;
  const v = String(value);
  if (Object.hasOwn(NAME_ID_FORMATS, v)) return NAME_ID_FORMATS[v] || null;
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(v) ? v : undefined;
}

/** The OpenID Connect discovery documents of the provider types that have one for every tenant. */
const KNOWN_DISCOVERY: Record<string, string> = {
  google: 'https://accounts.google.com/.well-known/openid-configuration',
};

/** What keeps every sign-in through an IdP from going through, checked in this order. Pure. */
function unsupportedSignIn(type: string, doc: Doc, jit: JitConfig, oidc: OidcSignInSettings | undefined): UnsupportedSignIn | undefined {
  if (type === 'SOCIAL') {
    if (!oidc?.discoveryUrl) {
      return {
        reason: UnsupportedSignInReason.OidcSettings,
        detail: `the social identity provider (serviceProviderName "${oidc?.serviceProviderName ?? ''}") has no discoveryUrl: sign-in speaks OpenID Connect and reads the provider's endpoints and keys from its discovery document; set ${SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID}:discoveryUrl`,
      };
    }
    if (!isProviderEndpoint(oidc.discoveryUrl)) {
      return { reason: UnsupportedSignInReason.OidcSettings, detail: `discoveryUrl "${oidc.discoveryUrl.slice(0, 300)}" is not an https URL (plain http is allowed on loopback hosts only)` };
    }
    if (!oidc.clientId || !oidc.sealedClientSecret) {
      return { reason: UnsupportedSignInReason.OidcSettings, detail: 'the social identity provider lacks consumerKey or consumerSecret (the client registered at the provider)' };
    }
  } else if (type !== 'SAML') {
    return { reason: UnsupportedSignInReason.IdpType, detail: `the identity provider is of type ${type}: X.509 certificate sign-in is not implemented` };
  } else if (nameIdFormatUri(doc.nameIdFormat) === undefined) {
    return {
      reason: UnsupportedSignInReason.NameIdFormat,
      detail: `nameIdFormat "${String(doc.nameIdFormat).slice(0, 200)}" is neither one of ${Object.keys(NAME_ID_FORMATS).join(', ')} nor a format URI, so no AuthnRequest can ask for it; set one of them`,
    };
  }
  const lookup = lookupAttributeOf(jit.lookup);
  if ('unsupported' in lookup) return { reason: UnsupportedSignInReason.UserMapping, detail: lookup.unsupported };
  return undefined;
}

/** The social extension's sign-in settings. */
function oidcSettingsOf(row: IdentityProviderEntity, social: Doc): OidcSignInSettings {
  const serviceProviderName = String(social.serviceProviderName ?? '');
  const relay = Array.isArray(social.relayIdpParamMappings) ? (social.relayIdpParamMappings as Doc[]) : [];
  return {
    serviceProviderName,
    clientId: String(social.consumerKey ?? ''),
    sealedClientSecret: row.consumerSecret ?? null,
    discoveryUrl: typeof social.discoveryUrl === 'string' && social.discoveryUrl ? social.discoveryUrl : KNOWN_DISCOVERY[serviceProviderName.toLowerCase()],
    scopes: Array.isArray(social.scope) && social.scope.length ? (social.scope as string[]) : ['openid', 'profile', 'email'],
    clientSecretPost: social.clientCredentialInPayload === true,
    clockSkewSeconds: typeof social.clockSkewInSeconds === 'number' ? social.clockSkewInSeconds : 60,
    accountLinkingEnabled: social.accountLinkingEnabled === true,
    relayParams: Object.fromEntries(relay.filter((r) => typeof r.relayParamKey === 'string').map((r) => [String(r.relayParamKey), String(r.relayParamValue ?? '')])),
  };
}

/** What IDCS's own social JIT does when the jitUserProv* settings are off: create from the standard claims. */
const SOCIAL_JIT_MAPPINGS = compileAttributeMappings([
  { idcsAttributeName: 'userName', managedObjectAttributeName: '$(assertion.email)' },
  { idcsAttributeName: 'name.givenName', managedObjectAttributeName: '$(assertion.given_name)' },
  { idcsAttributeName: 'name.familyName', managedObjectAttributeName: '$(assertion.family_name)' },
  { idcsAttributeName: 'emails[primary eq true and type eq "work"].value', managedObjectAttributeName: '$(assertion.email)' },
]);

/**
 * The JIT a SOCIAL IdP applies. Its jitUserProv* settings and MappedAttribute, when jitUserProvEnabled is on (our
 * extension of IDCS: the same engine as SAML, claims in the place of assertion attributes). Otherwise IDCS's social
 * JIT, with its meaning: socialJitProvisioningEnabled creates the user at the first sign-in from the standard
 * claims (found again by email), never updates it, and jitProvGroupStaticListEnabled adds jitProvAssignedGroups.
 */
function socialJitConfig(jit: JitConfig, doc: Doc, social: Doc): JitConfig {
  if (doc.jitUserProvEnabled === true || social.socialJitProvisioningEnabled !== true) return jit;
  const staticGroups = Array.isArray(social.jitProvAssignedGroups) ? (social.jitProvAssignedGroups as Doc[]).map((g) => String(g.value)) : [];
  return {
    ...jit,
    enabled: true,
    createUser: true,
    updateUser: false,
    lookup: { method: 'AssertionAttributeToUserAttribute', storeAttribute: 'emails.value', assertionAttribute: 'email' },
    mappings: SOCIAL_JIT_MAPPINGS,
    groups: {
      ...jit.groups,
      fromAssertion: false,
      staticList: social.jitProvGroupStaticListEnabled === true && staticGroups.length > 0,
      staticGroupIds: staticGroups,
      method: GroupAssignmentMethod.Merge,
      ignoreAbsent: true,
    },
  };
}

/** How a sign-in names its IdP: by id, by the Issuer of a response, or by id or partnerName (SP-initiated, from a link). */
export type IdentityProviderRef = { id: string } | { issuer: string } | { idOrName: string };

/** The IdP row `ref` names, if any. */
export function findIdentityProviderRow(m: EntityManager, ref: IdentityProviderRef): Promise<IdentityProviderEntity | null> {
  if ('id' in ref) return m.findOneBy(IdentityProviderEntity, { id: ref.id });
  if ('issuer' in ref) return m.findOneBy(IdentityProviderEntity, { partnerProviderId: ref.issuer });
  return m
    .createQueryBuilder(IdentityProviderEntity, 'r')
    .where(new Brackets((w) => w.where('r.id = :ref', { ref: ref.idOrName }).orWhere('r.partner_name_lower = :lower', { lower: ref.idOrName.toLowerCase() })))
    .getOne();
}

/** What a sign-in configuration is built from, by version: the IdP's row, and its MappedAttribute ("" when it has none). */
export interface SignInConfigurationKey {
  id: string;
  version: number;
  mapped: string;
}

/**
 * The versions a sign-in configuration of the IdP `ref` names would be built from, in one statement (the row's and
 * its MappedAttribute's, which JIT's mappings come from); empty when no IdP matches, and more than one entry when
 * `ref` is ambiguous or the IdP has several MappedAttributes (then nothing is cached).
 */
export function signInConfigurationKeys(sql: SqlRunner, ref: IdentityProviderRef): Promise<SignInConfigurationKey[]> {
  const [where, params] =
    'id' in ref
      ? ['r.id = :ref', { ref: ref.id }]
      : 'issuer' in ref
        ? ['r.partner_provider_id = :ref', { ref: ref.issuer }]
        : ['(r.id = :ref OR r.partner_name_lower = :lower)', { ref: ref.idOrName, lower: ref.idOrName.toLowerCase() }];
  const text = `SELECT r.id AS id, r.version AS version, m.id AS mapped_id, m.version AS mapped_version
     FROM identity_providers r
     LEFT JOIN mapped_attributes m ON m.ref_resource_type = 'IdentityProvider' AND m.ref_resource_id = r.id
     WHERE ${where}`;
  return sql
    .query<{ id: string; version: number | string; mapped_id: string | null; mapped_version: number | string | null }>(...sql.escape(text, params))
    .then((rows) => rows.map((r) => ({ id: r.id, version: Number(r.version), mapped: mappedAttributeKey(r.mapped_id ? { id: r.mapped_id, version: Number(r.mapped_version) } : null) })));
}

/** SignInConfigurationKey.mapped of an IdP's MappedAttribute (id and version), or of none. */
export function mappedAttributeKey(mapped: { id: string; version: number } | null): string {
  return mapped ? `${mapped.id}@${mapped.version}` : '';
}

/**
 * Sign-in configurations built once per version of what they are built from (certificates parsed, mappings
 * compiled), for sign-ins: every use reads the versions (signInConfigurationKeys), so a change written on any
 * instance is used by the next sign-in here. At most `capacity` IdPs are kept, the least recently used leaving.
 */
export class SignInConfigurationCache {
  private readonly entries = new Map<string, { key: string; config: SignInConfiguration }>();

  constructor(private readonly capacity = 1000) {}

  get(key: SignInConfigurationKey): SignInConfiguration | undefined {
    const entry = this.entries.get(key.id);
    if (!entry || entry.key !== cacheKey(key)) return undefined;
    this.entries.delete(key.id);
    this.entries.set(key.id, entry);
    return entry.config;
  }

  set(key: SignInConfigurationKey, config: SignInConfiguration): void {
    this.entries.delete(key.id);
    this.entries.set(key.id, { key: cacheKey(key), config });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

const cacheKey = (k: SignInConfigurationKey) => `${k.version}/${k.mapped}`;

/** The sign-in configuration of a stored IdP and its MappedAttribute. Pure. */
export function signInConfigurationOf(row: IdentityProviderEntity, mappedAttribute: Doc | undefined): SignInConfiguration {
  const doc = JSON.parse(row.data) as Doc;
  const social = row.type === 'SOCIAL' ? ((doc[SOCIAL_IDENTITY_PROVIDER_EXTENSION_ID] as Doc | undefined) ?? {}) : undefined;
  const oidc = social && oidcSettingsOf(row, social);
  const generic = jitConfigOf({ id: row.id, partnerName: row.partnerName, enabled: row.enabled, doc }, mappedAttribute);
  const jit = social ? socialJitConfig(generic, doc, social) : generic;
  return {
    id: row.id,
    partnerName: row.partnerName,
    enabled: row.enabled,
    version: row.version,
    type: row.type,
    oidc,
    saml: {
      entityId: row.partnerProviderId ?? '',
      idpSsoUrl: typeof doc.idpSsoUrl === 'string' ? doc.idpSsoUrl : undefined,
      signingCertificate: typeof doc.signingCertificate === 'string' ? doc.signingCertificate : undefined,
      ...signInKeysOf(doc),
      binding: doc.authnRequestBinding === 'Post' ? 'Post' : 'Redirect',
      allowSha1: doc.signatureHashAlgorithm === 'SHA-1',
      requiresEncryptedAssertion: doc.requiresEncryptedAssertion === true,
      allowUnsolicitedResponses: doc.allowUnsolicitedResponses === true,
      requireSignedResponse: doc.requireSignedResponse === true,
      includeSigningCertInSignature: doc.includeSigningCertInSignature === true,
      forceAuthn: doc.requireForceAuthn === true,
      nameIdFormat: nameIdFormatUri(doc.nameIdFormat) ?? null,
      requestedAuthenticationContext: Array.isArray(doc.requestedAuthenticationContext) ? (doc.requestedAuthenticationContext as string[]) : [],
      logoutEnabled: doc.logoutEnabled === true,
      logoutBinding: doc.logoutBinding === 'Post' ? 'Post' : 'Redirect',
      logoutRequestUrl: typeof doc.logoutRequestUrl === 'string' && doc.logoutRequestUrl ? doc.logoutRequestUrl : undefined,
      logoutResponseUrl: typeof doc.logoutResponseUrl === 'string' && doc.logoutResponseUrl ? doc.logoutResponseUrl : undefined,
    },
    jit,
    unsupported: unsupportedSignIn(row.type, doc, jit, oidc),
  };
}
