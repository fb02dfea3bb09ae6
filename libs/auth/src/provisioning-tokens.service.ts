import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Database, newId, nowIso } from '@app/persistence';
import { ScimError } from '@app/scim';
import { ProvisioningTokenEntity } from './entities';
import { Principal, Role } from './roles';
import { digestToken, randomSecret } from './secret-hash';
import { CredentialLeases } from './credential-lease';

/** Prefix that tells provisioning tokens from JWTs at a glance (and to secret scanners). */
export const PROVISIONING_TOKEN_PREFIX = 'idp_scim_';

/** Who changes an admin credential, and the id of the request (opc-request-id), for the audit trail. */
export interface CredentialActor {
  principal: Principal;
  correlationId?: string;
}

/** An audit event about a change of an admin credential: an OAuth client (AdminClient) or a provisioning token. */
export interface CredentialChangeEvent {
  eventId: 'admin.AdminClient.create' | 'admin.AdminClient.update' | 'admin.AdminClient.disable' | 'admin.ProvisioningToken.create' | 'admin.ProvisioningToken.revoke';
  outcome: 'success';
  actor: Principal;
  correlationId?: string;
  resourceType: 'AdminClient' | 'ProvisioningToken';
  resourceId: string;
  resourceName?: string;
  details?: Record<string, unknown>;
}

/**
 * The audit trail as auth needs it. The audit lib sits above auth (it imports Principal), so auth names what it
 * needs and AuditModule provides it, as group-references.ts turns a dependency around. Without a provider the
 * application does not start: a credential change must never go unaudited silently.
 */
/** A refused token request: the client id is not authenticated, so the actor is anonymous and the id a detail. */
export interface TokenFailureEvent {
  eventId: 'oauth.token';
  outcome: 'failure';
  actor: { kind: 'anonymous' };
  reason: string;
  correlationId?: string;
  details: Record<string, unknown>;
}

/** What auth records in the audit trail. */
export type CredentialAuditEvent = CredentialChangeEvent | TokenFailureEvent;

export abstract class CredentialAuditTrail {
  /** Records the event in the caller's transaction, so the change and its record commit or roll back together. */
  abstract record(m: EntityManager, event: CredentialAuditEvent): Promise<void>;
}

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
  /** By token digest: the token's principal and expiry, or undefined when it is unknown or revoked. */
  private readonly valid = new CredentialLeases((tokenHash: string) => this.readValid(tokenHash));

  constructor(
    private readonly db: Database,
    private readonly audit: CredentialAuditTrail,
  ) {}

  async create(name: string, expiresInDays: number | undefined, by: CredentialActor): Promise<ProvisioningTokenInfo & { token: string }> {
    const token = PROVISIONING_TOKEN_PREFIX + randomSecret(32);
    const now = new Date();
    const row: ProvisioningTokenEntity = {
      id: newId(),
      name,
      tokenHash: digestToken(token),
      roles: [Role.ProvisioningClient],
      created: now.toISOString(),
      createdBy: by.principal.id,
      expiresAt: expiresInDays ? new Date(now.getTime() + expiresInDays * 86_400_000).toISOString() : null,
      revokedAt: null,
    };
    await this.db.transaction(async (m) => {
      await m.insert(ProvisioningTokenEntity, row);
      await this.audit.record(m, { ...this.event('admin.ProvisioningToken.create', row, by), details: { expiresAt: row.expiresAt } });
    });
    return { ...this.info(row), token };
  }

  async list(): Promise<ProvisioningTokenInfo[]> {
    const rows = await this.db.read((m) => m.find(ProvisioningTokenEntity, { order: { created: 'ASC' } }));
    return rows.map((r) => this.info(r));
  }

  /**
   * Revokes a token; revoking a revoked token changes nothing and records nothing. The answer comes once no
   * instance can still hold a lease on the token's unrevoked state, so the token's next request fails everywhere.
   */
  async revoke(id: string, by: CredentialActor): Promise<void> {
    const tokenHash = await this.db.transaction(async (m) => {
      // Token ids are newId()s: another shape cannot exist, and is not sent to the database (PostgreSQL refuses U+0000 in text).
      const row = /^[0-9a-f]{32}$/.test(id) ? await m.findOneBy(ProvisioningTokenEntity, { id }) : null;
      if (!row) throw ScimError.notFound(`No provisioning token with id "${id}"`);
      if (row.revokedAt) return undefined;
      await m.update(ProvisioningTokenEntity, { id }, { revokedAt: nowIso() });
      await this.audit.record(m, this.event('admin.ProvisioningToken.revoke', row, by));
      return row.tokenHash;
    });
    if (tokenHash) await this.valid.revoked(tokenHash);
  }

  /**
   * The principal for a presented token, or undefined when it is unknown, revoked or expired. The revocation
   * state is read under a lease (CredentialLeases); the expiry is checked on every request.
   */
  async verify(token: string): Promise<Principal | undefined> {
    const valid = await this.valid.get(digestToken(token));
    if (!valid || (valid.expiresAt && valid.expiresAt <= nowIso())) return undefined;
    return valid.principal;
  }

  private async readValid(tokenHash: string): Promise<{ principal: Principal; expiresAt: string | null } | undefined> {
    const row = await this.db.read((m) => m.findOneBy(ProvisioningTokenEntity, { tokenHash }));
    if (!row || row.revokedAt) return undefined;
    return { principal: { kind: 'provisioningToken', id: row.id, name: row.name, roles: row.roles as Role[] }, expiresAt: row.expiresAt };
  }

  private event(eventId: CredentialChangeEvent['eventId'], row: ProvisioningTokenEntity, by: CredentialActor): CredentialChangeEvent {
    return { eventId, outcome: 'success', actor: by.principal, correlationId: by.correlationId, resourceType: 'ProvisioningToken', resourceId: row.id, resourceName: row.name };
  }

  private info(r: ProvisioningTokenEntity): ProvisioningTokenInfo {
    return { id: r.id, name: r.name, created: r.created, createdBy: r.createdBy, expiresAt: r.expiresAt, revokedAt: r.revokedAt };
  }
}
