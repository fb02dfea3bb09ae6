import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { hashSecret } from '@app/auth';
import { Database, isUniqueViolation, newId, nowIso } from '@app/persistence';
import {
  applyPatch,
  checkIfMatch,
  checkImmutable,
  checkRequired,
  Doc,
  etagFor,
  fitColumn,
  ListQuery,
  listResponse,
  normalizeResource,
  parsePatchRequest,
  Projection,
  ProjectionRequest,
  PublicUrl,
  sameRepresentation,
  ScimError,
} from '@app/scim';
import { UserAttributeValueEntity, UserEntity } from './user.entity';
import { ORACLE_USER_SCHEMA_ID, USER_RESOURCE_TYPE } from './user.schema';
import { UserListRow, UsersRepository } from './users.repository';

const rt = USER_RESOURCE_TYPE;
/** Sizes of the columns that index user attributes (initial-schema migration). */
const INDEXED_LENGTH = 1024;
const TYPE_LENGTH = 64;

export interface UserResult {
  body: Doc;
  version: number;
  location: string;
}

type IndexRow = Omit<UserAttributeValueEntity, 'id' | 'userId'>;

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Rules of the User resource: validation, defaults, password hashing, uniqueness, versions. */
@Injectable()
export class UsersService {
  constructor(
    private readonly db: Database,
    private readonly users: UsersRepository,
    private readonly urls: PublicUrl,
  ) {}

  async create(body: unknown, request: ProjectionRequest): Promise<UserResult> {
    const projection = new Projection(rt, request);
    const doc = normalizeResource(rt, body);
    const password = this.takePassword(doc);
    this.applyDefaults(doc);
    checkRequired(rt, doc);
    const now = nowIso();
    const row = this.toRow(newId(), doc, 1, now, now);
    row.passwordHash = password === undefined ? null : await hashSecret(password);
    try {
      await this.db.transaction((m) => this.users.insert(m, row, this.indexRows(doc)));
    } catch (e) {
      throw this.uniqueness(e, doc);
    }
    return this.result(row, doc, new Map(), projection);
  }

  async get(id: string, request: ProjectionRequest): Promise<UserResult> {
    const projection = new Projection(rt, request);
    return this.db.read(async (m) => {
      const row = await this.requireRow(m, id);
      return this.result(row, JSON.parse(row.data), await this.groupsIfWanted(m, [row.id], projection), projection);
    });
  }

  async list(query: ListQuery): Promise<Doc> {
    const projection = new Projection(rt, query);
    return this.db.read(async (m) => {
      const { rows, total } = await this.users.list(m, query);
      const groups = await this.groupsIfWanted(m, rows.map((r) => r.id), projection);
      const resources = rows.map((r) => this.result(r, JSON.parse(r.data), groups, projection).body);
      return listResponse(resources, total, query.startIndex);
    });
  }

  async replace(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest): Promise<UserResult> {
    const projection = new Projection(rt, request);
    const incoming = normalizeResource(rt, body);
    const password = this.takePassword(incoming);
    const passwordHash = password === undefined ? undefined : await hashSecret(password);
    return this.mutate(id, ifMatch, projection, (old) => {
      const doc = structuredClone(incoming);
      // A PUT carries what the client can see: keep what it cannot (immutable attributes not returned by default).
      const oldExt = old[ORACLE_USER_SCHEMA_ID] as Doc | undefined;
      if (oldExt?.creationMechanism && !(doc[ORACLE_USER_SCHEMA_ID] as Doc | undefined)?.creationMechanism) {
        doc[ORACLE_USER_SCHEMA_ID] = { ...((doc[ORACLE_USER_SCHEMA_ID] as Doc) ?? {}), creationMechanism: oldExt.creationMechanism };
        if (!(doc.schemas as string[]).includes(ORACLE_USER_SCHEMA_ID)) (doc.schemas as string[]).push(ORACLE_USER_SCHEMA_ID);
      }
      if (doc.active === undefined) doc.active = old.active;
      return { doc, passwordHash };
    });
  }

  async patch(id: string, body: unknown, ifMatch: string | undefined, request: ProjectionRequest): Promise<UserResult> {
    const projection = new Projection(rt, request);
    const ops = parsePatchRequest(rt, body);
    const passwordOp = ops.filter((o) => o.path.attribute.name === 'password').pop();
    let passwordHash: string | null | undefined;
    if (passwordOp) {
      if (passwordOp.op === 'remove') passwordHash = null;
      else passwordHash = await hashSecret(this.checkPassword(passwordOp.value));
    }
    const others = ops.filter((o) => o.path.attribute.name !== 'password');
    return this.mutate(id, ifMatch, projection, (old) => {
      const patched = applyPatch(old, others);
      const doc = normalizeResource(rt, patched);
      if (doc.active === undefined) doc.active = true;
      return { doc, passwordHash };
    });
  }

  async delete(id: string, ifMatch: string | undefined): Promise<void> {
    await this.db.transaction(async (m) => {
      const row = await this.requireRow(m, id);
      checkIfMatch(ifMatch, row.version);
      await this.users.delete(m, id);
    });
  }

  /**
   * Read-modify-write of one user in a transaction; the UPDATE only applies to the version that was read,
   * so a concurrent writer on another instance makes us re-read and re-apply rather than lose its change.
   */
  private async mutate(
    id: string,
    ifMatch: string | undefined,
    projection: Projection,
    change: (old: Doc) => { doc: Doc; passwordHash?: string | null },
  ): Promise<UserResult> {
    try {
      return await this.db.transactionRetryingConflicts(async (m) => {
        const current = await this.requireRow(m, id);
        checkIfMatch(ifMatch, current.version);
        const old = JSON.parse(current.data) as Doc;
        const { doc, passwordHash } = change(old);
        checkRequired(rt, doc);
        checkImmutable(rt, old, doc);
        if (sameRepresentation(doc, old) && passwordHash === undefined) {
          return this.result(current, old, await this.groupsIfWanted(m, [id], projection), projection);
        }
        const row = this.toRow(id, doc, current.version + 1, current.created, nowIso());
        row.passwordHash = passwordHash as string | null;
        if (passwordHash === undefined) delete (row as Partial<UserEntity>).passwordHash;
        const written = await this.users.updateIfVersion(m, row, current.version, this.indexRows(doc)).catch((e) => {
          throw this.uniqueness(e, doc);
        });
        if (!written) return undefined;
        return this.result(row, doc, await this.groupsIfWanted(m, [id], projection), projection);
      }, () => new ScimError(409, 'The user is being changed by other requests right now; retry'));
    } catch (e) {
      throw this.uniqueness(e, {});
    }
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
    if (!(doc.schemas as string[]).includes(ORACLE_USER_SCHEMA_ID)) (doc.schemas as string[]).push(ORACLE_USER_SCHEMA_ID);
  }

  private uniqueness(e: unknown, doc: Doc): unknown {
    if (!isUniqueViolation(e)) return e;
    const name = typeof doc.userName === 'string' ? ` "${doc.userName}"` : '';
    return ScimError.conflict(`A user with userName${name} already exists (user names are unique, ignoring case)`);
  }

  /** The row (indexed columns + JSON document) for a representation; also used by JIT, which writes users too. */
  toRow(id: string, doc: Doc, version: number, created: string, lastModified: string): UserEntity {
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
      passwordHash: null,
      data: JSON.stringify(doc),
      version,
      created,
      lastModified,
    };
  }

  /** Index rows of the multi-valued attributes (emails, phoneNumbers). */
  indexRows(doc: Doc): IndexRow[] {
    const rows: IndexRow[] = [];
    for (const attribute of ['emails', 'phoneNumbers']) {
      for (const item of (doc[attribute] as Doc[] | undefined) ?? []) {
        const value = fitColumn(str(item.value), INDEXED_LENGTH, `${attribute}.value`);
        rows.push({
          attribute,
          value,
          valueLower: fitColumn(value?.toLowerCase() ?? null, INDEXED_LENGTH, `${attribute}.value`),
          type: fitColumn(str(item.type)?.toLowerCase() ?? null, TYPE_LENGTH, `${attribute}.type`),
          isPrimary: item.primary === true,
        });
      }
    }
    return rows;
  }

  private async requireRow(m: EntityManager, id: string): Promise<UserEntity> {
    const row = await this.users.findById(m, id);
    if (!row) throw ScimError.notFound(`No user with id "${id}"`);
    return row;
  }

  private async groupsIfWanted(m: EntityManager, ids: string[], projection: Projection) {
    return projection.includes('groups') ? this.users.groupsOf(m, ids) : new Map();
  }

  private result(row: UserListRow, doc: Doc, groups: Map<string, { value: string; display: string }[]>, projection: Projection): UserResult {
    const location = this.urls.resource(rt.endpoint, row.id);
    const full: Doc = {
      ...doc,
      id: row.id,
      meta: { resourceType: rt.name, created: row.created, lastModified: row.lastModified, location, version: etagFor(row.version) },
    };
    const memberships = groups.get(row.id);
    if (memberships) {
      full.groups = memberships.map((g) => ({ value: g.value, $ref: this.urls.resource('/Groups', g.value), display: g.display, type: 'direct' }));
    }
    return { body: projection.apply(full), version: row.version, location };
  }
}
