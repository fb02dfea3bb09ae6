import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { SpKeyService, SpKeyUse } from './sp-keys.service';
import { buildSpMetadata, SpEndpoints, spEndpoints } from './sp-metadata';

/** Our SP's endpoints and published metadata, from the configured PUBLIC_URL and the stored certificate. */
@Injectable()
export class SpMetadataService {
  /** Our entityID, ACS and SLO URLs. */
  readonly endpoints: SpEndpoints;

  constructor(
    private readonly keys: SpKeyService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.endpoints = spEndpoints(config.publicUrl);
  }

  /** The metadata XML that IdP administrators load to trust us. */
  async metadataXml(): Promise<string> {
    const keys = await this.keys.keySet();
    const published = (use: SpKeyUse) => keys.published(use).map((c) => c.certificateDer);
    return buildSpMetadata({ ...this.endpoints, signingCertificateDer: published('signing'), encryptionCertificateDers: published('encryption') });
  }
}
