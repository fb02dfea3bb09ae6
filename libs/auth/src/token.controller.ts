import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AccessTokens } from './access-tokens';
import { ClientAuthFailure, ClientSignIn } from './client-sign-in.service';
import { TokenRequestDto, TokenResponseDto } from './dto';
import { Public } from './roles';
import { MetricsService } from '@app/metrics';

type OAuthError = { error: string; error_description: string };

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined | 'malformed' {
  if (!header) return undefined;
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
  if (!m) return header.toLowerCase().startsWith('basic') ? 'malformed' : undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return 'malformed';
  // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
  try {
    return { id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')) };
  } catch {
    return 'malformed';
  }
}

/** OAuth 2.0 token endpoint (RFC 6749 §4.4 client credentials), at the IDCS path. */
@ApiTags('OAuth')
@Public()
@Controller('oauth2/v1')
export class TokenController {
  constructor(
    private readonly signIn: ClientSignIn,
    private readonly tokens: AccessTokens,
    private readonly metrics: MetricsService,
  ) {}

  @Post('token')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Get an access token for the admin API',
    description: 'grant_type=client_credentials; authenticate the client with HTTP Basic or with client_id / client_secret form fields.',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({ type: TokenRequestDto })
  @ApiOkResponse({ type: TokenResponseDto, description: 'The access token' })
  @ApiResponse({ status: 400, description: 'invalid_request or unsupported_grant_type (RFC 6749 §5.2)' })
  @ApiResponse({ status: 401, description: 'invalid_client' })
  @ApiResponse({ status: 429, description: 'invalid_client: too many failed attempts for this client id or source address; retry after the Retry-After header (seconds)' })
  async token(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TokenResponseDto | OAuthError> {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Pragma', 'no-cache');
    const fail = (status: number, error: string, description: string): OAuthError => {
      res.status(status);
      if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="oauth2", charset="UTF-8"');
      return { error, error_description: description };
    };
    const form = body && typeof body === 'object' ? body : {};
    const grantType = form.grant_type;
    if (typeof grantType !== 'string' || !grantType) return fail(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', `Only client_credentials is supported (got "${grantType}")`);

    const address = req.ip;
    const correlationId = res.getHeader('opc-request-id')?.toString();
    const refuse = async (reason: ClientAuthFailure, clientId: string | undefined, description: string): Promise<OAuthError> => {
      await this.signIn.failed(reason, clientId, address, correlationId);
      return fail(401, 'invalid_client', description);
    };
    const basic = basicCredentials(authorization);
    if (basic === 'malformed') return refuse('malformed_authorization', undefined, 'The Basic Authorization header is malformed');
    const formId = typeof form.client_id === 'string' ? form.client_id : undefined;
    const formSecret = typeof form.client_secret === 'string' ? form.client_secret : undefined;
    if (basic && (formId || formSecret)) return fail(400, 'invalid_request', 'Authenticate the client with one method only: HTTP Basic or form fields');
    const id = basic?.id ?? formId;
    const secret = basic?.secret ?? formSecret;
    if (!id || !secret) return refuse('missing_credentials', id, 'Client authentication is required');

    const result = await this.signIn.signIn({ clientId: id, secret, sourceAddress: address, correlationId });
    if (!result.ok && result.reason === 'rate_limited') {
      // RFC 6749 §5.2 has no rate-limit code (slow_down is the device flow's, RFC 8628): the client was not
      // authenticated, so invalid_client, with 429 and Retry-After saying it is temporary and when to retry.
      res.setHeader('Retry-After', String(result.refusal.retryAfterSeconds));
      return fail(429, 'invalid_client', `Too many failed attempts for this ${result.refusal.kind === 'client' ? 'client' : 'source address'}; retry in ${result.refusal.retryAfterSeconds} s`);
    }
    if (!result.ok) return fail(401, 'invalid_client', 'Unknown client or wrong secret');
    this.metrics.tokenIssued();
    return { access_token: await this.tokens.issue(result.principal), token_type: 'Bearer', expires_in: this.tokens.ttlSeconds };
  }
}
