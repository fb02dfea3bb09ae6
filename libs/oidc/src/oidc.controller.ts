import { Controller, Get, Inject, Logger, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public, TokenAttemptLimiter } from '@app/auth';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Database } from '@app/persistence';
import { ACS_FAILURE_LIMIT, correlationIdOf, sendSignedIn, sendSignInFailure, SsoLimits } from '@app/saml';
import { OIDC_CALLBACK_PATH, OidcLoginService } from './oidc-login.service';

/** The redirect URI of OpenID Connect (SOCIAL) identity providers, at IDCS's path. */
@ApiTags('OpenID Connect')
@Public()
@Controller()
export class OidcController {
  private readonly logger = new Logger('OidcLogin');
  private readonly secureCookie: boolean;
  private readonly limits: SsoLimits;

  constructor(
    private readonly login: OidcLoginService,
    @Inject(APP_CONFIG) config: AppConfig,
    db: Database,
  ) {
    this.secureCookie = config.publicUrl.startsWith('https:');
    this.limits = new SsoLimits(new TokenAttemptLimiter(db));
  }

  @Get(OIDC_CALLBACK_PATH.slice(1))
  @ApiOperation({
    summary: 'OpenID Connect redirect URI (authorization code callback)',
    description:
      'Where a SOCIAL (OpenID Connect) identity provider sends the browser back. Checks that this browser started the sign-in, ' +
      'exchanges the code (PKCE), validates the ID token and reads UserInfo, provisions the user (JIT) and starts a session; then ' +
      '303 to RelayState or /myprofile. Register this URL as the redirect URI at the provider.',
  })
  @ApiQuery({ name: 'code', required: false, description: 'Authorization code' })
  @ApiQuery({ name: 'state', required: true, description: 'The state the sign-in was started with' })
  @ApiQuery({ name: 'iss', required: false, description: 'Issuer of the response (RFC 9207)' })
  @ApiResponse({ status: 303, description: 'Signed in: session cookie set' })
  @ApiResponse({ status: 401, description: 'Sign-in failed (generic HTML page with a correlation id)' })
  async callback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const cookie = this.login.flowCookie(req.query.state);
    // The flow cookie has served its purpose whatever the outcome.
    if (cookie) res.clearCookie(cookie.name, { httpOnly: true, sameSite: 'lax', secure: this.secureCookie, path: cookie.path });
    try {
      // Counted before validation (each failure writes an audit row), given back when the sign-in succeeds.
      const address = await this.limits.admit(ACS_FAILURE_LIMIT, req.ip);
      const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
      const signedIn = await this.login.callback(
        { query: req.query as Record<string, unknown>, search, cookieHeader: req.headers.cookie, withinSignIn: (m) => this.limits.signedIn(m, address) },
        correlationIdOf(res),
      );
      sendSignedIn(res, signedIn.sessionToken, signedIn.relayState, this.secureCookie);
    } catch (e) {
      sendSignInFailure(res, e, this.logger);
    }
  }
}
