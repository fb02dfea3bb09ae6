import { DataSource } from 'typeorm';
import { newId, nowIso } from '@app/persistence';
import { ORACLE_USER_SCHEMA_ID, USER_SCHEMA_ID, UserAttributeValueEntity, UserEntity, userIndexRows, userRow } from '@app/users';
import type { TestServer } from './server';

/**
 * Inserts `n` users straight into the test database, in one transaction, writing the rows UsersService writes for
 * `user('<prefix>.<i>@example.com')` (through the same userRow / userIndexRows). Creating 10,000 users through the
 * API one by one would dominate the run time of tests that only need many users to exist.
 */
export async function seedUsers(s: TestServer, prefix: string, n: number): Promise<string[]> {
  const ds = s.app.get(DataSource);
  const now = nowIso();
  const users: UserEntity[] = [];
  const values: Omit<UserAttributeValueEntity, 'id'>[] = [];
  for (let i = 0; i < n; i++) {
    const userName = `${prefix}.${i}@example.com`;
    const doc = {
      schemas: [USER_SCHEMA_ID, ORACLE_USER_SCHEMA_ID],
      userName,
      name: { givenName: 'Seeded', familyName: `User ${i}` },
      emails: [{ value: userName, type: 'work', primary: true }],
      active: true,
      [ORACLE_USER_SCHEMA_ID]: { creationMechanism: 'api', isFederatedUser: false },
    };
    const row = userRow(newId(), doc, 1, now, now);
    users.push(row);
    for (const index of userIndexRows(doc)) values.push({ userId: row.id, ...index });
  }
  await ds.transaction(async (m) => {
    for (let i = 0; i < users.length; i += 500) await m.createQueryBuilder().insert().into(UserEntity).values(users.slice(i, i + 500)).execute();
    for (let i = 0; i < values.length; i += 500) await m.createQueryBuilder().insert().into(UserAttributeValueEntity).values(values.slice(i, i + 500)).execute();
  });
  return users.map((u) => u.id);
}
