import { Module } from '@nestjs/common';
import { SpKeyService } from './sp-keys.service';
import { SpMetadataController } from './sp-metadata.controller';
import { SpMetadataService } from './sp-metadata.service';

/**
 * Our SAML service provider. Needs the global Database and APP_CONFIG providers, and `signing_keys`
 * (SigningKeyEntity, part of AUTH_ENTITIES) among the registered entities.
 */
@Module({
  controllers: [SpMetadataController],
  providers: [SpKeyService, SpMetadataService],
  exports: [SpKeyService, SpMetadataService],
})
export class SamlModule {}
