import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { APP_CONFIG, AppConfig, SecretBox, secretBoxFor } from '@app/config';
import { Database, isUniqueViolation, nowIso } from '@app/persistence';
import { SigningKeyEntity, signingKeySecretContext } from './entities';
import { Principal } from './roles';
import { encryptSigningKeysAtRest } from './signing-keys-at-rest';

const KEY_ID = 'access-token-hs256-1';

/**
 * Tokens already verified, so that a client calling many times with its token (the normal pattern: one token
 * per hour, thousands of requests) pays for the HMAC check once. jose's verification (WebCrypto key import plus
 * an async job on the thread pool) was a third of the server's CPU time on a cheap authenticated request
 * (bench/scim.bench.ts). Keyed by the exact token string, so a hit proves this token was verified; an entry is
 * only trusted until the token's `exp`. The cache holds only what the signature proves (which client the token
 * was issued to), never what the client may do: whether it is still enabled and which roles it holds now is
 * asked on every request (AdminClients.activePrincipal, under a lease that a revocation waits out), so the cache
 * cannot keep a revoked client working. Bounded; the oldest entry makes room.
 */
const VERIFIED_CACHE_SIZE = 1000;

/** `clientId`: the client the token was issued to (its `sub`); what that client may do now is not in the token. */
export type TokenCheck = { ok: true; clientId: string } | { ok: false; reason: 'expired' | 'invalid' };

/**
 * Short-lived access tokens: HS256 JWTs (via `jose`) signed with a key generated on first start and kept
 * in the database, so every instance sharing the database accepts every instance's tokens. The key is stored
 * encrypted under the key-encryption key (SecretBox): reading the database alone is not enough to mint tokens.
 */
@Injectable()
export class AccessTokens implements OnModuleInit {
  private readonly logger = new Logger(AccessTokens.name);
  private key?: Uint8Array;
  private readonly verified = new Map<string, { clientId: string; expiresAtMs: number }>();
  private readonly issuer: string;
  private readonly audience: string;

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.issuer = config.publicUrl;
    this.audience = `${config.publicUrl}/admin/v1`;
  }

  /**
   * `signing_keys` is auth's table, so its encryption at rest starts here, for every row (the SAML SP key too),
   * before the server answers: a missing or wrong key-encryption key stops the start rather than a later request.
   */
  async onModuleInit(): Promise<void> {
    const box = this.box();
    if (box.insecure) {
      this.logger.warn('SECRETS_KEK is unset: the signing keys in the database are encrypted under a publicly known development key, which protects nothing. Set SECRETS_KEK (and NODE_ENV=production) for any real deployment');
    }
    await encryptSigningKeysAtRest(this.db, box, this.logger);
  }

  private box(): SecretBox {
    return secretBoxFor(this.config.secrets);
  }

  get ttlSeconds(): number {
    return this.config.accessTokenTtlSeconds;
  }

  private async signingKey(): Promise<Uint8Array> {
    if (this.key) return this.key;
    const repo = this.db.dataSource.getRepository(SigningKeyEntity);
    let row = await this.db.read(() => repo.findOneBy({ kid: KEY_ID }));
    const context = signingKeySecretContext(KEY_ID);
    if (!row) {
      try {
        const secret = this.box().seal(randomBytes(32).toString('base64'), context);
        const fresh = { kid: KEY_ID, purpose: 'access-token', secret, created: nowIso() };
        // insert, not save: save would turn into an UPDATE and overwrite a key another instance has just stored.
        await this.db.transaction((m) => m.insert(SigningKeyEntity, fresh));
        row = fresh;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        row = await this.db.read(() => repo.findOneByOrFail({ kid: KEY_ID })); // another instance won the race
      }
    }
    this.key = Buffer.from(this.box().open(row.secret, context, `signing_keys row "${KEY_ID}"`), 'base64');
    return this.key;
  }

  /** The `roles` claim tells the client what it was granted at issue time; the server never authorises from it. */
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
    const cached = this.verified.get(token);
    if (cached) {
      if (Date.now() < cached.expiresAtMs) return { ok: true, clientId: cached.clientId };
      this.verified.delete(token);
      return { ok: false, reason: 'expired' };
    }
    try {
      const { payload } = await jwtVerify(token, await this.signingKey(), {
        algorithms: ['HS256'],
        issuer: this.issuer,
        audience: this.audience,
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
      });
      const clientId = payload.sub!;
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      // jose accepts the token while now < exp (whole seconds), which is now < exp * 1000 in milliseconds.
      this.verified.set(token, { clientId, expiresAtMs: payload.exp! * 1000 });
      return { ok: true, clientId };
    } catch (e) {
      return { ok: false, reason: e instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }
}
