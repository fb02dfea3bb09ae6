export * from './saml.module';
export * from './sp-keys.service';
export * from './sp-metadata';
export * from './sp-metadata.service';
export * from './sp-metadata.controller';
