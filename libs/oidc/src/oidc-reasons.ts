/**
 * Why an OpenID Connect sign-in was refused. The code goes to the log and the audit trail, never to the browser,
 * which is told only that sign-in failed (plus the correlation id).
 */
export const OidcReason = {
  StateMissing: 'OIDC_STATE_MISSING',
  StateUnknown: 'OIDC_STATE_UNKNOWN',
  /** The callback came to a browser that does not hold the flow's PKCE verifier: another browser's code (login CSRF). */
  BrowserMismatch: 'OIDC_BROWSER_MISMATCH',
  StateReused: 'OIDC_STATE_REUSED',
  ProviderError: 'OIDC_PROVIDER_ERROR',
  ProviderUnavailable: 'OIDC_PROVIDER_UNAVAILABLE',
  InsecureEndpoint: 'OIDC_INSECURE_ENDPOINT',
  /** RFC 9207: the authorization response's `iss` is missing (when the provider says it sends it) or another issuer's. */
  ResponseIssuerMismatch: 'OIDC_RESPONSE_ISSUER_MISMATCH',
  CodeRejected: 'OIDC_CODE_REJECTED',
  IssuerMismatch: 'OIDC_ISSUER_MISMATCH',
  AudienceMismatch: 'OIDC_AUDIENCE_MISMATCH',
  NonceMismatch: 'OIDC_NONCE_MISMATCH',
  TokenExpired: 'OIDC_TOKEN_EXPIRED',
  AlgorithmNotAllowed: 'OIDC_ALGORITHM_NOT_ALLOWED',
  SigningKeyUnknown: 'OIDC_SIGNING_KEY_UNKNOWN',
  SignatureInvalid: 'OIDC_SIGNATURE_INVALID',
  TokenInvalid: 'OIDC_TOKEN_INVALID',
  UserInfoFailed: 'OIDC_USERINFO_FAILED',
} as const;
