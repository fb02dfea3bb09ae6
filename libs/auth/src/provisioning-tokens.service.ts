import { Injectable } from '@nestjs/common';
import { Database, newId, nowIso } from '@app/persistence';
import { ScimError } from '@app/scim';
import { ProvisioningTokenEntity } from './entities';
import { Principal, Role } from './roles';
import { digestToken, randomSecret } from './secret-hash';

/** Prefix that tells provisioning tokens from JWTs at a glance (and to secret scanners). */
export const PROVISIONING_TOKEN_PREFIX = 'idp_scim_';

export interface ProvisioningTokenInfo {
  id: string;
  name: string;
  created: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/**
 * Long-lived, revocable bearer tokens for an IdP's SCIM client (as AWS IAM Identity Center issues for Okta):
 * shown once, stored as a SHA-256 digest, limited to Users and Groups.
 */
@Injectable()
export class ProvisioningTokens {
  constructor(private readonly db: Database) {}

  async create(name: string, expiresInDays: number | undefined, by: Principal): Promise<ProvisioningTokenInfo & { token: string }> {
    const token = PROVISIONING_TOKEN_PREFIX + randomSecret(32);
    const now = new Date();
    const row: ProvisioningTokenEntity = {
      id: newId(),
      name,
      tokenHash: digestToken(token),
      roles: [Role.ProvisioningClient],
      created: now.toISOString(),
      createdBy: by.id,
      expiresAt: expiresInDays ? new Date(now.getTime() + expiresInDays * 86_400_000).toISOString() : null,
      revokedAt: null,
    };
    await this.db.transaction((m) => m.insert(ProvisioningTokenEntity, row));
    return { ...this.info(row), token };
  }

  async list(): Promise<ProvisioningTokenInfo[]> {
    const rows = await this.db.read((m) => m.find(ProvisioningTokenEntity, { order: { created: 'ASC' } }));
    return rows.map((r) => this.info(r));
  }

  async revoke(id: string): Promise<void> {
    await this.db.transaction(async (m) => {
      const row = await m.findOneBy(ProvisioningTokenEntity, { id });
      if (!row) throw ScimError.notFound(`No provisioning token with id "${id}"`);
      if (!row.revokedAt) await m.update(ProvisioningTokenEntity, { id }, { revokedAt: nowIso() });
    });
  }

  /** The principal for a presented token, or undefined when it is unknown, revoked or expired. */
  async verify(token: string): Promise<Principal | undefined> {
    const row = await this.db.read((m) => m.findOneBy(ProvisioningTokenEntity, { tokenHash: digestToken(token) }));
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt <= nowIso())) return undefined;
    return { kind: 'provisioningToken', id: row.id, name: row.name, roles: row.roles as Role[] };
  }

  private info(r: ProvisioningTokenEntity): ProvisioningTokenInfo {
    return { id: r.id, name: r.name, created: r.created, createdBy: r.createdBy, expiresAt: r.expiresAt, revokedAt: r.revokedAt };
  }
}
