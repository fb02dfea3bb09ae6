import { Body, Controller, Headers, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { AccessTokens } from './access-tokens';
import { AdminClients } from './clients.service';
import { TokenRequestDto, TokenResponseDto } from './dto';
import { Public } from './roles';

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
    private readonly clients: AdminClients,
    private readonly tokens: AccessTokens,
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
  async token(
    @Body() body: Record<string, unknown> | undefined,
    @Headers('authorization') authorization: string | undefined,
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

    const basic = basicCredentials(authorization);
    if (basic === 'malformed') return fail(401, 'invalid_client', 'The Basic Authorization header is malformed');
    const formId = typeof form.client_id === 'string' ? form.client_id : undefined;
    const formSecret = typeof form.client_secret === 'string' ? form.client_secret : undefined;
    if (basic && (formId || formSecret)) return fail(400, 'invalid_request', 'Authenticate the client with one method only: HTTP Basic or form fields');
    const id = basic?.id ?? formId;
    const secret = basic?.secret ?? formSecret;
    if (!id || !secret) return fail(401, 'invalid_client', 'Client authentication is required');

    const principal = await this.clients.authenticate(id, secret);
    if (!principal) return fail(401, 'invalid_client', 'Unknown client or wrong secret');
    return { access_token: await this.tokens.issue(principal), token_type: 'Bearer', expires_in: this.tokens.ttlSeconds };
  }
}
