import { Logger } from '@nestjs/common';
import { SecretBox } from '@app/config';
import { Database } from '@app/persistence';
import { SigningKeyEntity, signingKeySecretContext } from './entities';

/**
 * Brings every `signing_keys` row under the current key-encryption key, at start-up: rows written in clear text
 * before secrets were encrypted at rest, and rows sealed under a key now listed in SECRETS_KEK_PREVIOUS. Opening
 * every row also proves, before the server answers anything, that this instance holds the key each row needs.
 *
 * Safe with several instances starting together: each update is conditional on the value it read, so an instance
 * that lost the race changes nothing (the winner wrote the same plaintext under the same current key).
 */
export async function encryptSigningKeysAtRest(db: Database, box: SecretBox, logger: Logger): Promise<void> {
  await db.transaction(async (m) => {
    for (const row of await m.find(SigningKeyEntity)) {
      const keyId = SecretBox.keyIdOf(row.secret);
      if (keyId === box.currentKeyId) continue;
      const context = signingKeySecretContext(row.kid);
      const plaintext = keyId === undefined ? row.secret : box.open(row.secret, context, `signing_keys row "${row.kid}"`);
      const result = await m.update(SigningKeyEntity, { kid: row.kid, secret: row.secret }, { secret: box.seal(plaintext, context) });
      if (result.affected) {
        logger.log(`Encrypted signing_keys row "${row.kid}" under key-encryption key ${box.currentKeyId} (${keyId === undefined ? 'it was clear text' : `was ${keyId}`})`);
      }
    }
  });
}
