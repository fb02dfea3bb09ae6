import type { CacheProvider, Profile, SamlConfig } from '@node-saml/node-saml';
import { MultiSamlStrategy, VerifiedCallback } from '@node-saml/passport-saml';
import { AcceptedAssertion, checkVerifiedAssertion } from './response-checks';

/**
 * What node-saml needs to verify one IdP's responses: plain data, so that it can be handed to a worker thread.
 * `cacheProvider` is not part of it: the request-id store lives in the database, reached from the main thread.
 */
export type ResponseValidationOptions = Omit<SamlConfig, 'cacheProvider' | 'privateKey'>;

/** What the verified assertion must say besides what node-saml checks (see checkVerifiedAssertion). */
export interface AssertionExpectations {
  issuer: string;
  acsUrl: string;
  skewMs: number;
}

/** The request passport-saml authenticates: the posted form, and the configuration of the IdP it was routed to. */
interface ResponseRequest {
  body: { SAMLResponse: string };
  query: Record<string, never>;
  headers: Record<string, never>;
  samlOptions: SamlConfig;
}

/**
 * passport-saml's multi-IdP strategy: the configuration of each request is the stored IdentityProvider it was
 * routed to (built once per IdP version by SamlLoginService). Its verify callback hands the verified profile on.
 */
const strategy = new MultiSamlStrategy(
  { passReqToCallback: true, getSamlOptions: (req, done) => done(null, (req as unknown as ResponseRequest).samlOptions) },
  (_req: unknown, profile: Profile | null, done: VerifiedCallback) => done(null, profile ?? undefined),
  (_req: unknown, _profile: Profile | null, done: VerifiedCallback) => done(null, undefined),
);

/** One passport authentication of a posted SAMLResponse, as a promise of the verified profile. */
function authenticate(req: ResponseRequest): Promise<Profile> {
  return new Promise<Profile>((resolve, reject) => {
    // Passport's way: an object inheriting the strategy, with the outcome actions set on it.
    const attempt = Object.create(strategy) as MultiSamlStrategy & Record<'success' | 'fail' | 'error' | 'redirect' | 'pass', (...args: unknown[]) => void>;
    attempt.success = (user) => resolve(user as Profile);
    attempt.fail = (info) => reject(new Error(String((info as { message?: string } | undefined)?.message ?? 'the SAML response was refused')));
    attempt.error = (e) => reject(e instanceof Error ? e : new Error(String(e)));
    attempt.redirect = () => reject(new Error('passport-saml answered a response with a redirect'));
    attempt.pass = () => reject(new Error('passport-saml found no SAMLResponse'));
    attempt.authenticate(req as unknown as Parameters<MultiSamlStrategy['authenticate']>[0], {});
  });
}

/**
 * Verification of a base64 SAMLResponse by @node-saml/passport-saml (node-saml underneath: signatures against the
 * IdP's certificate, decryption with our key, conditions, audience, InResponseTo through `cache`), then our
 * checks of the verified assertion. Throws node-saml's Error, or an SsoRejection from our checks. The same
 * function runs on a worker thread and, when there are none, on the main thread.
 */
export async function verifyResponse(options: ResponseValidationOptions, expected: AssertionExpectations, samlResponse: string, cache: CacheProvider): Promise<AcceptedAssertion> {
  const profile = await authenticate({ body: { SAMLResponse: samlResponse }, query: {}, headers: {}, samlOptions: { ...options, cacheProvider: cache } as SamlConfig });
  const assertionXml = profile.getAssertionXml?.();
  if (!assertionXml) throw new Error('node-saml returned no assertion');
  return checkVerifiedAssertion(assertionXml, { ...expected, now: new Date() });
}

/** `cache`, answering the ids in `known` itself. */
export function withKnown(cache: CacheProvider, known: Record<string, string>): CacheProvider {
  return {
    getAsync: (key) => (Object.prototype.hasOwnProperty.call(known, key) ? Promise.resolve(known[key]) : cache.getAsync(key)),
    saveAsync: (key, value) => cache.saveAsync(key, value),
    removeAsync: (key) => cache.removeAsync(key),
  };
}
