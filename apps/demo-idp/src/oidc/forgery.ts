/**
 * The test hooks' forgeries, as Koa middleware around the real oidc-provider: everything but the one armed
 * change is what the certified provider produced. Each tamper is armed for one response, then disarmed.
 */
import { createHmac, createPublicKey, JsonWebKey as NodeJsonWebKey, randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, JWK, JWTPayload, SignJWT } from 'jose';
import type { TamperWire, TestHooksEndpoint } from './oidc-provider-options';

/** The provider's RS256 signing key, as oidc-provider was given it, and its public forms. */
export interface SigningKey {
  privateJwk: JWK & { kid: string };
  publicJwk: JWK & { kid: string };
  publicPem: string;
}

type KoaContext = {
  oidc?: { route?: string };
  body: unknown;
  status: number;
  response: { get(name: string): string };
  set(name: string, value: string): void;
};

/** Signs `claims` as they are (RS256, the key's kid), the way the provider signs its ID tokens. */
export async function signClaims(key: SigningKey, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.privateJwk.kid }).sign(await importJWK(key.privateJwk, 'RS256'));
}

/** An ID token forged from the genuine one as `spec` says. */
export async function forgeIdToken(genuine: string, spec: TamperWire, own: { key: SigningKey; issuer: string }): Promise<string> {
  const claims = decodeJwt(genuine);
  const header = decodeProtectedHeader(genuine);
  const now = Math.floor(Date.now() / 1000);
  switch (spec.idToken) {
    case 'alg-none':
      return `${b64({ alg: 'none', typ: header.typ ?? 'JWT' })}.${b64(claims)}.`;
    case 'hs256-public-key': {
      const secret = spec.hmacSecret === 'jwk' ? JSON.stringify(own.key.publicJwk) : own.key.publicPem;
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: own.key.publicJwk.kid })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    }
    case 'unknown-kid': {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: `unknown-${randomUUID()}` }).sign(privateKey);
    }
    case 'wrong-iss':
      return signClaims(own.key, { ...claims, iss: `${own.issuer}/not-this-issuer` });
    case 'wrong-aud':
      return signClaims(own.key, { ...claims, aud: 'another-client', azp: undefined });
    case 'expired':
      return signClaims(own.key, { ...claims, iat: now - 7200, exp: now - 3600, auth_time: typeof claims.auth_time === 'number' ? now - 7200 : undefined });
    case 'nonce-mismatch':
      return signClaims(own.key, { ...claims, nonce: randomBytes(16).toString('base64url') });
    case 'foreign':
      if (!spec.foreignSigner) throw new Error('the foreign forgery needs the foreign signer');
      return signElsewhere(spec.foreignSigner, spec.foreignKeepsIssuer ? claims : { ...claims, iss: undefined });
    default:
      throw new Error(`unknown ID token forgery ${String(spec.idToken)}`);
  }
}

/** Asks another provider process (its test admin API) to sign these claims with its key; `iss` defaults to its own. */
async function signElsewhere(signer: TestHooksEndpoint, claims: JWTPayload): Promise<string> {
  const res = await fetch(`${signer.adminUrl}/sign`, {
    method: 'POST',
    headers: { authorization: `Bearer ${signer.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(claims),
  });
  if (!res.ok) throw new Error(`the foreign provider refused to sign: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { jwt: string }).jwt;
}

/** The tamper armed by the test admin API, consumed by the first response it applies to. */
export class ArmedTampers {
  private idToken?: TamperWire;
  private iss?: TamperWire['authorizationResponseIss'];

  arm(spec: TamperWire): void {
    if (spec.idToken) this.idToken = spec;
    if (spec.authorizationResponseIss) this.iss = spec.authorizationResponseIss;
  }

  disarm(): void {
    this.idToken = undefined;
    this.iss = undefined;
  }

  get armed(): string[] {
    return [...(this.idToken ? [`idToken:${this.idToken.idToken}`] : []), ...(this.iss ? ['authorizationResponseIss'] : [])];
  }

  /** Koa middleware for provider.use(): rewrites the next token response's id_token and the next authorization response's iss. */
  middleware(own: { key: SigningKey; issuer: string }) {
    return async (ctx: KoaContext, next: () => Promise<void>) => {
      await next();
      if (this.idToken && ctx.oidc?.route === 'token' && ctx.status === 200 && isRecord(ctx.body) && typeof ctx.body.id_token === 'string') {
        const spec = this.idToken;
        this.idToken = undefined;
        ctx.body = { ...ctx.body, id_token: await forgeIdToken(ctx.body.id_token, spec, own) };
      }
      if (this.iss && ctx.status >= 300 && ctx.status < 400) {
        const location = ctx.response.get('location');
        const url = location ? URL.parse(location) : null;
        // An authorization response: the redirect to the client carrying a code or an error, and oidc-provider's iss.
        if (url && url.searchParams.get('iss') === own.issuer && (url.searchParams.has('code') || url.searchParams.has('error'))) {
          const iss = this.iss;
          this.iss = undefined;
          if ('drop' in iss) url.searchParams.delete('iss');
          else url.searchParams.set('iss', iss.value);
          ctx.set('location', url.href);
          ctx.body = `Redirecting to ${url.href}.`;
        }
      }
    };
  }
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A fresh RS256 key, in the forms the provider and the forgeries need. */
export async function makeSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `rs256-${randomUUID()}`;
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  // The PEM as anyone derives it from the JWKS (Node's SPKI export, trailing newline included): the HMAC secret of
  // the hs256-public-key forgery must be byte for byte what a confused relying party would use.
  const publicPem = createPublicKey({ key: publicJwk as NodeJsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  return { privateJwk, publicJwk, publicPem };
}
