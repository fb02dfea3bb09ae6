import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ScimError } from '@app/scim';
import { AccessTokens } from './access-tokens';
import { BearerAuthentication } from './bearer-authentication';
import { AdminClients } from './clients.service';
import { ProvisioningTokens } from './provisioning-tokens.service';
import { ACCESS_POLICY, AccessPolicy, Principal, PUBLIC_ROUTE, SESSION_ROUTE } from './roles';

export type AuthenticatedRequest = Request & { principal?: Principal };

function isRead(req: Request): boolean {
  return req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/\.search\/?$/.test(req.path));
}

/**
 * Every route not marked @Public() needs a bearer token: an access token from /oauth2/v1/token or a provisioning token.
 * 401 when it is missing, malformed, expired or tampered, or when its client was disabled or the provisioning token
 * revoked; 403 when the client's current roles lack the one needed (SCIM error bodies). Both credentials are checked
 * against their current state in the database on every request (read under a lease that a revocation waits out:
 * credential-lease.ts), so a revocation made on any instance applies to the next request everywhere.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  private readonly bearer: BearerAuthentication;

  constructor(
    private readonly reflector: Reflector,
    tokens: AccessTokens,
    clients: AdminClients,
    provisioning: ProvisioningTokens,
  ) {
    this.bearer = new BearerAuthentication(tokens, clients, provisioning);
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    // End-user routes authenticate the session cookie in their handler; an admin token means nothing there.
    if (this.reflector.getAllAndOverride<boolean>(SESSION_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const policy = this.reflector.getAllAndOverride<AccessPolicy | undefined>(ACCESS_POLICY, targets);
    // Deny by default rather than by path prefix: Express matches routes case-insensitively, so a
    // `/admin/` prefix test let `/ADMIN/v1/...` reach the discovery routes without a token.

    const principal = await this.bearer.authenticate(req, res);
    req.principal = principal;
    if (policy) {
      const allowed = isRead(req) ? policy.read : policy.write;
      if (!principal.roles.some((r) => allowed.includes(r))) {
        throw new ScimError(403, `This operation needs one of the roles ${allowed.join(', ')}; the caller has ${principal.roles.join(', ') || 'none'}`);
      }
    }
    return true;
  }
}
