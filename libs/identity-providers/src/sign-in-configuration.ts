import { Brackets, EntityManager } from 'typeorm';
import { JitConfig, jitConfigOf, lookupAttributeOf, RejectReason } from '@app/jit';
import { Doc } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
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
  saml: SamlSignInSettings;
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

/** What keeps every SAML sign-in through an IdP from going through, checked in this order. Pure. */
function unsupportedSignIn(type: string, doc: Doc, jit: JitConfig): UnsupportedSignIn | undefined {
  if (type !== 'SAML') {
    const why = type === 'SOCIAL' ? 'social sign-in comes with OpenID Connect support' : 'X.509 certificate sign-in is not implemented';
    return { reason: UnsupportedSignInReason.IdpType, detail: `the identity provider is of type ${type}: SAML sign-in goes through SAML identity providers only (${why})` };
  }
  if (nameIdFormatUri(doc.nameIdFormat) === undefined) {
    return {
      reason: UnsupportedSignInReason.NameIdFormat,
      detail: `nameIdFormat "${String(doc.nameIdFormat).slice(0, 200)}" is neither one of ${Object.keys(NAME_ID_FORMATS).join(', ')} nor a format URI, so no AuthnRequest can ask for it; set one of them`,
    };
  }
  const lookup = lookupAttributeOf(jit.lookup);
  if ('unsupported' in lookup) return { reason: UnsupportedSignInReason.UserMapping, detail: lookup.unsupported };
  return undefined;
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

/** The sign-in configuration of a stored IdP and its MappedAttribute. Pure. */
export function signInConfigurationOf(row: IdentityProviderEntity, mappedAttribute: Doc | undefined): SignInConfiguration {
  const doc = JSON.parse(row.data) as Doc;
  const jit = jitConfigOf({ id: row.id, partnerName: row.partnerName, enabled: row.enabled, doc }, mappedAttribute);
  return {
    id: row.id,
    partnerName: row.partnerName,
    enabled: row.enabled,
    version: row.version,
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
    },
    jit,
    unsupported: unsupportedSignIn(row.type, doc, jit),
  };
}
