import { Controller, Get, Header, Inject, Logger, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public, SessionAuthenticated, TokenAttemptLimiter } from '@app/auth';
import { Database } from '@app/persistence';
import { Doc, ScimError } from '@app/scim';
import { UsersService } from '@app/users';
import { APP_CONFIG, AppConfig } from '@app/config';
import { IdentityProvidersService } from '@app/identity-providers';
import { crossSiteCookiesWork } from './request-id-store';
import { SamlLoginService } from './saml-login.service';
import { SESSION_COOKIE, sessionCookie, SessionsService } from './sessions.service';
import { SignInDelivery, SignInProtocols } from './sign-in-protocols';
import { correlationIdOf, sendSignedIn, sendSignInFailure } from './sign-in-responses';
import { autoPostPage, escapeHtml, htmlPage, sendHtml } from './sso-pages';
import { ACS_FAILURE_LIMIT, AUTHN_REQUEST_LIMIT, SsoLimits, SsoRateLimited } from './sso-limits';
import { SsoReason, SsoRejection } from './sso-rejection';
import { LogoutOutcome, SingleLogoutService } from './single-logout.service';


/** The browser side of SAML sign-in (IDCS paths): start, assertion consumer service, logout, and the profile page. */
@ApiTags('SAML')
@Public()
@Controller()
export class SsoController {
  private readonly logger = new Logger('SamlLogin');
  private readonly secureCookie: boolean;
  /** Whether a cookie can be SameSite=None; Secure here (request-id-store.ts, crossSiteCookiesWork). */
  private readonly crossSiteCookies: boolean;
  private readonly limits: SsoLimits;

  constructor(
    private readonly login: SamlLoginService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly idps: IdentityProvidersService,
    private readonly protocols: SignInProtocols,
    private readonly slo: SingleLogoutService,
    @Inject(APP_CONFIG) config: AppConfig,
    db: Database,
  ) {
    this.secureCookie = config.publicUrl.startsWith('https:');
    this.crossSiteCookies = crossSiteCookiesWork(config.publicUrl);
    this.limits = new SsoLimits(new TokenAttemptLimiter(db));
  }

  @Get('fed/v1/sp/initiatesso')
  @ApiOperation({
    summary: 'Start a sign-in through an identity provider (SAML or OpenID Connect)',
    description:
      'SAML IdPs: sends the browser to the identity provider with a signed AuthnRequest, by redirect or auto-submitting form (the IdP\'s ' +
      'authnRequestBinding). SOCIAL (OpenID Connect) IdPs: redirects to its authorization endpoint (authorization code flow with PKCE, ' +
      'state and nonce, bound to this browser by a short-lived HttpOnly cookie). RelayState is kept only when it is a path on this server.',
  })
  @ApiQuery({ name: 'idp', description: 'Id or partnerName of the identity provider', required: true })
  @ApiQuery({ name: 'RelayState', description: 'Path on this server to return to after sign-in', required: false })
  @ApiResponse({ status: 302, description: 'Redirect to the IdP (HTTP-Redirect binding)' })
  @ApiOkResponse({ description: 'Auto-submitting form to the IdP (HTTP-POST binding)', content: { 'text/html': { schema: { type: 'string' } } } })
  async initiate(@Query('idp') idp: unknown, @Query('RelayState') relayState: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    try {
      if (typeof idp !== 'string' || !idp) throw new SsoRejection('SSO_IDP_MISSING', 'the idp query parameter is missing', undefined, 400);
      // Each initiation stores a request id: anonymous writes are limited per address before anything is stored.
      await this.limits.admit(AUTHN_REQUEST_LIMIT, req.ip);
      const config = await this.idps.signInConfiguration({ idOrName: idp });
      if (!config) throw new SsoRejection(SsoReason.UnknownIssuer, `no identity provider with id or partnerName "${idp.slice(0, 300)}"`, undefined, 404);
      if (!config.enabled) throw new SsoRejection(SsoReason.IdpDisabled, 'the identity provider is disabled', config, 403);
      // Stored as IDCS accepts it, but not usable for a sign-in (a NameID format that is no URI, a social IdP without discovery…).
      if (config.unsupported) throw new SsoRejection(config.unsupported.reason, config.unsupported.detail, config, 403);
      const relay = typeof relayState === 'string' ? relayState : undefined;
      const starter = this.protocols.starterFor(config.type);
      const delivery: SignInDelivery = starter ? await starter.start(config, relay) : await this.login.initiate(config, relay);
      res.set('Cache-Control', 'no-store');
      for (const c of delivery.cookies ?? []) {
        // The SAML binding cookie must follow the IdP's cross-site POST to the ACS: SameSite=None, which browsers accept only Secure.
        const site = c.crossSitePost && this.crossSiteCookies ? { sameSite: 'none' as const, secure: true } : { sameSite: 'lax' as const, secure: this.secureCookie };
        res.cookie(c.name, c.value, { httpOnly: true, ...site, path: c.path, maxAge: c.maxAgeMs });
      }
      if (delivery.kind === 'redirect') return res.redirect(302, delivery.url);
      const page = autoPostPage(delivery.action, delivery.fields);
      sendHtml(res, 200, page.html, page.csp);
    } catch (e) {
      this.fail(res, e);
    }
  }

  @Post('fed/v1/sp/sso')
  @ApiOperation({
    summary: 'SAML assertion consumer service (HTTP-POST)',
    description: 'Receives the SAMLResponse, validates it, provisions the user (JIT) and starts a session; then 303 to RelayState or /myprofile.',
  })
  @ApiResponse({ status: 303, description: 'Signed in: session cookie set' })
  @ApiResponse({ status: 401, description: 'Sign-in failed (generic HTML page with a correlation id)' })
  async acs(@Req() req: Request, @Res() res: Response): Promise<void> {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      // Counted before validation (each failure writes an audit row), given back when the sign-in succeeds.
      const address = await this.limits.admit(ACS_FAILURE_LIMIT, req.ip);
      const signedIn = await this.login.consume(body, correlationIdOf(res), req.headers.cookie, (m) => this.limits.signedIn(m, address));
      sendSignedIn(res, signedIn.sessionToken, signedIn.relayState, this.secureCookie);
    } catch (e) {
      this.fail(res, e);
    }
  }

  @Get('fed/v1/sp/slo')
  @ApiOperation({
    summary: 'Sign-out page, and SAML single logout (HTTP-Redirect binding)',
    description:
      'Without a SAML message: a page with a sign-out button (a form POST carrying a CSRF token bound to the session); a GET never signs out. ' +
      'With SAMLRequest (a LogoutRequest from an IdP whose logoutEnabled is on, signed in the query): ends the sessions it designates and ' +
      'answers with a signed LogoutResponse over the IdP\'s logoutBinding. With SAMLResponse: the IdP\'s answer to our LogoutRequest; the browser is told it is signed out.',
  })
  @ApiQuery({ name: 'SAMLRequest', required: false, description: 'HTTP-Redirect binding LogoutRequest (DEFLATE, base64)' })
  @ApiQuery({ name: 'SAMLResponse', required: false, description: 'HTTP-Redirect binding LogoutResponse (DEFLATE, base64)' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The sign-out page, or the signed-out page', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 302, description: 'LogoutResponse to the IdP (HTTP-Redirect binding)' })
  @ApiResponse({ status: 400, description: 'A logout message was refused (generic page with a correlation id)' })
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (isLogoutMessage(req.query as Record<string, unknown>)) {
      const q = req.originalUrl.indexOf('?');
      return this.logoutMessage(res, () => this.slo.receive('Redirect', { rawQuery: q < 0 ? '' : req.originalUrl.slice(q + 1) }, correlationIdOf(res), req.ip));
    }
    const token = sessionCookie(req.headers.cookie);
    const session = await this.sessions.find(token);
    if (!session || !token) {
      sendHtml(res, 200, htmlPage('Signed out', '<p id="signed-out">You are not signed in.</p>'));
      return;
    }
    sendHtml(res, 200, signOutPage(this.sessions.signOutToken(token)), signOutPageCsp(await this.slo.signOutContinuesTo(session)));
  }

  @Post('fed/v1/sp/slo')
  @ApiOperation({
    summary: 'Sign out, and SAML single logout (HTTP-POST binding)',
    description:
      'A form post with the sign-out page\'s CSRF token (field csrf) ends the browser session; when its IdP has logoutEnabled, the browser then ' +
      'carries a signed LogoutRequest to the IdP (logoutBinding). Without the right token nothing happens (403). A posted SAMLRequest or ' +
      'SAMLResponse is a logout message of the HTTP-POST binding, handled as for GET.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'Signed out, or an auto-submitting form carrying a logout message to the IdP', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 303, description: 'Signed out: LogoutRequest to the IdP (HTTP-Redirect binding)' })
  @ApiResponse({ status: 403, description: 'The CSRF token is missing or wrong: nothing was done' })
  async signOut(@Req() req: Request, @Res() res: Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (isLogoutMessage(body)) return this.logoutMessage(res, () => this.slo.receive('Post', { body }, correlationIdOf(res), req.ip));
    const token = sessionCookie(req.headers.cookie);
    if (!this.sessions.isSignOutToken(token, body.csrf)) {
      this.logger.warn(`Sign-out refused: the form's CSRF token is missing or wrong correlation=${correlationIdOf(res)}`);
      sendHtml(res, 403, htmlPage('Sign-out refused', '<p>This sign-out request did not come from the sign-out page. <a href="/fed/v1/sp/slo">Sign out here</a>.</p>'));
      return;
    }
    const delivery = await this.slo.signOut(token, correlationIdOf(res));
    this.clearSession(res);
    if (!delivery) return sendSignedOut(res);
    if (delivery.kind === 'redirect') {
      res.status(303).set({ Location: delivery.url, 'Cache-Control': 'no-store' }).end();
      return;
    }
    const page = autoPostPage(delivery.action, delivery.fields);
    sendHtml(res, 200, page.html, page.csp);
  }

  /** A logout message from an IdP: its answer goes back through the browser; a refusal is the generic page. */
  private async logoutMessage(res: Response, receive: () => Promise<LogoutOutcome>): Promise<void> {
    let outcome: LogoutOutcome;
    try {
      outcome = await receive();
    } catch (e) {
      const status = e instanceof SsoRejection ? e.status : 500;
      if (e instanceof SsoRateLimited) res.setHeader('Retry-After', String(e.retryAfterSeconds));
      if (!(e instanceof SsoRejection)) this.logger.error(`SAML logout failed unexpectedly: correlation=${correlationIdOf(res)} ${(e as Error)?.stack ?? e}`);
      sendHtml(res, status, htmlPage('Sign-out failed', `<p>Sign-out failed. If this keeps happening, give your administrator this reference: <code id="correlation-id">${escapeHtml(correlationIdOf(res))}</code></p>`));
      return;
    }
    // The end of our own sign-out (the session ended before the IdP was asked). An IdP's LogoutRequest leaves the
    // cookie of the browser carrying it alone: the sessions it designates are ended server-side, whoever's they are.
    if (outcome.kind === 'signedOut') {
      this.clearSession(res);
      return sendSignedOut(res);
    }
    if (outcome.delivery.kind === 'redirect') {
      res.status(302).set({ Location: outcome.delivery.url, 'Cache-Control': 'no-store' }).end();
      return;
    }
    const page = autoPostPage(outcome.delivery.action, outcome.delivery.fields);
    sendHtml(res, 200, page.html, page.csp);
  }

  private clearSession(res: Response): void {
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: this.secureCookie, path: '/' });
  }

  @Get('myprofile')
  @ApiOperation({ summary: "The signed-in user's profile page", description: 'User name, name, primary email and groups of the session user (HTML).' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The profile page', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 401, description: 'Not signed in' })
  async profile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const token = sessionCookie(req.headers.cookie);
    const session = await this.sessions.find(token);
    const user = session ? await this.users.get(session.userId, { attributeSets: ['all'] }) /* groups are returned on request only */.then((r) => r.body, () => undefined) : undefined;
    if (!user || !token) {
      sendHtml(res, 401, htmlPage('Not signed in', '<p>You are not signed in. Ask your administrator for the sign-in link of your identity provider.</p>'));
      return;
    }
    sendHtml(res, 200, profilePage(user, this.sessions.signOutToken(token)), signOutPageCsp(await this.slo.signOutContinuesTo(session!)));
  }

  private fail(res: Response, e: unknown): void {
    sendSignInFailure(res, e, this.logger);
  }
}

function profilePage(user: Doc, signOutToken: string): string {
  const name = (user.name ?? {}) as Doc;
  const emails = (user.emails ?? []) as Doc[];
  const email = (emails.find((e) => e.primary === true) ?? emails[0])?.value;
  const groups = ((user.groups ?? []) as Doc[]).map((g) => `<li>${escapeHtml(g.display)}</li>`).join('');
  const row = (id: string, label: string, value: unknown) => `<tr><th>${label}</th><td id="${id}">${escapeHtml(value)}</td></tr>`;
  return htmlPage(
    'My profile',
    `<table>${row('userName', 'User name', user.userName)}${row('givenName', 'Given name', name.givenName)}${row('familyName', 'Family name', name.familyName)}${row('email', 'Email', email)}</table>\n` +
      `<h2>Groups</h2><ul id="groups">${groups}</ul>\n${signOutForm(signOutToken)}`,
  );
}

/**
 * The pages with a sign-out form may post it to us, and nothing else; browsers apply form-action to the redirect
 * that follows too, so the IdP's SLO endpoint is allowed when the sign-out continues there.
 */
function signOutPageCsp(continuesTo: string | undefined): string {
  return `default-src 'none'; form-action 'self'${continuesTo ? ` ${continuesTo}` : ''}; frame-ancestors 'none'`;
}

/** The sign-out button: a POST carrying the session's CSRF token (a GET never signs out). */
function signOutForm(csrf: string): string {
  return `<form id="sign-out" method="post" action="/fed/v1/sp/slo"><input type="hidden" name="csrf" value="${escapeHtml(csrf)}"><button type="submit">Sign out</button></form>`;
}

function signOutPage(csrf: string): string {
  return htmlPage('Sign out', `<p>Sign out of this application?</p>\n${signOutForm(csrf)}`);
}

function sendSignedOut(res: Response): void {
  sendHtml(res, 200, htmlPage('Signed out', '<p id="signed-out">You are signed out.</p>'));
}

/** A SAML logout message (from an IdP: no session cookie or CSRF token) rather than our own sign-out form. */
function isLogoutMessage(params: Record<string, unknown>): boolean {
  return params.SAMLRequest !== undefined || params.SAMLResponse !== undefined;
}

/** `GET /admin/v1/Me`: the signed-in user as a SCIM User, authenticated by the session cookie. */
@ApiTags('Me')
@SessionAuthenticated()
@Controller('admin/v1/Me')
export class MeController {
  constructor(
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
  ) {}

  @Get()
  @Header('Content-Type', 'application/scim+json')
  @ApiOperation({ summary: 'Get the signed-in user', description: 'The User of the browser session (cookie idd_session), as SCIM.' })
  @ApiOkResponse({ description: 'The user', content: { 'application/scim+json': { schema: { $ref: '#/components/schemas/User' } } } })
  @ApiResponse({ status: 401, description: 'No session', content: { 'application/scim+json': { schema: { $ref: '#/components/schemas/ScimError' } } } })
  async me(@Req() req: Request): Promise<Doc> {
    const session = await this.sessions.find(sessionCookie(req.headers.cookie));
    if (!session) throw new ScimError(401, 'Sign in first: this endpoint needs the session cookie of a SAML sign-in');
    return (await this.users.get(session.userId, {})).body;
  }
}
