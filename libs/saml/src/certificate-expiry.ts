/*
 * When a certificate we rely on is about to expire: an IdP's signing certificate (responses signed with it stop
 * verifying once the IdP switches, or at once with refuseExpiredSigningKeys) or one of our SP certificates (IdPs
 * may refuse it). Pure functions of the certificate and the time.
 */

const DAY_MS = 86_400_000;

/** Days before expiry at which a warning is given once, most severe last; 0 means "has expired". */
export const EXPIRY_THRESHOLDS_DAYS = [30, 7, 0] as const;
export type ExpiryThreshold = (typeof EXPIRY_THRESHOLDS_DAYS)[number];

/** A certificate whose expiry is watched, and what holds it. */
export interface WatchedCertificate {
  holderType: 'IdentityProvider' | 'SpKey';
  holderId: string;
  /** The IdP's partnerName, or the SP key's uses. */
  holderName: string;
  fingerprint: string;
  subject?: string;
  notAfter: string;
}

/** A watched certificate that has reached a threshold. */
export interface ExpiryFinding extends WatchedCertificate {
  threshold: ExpiryThreshold;
  /** Whole days left, rounded toward zero; negative once expired. */
  daysLeft: number;
}

/** The most severe threshold `notAfter` has reached at `now`, or undefined while it is further than all of them. */
export function expiryThreshold(notAfter: string, now: Date): ExpiryThreshold | undefined {
  const left = Date.parse(notAfter) - now.getTime();
  if (Number.isNaN(left)) return undefined;
  let reached: ExpiryThreshold | undefined;
  for (const days of EXPIRY_THRESHOLDS_DAYS) if (left <= days * DAY_MS) reached = days;
  return reached;
}

/** The certificates among `certs` that have reached a threshold at `now`, soonest expiry first. */
export function expiryFindings(certs: readonly WatchedCertificate[], now: Date): ExpiryFinding[] {
  return certs
    .flatMap((c) => {
      const threshold = expiryThreshold(c.notAfter, now);
      return threshold === undefined ? [] : [{ ...c, threshold, daysLeft: Math.trunc((Date.parse(c.notAfter) - now.getTime()) / DAY_MS) }];
    })
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
}

/** Audit event id and reason code of a finding. */
export function expiryEvent(f: ExpiryFinding): { eventId: string; reason: string } {
  return f.threshold === 0 ? { eventId: 'certificate.expired', reason: 'expired' } : { eventId: 'certificate.expiring', reason: `expires_within_${f.threshold}_days` };
}

/** The sentence for the log and the audit trail. */
export function expiryMessage(f: ExpiryFinding): string {
  const what = f.holderType === 'IdentityProvider' ? `signing certificate of identity provider ${f.holderId} "${f.holderName}"` : `SAML SP certificate ${f.holderId} (${f.holderName})`;
  const cert = `${f.subject ? `${f.subject}, ` : ''}SHA-256 ${f.fingerprint}`;
  const advice =
    f.holderType === 'IdentityProvider'
      ? "import the IdP's metadata with its next certificate (both are trusted until the old one is gone)"
      : 'stage a new key at /admin/v1/SpKeys, have the IdPs reread /fed/v1/metadata, then activate it';
  if (f.threshold === 0) return `The ${what} (${cert}) expired on ${f.notAfter}: ${advice}`;
  return `The ${what} (${cert}) expires on ${f.notAfter}, in ${f.daysLeft} day${f.daysLeft === 1 ? '' : 's'}: ${advice}`;
}
