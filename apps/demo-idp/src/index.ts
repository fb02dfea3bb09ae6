export * from './demo-idp';
export * from './register';
export * from './users';
