import { Module } from '@nestjs/common';
import { IdentityProvidersModule } from '@app/identity-providers';
import { JitConfigurationModule } from '@app/jit';
import { SamlModule, SignInProtocols } from '@app/saml';
import { OidcController } from './oidc.controller';
import { OidcLoginService } from './oidc-login.service';

/**
 * Sign-in through OpenID Connect providers (IdentityProviders of type SOCIAL). Starts from the same
 * `/fed/v1/sp/initiatesso` as SAML, by registering itself for SOCIAL IdPs. Needs OIDC_ENTITIES among the
 * registered entities.
 */
@Module({
  imports: [SamlModule, IdentityProvidersModule, JitConfigurationModule],
  controllers: [OidcController],
  providers: [OidcLoginService],
  exports: [OidcLoginService],
})
export class OidcModule {
  constructor(protocols: SignInProtocols, login: OidcLoginService) {
    protocols.register('SOCIAL', login);
  }
}
