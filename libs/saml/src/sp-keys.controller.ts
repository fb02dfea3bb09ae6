import { Body, Controller, Delete, Get, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { actorOf } from '@app/audit';
import { Access, AuthenticatedRequest, RequireAccess } from '@app/auth';
import { SpKeyCreateDto, SpKeyResponseDto, spKeyView } from './sp-keys.dto';
import { SpKeyService } from './sp-keys.service';

const ID = { name: 'id', description: 'Key id, e.g. saml-sp-1' };

/**
 * Rollover of our SAML SP keys without an outage: stage a key (published in our metadata as the next one), let the
 * IdPs reread our metadata, activate it, then retire the previous key. Private keys are never returned.
 */
@ApiTags('SpKeys')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'Missing or invalid bearer token' })
@ApiResponse({ status: 403, description: 'Reading needs IdentityDomainAdministrator, SecurityAdministrator or Auditor; changes need IdentityDomainAdministrator or SecurityAdministrator' })
@RequireAccess(Access.identityProviders)
@Controller('admin/v1/SpKeys')
export class SpKeysController {
  constructor(private readonly keys: SpKeyService) {}

  @Get()
  @ApiOperation({ summary: 'List the SAML SP keys, most recent first', description: 'Each key with its certificate and its uses (signing, encryption) and their status (next, active, previous).' })
  @ApiOkResponse({ type: SpKeyResponseDto, isArray: true, description: 'The keys, without private keys' })
  async list(): Promise<SpKeyResponseDto[]> {
    return (await this.keys.list()).map((k) => spKeyView(k));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one SAML SP key' })
  @ApiParam(ID)
  @ApiOkResponse({ type: SpKeyResponseDto, description: 'The key, without its private key' })
  @ApiResponse({ status: 404, description: 'No such key' })
  async get(@Param('id') id: string): Promise<SpKeyResponseDto> {
    return spKeyView(await this.keys.get(id));
  }

  @Post()
  @ApiOperation({
    summary: 'Stage a new SAML SP key as the next key of one use',
    description:
      'Generates a key and self-signed certificate, and publishes the certificate in /fed/v1/metadata beside the active one; nothing uses it yet. Have the IdPs reread our metadata, then activate it. One next key per use at a time (409 otherwise).',
  })
  @ApiCreatedResponse({ type: SpKeyResponseDto, description: 'The staged key' })
  @ApiResponse({ status: 409, description: 'A next key of this use is staged already' })
  async stage(@Body() dto: SpKeyCreateDto, @Req() req: AuthenticatedRequest): Promise<SpKeyResponseDto> {
    return spKeyView(await this.keys.stage(dto.use, actorOf(req)));
  }

  @Post(':id/activate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Activate a staged SAML SP key',
    description:
      'The key becomes the active key of the use it was staged for, on every instance: AuthnRequests are signed with it (signing), or assertions are decrypted with it first (encryption). The key active until now becomes previous: no longer published, but assertions encrypted to it still decrypt until it is retired.',
  })
  @ApiParam(ID)
  @ApiOkResponse({ type: SpKeyResponseDto, description: 'The activated key' })
  @ApiResponse({ status: 404, description: 'No such key' })
  @ApiResponse({ status: 409, description: 'The key is not a staged (next) key' })
  async activate(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<SpKeyResponseDto> {
    return spKeyView(await this.keys.activate(id, actorOf(req)));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Retire a SAML SP key',
    description: 'Deletes a key that is active for no use, private key included: assertions encrypted to it no longer decrypt, and it leaves our metadata. Retiring a staged key cancels the staging.',
  })
  @ApiParam(ID)
  @ApiNoContentResponse({ description: 'Retired' })
  @ApiResponse({ status: 404, description: 'No such key' })
  @ApiResponse({ status: 409, description: 'The key is active for a use: activate another key first' })
  retire(@Param('id') id: string, @Req() req: AuthenticatedRequest): Promise<void> {
    return this.keys.retire(id, actorOf(req));
  }
}
