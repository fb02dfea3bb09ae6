/**
 * The demo IdP: a small but real SAML 2.0 identity provider built on `samlify`, with an HTML login form, for
 * trying our SP's sign-in, JIT provisioning and Single Logout locally (`npm run demo`) and for the browser test.
 * It keeps a session per sign-in (a cookie, and the SessionIndex it asserted): a LogoutRequest from the SP ends it,
 * and its home page starts an IdP-initiated logout.
 *
 * samlify is used here only to act as an IdP: parse and verify the SP's AuthnRequest, and build and sign the
 * Response. It never validates responses at our assertion consumer service: that is @node-saml/node-saml's job
 * plus the checks in libs/saml. This is demo and test code, never part of the identity server.
 */
import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import * as samlify from 'samlify';
import { makeDemoIdpKeys } from './keys';
import { autoPostPage, errorPage, homePage, loginPage, signedOutPage } from './pages';
import { checkPassword, DEMO_USERS, DemoUser } from './users';

// samlify insists on an XML schema validator before it parses anything. The real ones need Java or a WASM
// libxml; the demo IdP only reads AuthnRequests whose signature it verifies against the SP's metadata
// certificate, so well-formedness (checked by samlify's parser) is enough here. This setting is global to
// samlify only; our SP does not use samlify.
samlify.setSchemaValidator({ validate: async () => 'skipped: demo IdP' });

const BINDING_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const PASSWORD_PROTECTED = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
/** How long a login form stays usable after the SP's AuthnRequest arrived. */
const PENDING_TTL_MS = 15 * 60_000;
/** Assertions are valid this long (the SP allows a minute of clock skew on top). */
const ASSERTION_TTL_MS = 5 * 60_000;
/** The demo IdP's own session cookie. */
const IDP_SESSION_COOKIE = 'demo_idp_session';

export interface DemoIdpOptions {
  /** Our SP's metadata: the URL to fetch it from at start (`${PUBLIC_URL}/fed/v1/metadata`), or the XML itself. */
  spMetadataUrl?: string;
  spMetadata?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to listen on; loopback by default. */
  host?: string;
  /** Who can sign in; DEMO_USERS by default. */
  users?: readonly DemoUser[];
  /** A link to start an SP-initiated sign-in, shown on the IdP's home page. */
  spLoginUrl?: string;
}

export interface DemoIdp {
  /** Base URL, e.g. http://127.0.0.1:3100. */
  url: string;
  /** The IdP's entity ID (its metadata URL). */
  entityId: string;
  /** GET this for the IdP's SAML metadata. */
  metadataUrl: string;
  /** The metadata XML. */
  metadata: string;
  users: readonly DemoUser[];
  close(): Promise<void>;
}

/** Someone signed in at the IdP, and the SessionIndex the SP was told (a LogoutRequest names it). */
interface IdpSession {
  user: DemoUser;
  sessionIndex: string;
  /** The sign-out form's CSRF token. */
  csrf: string;
}

/** A logout message samlify built: a URL (redirect binding), or a base64 message, its field and where to post it. */
interface OutgoingMessage {
  context: string;
  entityEndpoint?: string;
  relayState?: string;
  type?: string;
}

/** An AuthnRequest waiting for the person to sign in. */
interface Pending {
  requestId: string;
  relayState?: string;
  expiresAt: number;
}

/** Starts the demo IdP on loopback. */
export async function startDemoIdp(options: DemoIdpOptions): Promise<DemoIdp> {
  const spMetadata = options.spMetadata ?? (await fetchText(required(options.spMetadataUrl, 'spMetadataUrl or spMetadata')));
  const users = options.users ?? DEMO_USERS;
  const host = options.host ?? '127.0.0.1';

  // Sign the Response as well as the Assertion (the SP's metadata asks for signed assertions), as Okta does.
  const sp = samlify.ServiceProvider({ metadata: spMetadata, wantMessageSigned: true });
  // Logout messages both ways are signed, and those of the SP must be (samlify reads these on both entities).
  sp.entitySetting.wantLogoutRequestSigned = true;
  sp.entitySetting.wantLogoutResponseSigned = true;
  const spEntityId = sp.entityMeta.getEntityID();
  const acs = sp.entityMeta.getAssertionConsumerService('post');
  if (typeof acs !== 'string' || !acs) throw new Error('the SP metadata has no HTTP-POST AssertionConsumerService');
  const acsUrl: string = acs;
  const keys = await makeDemoIdpKeys('Demo IdP');

  // The IdP's URLs contain its port, which is known once it listens.
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const entityId = `${url}/metadata`;
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    signingCert: keys.certificatePem,
    privateKey: keys.privateKeyPem,
    requestSignatureAlgorithm: RSA_SHA256,
    nameIDFormat: [EMAIL_FORMAT],
    singleSignOnService: [
      { Binding: BINDING_REDIRECT, Location: `${url}/sso` },
      { Binding: BINDING_POST, Location: `${url}/sso` },
    ],
    singleLogoutService: [
      { Binding: BINDING_REDIRECT, Location: `${url}/slo` },
      { Binding: BINDING_POST, Location: `${url}/slo` },
    ],
    // Our SP signs every AuthnRequest and logout message; verify those signatures against the certificate in the SP's metadata.
    wantAuthnRequestsSigned: true,
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
  });
  const metadata = idp.getMetadata();
  const pending = new Map<string, Pending>();
  /** IdP sessions by cookie value. */
  const sessions = new Map<string, IdpSession>();
  const sessionOf = (req: IncomingMessage) => {
    const value = cookie(req, IDP_SESSION_COOKIE);
    return value ? sessions.get(value) : undefined;
  };

  /** GET /sso (HTTP-Redirect binding) or POST /sso (HTTP-POST binding): the SP's AuthnRequest → the login form. */
  async function receiveAuthnRequest(res: ServerResponse, query: URLSearchParams, rawQuery: string, form?: URLSearchParams): Promise<void> {
    let parsed: samlify.Extractor.ExtractorResult | undefined;
    try {
      const result = form
        ? await idp.parseLoginRequest(sp, 'post', { body: Object.fromEntries(form) })
        : await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(query), octetString: signedOctets(rawQuery) });
      parsed = result.extract;
    } catch (e) {
      return send(res, 400, errorPage(`The AuthnRequest was refused: ${(e as Error).message ?? e}`));
    }
    if (parsed?.issuer !== spEntityId) return send(res, 400, errorPage(`The AuthnRequest comes from "${parsed?.issuer}", not from the service provider this IdP serves (${spEntityId}).`));
    const requestId = parsed?.request?.id;
    if (typeof requestId !== 'string' || !requestId) return send(res, 400, errorPage('The AuthnRequest has no ID.'));

    const now = Date.now();
    for (const [k, p] of pending) if (p.expiresAt < now) pending.delete(k);
    const token = randomBytes(18).toString('base64url');
    pending.set(token, { requestId, relayState: (form ?? query).get('RelayState') || undefined, expiresAt: now + PENDING_TTL_MS });
    send(res, 200, loginPage({ spEntityId, pending: token, users }));
  }

  /** POST /sso/login: check the password, then post a signed Response to the SP's ACS via an auto-submitting form. */
  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const token = form.get('pending') ?? '';
    const request = pending.get(token);
    if (!request || request.expiresAt < Date.now()) return send(res, 400, errorPage('This sign-in has expired or was already used.'));
    const userName = form.get('username') ?? '';
    const user = checkPassword(users, userName, form.get('password') ?? '');
    if (!user) return send(res, 401, loginPage({ spEntityId, pending: token, users, userName, error: 'Wrong user name or password.' }));
    pending.delete(token);
    const sessionIndex = `_${randomBytes(16).toString('hex')}`;
    const sessionId = randomBytes(24).toString('base64url');
    sessions.set(sessionId, { user, sessionIndex, csrf: randomBytes(18).toString('base64url') });

    const { context: samlResponse } = await idp.createLoginResponse(sp, { extract: { request: { id: request.requestId } } } as never, 'post', { email: user.email }, {
      customTagReplacement: (template) => {
        const id = `_${randomBytes(16).toString('hex')}`;
        return { id, context: responseXml(template, { id, requestId: request.requestId, user, entityId, spEntityId, acsUrl, sessionIndex }) };
      },
    });
    const nonce = randomBytes(16).toString('base64');
    send(res, 200, autoPostPage({ acsUrl, samlResponse, relayState: request.relayState, nonce }), {
      'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action ${new URL(acsUrl).origin}`,
      'Set-Cookie': `${IDP_SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Lax`,
    });
  }

  /** Ends the IdP sessions of a user (all, or those of the given SessionIndexes); how many ended. */
  function endSessions(email: string, sessionIndexes: string[]): number {
    let ended = 0;
    for (const [id, s] of sessions) {
      if (s.user.email === email && (!sessionIndexes.length || sessionIndexes.includes(s.sessionIndex))) {
        sessions.delete(id);
        ended++;
      }
    }
    return ended;
  }

  /** Sends a logout message to the SP over the binding samlify built it for. */
  function deliver(res: ServerResponse, context: OutgoingMessage, binding: 'redirect' | 'post', extraHeaders: Record<string, string> = {}): void {
    if (binding === 'redirect') {
      res.writeHead(302, { Location: context.context, 'Cache-Control': 'no-store', ...extraHeaders });
      res.end();
      return;
    }
    const target = String(context.entityEndpoint);
    const nonce = randomBytes(16).toString('base64');
    send(res, 200, autoPostPage({ acsUrl: target, samlResponse: context.context, relayState: context.relayState || undefined, nonce, field: context.type, title: 'Signing you out…' }), {
      'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action ${new URL(target).origin}`,
      ...extraHeaders,
    });
  }

  /**
   * GET /slo (HTTP-Redirect) or POST /slo (HTTP-POST): the SP's LogoutRequest (end the sessions it names, answer
   * over the same binding), or its LogoutResponse to our IdP-initiated logout.
   */
  async function singleLogout(res: ServerResponse, query: URLSearchParams, rawQuery: string, form?: URLSearchParams): Promise<void> {
    const binding = form ? 'post' : 'redirect';
    const request = form ? { body: Object.fromEntries(form) } : { query: Object.fromEntries(query), octetString: signedOctets(rawQuery) };
    const clear = { 'Set-Cookie': `${IDP_SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` };
    if ((form ?? query).has('SAMLResponse')) {
      try {
        await idp.parseLogoutResponse(sp, binding, request);
      } catch (e) {
        return send(res, 400, errorPage(`The LogoutResponse was refused: ${(e as Error).message ?? e}`));
      }
      return send(res, 200, signedOutPage('The service provider confirmed the sign-out: you are signed out there and here.'), clear);
    }
    let parsed: samlify.Extractor.ExtractorResult;
    try {
      parsed = (await idp.parseLogoutRequest(sp, binding, request)).extract;
    } catch (e) {
      return send(res, 400, errorPage(`The LogoutRequest was refused: ${(e as Error).message ?? e}`));
    }
    if (parsed?.issuer !== spEntityId) return send(res, 400, errorPage(`The LogoutRequest comes from "${parsed?.issuer}", not from the service provider this IdP serves (${spEntityId}).`));
    const indexes = ([] as unknown[]).concat(parsed.sessionIndex ?? []).map(String);
    endSessions(String(parsed.nameID ?? ''), indexes);
    const answer = idp.createLogoutResponse(sp, { extract: parsed } as never, binding, (form ?? query).get('RelayState') ?? '');
    deliver(res, answer, binding, clear);
  }

  /** POST /logout: sign out here and at the SP (IdP-initiated single logout, HTTP-Redirect binding). */
  async function idpInitiatedLogout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const session = sessionOf(req);
    if (!session || form.get('csrf') !== session.csrf) return send(res, 403, errorPage('You are not signed in here, or this sign-out did not come from the sign-out button.'));
    endSessions(session.user.email, [session.sessionIndex]);
    const request = idp.createLogoutRequest(sp, 'redirect', { logoutNameID: session.user.email, sessionIndex: session.sessionIndex });
    deliver(res, request, 'redirect');
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const [path, rawQuery] = q < 0 ? [target, ''] : [target.slice(0, q), target.slice(q + 1)];
    const route = `${req.method} ${path}`;
    const handle = async () => {
      if (route === 'GET /favicon.ico') return send(res, 204, '');
      if (route === 'GET /') {
        const session = sessionOf(req);
        return send(res, 200, homePage({ entityId, users, spLoginUrl: options.spLoginUrl, signedIn: session && { email: session.user.email, csrf: session.csrf } }));
      }
      if (route === 'GET /metadata') return send(res, 200, metadata, { 'Content-Type': 'application/samlmetadata+xml; charset=utf-8' });
      if (route === 'GET /sso') return receiveAuthnRequest(res, new URLSearchParams(rawQuery), rawQuery);
      if (route === 'POST /sso') return receiveAuthnRequest(res, new URLSearchParams(), '', new URLSearchParams(await readBody(req, 64 * 1024)));
      if (route === 'POST /sso/login') return login(req, res);
      if (route === 'GET /slo') return singleLogout(res, new URLSearchParams(rawQuery), rawQuery);
      if (route === 'POST /slo') return singleLogout(res, new URLSearchParams(), '', new URLSearchParams(await readBody(req, 64 * 1024)));
      if (route === 'POST /logout') return idpInitiatedLogout(req, res);
      send(res, 404, errorPage(`Nothing at ${req.method} ${path}.`));
    };
    handle().catch((e) => send(res, 500, errorPage(`The demo IdP failed: ${(e as Error)?.message ?? e}`)));
  });

  return {
    url,
    entityId,
    metadataUrl: entityId,
    metadata,
    users,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The Response XML from samlify's template: our values, an AuthnStatement and the user's attributes. */
function responseXml(template: string, v: { id: string; requestId: string; user: DemoUser; entityId: string; spEntityId: string; acsUrl: string; sessionIndex: string }): string {
  const now = new Date();
  const notOnOrAfter = new Date(now.getTime() + ASSERTION_TTL_MS).toISOString();
  const attributes: Record<string, string[]> = { firstName: [v.user.firstName], familyName: [v.user.familyName], email: [v.user.email], groups: v.user.groups };
  const attributeStatement =
    '<saml:AttributeStatement>' +
    Object.entries(attributes)
      .map(([name, values]) =>
        `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
        values.map((value) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(value)}</saml:AttributeValue>`).join('') +
        '</saml:Attribute>',
      )
      .join('') +
    '</saml:AttributeStatement>';
  const authnStatement =
    `<saml:AuthnStatement AuthnInstant="${now.toISOString()}" SessionIndex="${v.sessionIndex}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${PASSWORD_PROTECTED}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`;
  // The two statements are markup, the other tags are values that samlify escapes.
  const withStatements = template.replace('{AuthnStatement}', () => authnStatement).replace('{AttributeStatement}', () => attributeStatement);
  return samlify.SamlLib.replaceTagsByValue(withStatements, {
    ID: v.id,
    AssertionID: `_${randomBytes(16).toString('hex')}`,
    Destination: v.acsUrl,
    Issuer: v.entityId,
    Audience: v.spEntityId,
    SubjectRecipient: v.acsUrl,
    InResponseTo: v.requestId,
    IssueInstant: now.toISOString(),
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: notOnOrAfter,
    SubjectConfirmationDataNotOnOrAfter: notOnOrAfter,
    NameIDFormat: EMAIL_FORMAT,
    NameID: v.user.email,
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  });
}

/**
 * What the SP signed in an HTTP-Redirect message (SAML bindings §3.4.4.1): the parameters SAMLRequest (or
 * SAMLResponse), RelayState and SigAlg exactly as they appear, URL-encoded, in the query string.
 */
function signedOctets(rawQuery: string): string {
  const parts = rawQuery.split('&');
  return ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg']
    .map((name) => parts.find((p) => p.startsWith(`${name}=`)))
    .filter((p): p is string => p !== undefined)
    .join('&');
}

/** The value of a cookie in the request. */
function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=') || undefined;
  }
  return undefined;
}

function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Frame-Options': 'DENY',
    ...headers,
  });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit = 16 * 1024): Promise<string> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > limit) throw new Error('request body too large');
  }
  return body;
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`startDemoIdp needs ${what}`);
  return value;
}
