import { DOMParser, Element, Document } from '@xmldom/xmldom';
// By relative path: this file runs on the validation threads too, which load it without Nest or the @app paths.
import { readAssertion, type VerifiedAssertion } from '../../jit/src/core';
import { SsoReason, SsoRejection } from './sso-rejection';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

const STRONG_SIGNATURES = ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512'];
const STRONG_DIGESTS = ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512'];
const SHA1_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
const XENC = 'http://www.w3.org/2001/04/xmlenc#';
/**
 * Encryption of assertions we decrypt: AES (GCM, or CBC as most IdPs still send) with RSA-OAEP key transport.
 * RSA PKCS#1 v1.5 key transport (a Bleichenbacher oracle) and 3DES are refused before any decryption is tried.
 */
export const ENCRYPTION_ALGORITHMS = [
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
];

const reject = (reason: string, detail: string) => new SsoRejection(reason, detail);

/** Parses XML strictly (any parser warning or error refuses the document); xmldom never expands entities. */
export function parseXml(xml: string): Document {
  const doc = new DOMParser({
    onError: (level: string, message: string) => {
      throw reject(SsoReason.ResponseMalformed, `XML ${level}: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
  if (!doc.documentElement) throw reject(SsoReason.ResponseMalformed, 'no document element');
  return doc;
}

function children(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

function text(el: Element | undefined): string | undefined {
  return el ? (el.textContent ?? '').trim() : undefined;
}

/** Decodes the posted SAMLResponse; refuses anything but base64 of a `samlp:Response` without a DOCTYPE. */
export function decodeResponse(samlResponse: unknown): { xml: string; doc: Document; response: Element } {
  if (typeof samlResponse !== 'string' || samlResponse.length === 0) throw reject(SsoReason.ResponseMissing, 'no SAMLResponse form field');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw reject(SsoReason.ResponseMalformed, 'SAMLResponse is not base64');
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  // xmldom does not expand entities, but a DTD has no business in a SAML message and is the start of every XXE
  // and entity-expansion attack: refuse it before any parser sees it.
  if (/<!DOCTYPE/i.test(xml)) throw reject(SsoReason.Doctype, 'the decoded response contains a DOCTYPE');
  const doc = parseXml(xml);
  const response = doc.documentElement!;
  if (response.namespaceURI !== SAMLP || response.localName !== 'Response') throw reject(SsoReason.ResponseMalformed, `root element is ${response.localName}, not samlp:Response`);
  return { xml, doc, response };
}

/**
 * The issuer the response claims, unverified: used only to pick which IdP's configuration (and certificate)
 * validates it. Response/Issuer is optional in SAML; the assertion's is not, unless it is encrypted.
 */
export function claimedIssuer(response: Element): string | undefined {
  const own = text(children(response, SAML, 'Issuer')[0]);
  if (own) return own;
  const assertion = children(response, SAML, 'Assertion')[0];
  return assertion ? text(children(assertion, SAML, 'Issuer')[0]) : undefined;
}

/** Per-IdP policy the structural checks need. */
export interface ResponsePolicy {
  acsUrl: string;
  allowSha1: boolean;
  requiresEncryptedAssertion: boolean;
}

/** Checks made on the unverified response before any cryptography, in node-saml's spirit: cheap and structural first. */
export function checkResponseStructure(response: Element, policy: ResponsePolicy): { inResponseTo?: string } {
  const destination = response.getAttribute('Destination');
  // Destination is optional in an unsigned-by-binding POST, but when present it must name us (node-saml#437).
  if (destination && destination !== policy.acsUrl) throw reject(SsoReason.DestinationMismatch, `Destination is ${destination}, expected ${policy.acsUrl}`);
  const status = children(response, SAMLP, 'Status')[0];
  const code = status ? children(status, SAMLP, 'StatusCode')[0]?.getAttribute('Value') : undefined;
  // node-saml ignores the status when an assertion is present; a non-Success answer is a failed login, whatever it carries.
  if (code !== SUCCESS) throw reject(SsoReason.StatusNotSuccess, `StatusCode is ${code ?? 'missing'}`);
  if (policy.requiresEncryptedAssertion && children(response, SAML, 'Assertion').length > 0) {
    throw reject(SsoReason.AssertionNotEncrypted, 'the IdP is configured to encrypt assertions, and this one is in the clear');
  }
  checkAlgorithms(response, policy.allowSha1);
  for (const el of Array.from(response.getElementsByTagNameNS(XENC, 'EncryptionMethod'))) {
    const alg = el.getAttribute('Algorithm') ?? '';
    if (!ENCRYPTION_ALGORITHMS.includes(alg)) throw reject(SsoReason.EncryptionNotAllowed, `EncryptionMethod ${alg} is not allowed`);
  }
  const inResponseTo = response.getAttribute('InResponseTo') || undefined;
  return { inResponseTo };
}

/**
 * Every SignatureMethod and DigestMethod in `root` must be SHA-256 or stronger (SHA-1 only for an IdP set to
 * SHA-1); HMAC never, as a shared-secret "signature" made with our public certificate would verify.
 */
export function checkAlgorithms(root: Element, allowSha1: boolean): void {
  const signatures = allowSha1 ? [...STRONG_SIGNATURES, SHA1_SIGNATURE] : STRONG_SIGNATURES;
  const digests = allowSha1 ? [...STRONG_DIGESTS, SHA1_DIGEST] : STRONG_DIGESTS;
  for (const el of Array.from(root.getElementsByTagNameNS(DS, 'SignatureMethod'))) {
    const alg = el.getAttribute('Algorithm') ?? '';
    if (!signatures.includes(alg)) throw reject(SsoReason.AlgorithmNotAllowed, `SignatureMethod ${alg} is not allowed`);
  }
  for (const el of Array.from(root.getElementsByTagNameNS(DS, 'DigestMethod'))) {
    // RSA-OAEP names the digest of its mask function (SHA-1 by default) inside xenc:EncryptionMethod: that is
    // key transport, not a signature, and its algorithm is checked with the other encryption methods.
    const parent = el.parentNode as Element | null;
    if (parent?.namespaceURI === XENC && parent.localName === 'EncryptionMethod') continue;
    const alg = el.getAttribute('Algorithm') ?? '';
    if (!digests.includes(alg)) throw reject(SsoReason.AlgorithmNotAllowed, `DigestMethod ${alg} is not allowed`);
  }
}

/**
 * A verified assertion accepted by our checks: what JIT reads of it (as the JIT preview reads it, see
 * readAssertion), and what its single use needs.
 */
export interface AcceptedAssertion extends VerifiedAssertion {
  id: string;
  /** SubjectConfirmationData@InResponseTo of the accepted bearer confirmation. */
  inResponseTo?: string;
  /** Until when the assertion could be presented (latest NotOnOrAfter): how long its id must be remembered. */
  notOnOrAfter: Date;
  /** What a single logout with the IdP names this sign-in by (SAML Profiles §4.4.4.1). */
  logoutSubject: LogoutSubject;
}

/** The NameID of a sign-in, with its qualifiers, and the IdP's SessionIndex: how logout messages designate it. */
export interface LogoutSubject {
  nameId: string;
  nameIdFormat?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
  sessionIndex?: string;
}

/** The logout subject of a verified assertion: its Subject's NameID, and the SessionIndex of its AuthnStatement. */
export function logoutSubjectOf(assertion: Element, nameId: string): LogoutSubject {
  const subject = children(assertion, SAML, 'Subject')[0];
  const el = subject ? children(subject, SAML, 'NameID')[0] : undefined;
  const attr = (name: string) => el?.getAttribute(name) || undefined;
  const sessionIndex = children(assertion, SAML, 'AuthnStatement')[0]?.getAttribute('SessionIndex') || undefined;
  return { nameId, nameIdFormat: attr('Format'), nameQualifier: attr('NameQualifier'), spNameQualifier: attr('SPNameQualifier'), sessionIndex };
}

/** Checks of the verified assertion that node-saml 5.1 does not make (saml-sp-security.md, "NOT done"). */
export function checkVerifiedAssertion(assertionXml: string, expected: { issuer: string; acsUrl: string; now: Date; skewMs: number }): AcceptedAssertion {
  const assertion = parseXml(assertionXml).documentElement!;
  if (assertion.namespaceURI !== SAML || assertion.localName !== 'Assertion') throw reject(SsoReason.ResponseMalformed, 'the verified content is not an Assertion');
  const content = readAssertion(assertion);
  if (content.issuer !== expected.issuer) throw reject(SsoReason.IssuerMismatch, `assertion Issuer ${content.issuer || '(none)'} is not the IdP's ${expected.issuer}`);
  const id = assertion.getAttribute('ID');
  if (!id) throw reject(SsoReason.AssertionIdMissing, 'the assertion has no ID, so it cannot be protected against replay');

  const subject = children(assertion, SAML, 'Subject')[0];
  const bearer = subject ? children(subject, SAML, 'SubjectConfirmation').filter((c) => c.getAttribute('Method') === BEARER) : [];
  if (!bearer.length) throw reject(SsoReason.NoBearerConfirmation, 'no bearer SubjectConfirmation');
  let accepted: Element | undefined;
  let why: SsoRejection | undefined;
  for (const confirmation of bearer) {
    const data = children(confirmation, SAML, 'SubjectConfirmationData')[0];
    const recipient = data?.getAttribute('Recipient');
    const notOnOrAfter = data?.getAttribute('NotOnOrAfter');
    const notBefore = data?.getAttribute('NotBefore');
    if (recipient !== expected.acsUrl) {
      why ??= reject(SsoReason.RecipientMismatch, `Recipient is ${recipient || '(none)'}, expected ${expected.acsUrl}`);
    } else if (!notOnOrAfter || !(Date.parse(notOnOrAfter) > expected.now.getTime() - expected.skewMs)) {
      why = reject(SsoReason.ConfirmationExpired, `SubjectConfirmationData NotOnOrAfter is ${notOnOrAfter || 'missing'}`);
    } else if (notBefore && !(Date.parse(notBefore) <= expected.now.getTime() + expected.skewMs)) {
      why = reject(SsoReason.NotYetValid, `SubjectConfirmationData NotBefore is ${notBefore}`);
    } else {
      accepted = data;
      break;
    }
  }
  if (!accepted) throw why!;

  if (!content.nameId) throw reject(SsoReason.NameIdMissing, 'the assertion has no (or an empty) NameID');

  const conditions = children(assertion, SAML, 'Conditions')[0];
  const limits = [accepted.getAttribute('NotOnOrAfter'), conditions?.getAttribute('NotOnOrAfter')].filter((v): v is string => !!v).map((v) => Date.parse(v));
  return {
    ...content,
    id,
    inResponseTo: accepted.getAttribute('InResponseTo') || undefined,
    notOnOrAfter: new Date(Math.max(...limits) + expected.skewMs),
    logoutSubject: logoutSubjectOf(assertion, content.nameId),
  };
}
