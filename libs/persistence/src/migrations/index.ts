import { InitialSchema1732300000000 } from './1732300000000-initial-schema';
import { IdentityProviders1732400000000 } from './1732400000000-identity-providers';
import { SamlLogin1732500000000 } from './1732500000000-saml-login';
import { TokenAttempts1732700000000 } from './1732700000000-token-attempts';
import { IdentityProviderExtensions1732800000000 } from './1732800000000-identity-provider-extensions';
import { CommonAttributes1732810000000 } from './1732810000000-common-attributes';
import { UserEmailFlags1732820000000 } from './1732820000000-user-email-flags';
import { RetryTokens1732830000000 } from './1732830000000-retry-tokens';
import { OidcSignIn1732840000000 } from './1732840000000-oidc-sign-in';
import { SamlRequestBinding1732860000000 } from './1732860000000-saml-request-binding';
import { SessionLogout1732870000000 } from './1732870000000-session-logout';
import { SpKeyRollover1732880000000 } from './1732880000000-sp-key-rollover';
import { IdpMetadataRefresh1732890000000 } from './1732890000000-idp-metadata-refresh';
import { JitSignInInputs1732900000000 } from './1732900000000-jit-sign-in-inputs';
import { DormantJitUsers1732910000000 } from './1732910000000-dormant-jit-users';
import { AttributeOwnership1732920000000 } from './1732920000000-attribute-ownership';

/** Every migration, in order. New schema changes are appended here, never edited in place. */
export const MIGRATIONS = [InitialSchema1732300000000, IdentityProviders1732400000000, SamlLogin1732500000000, TokenAttempts1732700000000, IdentityProviderExtensions1732800000000, CommonAttributes1732810000000, UserEmailFlags1732820000000, RetryTokens1732830000000, OidcSignIn1732840000000, SamlRequestBinding1732860000000, SessionLogout1732870000000, SpKeyRollover1732880000000, IdpMetadataRefresh1732890000000, JitSignInInputs1732900000000, DormantJitUsers1732910000000, AttributeOwnership1732920000000];
