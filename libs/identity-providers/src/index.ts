export * from './identity-provider.schema';
export * from './identity-provider.entity';
export * from './identity-providers.service';
export { signInConfigurationOf, type IdentityProviderRef, type SamlSignInSettings, type SignInConfiguration } from './sign-in-configuration';
export * from './identity-providers.module';
export * from './idp-metadata';
export * from './certificates';
export * from './trust-extension.schema';
export { usableSigningKeys, type SignInSigningKey } from './signing-keys';
