import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Database, isUniqueViolation, newId, nowIso } from '@app/persistence';
import { ScimError } from '@app/scim';
import { OAuthClientEntity } from './entities';
import { CredentialActor, CredentialAuditTrail, CredentialChangeEvent } from './provisioning-tokens.service';
import { Principal, Role } from './roles';
import { hashSecret, randomSecret, verifySecret } from './secret-hash';
import { CredentialLeases } from './credential-lease';

const BOOTSTRAP_ROW_ID = 'bootstrap-administrator';

export interface NewClient {
  id: string;
  clientId: string;
  clientSecret: string;
  name: string;
  roles: Role[];
  created: string;
}

const ACTIVE_CLIENT_SQL = 'SELECT name, roles FROM oauth_clients WHERE client_id = :clientId AND disabled = :disabled';

/**
 * Every client row id: newId()s and the bootstrap row's. Another shape cannot exist and is not sent to the
 * database (PostgreSQL refuses U+0000 in text: it would be an error, not a 404).
 */
const ROW_ID_SHAPE = /^[a-z0-9-]{1,64}$/;

/** Every client id we create or accept from ADMIN_CLIENT_ID has this shape. */
const CLIENT_ID_SHAPE = /^[A-Za-z0-9._~-]{1,128}$/;

// A fixed hash to verify against when the client id is unknown, so that response time does not reveal which ids exist.
let dummyHash: Promise<string> | undefined;

/** OAuth clients of the admin API (client_credentials); secrets are stored as scrypt hashes. */
@Injectable()
export class AdminClients implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');
  private readonly active = new CredentialLeases((clientId: string) => this.readActivePrincipal(clientId));

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly audit: CredentialAuditTrail,
  ) {}

  /** With an empty database, create the first administrator client from the configuration or with generated credentials. */
  async onApplicationBootstrap(): Promise<void> {
    const repo = this.db.dataSource.getRepository(OAuthClientEntity);
    if ((await this.db.read(() => repo.count())) > 0) return;
    const clientId = this.config.adminClientId ?? `admin-${randomSecret(9)}`;
    const clientSecret = this.config.adminClientSecret ?? randomSecret(24);
    try {
      await this.db.transaction(async (m) =>
        m.insert(OAuthClientEntity, {
          id: BOOTSTRAP_ROW_ID,
          clientId,
          name: 'Bootstrap administrator',
          secretHash: await hashSecret(clientSecret),
          roles: [Role.IdentityDomainAdministrator],
          created: nowIso(),
          disabled: false,
        }),
      );
    } catch (e) {
      if (isUniqueViolation(e)) return; // another instance bootstrapped the same database first
      throw e;
    }
    if (this.config.adminClientSecret) {
      this.logger.log(`Bootstrap administrator client created: client_id=${clientId} (secret from ADMIN_CLIENT_SECRET)`);
    } else {
      // Printed once, on this first start only: the secret is stored hashed and cannot be shown again.
      this.logger.log(`Bootstrap administrator client created. Save these now, they are not shown again:\n  client_id=${clientId}\n  client_secret=${clientSecret}`);
    }
  }

  async authenticate(clientId: string, secret: string): Promise<Principal | undefined> {
    // Only ids of the shape we issue are looked up: others (e.g. holding U+0000, which PostgreSQL text refuses)
    // cannot exist and must fail like any unknown client, not as a database error.
    const row = CLIENT_ID_SHAPE.test(clientId) ? await this.db.read((m) => m.findOneBy(OAuthClientEntity, { clientId })) : null;
    if (!row || row.disabled) {
      dummyHash ??= hashSecret('not-a-client');
      await verifySecret(secret, await dummyHash);
      return undefined;
    }
    if (!(await verifySecret(secret, row.secretHash))) return undefined;
    return { kind: 'client', id: row.clientId, name: row.name, roles: row.roles as Role[] };
  }

  /**
   * The client behind an access token as it stands now, or undefined once it is disabled (or gone). The guard
   * calls this on every request: the token proves only who the client is, never what it may still do. Read
   * under a lease (CredentialLeases), so that a client calling thousands of times a second costs one database
   * read per lease, while disabling it (which waits out the lease) still applies to its next request on every
   * instance sharing the database.
   */
  activePrincipal(clientId: string): Promise<Principal | undefined> {
    return this.active.get(clientId);
  }

  /** One read by the unique `client_id` index, on a kept (SQLite) or named (PostgreSQL) prepared statement. */
  private async readActivePrincipal(clientId: string): Promise<Principal | undefined> {
    const [row] = await this.db.read((m) => {
      const sql = this.db.sql(m);
      return sql.query<{ name: string; roles: string }>(...sql.escape(ACTIVE_CLIENT_SQL, { clientId, disabled: false }));
    });
    if (!row) return undefined;
    return { kind: 'client', id: clientId, name: row.name, roles: JSON.parse(row.roles) as Role[] };
  }

  /** Creates a client and records who did, in one transaction. */
  async create(name: string, roles: Role[], by: CredentialActor): Promise<NewClient> {
    const clientSecret = randomSecret(32);
    const row: OAuthClientEntity = {
      id: newId(),
      clientId: `client-${randomSecret(12)}`,
      name,
      secretHash: await hashSecret(clientSecret),
      roles,
      created: nowIso(),
      disabled: false,
    };
    await this.db.transaction(async (m) => {
      await m.insert(OAuthClientEntity, row);
      await this.audit.record(m, this.event('admin.AdminClient.create', row, by, { clientId: row.clientId, roles: row.roles }));
    });
    return { id: row.id, clientId: row.clientId, clientSecret, name, roles, created: row.created };
  }

  async list(): Promise<Omit<NewClient, 'clientSecret'>[]> {
    const rows = await this.db.read((m) => m.find(OAuthClientEntity, { where: { disabled: false }, order: { created: 'ASC' } }));
    return rows.map((r) => ({ id: r.id, clientId: r.clientId, name: r.name, roles: r.roles as Role[], created: r.created }));
  }

  /**
   * Replaces a client's roles. Tokens it already holds get the new roles from their next request on, on every
   * instance (the answer waits out the lease, as `disable` does): a token proves who the client is, not what it
   * may do. A client cannot change its own roles, so that no administrator takes away the last administrator
   * role by accident.
   */
  async setRoles(id: string, roles: Role[], by: CredentialActor): Promise<Omit<NewClient, 'clientSecret'>> {
    const row = await this.changeEnabled(id, by, {
      selfRefusal: 'A client cannot change its own roles; use another administrator client',
      change: { roles },
      eventId: 'admin.AdminClient.update',
      details: (r) => ({ clientId: r.clientId, roles: { from: r.roles, to: roles } }),
    });
    return { id: row.id, clientId: row.clientId, name: row.name, roles, created: row.created };
  }

  /**
   * Disables a client: it can no longer obtain tokens, and the tokens it holds are refused from the next request
   * on, on every instance: the answer comes once no instance can still hold a lease on the client's old state.
   */
  async disable(id: string, by: CredentialActor): Promise<void> {
    await this.changeEnabled(id, by, {
      selfRefusal: 'A client cannot delete itself; use another administrator client',
      change: { disabled: true },
      eventId: 'admin.AdminClient.disable',
      details: (r) => ({ clientId: r.clientId }),
    });
  }

  /**
   * Changes an enabled client other than the caller, audited in the same transaction, and answers once no instance
   * can still hold a lease on the client's old state. Only the client read as enabled is changed: of concurrent
   * changes, each is recorded once, and a client disabled meanwhile is not found.
   */
  private async changeEnabled(
    id: string,
    by: CredentialActor,
    c: { selfRefusal: string; change: Partial<OAuthClientEntity>; eventId: CredentialChangeEvent['eventId']; details: (row: OAuthClientEntity) => Record<string, unknown> },
  ): Promise<OAuthClientEntity> {
    const row = await this.db.transaction(async (m) => {
      const row = ROW_ID_SHAPE.test(id) ? await m.findOneBy(OAuthClientEntity, { id, disabled: false }) : null;
      if (!row) throw ScimError.notFound(`No admin client with id "${id}"`);
      if (row.clientId === by.principal.id) throw ScimError.badRequest('invalidValue', c.selfRefusal);
      const r = await m.update(OAuthClientEntity, { id, disabled: false }, c.change);
      if (!r.affected) throw ScimError.notFound(`No admin client with id "${id}"`);
      await this.audit.record(m, this.event(c.eventId, row, by, c.details(row)));
      return row;
    });
    await this.active.revoked(row.clientId);
    return row;
  }

  private event(eventId: CredentialChangeEvent['eventId'], row: OAuthClientEntity, by: CredentialActor, details: Record<string, unknown>): CredentialChangeEvent {
    return { eventId, outcome: 'success', actor: by.principal, correlationId: by.correlationId, resourceType: 'AdminClient', resourceId: row.id, resourceName: row.name, details };
  }
}
