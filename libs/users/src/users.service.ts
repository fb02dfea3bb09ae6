import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { hashSecret } from '@app/auth';
import { Database, nowIso } from '@app/persistence';
import {
  applyPatch,
  checkRequired,
  Doc,
  ListQuery,
  listResponse,
  normalizeResource,
  parsePatchRequest,
  Projection,
  ProjectionRequest,
  PublicUrl,
  ResourcePipeline,
  ResourceResult,
  retainUnsentImmutable,
  schemasOf,
  ScimError,
  syncSchemas,
  writerOf,
  WritingActor,
} from '@app/scim';
import { UserEntity } from './user.entity';
import { userIndexRows, userRow } from './user-row';
import { UserReferences } from './user-references';
import { LAST_SUCCESSFUL_LOGIN_PATH, lastSignInsOf, withLastSuccessfulLogin } from './user-sign-ins';
import { attributeSourceOf, changedAttributeKeys } from './attribute-sources';
import { ATTRIBUTE_SOURCES_PATH, attributeSourcesOf, recordAttributeSources, withAttributeSources } from './user-attribute-sources';
import { checkEmails, dropRequestOnly, hasPrimaryEmail, isLocked, retainUnsentLocks, settleUserState } from './user-rules';
import { ORACLE_USER_SCHEMA_ID, USER_RESOURCE_TYPE } from './user.schema';
import { UserLookupAttribute, UsersRepository } from './users.repository';

const rt = USER_RESOURCE_TYPE;

export type UserResult = ResourceResult;

/** A stored user as read: its row (with the version a change must be written against) and its representation. */
export interface StoredUser {
  row: UserEntity;
  doc: Doc;
  active: boolean;
}

/** Rules of the User resource: validation, defaults, password hashing, uniqueness. */
@Injectable()
export class UsersService {
  /** The versioned-resource pipeline of users; JIT writes users through it too. */
  readonly pipeline: ResourcePipeline<UserEntity>;

  constructor(
    private readonly db: Database,
    private readonly users: UsersRepository,
    private readonly references: UserReferences,
    urls: PublicUrl,
  ) {
    this.pipeline = new ResourcePipeline(db, urls, {
      rt,
      noun: 'user',
      table: users.table,
      toRow: userRow,
      writeDerived: async (m, row, doc, before, by) => {
        // Every writer of a user passes here (SCIM, administrators, JIT): what changed is recorded as set by it
        // (attribute ownership), one upsert; a new user written by nobody known has no sources to forget.
        if (by || before) await recordAttributeSources(m, row.id, changedAttributeKeys(schemasOf(rt), before, doc), attributeSourceOf(by, row.lastModified));
        const rows = userIndexRows(doc);
        // Most updates (a sign-in's new name, a PATCH of title) leave emails and phone numbers as they were.
        if (!before || !isDeepStrictEqual(rows, userIndexRows(before))) await users.writeIndexRows(m, row.id, rows, !before);
        // Every write of a user passes here (SCIM PUT/PATCH, JIT): one that leaves it unable to sign in ends its
        // sessions in the same transaction, so no instance serves them afterwards.
        if (before && (!row.active || isLocked(doc))) await references.signInRevoked(m, row.id);
      },
      conflict: (_e, doc) => {
        const name = typeof doc?.userName === 'string' ? ` "${doc.userName}"` : '';
        return ScimError.conflict(`A user with userName${name} already exists (user names are unique, ignoring case)`);
      },
      render: async (m, row, doc, _request, projection) => {
        let shown = projection.includes(LAST_SUCCESSFUL_LOGIN_PATH) ? withLastSuccessfulLogin(doc, (await lastSignInsOf(m, [row.id])).get(row.id)) : doc;
        if (projection.includes(ATTRIBUTE_SOURCES_PATH)) shown = withAttributeSources(shown, (await attributeSourcesOf(m, [row.id])).get(row.id));
        if (!projection.includes('groups')) return shown;
        return this.withGroups(shown, (await users.groupsOf(m, [row.id])).get(row.id));
      },
    });
  }

  async create(body: unknown, request: ProjectionRequest, actor: WritingActor): Promise<UserResult> {
    const doc = normalizeResource(rt, body);
    const password = this.takePassword(doc);
    this.applyDefaults(doc);
    this.settle(undefined, doc);
    const passwordHash = password === undefined ? null : await hashSecret(password);
    return this.pipeline.create(doc, request, { extraColumns: { passwordHash }, by: writerOf(actor) });
  }

  get(id: string, request: ProjectionRequest): Promise<UserResult> {
    return this.pipeline.get(id, request);
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(rt, query);
    return this.db.read(async (m) => {
      const { rows, total } = await this.users.list(m, query);
      // One query for the groups of the whole page rather than one per user.
      const groups = projection.includes('groups') ? await this.users.groupsOf(m, rows.map((r) => r.id)) : undefined;
      const signIns = projection.includes(LAST_SUCCESSFUL_LOGIN_PATH) ? await lastSignInsOf(m, rows.map((r) => r.id)) : undefined;
      const sources = projection.includes(ATTRIBUTE_SOURCES_PATH) ? await attributeSourcesOf(m, rows.map((r) => r.id)) : undefined;
      const resources: Doc[] = [];
      for (const r of rows) {
        const doc = withAttributeSources(withLastSuccessfulLogin(JSON.parse(r.data) as Doc, signIns?.get(r.id)), sources?.get(r.id));
        resources.push(projection.apply(await this.pipeline.representation(m, r, groups ? this.withGroups(doc, groups.get(r.id)) : doc)));
      }
      return listResponse(resources, total, query.startIndex);
    });
  }

  async replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: WritingActor): Promise<UserResult> {
    const incoming = normalizeResource(rt, body);
    const password = this.takePassword(incoming);
    const passwordHash = password === undefined ? undefined : await hashSecret(password);
    return this.pipeline.mutate(id, ifMatch, request, (_m, old) => {
      const doc = structuredClone(incoming);
      // A PUT carries what the client knows of: what it leaves out and cannot (or must not) clear stays.
      retainUnsentImmutable(rt, old, doc);
      retainUnsentLocks(rt, old, doc);
      if (doc.active === undefined) doc.active = old.active;
      this.settle(old, doc);
      return this.withPassword(doc, passwordHash);
    }, undefined, writerOf(actor));
  }

  async patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest, actor: WritingActor): Promise<UserResult> {
    const ops = parsePatchRequest(rt, body);
    const passwordOp = ops.filter((o) => o.path.attribute.name === 'password').pop();
    let passwordHash: string | null | undefined;
    if (passwordOp) {
      if (passwordOp.op === 'remove') passwordHash = null;
      else passwordHash = await hashSecret(this.checkPassword(passwordOp.value));
    }
    const others = ops.filter((o) => o.path.attribute.name !== 'password');
    return this.pipeline.mutate(id, ifMatch, request, (_m, old) => {
      const doc = normalizeResource(rt, applyPatch(old, others));
      // No default here: a removed `active` is unassigned (RFC 7644 §3.5.2.2), which sign-in reads as active.
      this.settle(old, doc);
      return this.withPassword(doc, passwordHash);
    }, undefined, writerOf(actor));
  }

  /** Deletes a user; what refers to it (memberships) goes first, so each group the user left gets a new version. */
  delete(id: string, ifMatch: string | undefined, actor: WritingActor): Promise<void> {
    return this.pipeline.delete(id, ifMatch, { before: (m, row) => this.references.removeReferencesTo(m, row.id, writerOf(actor)) });
  }

  /**
   * The user a sign-in designates by `attribute` (its row, as read, and its representation), none, or
   * 'ambiguous' when several users share the value.
   */
  async findForSignIn(m: EntityManager, attribute: UserLookupAttribute, value: string): Promise<StoredUser | undefined | 'ambiguous'> {
    const rows = await this.users.findByLookup(m, attribute, value);
    // Several users with one primary email (or externalId): picking one would sign in the wrong person, and
    // treating it as "not found" would create yet another; refuse instead.
    if (rows.length > 1) return 'ambiguous';
    const row = rows[0];
    // SQLite returns booleans as 0/1.
    return row && { row, doc: JSON.parse(row.data) as Doc, active: row.active === true || (row.active as unknown) === 1 };
  }

  /** The user a federated identity points at (the link a previous sign-in stored), if it still exists. */
  async findForSignInById(m: EntityManager, id: string): Promise<StoredUser | undefined> {
    const row = await m.findOneBy(UserEntity, { id });
    return row ? { row, doc: JSON.parse(row.data) as Doc, active: row.active === true || (row.active as unknown) === 1 } : undefined;
  }

  private withPassword(doc: Doc, passwordHash: string | null | undefined) {
    return passwordHash === undefined ? { doc } : { doc, alsoChanged: true, extraColumns: { passwordHash } };
  }

  private withGroups(doc: Doc, memberships: { value: string; display: string }[] | undefined): Doc {
    if (!memberships) return doc;
    return { ...doc, groups: memberships.map((g) => ({ value: g.value, $ref: this.pipeline.urls.resource('/Groups', g.value), display: g.display, type: 'direct' })) };
  }

  private takePassword(doc: Doc): string | undefined {
    const p = doc.password;
    delete doc.password;
    return p === undefined ? undefined : this.checkPassword(p);
  }

  private checkPassword(p: unknown): string {
    if (typeof p !== 'string' || p.length < 8 || p.length > 256) {
      throw ScimError.badRequest('invalidValue', '"password" must be a string of 8 to 256 characters');
    }
    return p;
  }

  private applyDefaults(doc: Doc): void {
    if (doc.active === undefined) doc.active = true;
    const ext = (doc[ORACLE_USER_SCHEMA_ID] as Doc | undefined) ?? {};
    if (!ext.creationMechanism) ext.creationMechanism = 'api';
    if (ext.isFederatedUser === undefined) ext.isFederatedUser = false;
    doc[ORACLE_USER_SCHEMA_ID] = ext;
  }

  /**
   * The rules every user representation passes before it is stored, after create, PUT or PATCH computed it from
   * the request (and `old`, the stored one): request-only attributes dropped, lock state completed, required
   * attributes (userName first, as IDCS reports it) and the email rules checked.
   */
  private settle(old: Doc | undefined, doc: Doc): void {
    dropRequestOnly(rt, doc);
    settleUserState(old, doc, nowIso());
    syncSchemas(rt, doc);
    checkRequired(rt, doc);
    // Users stored before the rule existed may lack a primary email: they can still be changed (deactivated by a
    // provisioning client, say) without adding one; no change may take a primary email away.
    if (!old || hasPrimaryEmail(old)) checkEmails(doc);
  }
}
