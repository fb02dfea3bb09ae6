import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ScimError } from '@app/scim';
import { AccessTokens } from './access-tokens';
import { AdminClients } from './clients.service';
import { PROVISIONING_TOKEN_PREFIX, ProvisioningTokens } from './provisioning-tokens.service';
import { ACCESS_POLICY, AccessPolicy, Principal, PUBLIC_ROUTE, SESSION_ROUTE } from './roles';

export type AuthenticatedRequest = Request & { principal?: Principal };

function isRead(req: Request): boolean {
  return req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && /\/\.search\/?$/.test(req.path));
}

/**
 * Every route not marked @Public() needs a bearer token: an access token from /oauth2/v1/token or a provisioning token.
 * 401 when it is missing, malformed, expired or tampered, or when its client was disabled or the provisioning token
 * revoked; 403 when the client's current roles lack the one needed (SCIM error bodies). Both credentials are checked
 * against the database on every request, so a revocation or a role change made on any instance applies to the next
 * request everywhere.
 */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokens,
    private readonly clients: AdminClients,
    private readonly provisioning: ProvisioningTokens,
  ) {}

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

    const principal = await this.authenticate(req, res);
    req.principal = principal;
    if (policy) {
      const allowed = isRead(req) ? policy.read : policy.write;
      if (!principal.roles.some((r) => allowed.includes(r))) {
        throw new ScimError(403, `This operation needs one of the roles ${allowed.join(', ')}; the caller has ${principal.roles.join(', ') || 'none'}`);
      }
    }
    return true;
  }

  private async authenticate(req: Request, res: Response): Promise<Principal> {
    const header = req.headers.authorization;
    const challenge = (error?: string) =>
      res.setHeader('WWW-Authenticate', `Bearer realm="admin"${error ? `, error="${error}"` : ''}`);
    if (!header) {
      challenge();
      throw new ScimError(401, 'Send an access token: Authorization: Bearer <token> (get one from POST /oauth2/v1/token)');
    }
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
    if (!m) {
      challenge('invalid_request');
      throw new ScimError(401, 'The Authorization header must be "Bearer <token>"');
    }
    const token = m[1];
    if (token.startsWith(PROVISIONING_TOKEN_PREFIX)) {
      const p = await this.provisioning.verify(token);
      if (p) return p;
      challenge('invalid_token');
      throw new ScimError(401, 'The provisioning token is unknown, revoked or expired');
    }
    const check = await this.tokens.verify(token);
    if (!check.ok) {
      challenge('invalid_token');
      throw new ScimError(401, check.reason === 'expired' ? 'The access token has expired; request a new one' : 'The access token is invalid (malformed, tampered with, or not issued here)');
    }
    const principal = await this.clients.activePrincipal(check.clientId);
    if (principal) return principal;
    challenge('invalid_token');
    throw new ScimError(401, 'The access token was revoked: its client has been disabled or deleted');
  }
}
