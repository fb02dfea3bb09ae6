import { attr, complex, ScimSchema } from '@app/scim';

/** Our extension of IdentityProvider: what IDCS does not model about the keys an IdP's responses are verified with. */
export const TRUST_EXTENSION_SCHEMA_ID = 'urn:identity-domain:scim:schemas:extension:trust:2.0:IdentityProvider';

const ro = { mutability: 'readOnly' as const };

/**
 * Listed in an IdentityProvider's `schemas` only when it carries something: signing keys (from metadata or
 * `signingCertificate`) or `refuseExpiredSigningKeys`. IDCS's own `signingCertificate` keeps its meaning: the
 * first (primary) certificate.
 */
export const TRUST_EXTENSION_SCHEMA: ScimSchema = {
  id: TRUST_EXTENSION_SCHEMA_ID,
  name: 'IdentityProviderTrust',
  description: 'Signing keys a response of this identity provider may be verified with, and the policy on expired ones',
  attributes: [
    complex(
      'signingCertificates',
      'Every signing key of the IdP (all those of its metadata, or the signingCertificate given): a response signed with any of them verifies. Set by the service from metadata and signingCertificate',
      [
        attr('value', 'string', 'The certificate, base64 DER; for a key the metadata gave without certificate (RSAKeyValue), its SubjectPublicKeyInfo, base64 DER', { ...ro, caseExact: true }),
        attr('type', 'string', 'X509Certificate, or RSAKeyValue for a bare public key (which has no subject or validity dates)', { ...ro, caseExact: true, canonicalValues: ['X509Certificate', 'RSAKeyValue'] }),
        attr('fingerprint', 'string', 'SHA-256 of the DER value, upper-case hex pairs separated by colons', { ...ro, caseExact: true }),
        attr('subject', 'string', 'Subject distinguished name of the certificate', ro),
        attr('notBefore', 'dateTime', 'Start of the certificate\'s validity', ro),
        attr('notAfter', 'dateTime', 'End of the certificate\'s validity', ro),
        attr('expired', 'boolean', 'Whether notAfter has passed (at the time of the response)', ro),
      ],
      { ...ro, multiValued: true },
    ),
    attr(
      'refuseExpiredSigningKeys',
      'boolean',
      'Refuse sign-ins signed with a key whose certificate has expired; default false, as the SAML V2.0 Metadata Interoperability Profile treats the key, not its certificate\'s dates, as the trust anchor',
      { example: false },
    ),
    attr('warnings', 'string', 'What an administrator should know about these keys (expired certificates, no usable key)', { ...ro, multiValued: true }),
  ],
};
