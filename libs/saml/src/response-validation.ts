import type { Element } from '@xmldom/xmldom';
import type { CacheProvider, Profile, SamlConfig } from '@node-saml/node-saml';
import * as nodeSamlXml from '@node-saml/node-saml/lib/xml';
import { MultiSamlStrategy, VerifiedCallback } from '@node-saml/passport-saml';
import { AcceptedAssertion, checkAlgorithms, checkResponseStructure, checkVerifiedAssertion, claimedIssuer, decodeResponse, parseXml, ResponsePolicy } from './response-checks';
import { SsoReason, SsoRejection } from './sso-rejection';
import { installXmlCryptoFastPath } from './xml-crypto-fast-path';

installXmlCryptoFastPath();

/**
 * What node-saml needs to verify one IdP's responses: plain data, so that it can be handed to a worker thread.
 * `cacheProvider` is not part of it: the request-id store lives in the database, reached from the main thread.
 * Nor is the decryption key: the one that opens the assertion is chosen among `ResponseJudgement.decryptionKeys`.
 */
export type ResponseValidationOptions = Omit<SamlConfig, 'cacheProvider' | 'privateKey' | 'decryptionPvk'>;

/** What the verified assertion must say besides what node-saml checks (see checkVerifiedAssertion). */
export interface AssertionExpectations {
  issuer: string;
  acsUrl: string;
  skewMs: number;
}

/** What an unverified response claims: which IdP sent it, and which of our AuthnRequests it answers. */
export interface ResponseClaim {
  issuer: string;
  inResponseTo?: string;
}

/** A refusal decided on the main thread (the IdP, the request, the browser), applied where the checks' order puts it. */
export interface Refusal {
  reason: string;
  detail: string;
}

/**
 * How to judge one response, as the main thread answers its claim (plain data, for the worker thread): the claimed
 * IdP's node-saml settings and our policy, our decryption keys in the order to try them, and the verdict on the
 * request the Response's InResponseTo names (its creation time, or why it does not count).
 */
export interface ResponseJudgement {
  options: ResponseValidationOptions;
  expected: AssertionExpectations;
  policy: ResponsePolicy & { allowUnsolicitedResponses: boolean };
  /** PEM private keys; more than one during an encryption key rollover. */
  decryptionKeys: string[];
  /** Present when the Response has InResponseTo. */
  request?: { created: string } | Refusal;
}

/**
 * The main thread's side of one validation: it answers the claim (from the database and the IdP's cached
 * configuration), and then serves node-saml's request-id lookups that were not answered in advance. A thrown
 * SsoRejection refuses the response with its reason.
 */
export interface ResponseJudge {
  judge(claim: ResponseClaim): Promise<ResponseJudgement>;
  cache(): CacheProvider;
}

/** A response accepted by every check. `requestToCheck`: the request only the assertion names, for the caller to claim and bind. */
export interface ValidatedResponse {
  assertion: AcceptedAssertion;
  /** The InResponseTo of the assertion when the Response itself has none: outstanding and browser-bound is for the caller to check. */
  requestToCheck?: string;
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
 * Decryptions of this process's responses in progress, by key and EncryptedAssertion, so that node-saml's own
 * decryption of an assertion our checks already opened is the same one (an RSA-OAEP unwrap and the AES, done once).
 * An entry lives while the validation that made it runs.
 */
const decryptions = new Map<string, Promise<string>>();
const decryptionKey = (xml: string, key: string) => `${key}\u0000${xml}`;
const nodeSamlDecrypt = nodeSamlXml.decryptXml;
// node-saml calls its exported decryptXml through the module object (`(0, xml_1.decryptXml)(…)`), so this
// wrapper serves it; anything not decrypted by our checks first goes to node-saml's function unchanged.
(nodeSamlXml as { decryptXml: typeof nodeSamlDecrypt }).decryptXml = (xml, key) => (typeof key === 'string' && decryptions.get(decryptionKey(xml, key))) || nodeSamlDecrypt(xml, key);

const SAML_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

/**
 * The whole validation of a posted SAMLResponse, on a worker thread (or on the main thread when there are none):
 * decoding and parsing, the claim (issuer, InResponseTo) put to `judge` on the main thread, our structural checks
 * (XSW defences, algorithms, encryption methods), the request's verdict, the decryption of an encrypted assertion
 * with the first of our keys that opens it and the algorithm checks of its content, then @node-saml/passport-saml's
 * verification (signatures against the IdP's certificates only, decryption, conditions, audience, InResponseTo),
 * then our checks of the verified assertion and the reading of what JIT needs. The order is that of the checks
 * the response always went through, so a response failing several is refused for the same first reason.
 * Throws an SsoRejection (our checks, the judge) or node-saml's Error.
 */
export async function validateResponse(samlResponse: string, judge: ResponseJudge): Promise<ValidatedResponse> {
  const { xml, response } = decodeResponse(samlResponse);
  const issuer = claimedIssuer(response);
  if (!issuer) throw new SsoRejection(SsoReason.UnknownIssuer, 'the response names no Issuer');
  const judgement = await judge.judge({ issuer, inResponseTo: response.getAttribute('InResponseTo') || undefined });
  const { policy, request } = judgement;

  const structure = checkResponseStructure(response, policy);
  if (!structure.inResponseTo && !policy.allowUnsolicitedResponses) throw new SsoRejection(SsoReason.UnsolicitedNotAllowed, 'unsolicited response from an IdP that does not allow them');
  const known: Record<string, string> = {};
  if (structure.inResponseTo) {
    if (!request) throw new Error('the judgement of a response with InResponseTo has no verdict on its request');
    if ('reason' in request) throw new SsoRejection(request.reason, request.detail);
    known[structure.inResponseTo] = request.created;
  }

  const decrypted = await openEncryptedAssertions(xml, response, judgement);
  try {
    const options = { ...judgement.options, decryptionPvk: decrypted.key ?? judgement.decryptionKeys[0], cacheProvider: withKnown(judge.cache(), known) } as SamlConfig;
    const profile = await authenticate({ body: { SAMLResponse: samlResponse }, query: {}, headers: {}, samlOptions: options });
    const assertionXml = profile.getAssertionXml?.();
    if (!assertionXml) throw new Error('node-saml returned no assertion');
    const assertion = checkVerifiedAssertion(assertionXml, { ...judgement.expected, now: new Date() });
    if (structure.inResponseTo && assertion.inResponseTo && assertion.inResponseTo !== structure.inResponseTo) {
      throw new SsoRejection(SsoReason.InResponseToMismatch, 'SubjectConfirmationData InResponseTo differs from the Response');
    }
    const inResponseTo = structure.inResponseTo ?? assertion.inResponseTo;
    if (!inResponseTo && !policy.allowUnsolicitedResponses) throw new SsoRejection(SsoReason.UnsolicitedNotAllowed, 'unsolicited response from an IdP that does not allow them');
    return { assertion, requestToCheck: inResponseTo && !structure.inResponseTo ? inResponseTo : undefined };
  } finally {
    for (const k of decrypted.entries) decryptions.delete(k);
  }
}

/**
 * Each EncryptedAssertion of the response decrypted with the first of our keys that opens it (during a key rollover
 * an IdP may still encrypt to the previous key, or already to the next), and the algorithms of its content checked,
 * as the structural check could not see them. The decryptions are kept for node-saml, which decrypts the same
 * element with the key returned: the element is serialized as node-saml serializes it (its parser, its selection).
 */
async function openEncryptedAssertions(xml: string, response: Element, judgement: ResponseJudgement): Promise<{ key?: string; entries: string[] }> {
  const entries: string[] = [];
  if (response.getElementsByTagNameNS(SAML_NS, 'EncryptedAssertion').length === 0) return { entries };
  const doc = await nodeSamlXml.parseDomFromString(xml);
  const elements = nodeSamlXml.xpath.selectElements(doc, `//*[local-name()='EncryptedAssertion' and namespace-uri()='${SAML_NS}']`);
  let opened: string | undefined;
  try {
    for (const el of elements) {
      const serialized = el.toString();
      let content: string | undefined;
      let failure: unknown = new Error('no encryption key');
      for (const key of judgement.decryptionKeys) {
        const attempt = nodeSamlDecrypt(serialized, key);
        try {
          content = await attempt;
          const k = decryptionKey(serialized, key);
          decryptions.set(k, attempt);
          entries.push(k);
          // node-saml decrypts the Response's own EncryptedAssertion (it refuses more than one): with this key.
          if (el.parentNode === doc.documentElement || opened === undefined) opened = key;
          break;
        } catch (e) {
          failure = e;
        }
      }
      if (content === undefined) throw new SsoRejection(SsoReason.ValidationFailed, `the encrypted assertion does not decrypt with our key: ${(failure as Error).message}`);
      checkAlgorithms(parseXml(content).documentElement!, judgement.policy.allowSha1);
    }
  } catch (e) {
    for (const k of entries) decryptions.delete(k);
    throw e;
  }
  return { key: opened, entries };
}

/** An error crossing threads: its message, and its reason when it is a refusal (SsoRejection). */
export interface ThreadError {
  message: string;
  reason?: string;
  detail?: string;
}

export function toThreadError(e: unknown): ThreadError {
  return { message: String((e as Error)?.message ?? e), ...(e instanceof SsoRejection ? { reason: e.reason, detail: e.detail } : {}) };
}

export function fromThreadError(e: ThreadError): Error {
  return e.reason !== undefined ? new SsoRejection(e.reason, e.detail ?? e.message) : new Error(e.message);
}

/** `cache`, answering the ids in `known` itself. */
export function withKnown(cache: CacheProvider, known: Record<string, string>): CacheProvider {
  return {
    getAsync: (key) => (Object.prototype.hasOwnProperty.call(known, key) ? Promise.resolve(known[key]) : cache.getAsync(key)),
    saveAsync: (key, value) => cache.saveAsync(key, value),
    removeAsync: (key) => cache.removeAsync(key),
  };
}
