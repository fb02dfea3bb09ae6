import { Logger } from '@nestjs/common';
import { EntityTarget, ObjectLiteral } from 'typeorm';
import { SecretBox } from '@app/config';
import { Database } from './database';

/** A column that holds secrets sealed with the SecretBox, one per row: what start-up brings under the current key. */
export interface SealedColumn<E extends ObjectLiteral> {
  entity: EntityTarget<E>;
  /** The row's key property (e.g. `id`, `kid`). */
  key: keyof E & string;
  /** The sealed secret's property; rows where it is null hold no secret. */
  secret: keyof E & string;
  /** What the envelope is bound to (its additional authenticated data): the row, so a secret moved elsewhere does not open. */
  context(key: string): string;
  /** Names the secret in log lines and errors, e.g. `signing_keys row "k1"`. */
  describe(key: string): string;
  /** Rows written in clear text before secrets were encrypted at rest, to seal now (else such a row is an error). */
  clearTextBefore?: boolean;
}

/**
 * Brings every secret of a sealed column under the current key-encryption key, at start-up: rows sealed under a
 * key now listed in SECRETS_KEK_PREVIOUS (once that key is dropped, they could no longer be read), and rows
 * written in clear text where the column allows it. Opening every secret also proves, before the server answers
 * anything, that this instance holds the key each one needs.
 *
 * Safe with several instances starting together: each update is conditional on the value it read, so an instance
 * that lost the race changes nothing (the winner wrote the same plaintext under the same current key).
 */
export async function resealAtRest<E extends ObjectLiteral>(db: Database, box: SecretBox, column: SealedColumn<E>, logger: Logger): Promise<void> {
  await db.transaction(async (m) => {
    const rows = await m
      .createQueryBuilder(column.entity, 'r')
      .select([`r.${column.key}`, `r.${column.secret}`])
      .getMany();
    for (const row of rows) {
      const sealed = row[column.secret] as string | null;
      if (sealed === null || sealed === undefined) continue;
      const key = String(row[column.key]);
      const keyId = SecretBox.keyIdOf(sealed);
      if (keyId === box.currentKeyId) continue;
      const context = column.context(key);
      const plaintext = keyId === undefined && column.clearTextBefore ? sealed : box.open(sealed, context, column.describe(key));
      const result = await m.update(column.entity, { [column.key]: key, [column.secret]: sealed } as never, { [column.secret]: box.seal(plaintext, context) } as never);
      if (result.affected) {
        logger.log(`Encrypted ${column.describe(key)} under key-encryption key ${box.currentKeyId} (${keyId === undefined ? 'it was clear text' : `was ${keyId}`})`);
      }
    }
  });
}
