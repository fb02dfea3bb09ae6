import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AuthenticatedRequest } from './admin-auth.guard';
import { AdminClients } from './clients.service';
import { AdminClientCreateDto, AdminClientResponseDto, AdminClientRolesDto, ProvisioningTokenCreateDto, ProvisioningTokenResponseDto } from './dto';
import { CredentialActor, ProvisioningTokens } from './provisioning-tokens.service';
import { Access, RequireAccess } from './roles';

/** The guard has set the principal (every route here needs a role); the request id is the checked one the response carries. */
function actorOf(req: AuthenticatedRequest): CredentialActor {
  const id = req.res?.getHeader('opc-request-id');
  return { principal: req.principal!, correlationId: typeof id === 'string' && id ? id : undefined };
}

/** Credentials for automation: OAuth clients with roles, and provisioning tokens for IdP SCIM clients. */
@ApiTags('Admin credentials')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing or invalid bearer token' })
@ApiResponse({ status: 403, description: 'Needs IdentityDomainAdministrator' })
@RequireAccess(Access.domainAdministration)
@Controller('admin/v1')
export class AdminCredentialsController {
  constructor(
    private readonly clients: AdminClients,
    private readonly provisioning: ProvisioningTokens,
  ) {}

  @Post('AdminClients')
  // The body holds the only copy of the client secret: no cache (browser, proxy) may keep it.
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Create an OAuth client with administrator roles', description: 'The client secret is returned once.' })
  @ApiCreatedResponse({ type: AdminClientResponseDto, description: 'The new client, with its secret (shown only now)' })
  createClient(@Body() dto: AdminClientCreateDto, @Req() req: AuthenticatedRequest): Promise<AdminClientResponseDto> {
    return this.clients.create(dto.name, dto.roles, actorOf(req));
  }

  @Get('AdminClients')
  @ApiOperation({ summary: 'List OAuth clients (without secrets)' })
  @ApiOkResponse({ type: AdminClientResponseDto, isArray: true, description: 'Active clients, without secrets' })
  listClients(): Promise<AdminClientResponseDto[]> {
    return this.clients.list();
  }

  @Patch('AdminClients/:id')
  @ApiOperation({
    summary: "Replace an OAuth client's roles",
    description: 'Tokens the client already holds get the new roles from their next request on, on every instance. A client cannot change its own roles.',
  })
  @ApiOkResponse({ type: AdminClientResponseDto, description: 'The client with its new roles (without secret)' })
  @ApiResponse({ status: 404, description: 'No enabled client with this id' })
  setClientRoles(@Param('id') id: string, @Body() dto: AdminClientRolesDto, @Req() req: AuthenticatedRequest): Promise<AdminClientResponseDto> {
    return this.clients.setRoles(id, dto.roles, actorOf(req));
  }

  @Delete('AdminClients/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Disable an OAuth client' })
  @ApiNoContentResponse({ description: 'Disabled' })
  deleteClient(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.clients.disable(id, actorOf(req));
  }

  @Post('ProvisioningTokens')
  // The body holds the only copy of the token: no cache (browser, proxy) may keep it.
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Issue a provisioning token for an IdP SCIM client',
    description: 'Long-lived bearer token limited to /admin/v1/Users and /admin/v1/Groups. Returned once; stored as a digest.',
  })
  @ApiCreatedResponse({ type: ProvisioningTokenResponseDto, description: 'The new token (shown only now)' })
  createToken(@Body() dto: ProvisioningTokenCreateDto, @Req() req: AuthenticatedRequest): Promise<ProvisioningTokenResponseDto> {
    return this.provisioning.create(dto.name, dto.expiresInDays, actorOf(req));
  }

  @Get('ProvisioningTokens')
  @ApiOperation({ summary: 'List provisioning tokens (without the tokens)' })
  @ApiOkResponse({ type: ProvisioningTokenResponseDto, isArray: true, description: 'Tokens, without the token values' })
  listTokens(): Promise<ProvisioningTokenResponseDto[]> {
    return this.provisioning.list();
  }

  @Delete('ProvisioningTokens/:id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a provisioning token' })
  @ApiNoContentResponse({ description: 'Revoked' })
  revokeToken(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.provisioning.revoke(id, actorOf(req));
  }
}
