import { SetMetadata } from '@nestjs/common';

/** Administrator roles, named as in IDCS / OCI IAM Identity Domains. */
export enum Role {
  IdentityDomainAdministrator = 'IdentityDomainAdministrator',
  UserAdministrator = 'UserAdministrator',
  SecurityAdministrator = 'SecurityAdministrator',
  Auditor = 'Auditor',
  /** Held only by provisioning tokens: an IdP's SCIM client pushing Users and Groups. */
  ProvisioningClient = 'ProvisioningClient',
}

export const ASSIGNABLE_ROLES = [Role.IdentityDomainAdministrator, Role.UserAdministrator, Role.SecurityAdministrator, Role.Auditor];

export interface AccessPolicy {
  /** Roles allowed to read (GET, and POST …/.search). */
  read: Role[];
  /** Roles allowed to change. */
  write: Role[];
}

const { IdentityDomainAdministrator: IDA, UserAdministrator: UA, SecurityAdministrator: SA, Auditor: AU, ProvisioningClient: PC } = Role;

/** Who may do what, per area of the API. */
export const Access = {
  usersAndGroups: { read: [IDA, UA, AU, PC], write: [IDA, UA, PC] },
  identityProviders: { read: [IDA, SA, AU], write: [IDA, SA] },
  /** A POST that only reads (the JIT preview): whoever may read identity providers may call it. */
  identityProviderPreview: { read: [IDA, SA, AU], write: [IDA, SA, AU] },
  domainAdministration: { read: [IDA, AU], write: [IDA] },
  /** The audit trail is read by auditors and every kind of administrator; nobody writes it through the API. */
  audit: { read: [IDA, SA, UA, AU], write: [] },
} satisfies Record<string, AccessPolicy>;

export const ACCESS_POLICY = 'access-policy';
export const PUBLIC_ROUTE = 'public-route';

/** Roles needed by a controller or handler; without it any valid admin token is enough (discovery endpoints). */
export const RequireAccess = (policy: AccessPolicy) => SetMetadata(ACCESS_POLICY, policy);
/** A route outside the admin API that needs no token (token endpoint, health). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
export const SESSION_ROUTE = 'session-route';
/**
 * A route for the signed-in end user (e.g. /admin/v1/Me): the guard lets it through without an admin token,
 * and the handler itself must authenticate the browser session.
 */
export const SessionAuthenticated = () => SetMetadata(SESSION_ROUTE, true);

/** Who made the request, as the guard established it. */
export interface Principal {
  kind: 'client' | 'provisioningToken';
  /** client_id, or the provisioning token's id. */
  id: string;
  name: string;
  roles: Role[];
}
