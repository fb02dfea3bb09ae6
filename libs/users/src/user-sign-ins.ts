import { Column, Entity, EntityManager, In, PrimaryColumn } from 'typeorm';
import { Doc } from '@app/scim';
import { USER_STATE_SCHEMA_ID } from './user-extensions.schema';

/**
 * Each user's last successful sign-in (user_sign_ins): when, and through which identity provider. Written in the
 * sign-in's transaction, outside the user's document, so a sign-in gives the user no new version (an
 * administrator's If-Match stays valid); shown as IDCS's userState lastSuccessfulLoginDate.
 */
@Entity('user_sign_ins')
export class UserSignInEntity {
  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 32 }) userId!: string;
  /** Null for a sign-in through no identity provider, or once that IdP is deleted. */
  @Column({ name: 'idp_id', type: 'varchar', length: 32, nullable: true }) idpId!: string | null;
  @Column({ name: 'last_sign_in_at', type: 'varchar', length: 30 }) lastSignInAt!: string;
}

/** The path of the attribute that shows it. */
export const LAST_SUCCESSFUL_LOGIN_PATH = `${USER_STATE_SCHEMA_ID}:lastSuccessfulLoginDate`;

/** Records a successful sign-in of `userId`, in the caller's transaction: one statement, an upsert. */
export async function recordSignIn(m: EntityManager, userId: string, idpId: string | null, at: string): Promise<void> {
  await m
    .createQueryBuilder()
    .insert()
    .into(UserSignInEntity)
    .values({ userId, idpId, lastSignInAt: at })
    .orUpdate(['idp_id', 'last_sign_in_at'], ['user_id'])
    .updateEntity(false)
    .execute();
}

/** When each of the given users last signed in (users who never did are absent). */
export async function lastSignInsOf(m: EntityManager, userIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!userIds.length) return out;
  for (const r of await m.find(UserSignInEntity, { where: { userId: In(userIds) }, select: ['userId', 'lastSignInAt'] })) out.set(r.userId, r.lastSignInAt);
  return out;
}

/** The representation with its lastSuccessfulLoginDate (userState extension), when the user ever signed in. */
export function withLastSuccessfulLogin(doc: Doc, at: string | undefined): Doc {
  if (!at) return doc;
  const schemas = (doc.schemas as string[] | undefined) ?? [];
  return {
    ...doc,
    schemas: schemas.includes(USER_STATE_SCHEMA_ID) ? schemas : [...schemas, USER_STATE_SCHEMA_ID],
    [USER_STATE_SCHEMA_ID]: { ...((doc[USER_STATE_SCHEMA_ID] as Doc | undefined) ?? {}), lastSuccessfulLoginDate: at },
  };
}
