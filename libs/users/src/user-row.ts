import { Doc, fitColumn } from '@app/scim';
import { UserAttributeValueEntity, UserEntity } from './user.entity';

/** Sizes of the columns that index user attributes (initial-schema migration). */
const INDEXED_LENGTH = 1024;
const TYPE_LENGTH = 64;

/** An index row of a multi-valued attribute, before it is tied to its user. */
export type UserIndexRow = Omit<UserAttributeValueEntity, 'id' | 'userId'>;

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * The row (indexed columns + JSON document) of a user representation. Every writer of users (the SCIM
 * resource, JIT, test seeding) goes through here so the indexed columns always agree with the document. The
 * password hash is not part of it: only a password change writes that column.
 */
export function userRow(id: string, doc: Doc, version: number, created: string, lastModified: string): UserEntity {
  const name = (doc.name as Doc | undefined) ?? {};
  const userName = doc.userName as string;
  return {
    id,
    userName: fitColumn(userName, INDEXED_LENGTH, 'userName')!,
    userNameLower: fitColumn(userName.toLowerCase(), INDEXED_LENGTH, 'userName')!,
    externalId: fitColumn(str(doc.externalId), INDEXED_LENGTH, 'externalId'),
    displayNameLower: fitColumn(str(doc.displayName)?.toLowerCase() ?? null, INDEXED_LENGTH, 'displayName'),
    givenNameLower: fitColumn(str(name.givenName)?.toLowerCase() ?? null, INDEXED_LENGTH, 'name.givenName'),
    familyNameLower: fitColumn(str(name.familyName)?.toLowerCase() ?? null, INDEXED_LENGTH, 'name.familyName'),
    active: doc.active !== false,
    data: JSON.stringify(doc),
    version,
    created,
    lastModified,
  };
}

/** Index rows of the multi-valued attributes that filters use (emails, phoneNumbers). */
export function userIndexRows(doc: Doc): UserIndexRow[] {
  const rows: UserIndexRow[] = [];
  for (const attribute of ['emails', 'phoneNumbers']) {
    for (const item of (doc[attribute] as Doc[] | undefined) ?? []) {
      const value = fitColumn(str(item.value), INDEXED_LENGTH, `${attribute}.value`);
      rows.push({
        attribute,
        value,
        valueLower: fitColumn(value?.toLowerCase() ?? null, INDEXED_LENGTH, `${attribute}.value`),
        type: fitColumn(str(item.type)?.toLowerCase() ?? null, TYPE_LENGTH, `${attribute}.type`),
        isPrimary: item.primary === true,
        isVerified: item.verified === true,
        isSecondary: item.secondary === true,
      });
    }
  }
  return rows;
}
