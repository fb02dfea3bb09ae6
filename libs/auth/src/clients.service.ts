import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Database, isUniqueViolation, newId, nowIso } from '@app/persistence';
import { ScimError } from '@app/scim';
import { OAuthClientEntity } from './entities';
import { Principal, Role } from './roles';
import { hashSecret, randomSecret, verifySecret } from './secret-hash';

const BOOTSTRAP_ROW_ID = 'bootstrap-administrator';

export interface NewClient {
  id: string;
  clientId: string;
  clientSecret: string;
  name: string;
  roles: Role[];
  created: string;
}

/** Every client id we create or accept from ADMIN_CLIENT_ID has this shape. */
const CLIENT_ID_SHAPE = /^[A-Za-z0-9._~-]{1,128}$/;

// A fixed hash to verify against when the client id is unknown, so that response time does not reveal which ids exist.
let dummyHash: Promise<string> | undefined;

/** OAuth clients of the admin API (client_credentials); secrets are stored as scrypt hashes. */
@Injectable()
export class AdminClients implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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

  async create(name: string, roles: Role[]): Promise<NewClient> {
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
    await this.db.transaction((m) => m.insert(OAuthClientEntity, row));
    return { id: row.id, clientId: row.clientId, clientSecret, name, roles, created: row.created };
  }

  async list(): Promise<Omit<NewClient, 'clientSecret'>[]> {
    const rows = await this.db.read((m) => m.find(OAuthClientEntity, { where: { disabled: false }, order: { created: 'ASC' } }));
    return rows.map((r) => ({ id: r.id, clientId: r.clientId, name: r.name, roles: r.roles as Role[], created: r.created }));
  }

  /** Disables a client: it can no longer obtain tokens (tokens already issued expire within their short lifetime). */
  async disable(id: string, by: Principal): Promise<void> {
    await this.db.transaction(async (m) => {
      const row = await m.findOneBy(OAuthClientEntity, { id, disabled: false });
      if (!row) throw ScimError.notFound(`No admin client with id "${id}"`);
      if (row.clientId === by.id) throw ScimError.badRequest('invalidValue', 'A client cannot delete itself; use another administrator client');
      await m.update(OAuthClientEntity, { id }, { disabled: true });
    });
  }
}
