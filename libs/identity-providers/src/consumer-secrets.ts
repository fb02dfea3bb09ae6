import { Logger } from '@nestjs/common';
import { SecretBox } from '@app/config';
import { Database, resealAtRest } from '@app/persistence';
import { IdentityProviderEntity } from './identity-provider.entity';

/*
 * The social extension's consumerSecret at rest: a SecretBox envelope in `identity_providers.consumer_secret`,
 * bound to the row's id, never in the stored representation.
 */

/** Additional authenticated data of a consumerSecret envelope: it opens only in the row it was written for. */
export function consumerSecretContext(idpId: string): string {
  return `identity_providers/${idpId}/consumerSecret`;
}

/**
 * Brings every consumerSecret under the current key-encryption key at start-up, as the signing keys are: once
 * SECRETS_KEK is rotated and the old key has gone from SECRETS_KEK_PREVIOUS, a secret left under it could no longer
 * be read. The representation does not change, so neither does the version.
 */
export async function encryptConsumerSecretsAtRest(db: Database, box: SecretBox, logger: Logger): Promise<void> {
  await resealAtRest(
    db,
    box,
    { entity: IdentityProviderEntity, key: 'id', secret: 'consumerSecret', context: consumerSecretContext, describe: (id) => `the consumerSecret of identity provider ${id}` },
    logger,
  );
}
