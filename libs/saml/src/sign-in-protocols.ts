import { Injectable } from '@nestjs/common';
import type { SignInConfiguration } from '@app/identity-providers';

/** A cookie a sign-in start sets, bound to the browser that starts it. */
export interface StartCookie {
  name: string;
  value: string;
  path: string;
  maxAgeMs: number;
  /**
   * Read by a cross-site POST (the IdP's form to the SAML ACS), which a SameSite=Lax cookie does not follow: sent
   * SameSite=None; Secure. Otherwise Lax (a redirect back is a top-level GET).
   */
  crossSitePost?: boolean;
}

/** How the browser is sent to the IdP: a redirect, or an auto-submitting form; and what it must remember. */
export type SignInDelivery = ({ kind: 'redirect'; url: string } | { kind: 'form'; action: string; fields: Record<string, string> }) & { cookies?: StartCookie[] };

/** What starts a sign-in through an IdP of some type other than SAML. */
export interface SignInStarter {
  start(idp: SignInConfiguration, relayState: string | undefined): Promise<SignInDelivery>;
}

/**
 * The sign-in protocols besides SAML, by IdentityProvider type. `GET /fed/v1/sp/initiatesso` is one entry point for
 * every IdP (as in IDCS); the OpenID Connect module registers itself here for SOCIAL IdPs, so that this library
 * does not depend on it (the dependency is turned around, as group-references.ts does).
 */
@Injectable()
export class SignInProtocols {
  private readonly byType = new Map<string, SignInStarter>();

  register(type: string, starter: SignInStarter): void {
    this.byType.set(type, starter);
  }

  starterFor(type: string): SignInStarter | undefined {
    return this.byType.get(type);
  }
}
