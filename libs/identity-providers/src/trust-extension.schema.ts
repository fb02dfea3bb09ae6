import { attr, complex, ScimSchema } from '@app/scim';

/** Our extension of IdentityProvider: what IDCS does not model about the keys an IdP's responses are verified with. */
export const TRUST_EXTENSION_SCHEMA_ID = 'urn:identity-domain:scim:schemas:extension:trust:2.0:IdentityProvider';

const ro = { mutability: 'readOnly' as const };

/**
 * Listed in an IdentityProvider's `schemas` only when it carries something: signing keys (from metadata or
 * `signingCertificate`), `refuseExpiredSigningKeys` or the metadata refresh settings. IDCS's own
 * `signingCertificate` keeps its meaning: the first (primary) certificate.
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
    // Metadata refresh (metadata-refresh-settings.ts): an extension beyond IDCS, off unless metadataUrl is set.
    attr(
      'metadataUrl',
      'reference',
      'https URL of the IdP\'s SAML metadata: the server re-reads it every metadataRefreshIntervalMinutes and applies changed certificates and endpoints (SAML identity providers only; off when absent)',
      { referenceTypes: ['external'], example: 'https://idp.example.com/metadata.xml' },
    ),
    attr('metadataRefreshIntervalMinutes', 'integer', 'Minutes between two reads of metadataUrl, 15 to 10080 (a week); 1440 when metadataUrl is set without it', { example: 1440 }),
    attr(
      'metadataSigningCertificate',
      'string',
      'Certificate (base64 DER or PEM) that must have signed the document at metadataUrl (an enveloped signature of its root element); when absent the document is trusted as TLS delivered it',
      { caseExact: true },
    ),
    attr(
      'metadataAllowPrivateNetwork',
      'boolean',
      'Allow metadataUrl to resolve to a loopback, private, link-local or unique-local address; default false, as a server-side request to such addresses reaches what the network shields',
      { example: false },
    ),
    attr('metadataLastRefreshed', 'dateTime', 'When a read of metadataUrl last changed this identity provider', ro),
    attr('metadataLastError', 'string', 'Why the last read of metadataUrl was refused (absent once a read succeeds); the identity provider kept its previous settings', ro),
  ],
};
