import { CacheProvider, SAML, SamlConfig } from '@node-saml/node-saml';
import { checkVerifiedAssertion, VerifiedAssertion } from './response-checks';

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

/**
 * node-saml's verification of a base64 SAMLResponse (signatures against the IdP's certificate, decryption with our
 * key, conditions, audience, InResponseTo through `cache`), then our checks of the verified assertion. Throws
 * node-saml's Error, or an SsoRejection from our checks. The same function runs on a worker thread and, when
 * there are none, on the main thread.
 */
export async function verifyResponse(options: ResponseValidationOptions, expected: AssertionExpectations, samlResponse: string, cache: CacheProvider): Promise<VerifiedAssertion> {
  const saml = new SAML({ ...options, cacheProvider: cache } as SamlConfig);
  const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
  const assertionXml = profile?.getAssertionXml?.();
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
