import { Logger } from '@nestjs/common';
import { SecretBox } from '@app/config';
import { Database, resealAtRest } from '@app/persistence';
import { SigningKeyEntity, signingKeySecretContext } from './entities';

/**
 * Brings every `signing_keys` row under the current key-encryption key, at start-up: rows written in clear text
 * before secrets were encrypted at rest, and rows sealed under a key now listed in SECRETS_KEK_PREVIOUS.
 */
export async function encryptSigningKeysAtRest(db: Database, box: SecretBox, logger: Logger): Promise<void> {
  await resealAtRest(
    db,
    box,
    { entity: SigningKeyEntity, key: 'kid', secret: 'secret', context: signingKeySecretContext, describe: (kid) => `signing_keys row "${kid}"`, clearTextBefore: true },
    logger,
  );
}
