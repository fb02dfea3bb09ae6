export * from './oidc.module';
export * from './oidc-login.service';
export * from './oidc-reasons';
export * from './oidc-sign-in-flow.entity';
