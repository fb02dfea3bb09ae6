import { Brackets, EntityManager } from 'typeorm';
import { JitConfig, jitConfigOf } from '@app/jit';
import { Doc } from '@app/scim';
import { IdentityProviderEntity } from './identity-provider.entity';
import { NAME_ID_FORMATS } from './identity-provider.schema';

/** The SAML settings of an IdP that its sign-ins are checked against, as stored. */
export interface SamlSignInSettings {
  /** partnerProviderId: the Issuer its responses must name ("" when not configured). */
  entityId: string;
  idpSsoUrl?: string;
  /** Base64 DER, as stored. */
  signingCertificate?: string;
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
  return {
    id: row.id,
    partnerName: row.partnerName,
    enabled: row.enabled,
    version: row.version,
    saml: {
      entityId: row.partnerProviderId ?? '',
      idpSsoUrl: typeof doc.idpSsoUrl === 'string' ? doc.idpSsoUrl : undefined,
      signingCertificate: typeof doc.signingCertificate === 'string' ? doc.signingCertificate : undefined,
      binding: doc.authnRequestBinding === 'Post' ? 'Post' : 'Redirect',
      allowSha1: doc.signatureHashAlgorithm === 'SHA-1',
      requiresEncryptedAssertion: doc.requiresEncryptedAssertion === true,
      allowUnsolicitedResponses: doc.allowUnsolicitedResponses === true,
      requireSignedResponse: doc.requireSignedResponse === true,
      includeSigningCertInSignature: doc.includeSigningCertInSignature === true,
      forceAuthn: doc.requireForceAuthn === true,
      nameIdFormat: NAME_ID_FORMATS[String(doc.nameIdFormat ?? '')] || null,
      requestedAuthenticationContext: Array.isArray(doc.requestedAuthenticationContext) ? (doc.requestedAuthenticationContext as string[]) : [],
    },
    jit: jitConfigOf({ id: row.id, partnerName: row.partnerName, enabled: row.enabled, doc }, mappedAttribute),
  };
}
