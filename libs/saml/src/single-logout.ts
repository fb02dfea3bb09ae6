import { Element } from '@xmldom/xmldom';
import { getVerifiedXml, signXml } from '@node-saml/node-saml/lib/xml';
import { createVerify, createSign, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { checkAlgorithms, LogoutSubject, parseXml } from './response-checks';
import { SsoRejection } from './sso-rejection';

/**
 * SAML 2.0 Single Logout messages (Core §3.7, Bindings §3.4 and §3.5, Profiles §4.4): building and signing the
 * LogoutRequests and LogoutResponses we send, and verifying those we receive. Pure, apart from the clock.
 *
 * We write and sign these messages ourselves rather than through node-saml, which accepts an unsigned
 * HTTP-Redirect message as valid, finds the signed query parameters by regular expression, and cannot answer
 * PartialLogout: here a received message is verified before anything of it but its claimed Issuer is read.
 */

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';

export const LOGOUT_STATUS = {
  Success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  Requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  Responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  PartialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

/** Why a logout message was refused: to the log and the `sso.logout` audit event, never to the browser. */
export const LogoutReason = {
  MessageMissing: 'SLO_MESSAGE_MISSING',
  MessageMalformed: 'SLO_MESSAGE_MALFORMED',
  Doctype: 'SLO_MESSAGE_DOCTYPE',
  UnknownIssuer: 'SLO_ISSUER_UNKNOWN',
  IdpDisabled: 'SLO_IDP_DISABLED',
  LogoutDisabled: 'SLO_NOT_ENABLED',
  SignatureMissing: 'SLO_SIGNATURE_MISSING',
  InvalidSignature: 'SLO_SIGNATURE_INVALID',
  AlgorithmNotAllowed: 'SLO_ALGORITHM_NOT_ALLOWED',
  DestinationMismatch: 'SLO_DESTINATION_MISMATCH',
  Expired: 'SLO_MESSAGE_EXPIRED',
  NameIdMissing: 'SLO_NAME_ID_MISSING',
  InResponseToUnknown: 'SLO_IN_RESPONSE_TO_UNKNOWN',
  StatusNotSuccess: 'SLO_STATUS_NOT_SUCCESS',
} as const;

/** Largest logout message we inflate or parse (real ones are a few kilobytes). */
export const LOGOUT_MESSAGE_LIMIT = 64 * 1024;
/** How old a received logout message may be (its IssueInstant), besides the clock skew. */
export const LOGOUT_MESSAGE_MAX_AGE_MS = 5 * 60 * 1000;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SIG_ALGS: Record<string, string> = {
  [RSA_SHA256]: 'RSA-SHA256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'RSA-SHA512',
};
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';

const reject = (reason: string, detail: string) => new SsoRejection(reason, detail, undefined, 400);

const escapeXml = (v: string) => v.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

/** A message id (xs:ID: starts with a letter or underscore). */
export const newMessageId = (): string => `_${randomBytes(20).toString('hex')}`;

/** How a logout message travels (the IdP's logoutBinding). */
export type LogoutBinding = 'Redirect' | 'Post';

/** Where the browser carries a message we send: a redirect, or an auto-submitting form. */
export type LogoutDelivery = { kind: 'redirect'; url: string } | { kind: 'form'; action: string; fields: Record<string, string> };

export interface LogoutRequestInput {
  id: string;
  issuer: string;
  destination: string;
  subject: LogoutSubject;
  now?: Date;
}

/** A LogoutRequest naming a session (Core §3.7.1), unsigned. */
export function logoutRequestXml(input: LogoutRequestInput): string {
  const s = input.subject;
  const attrs = [
    s.nameIdFormat && ` Format="${escapeXml(s.nameIdFormat)}"`,
    s.nameQualifier && ` NameQualifier="${escapeXml(s.nameQualifier)}"`,
    s.spNameQualifier && ` SPNameQualifier="${escapeXml(s.spNameQualifier)}"`,
  ].join('');
  return (
    `<samlp:LogoutRequest xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${escapeXml(input.id)}" Version="2.0" IssueInstant="${(input.now ?? new Date()).toISOString()}" Destination="${escapeXml(input.destination)}">` +
    `<saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer>` +
    `<saml:NameID${attrs}>${escapeXml(s.nameId)}</saml:NameID>` +
    (s.sessionIndex ? `<samlp:SessionIndex>${escapeXml(s.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`
  );
}

export interface LogoutResponseInput {
  id: string;
  issuer: string;
  destination: string;
  inResponseTo: string;
  /** Top-level StatusCode, and an optional second-level one (Core §3.2.2.2). */
  status: string;
  subStatus?: string;
  now?: Date;
}

/** A LogoutResponse (Core §3.7.2), unsigned. */
export function logoutResponseXml(input: LogoutResponseInput): string {
  const sub = input.subStatus ? `<samlp:StatusCode Value="${escapeXml(input.subStatus)}"/>` : '';
  return (
    `<samlp:LogoutResponse xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${escapeXml(input.id)}" Version="2.0" IssueInstant="${(input.now ?? new Date()).toISOString()}" Destination="${escapeXml(input.destination)}" InResponseTo="${escapeXml(input.inResponseTo)}">` +
    `<saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${escapeXml(input.status)}">${sub}</samlp:StatusCode></samlp:Status>` +
    `</samlp:LogoutResponse>`
  );
}

/**
 * A message delivered by the HTTP-Redirect binding (Bindings §3.4.4.1): DEFLATE, base64, and an RSA-SHA256
 * signature over `SAMLRequest|SAMLResponse=…&RelayState=…&SigAlg=…` as they appear in the URL.
 */
export function redirectDelivery(target: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, privateKeyPem: string, relayState?: string): LogoutDelivery {
  let signed = `${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
  if (relayState) signed += `&RelayState=${encodeURIComponent(relayState)}`;
  signed += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
  const signature = createSign('RSA-SHA256').update(signed).sign(privateKeyPem, 'base64');
  return { kind: 'redirect', url: `${target}${target.includes('?') ? '&' : '?'}${signed}&Signature=${encodeURIComponent(signature)}` };
}

/** A message delivered by the HTTP-POST binding (Bindings §3.5): enveloped signature after the Issuer, base64. */
export function postDelivery(target: string, param: 'SAMLRequest' | 'SAMLResponse', xml: string, privateKeyPem: string, relayState?: string): LogoutDelivery {
  const root = xml.startsWith('<samlp:LogoutRequest') ? 'LogoutRequest' : 'LogoutResponse';
  const xpath = `/*[local-name(.)="${root}" and namespace-uri(.)="${SAMLP}"]`;
  const signedXml = signXml(xml, xpath, { reference: `${xpath}/*[local-name(.)="Issuer" and namespace-uri(.)="${SAML}"]`, action: 'after' }, {
    privateKey: privateKeyPem,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
  });
  return { kind: 'form', action: target, fields: { [param]: Buffer.from(signedXml, 'utf8').toString('base64'), ...(relayState ? { RelayState: relayState } : {}) } };
}

/** A logout message as it arrived, before any verification. */
export interface ArrivedLogoutMessage {
  binding: LogoutBinding;
  kind: 'LogoutRequest' | 'LogoutResponse';
  xml: string;
  /** The document element, unverified: only its Issuer may be read before `verifyLogoutMessage`. */
  root: Element;
  relayState?: string;
  /** Redirect binding: the octets the signature covers, SigAlg and Signature. */
  redirect?: { signedOctets: string; sigAlg?: string; signature?: string };
}

/** Reads the SAML parameters of a raw query string exactly as sent, refusing duplicates. */
function rawQueryParams(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature'].includes(key)) continue;
    if (params.has(key)) throw reject(LogoutReason.MessageMalformed, `${key} appears more than once in the query`);
    params.set(key, eq < 0 ? '' : part.slice(eq + 1));
  }
  return params;
}

const urlDecode = (v: string) => {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    throw reject(LogoutReason.MessageMalformed, 'a query parameter is not valid percent-encoding');
  }
};

function parseMessage(xml: string): { kind: ArrivedLogoutMessage['kind']; root: Element } {
  if (/<!DOCTYPE/i.test(xml)) throw reject(LogoutReason.Doctype, 'the logout message contains a DOCTYPE');
  let root: Element;
  try {
    root = parseXml(xml).documentElement!;
  } catch (e) {
    throw reject(LogoutReason.MessageMalformed, e instanceof SsoRejection ? e.detail : String(e));
  }
  if (root.namespaceURI !== SAMLP || (root.localName !== 'LogoutRequest' && root.localName !== 'LogoutResponse')) {
    throw reject(LogoutReason.MessageMalformed, `root element is ${root.localName}, not samlp:LogoutRequest or samlp:LogoutResponse`);
  }
  return { kind: root.localName, root };
}

/** A logout message of the HTTP-Redirect binding, from the raw query string (the signature covers its exact octets). */
export function arrivedByRedirect(rawQuery: string): ArrivedLogoutMessage {
  const params = rawQueryParams(rawQuery);
  const param = params.has('SAMLRequest') ? 'SAMLRequest' : 'SAMLResponse';
  const raw = params.get(param);
  if (!raw || (params.has('SAMLRequest') && params.has('SAMLResponse'))) throw reject(LogoutReason.MessageMissing, 'no single SAMLRequest or SAMLResponse in the query');
  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(urlDecode(raw), 'base64'), { maxOutputLength: LOGOUT_MESSAGE_LIMIT }).toString('utf8');
  } catch (e) {
    throw reject(LogoutReason.MessageMalformed, `the ${param} does not inflate: ${(e as Error).message}`);
  }
  const { kind, root } = parseMessage(xml);
  const relay = params.get('RelayState');
  const sigAlg = params.get('SigAlg');
  const signature = params.get('Signature');
  const signedOctets = `${param}=${raw}${relay !== undefined ? `&RelayState=${relay}` : ''}&SigAlg=${sigAlg ?? ''}`;
  return {
    binding: 'Redirect',
    kind,
    xml,
    root,
    relayState: relay !== undefined ? urlDecode(relay) : undefined,
    redirect: { signedOctets, sigAlg: sigAlg !== undefined ? urlDecode(sigAlg) : undefined, signature: signature !== undefined ? urlDecode(signature) : undefined },
  };
}

/** A logout message of the HTTP-POST binding, from the posted form. */
export function arrivedByPost(body: Record<string, unknown>): ArrivedLogoutMessage {
  const param = typeof body.SAMLRequest === 'string' ? 'SAMLRequest' : 'SAMLResponse';
  const value = body[param];
  if (typeof value !== 'string' || !value || (body.SAMLRequest !== undefined && body.SAMLResponse !== undefined)) throw reject(LogoutReason.MessageMissing, 'no single SAMLRequest or SAMLResponse in the form');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) throw reject(LogoutReason.MessageMalformed, `${param} is not base64`);
  const xml = Buffer.from(value, 'base64').toString('utf8');
  if (xml.length > LOGOUT_MESSAGE_LIMIT) throw reject(LogoutReason.MessageMalformed, `${param} is larger than ${LOGOUT_MESSAGE_LIMIT} bytes`);
  const { kind, root } = parseMessage(xml);
  return { binding: 'Post', kind, xml, root, relayState: typeof body.RelayState === 'string' ? body.RelayState : undefined };
}

function children(parent: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

/** The Issuer a logout message claims, unverified: it only selects whose keys judge it. */
export function claimedLogoutIssuer(root: Element): string | undefined {
  return (children(root, SAML, 'Issuer')[0]?.textContent ?? '').trim() || undefined;
}

/** What a logout message must satisfy besides its signature. */
export interface LogoutExpectations {
  /** The IdP's entity id (partnerProviderId). */
  issuer: string;
  /** The IdP's signing certificates (PEM). */
  certificates: string[];
  allowSha1: boolean;
  /** Our SLO URL: the Destination the message must name. */
  sloUrl: string;
  skewMs: number;
  now?: Date;
}

/** A verified LogoutRequest: what it designates. */
export interface VerifiedLogoutRequest {
  kind: 'LogoutRequest';
  id: string;
  subject: LogoutSubject;
  sessionIndexes: string[];
}

/** A verified LogoutResponse. */
export interface VerifiedLogoutResponse {
  kind: 'LogoutResponse';
  id: string;
  inResponseTo: string;
  status: string;
  subStatus?: string;
}

/**
 * Verifies a logout message in a fixed order: signature (present, allowed algorithm, by one of the IdP's keys),
 * then, on the verified document only, Issuer, Destination, times, and what the message says.
 */
export function verifyLogoutMessage(message: ArrivedLogoutMessage, expected: LogoutExpectations): VerifiedLogoutRequest | VerifiedLogoutResponse {
  let root: Element;
  if (message.binding === 'Redirect') {
    const r = message.redirect!;
    // Bindings §3.4.4.1: a signed message over the redirect binding is signed in the query, not in the XML.
    if (!r.signature || !r.sigAlg) throw reject(LogoutReason.SignatureMissing, 'the redirect-binding message carries no Signature and SigAlg');
    const algorithm = SIG_ALGS[r.sigAlg] ?? (expected.allowSha1 && r.sigAlg === RSA_SHA1 ? 'RSA-SHA1' : undefined);
    if (!algorithm) throw reject(LogoutReason.AlgorithmNotAllowed, `SigAlg ${r.sigAlg.slice(0, 200)} is not allowed`);
    const signature = Buffer.from(r.signature, 'base64');
    const ok = expected.certificates.some((pem) => {
      try {
        return createVerify(algorithm).update(r.signedOctets).verify(pem, signature);
      } catch {
        return false;
      }
    });
    if (!ok) throw reject(LogoutReason.InvalidSignature, 'the query signature does not verify with any signing key of the IdP');
    // The signature covers the whole encoded message: every byte of it is verified.
    root = message.root;
  } else {
    const signatures = children(message.root, 'http://www.w3.org/2000/09/xmldsig#', 'Signature');
    if (signatures.length !== 1) throw reject(LogoutReason.SignatureMissing, `the POST-binding message has ${signatures.length} enveloped signatures, expected 1`);
    try {
      checkAlgorithms(message.root, expected.allowSha1);
    } catch (e) {
      throw reject(LogoutReason.AlgorithmNotAllowed, e instanceof SsoRejection ? e.detail : String(e));
    }
    let verified: string | null = null;
    try {
      verified = getVerifiedXml(message.xml, message.root as unknown as globalThis.Element, expected.certificates);
    } catch (e) {
      throw reject(LogoutReason.InvalidSignature, `the enveloped signature does not verify: ${(e as Error).message}`);
    }
    if (!verified) throw reject(LogoutReason.InvalidSignature, 'the enveloped signature does not verify with any signing key of the IdP');
    // From here on, only what the signature covered is read.
    root = parseMessage(verified).root;
    if (root.localName !== message.kind) throw reject(LogoutReason.MessageMalformed, 'the signed element is not the message');
  }

  const issuer = claimedLogoutIssuer(root);
  if (issuer !== expected.issuer) throw reject(LogoutReason.UnknownIssuer, `Issuer ${issuer ?? '(none)'} is not the IdP's ${expected.issuer}`);
  const destination = root.getAttribute('Destination');
  // Bindings §3.4.5.2 / §3.5.5.2: a signed message names where it was meant to go; it must be us.
  if (destination !== expected.sloUrl) throw reject(LogoutReason.DestinationMismatch, `Destination is ${destination || '(none)'}, expected ${expected.sloUrl}`);
  const id = root.getAttribute('ID');
  if (!id || root.getAttribute('Version') !== '2.0') throw reject(LogoutReason.MessageMalformed, 'the message lacks an ID or is not SAML 2.0');
  const now = (expected.now ?? new Date()).getTime();
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  if (!(issued <= now + expected.skewMs && issued >= now - expected.skewMs - LOGOUT_MESSAGE_MAX_AGE_MS)) {
    throw reject(LogoutReason.Expired, `IssueInstant ${root.getAttribute('IssueInstant') || '(none)'} is not within ${LOGOUT_MESSAGE_MAX_AGE_MS / 60000} minutes of now`);
  }

  if (root.localName === 'LogoutRequest') {
    const notOnOrAfter = root.getAttribute('NotOnOrAfter');
    if (notOnOrAfter && !(Date.parse(notOnOrAfter) > now - expected.skewMs)) throw reject(LogoutReason.Expired, `NotOnOrAfter is ${notOnOrAfter}`);
    const nameIdEl = children(root, SAML, 'NameID')[0];
    // An EncryptedID (or BaseID) designates nobody we can match: our SP never asks for encrypted NameIDs.
    const nameId = (nameIdEl?.textContent ?? '').trim();
    if (!nameIdEl || !nameId) throw reject(LogoutReason.NameIdMissing, 'the LogoutRequest has no (or an empty) NameID');
    const attr = (name: string) => nameIdEl.getAttribute(name) || undefined;
    return {
      kind: 'LogoutRequest',
      id,
      subject: { nameId, nameIdFormat: attr('Format'), nameQualifier: attr('NameQualifier'), spNameQualifier: attr('SPNameQualifier') },
      sessionIndexes: children(root, SAMLP, 'SessionIndex').map((e) => (e.textContent ?? '').trim()).filter((v) => v),
    };
  }
  const inResponseTo = root.getAttribute('InResponseTo');
  if (!inResponseTo) throw reject(LogoutReason.InResponseToUnknown, 'the LogoutResponse has no InResponseTo');
  const status = children(root, SAMLP, 'Status')[0];
  const code = status ? children(status, SAMLP, 'StatusCode')[0] : undefined;
  const subStatus = code ? children(code, SAMLP, 'StatusCode')[0]?.getAttribute('Value') || undefined : undefined;
  return { kind: 'LogoutResponse', id, inResponseTo, status: code?.getAttribute('Value') ?? '', subStatus };
}
