import { Module } from '@nestjs/common';
import { IdentityProvidersModule } from '@app/identity-providers';
import { JitConfigurationModule } from '@app/jit';
import { UserReferences, UsersModule } from '@app/users';
import { SamlLoginService } from './saml-login.service';
import { SamlValidationPool } from './saml-validation-pool';
import { SessionsService } from './sessions.service';
import { SignInFailures } from './sign-in-failures';
import { SignInProtocols } from './sign-in-protocols';
import { SingleLogoutService } from './single-logout.service';
import { MeController, SsoController } from './sso.controller';
import { SpKeyService } from './sp-keys.service';
import { SpKeysController } from './sp-keys.controller';
import { CertificateExpiryService } from './certificate-expiry.service';
import { SpMetadataController } from './sp-metadata.controller';
import { SpMetadataService } from './sp-metadata.service';

/**
 * Our SAML service provider. Needs the global Database and APP_CONFIG providers, and `signing_keys`
 * (SigningKeyEntity, part of AUTH_ENTITIES) and SAML_ENTITIES among the registered entities.
 */
@Module({
  imports: [IdentityProvidersModule, JitConfigurationModule, UsersModule],
  controllers: [SpMetadataController, SsoController, MeController, SpKeysController],
  providers: [SpKeyService, SpMetadataService, SamlValidationPool, SamlLoginService, SessionsService, SignInProtocols, SignInFailures, SingleLogoutService, CertificateExpiryService],
  exports: [SpKeyService, SpMetadataService, SessionsService, SignInProtocols, SignInFailures, CertificateExpiryService],
})
export class SamlModule {
  constructor(userReferences: UserReferences, sessions: SessionsService) {
    // A deleted, deactivated or locked user is signed out everywhere at once (users cannot import this module).
    userReferences.register({ removeReferencesTo: (m, userId) => sessions.endAllOfWithin(m, userId), signInRevoked: (m, userId) => sessions.endAllOfWithin(m, userId) });
  }
}
