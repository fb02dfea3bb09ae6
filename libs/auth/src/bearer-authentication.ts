import type { Request, Response } from 'express';
import { ScimError } from '@app/scim';
import { AccessTokens } from './access-tokens';
import { AdminClients } from './clients.service';
import { PROVISIONING_TOKEN_PREFIX, ProvisioningTokens } from './provisioning-tokens.service';
import { Principal } from './roles';

const answered = new WeakMap<Request, Promise<Principal>>();

/**
 * Who sent an admin API request: the bearer token's signature and expiry, then whether its client is still
 * enabled (or the provisioning token still valid), one database read. Used by the guard and, for requests with a
 * body, by the body parser before it reads a byte (create-app.ts): an anonymous sender must not make us parse
 * a megabyte of JSON. The result is kept per request (in a map shared by every instance: the guard's and the
 * parser's), so the guard reuses the parser's answer rather than read the database twice.
 */
export class BearerAuthentication {
  private readonly done = answered;

  constructor(
    private readonly tokens: AccessTokens,
    private readonly clients: AdminClients,
    private readonly provisioning: ProvisioningTokens,
  ) {}

  /**
   * The request's principal, or a 401 ScimError, with the WWW-Authenticate challenge already set on `res`
   * (RFC 6750 §3).
   */
  authenticate(req: Request, res: Response): Promise<Principal> {
    let result = this.done.get(req);
    if (!result) {
      result = this.check(req, res);
      this.done.set(req, result);
    }
    return result;
  }

  private async check(req: Request, res: Response): Promise<Principal> {
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
