import { DataSource } from 'typeorm';
import { newId, nowIso } from '@app/persistence';
import { ORACLE_USER_SCHEMA_ID, USER_SCHEMA_ID, UserAttributeValueEntity, UserEntity } from '@app/users';
import type { TestServer } from './server';

/**
 * Inserts `n` users straight into the test database, in one transaction, writing the same rows
 * UsersService writes for `user('<prefix>.<i>@example.com')`. Creating 10,000 users through the API
 * one by one would dominate the run time of tests that only need many users to exist.
 */
export async function seedUsers(s: TestServer, prefix: string, n: number): Promise<string[]> {
  const ds = s.app.get(DataSource);
  const now = nowIso();
  const users: UserEntity[] = [];
  const values: Omit<UserAttributeValueEntity, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    const id = newId();
    const userName = `${prefix}.${i}@example.com`;
    const doc = {
      schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID],
      userName,
      name: { givenName: 'Seeded', familyName: `User ${i}` },
      emails: [{ value: userName, type: 'work', primary: true }],
      active: true,
      [ORACLE_USER_SCHEMA_ID]: { creationMechanism: 'api', isFederatedUser: false },
    };
    users.push({
      id,
      userName,
      userNameLower: userName.toLowerCase(),
      externalId: null,
      displayNameLower: null,
      givenNameLower: 'seeded',
      familyNameLower: `user ${i}`,
      active: true,
      passwordHash: null,
      data: JSON.stringify(doc),
      version: 1,
      created: now,
      lastModified: now,
    });
    values.push({ userId: id, attribute: 'emails', value: userName, valueLower: userName.toLowerCase(), type: 'work', isPrimary: true });
  }
  await ds.transaction(async (m) => {
    for (let i = 0; i < n; i += 500) {
      await m.createQueryBuilder().insert().into(UserEntity).values(users.slice(i, i + 500)).execute();
      await m.createQueryBuilder().insert().into(UserAttributeValueEntity).values(values.slice(i, i + 500)).execute();
    }
  });
  return users.map((u) => u.id);
}
