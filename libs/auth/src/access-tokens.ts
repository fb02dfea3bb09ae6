import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Database, isUniqueViolation, nowIso } from '@app/persistence';
import { SigningKeyEntity } from './entities';
import { Principal, Role } from './roles';

const KEY_ID = 'access-token-hs256-1';

export type TokenCheck = { ok: true; principal: Principal } | { ok: false; reason: 'expired' | 'invalid' };

/**
 * Short-lived access tokens: HS256 JWTs (via `jose`) signed with a key generated on first start and kept
 * in the database, so every instance sharing the database accepts every instance's tokens.
 */
@Injectable()
export class AccessTokens {
  private key?: Uint8Array;
  private readonly issuer: string;
  private readonly audience: string;

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.issuer = config.publicUrl;
    this.audience = `${config.publicUrl}/admin/v1`;
  }

  get ttlSeconds(): number {
    return this.config.accessTokenTtlSeconds;
  }

  private async signingKey(): Promise<Uint8Array> {
    if (this.key) return this.key;
    const repo = this.db.dataSource.getRepository(SigningKeyEntity);
    let row = await this.db.read(() => repo.findOneBy({ kid: KEY_ID }));
    if (!row) {
      try {
        row = await this.db.transaction((m) =>
          m.save(SigningKeyEntity, { kid: KEY_ID, purpose: 'access-token', secret: randomBytes(32).toString('base64'), created: nowIso() }),
        );
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        row = await this.db.read(() => repo.findOneByOrFail({ kid: KEY_ID })); // another instance won the race
      }
    }
    this.key = Buffer.from(row.secret, 'base64');
    return this.key;
  }

  async issue(principal: Principal): Promise<string> {
    return new SignJWT({ roles: principal.roles, client_name: principal.name })
      .setProtectedHeader({ alg: 'HS256', kid: KEY_ID, typ: 'at+jwt' })
      .setSubject(principal.id)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .setJti(randomBytes(12).toString('base64url'))
      .sign(await this.signingKey());
  }

  async verify(token: string): Promise<TokenCheck> {
    try {
      const { payload } = await jwtVerify(token, await this.signingKey(), {
        algorithms: ['HS256'],
        issuer: this.issuer,
        audience: this.audience,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
      });
      const roles = Array.isArray(payload.roles) ? (payload.roles as Role[]) : [];
      return { ok: true, principal: { kind: 'client', id: payload.sub!, name: String(payload.client_name ?? payload.sub), roles } };
    } catch (e) {
      return { ok: false, reason: e instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
