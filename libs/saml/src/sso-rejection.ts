/**
 * Why a SAML sign-in was refused. The code goes to the log and the audit trail, never to the browser,
 * which is told only that sign-in failed (plus the correlation id).
 */
export const SsoReason = {
  ResponseTooLarge: 'SAML_RESPONSE_TOO_LARGE',
  ResponseMissing: 'SAML_RESPONSE_MISSING',
  ResponseMalformed: 'SAML_RESPONSE_MALFORMED',
  Doctype: 'SAML_RESPONSE_DOCTYPE',
  UnknownIssuer: 'SAML_ISSUER_UNKNOWN',
  IdpDisabled: 'SAML_IDP_DISABLED',
  DestinationMismatch: 'SAML_DESTINATION_MISMATCH',
  StatusNotSuccess: 'SAML_STATUS_NOT_SUCCESS',
  AssertionNotEncrypted: 'SAML_ASSERTION_NOT_ENCRYPTED',
  AlgorithmNotAllowed: 'SAML_ALGORITHM_NOT_ALLOWED',
  EncryptionNotAllowed: 'SAML_ENCRYPTION_NOT_ALLOWED',
  UnsolicitedNotAllowed: 'SAML_UNSOLICITED_NOT_ALLOWED',
  InResponseToUnknown: 'SAML_IN_RESPONSE_TO_UNKNOWN',
  InvalidSignature: 'SAML_SIGNATURE_INVALID',
  Expired: 'SAML_ASSERTION_EXPIRED',
  NotYetValid: 'SAML_ASSERTION_NOT_YET_VALID',
  AudienceMismatch: 'SAML_AUDIENCE_MISMATCH',
  ValidationFailed: 'SAML_VALIDATION_FAILED',
  IssuerMismatch: 'SAML_ISSUER_MISMATCH',
  AssertionIdMissing: 'SAML_ASSERTION_ID_MISSING',
  NoBearerConfirmation: 'SAML_NO_BEARER_CONFIRMATION',
  RecipientMismatch: 'SAML_RECIPIENT_MISMATCH',
  ConfirmationExpired: 'SAML_SUBJECT_CONFIRMATION_EXPIRED',
  InResponseToMismatch: 'SAML_IN_RESPONSE_TO_MISMATCH',
  NameIdMissing: 'SAML_NAME_ID_MISSING',
  AssertionReplayed: 'SAML_ASSERTION_REPLAYED',
  InResponseToReused: 'SAML_IN_RESPONSE_TO_REUSED',
  /** The browser posting the response is not the one that started the request it answers (login CSRF). */
  BrowserMismatch: 'SAML_BROWSER_MISMATCH',
  IdpUnavailable: 'SAML_IDP_UNAVAILABLE',
  /** Every signing key of the IdP has expired and the IdP is set to refuse expired keys. */
  SigningKeyExpired: 'SAML_SIGNING_KEY_EXPIRED',
} as const;

export type SsoReasonCode = (typeof SsoReason)[keyof typeof SsoReason];

/** A refused SAML sign-in: `reason` for the audit trail, `detail` for the log only. */
export class SsoRejection extends Error {
  constructor(
    readonly reason: SsoReasonCode | string,
    readonly detail: string,
    /** The IdP the response was routed to, once known. */
    readonly idp?: { id: string; partnerName: string },
    readonly status = 401,
  ) {
    super(`${reason}: ${detail}`);
  }
}
