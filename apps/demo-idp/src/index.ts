export * from './demo-idp';
export * from './register';
export * from './users';
export * from './oidc';
export * from './oidc/demo-oidc';
