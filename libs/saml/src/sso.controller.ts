import { Controller, Get, Header, Inject, Logger, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public, SessionAuthenticated, TokenAttemptLimiter } from '@app/auth';
import { Database } from '@app/persistence';
import { Doc, ScimError } from '@app/scim';
import { UsersService } from '@app/users';
import { APP_CONFIG, AppConfig } from '@app/config';
import { IdentityProvidersService } from '@app/identity-providers';
import { SamlLoginService } from './saml-login.service';
import { SESSION_COOKIE, sessionCookie, SessionsService } from './sessions.service';
import { SignInDelivery, SignInProtocols } from './sign-in-protocols';
import { correlationIdOf, sendSignedIn, sendSignInFailure } from './sign-in-responses';
import { autoPostPage, escapeHtml, htmlPage, sendHtml } from './sso-pages';
import { ACS_FAILURE_LIMIT, AUTHN_REQUEST_LIMIT, SsoLimits } from './sso-limits';
import { SsoReason, SsoRejection } from './sso-rejection';


/** The browser side of SAML sign-in (IDCS paths): start, assertion consumer service, logout, and the profile page. */
@ApiTags('SAML')
@Public()
@Controller()
export class SsoController {
  private readonly logger = new Logger('SamlLogin');
  private readonly secureCookie: boolean;
  private readonly limits: SsoLimits;

  constructor(
    private readonly login: SamlLoginService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly idps: IdentityProvidersService,
    private readonly protocols: SignInProtocols,
    @Inject(APP_CONFIG) config: AppConfig,
    db: Database,
  ) {
    this.secureCookie = config.publicUrl.startsWith('https:');
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
      for (const c of delivery.cookies ?? []) res.cookie(c.name, c.value, { httpOnly: true, sameSite: 'lax', secure: this.secureCookie, path: c.path, maxAge: c.maxAgeMs });
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
      const signedIn = await this.login.consume(body, correlationIdOf(res));
      await this.limits.signedIn(address);
      sendSignedIn(res, signedIn.sessionToken, signedIn.relayState, this.secureCookie);
    } catch (e) {
      this.fail(res, e);
    }
  }

  @Get('fed/v1/sp/slo')
  @ApiOperation({ summary: 'Sign out', description: 'Ends the browser session (here only: the IdP session stays) and shows a page saying so.' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'Signed out', content: { 'text/html': { schema: { type: 'string' } } } })
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.end(sessionCookie(req.headers.cookie));
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: this.secureCookie, path: '/' });
    sendHtml(res, 200, htmlPage('Signed out', '<p id="signed-out">You are signed out of this application. Your identity provider may still remember you: close the browser to end that session too.</p>'));
  }

  @Get('myprofile')
  @ApiOperation({ summary: "The signed-in user's profile page", description: 'User name, name, primary email and groups of the session user (HTML).' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'The profile page', content: { 'text/html': { schema: { type: 'string' } } } })
  @ApiResponse({ status: 401, description: 'Not signed in' })
  async profile(@Req() req: Request, @Res() res: Response): Promise<void> {
    const session = await this.sessions.find(sessionCookie(req.headers.cookie));
    const user = session ? await this.users.get(session.userId, { attributeSets: ['all'] }) /* groups are returned on request only */.then((r) => r.body, () => undefined) : undefined;
    if (!user) {
      sendHtml(res, 401, htmlPage('Not signed in', '<p>You are not signed in. Ask your administrator for the sign-in link of your identity provider.</p>'));
      return;
    }
    sendHtml(res, 200, profilePage(user));
  }

  private fail(res: Response, e: unknown): void {
    sendSignInFailure(res, e, this.logger);
  }
}

function profilePage(user: Doc): string {
  const name = (user.name ?? {}) as Doc;
  const emails = (user.emails ?? []) as Doc[];
  const email = (emails.find((e) => e.primary === true) ?? emails[0])?.value;
  const groups = ((user.groups ?? []) as Doc[]).map((g) => `<li>${escapeHtml(g.display)}</li>`).join('');
  const row = (id: string, label: string, value: unknown) => `<tr><th>${label}</th><td id="${id}">${escapeHtml(value)}</td></tr>`;
  return htmlPage(
    'My profile',
    `<table>${row('userName', 'User name', user.userName)}${row('givenName', 'Given name', name.givenName)}${row('familyName', 'Family name', name.familyName)}${row('email', 'Email', email)}</table>\n` +
      `<h2>Groups</h2><ul id="groups">${groups}</ul>\n<p><a href="/fed/v1/sp/slo">Sign out</a></p>`,
  );
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
