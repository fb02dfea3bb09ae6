import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayNotEmpty, IsArray, IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ASSIGNABLE_ROLES, Role } from './roles';

export class TokenResponseDto {
  @ApiProperty({ description: 'Signed JWT to send as "Authorization: Bearer <token>"', example: 'eyJhbGciOiJIUzI1NiIs...' })
  access_token!: string;
  @ApiProperty({ description: 'Always "Bearer"', example: 'Bearer' })
  token_type!: 'Bearer';
  @ApiProperty({ description: 'Lifetime in seconds', example: 3600 })
  expires_in!: number;
}

export class TokenRequestDto {
  @ApiProperty({ description: 'Only client_credentials is supported', example: 'client_credentials' })
  grant_type!: string;
  @ApiPropertyOptional({ description: 'Client id, when not sent with HTTP Basic authentication' })
  client_id?: string;
  @ApiPropertyOptional({ description: 'Client secret, when not sent with HTTP Basic authentication' })
  client_secret?: string;
  @ApiPropertyOptional({ description: 'Accepted and ignored (IDCS clients send urn:opc:idm:__myscopes__)', example: 'urn:opc:idm:__myscopes__' })
  scope?: string;
}

export class AdminClientCreateDto {
  @ApiProperty({ description: 'What the client is for', example: 'nightly-user-sync' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  name!: string;

  @ApiProperty({ description: 'Roles granted to the client', enum: ASSIGNABLE_ROLES, isArray: true, example: [Role.UserAdministrator] })
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(ASSIGNABLE_ROLES, { each: true })
  roles!: Role[];
}

export class AdminClientRolesDto {
  @ApiProperty({ description: 'The roles the client holds from now on (replacing those it had)', enum: ASSIGNABLE_ROLES, isArray: true, example: [Role.UserAdministrator] })
  @IsArray()
  @ArrayNotEmpty()
  @IsIn(ASSIGNABLE_ROLES, { each: true })
  roles!: Role[];
}

export class AdminClientResponseDto {
  @ApiProperty({ description: 'Id of the client record', example: '4bce9b677ab447f18b65ba7bf9a61c21' }) id!: string;
  @ApiProperty({ description: 'client_id for the token endpoint', example: 'client-3JmQx0d9PqkA' }) clientId!: string;
  @ApiPropertyOptional({ description: 'client_secret, returned only once, on creation' }) clientSecret?: string;
  @ApiProperty({ description: 'What the client is for', example: 'nightly-user-sync' }) name!: string;
  @ApiProperty({ description: 'Roles granted', enum: Role, isArray: true }) roles!: Role[];
  @ApiProperty({ description: 'Creation time', example: '2026-11-22T10:00:00.000Z' }) created!: string;
}

export class ProvisioningTokenCreateDto {
  @ApiProperty({ description: 'Which SCIM client will use the token', example: 'Okta SCIM provisioning' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  name!: string;

  @ApiPropertyOptional({ description: 'Days until the token expires (omit for a token that lives until revoked)', example: 365, minimum: 1, maximum: 3650 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  expiresInDays?: number;
}

export class ProvisioningTokenResponseDto {
  @ApiProperty({ description: 'Token id (use it to revoke)', example: '6d8448a643b94b268d986e9d31e20cbc' }) id!: string;
  @ApiProperty({ description: 'Which SCIM client uses the token', example: 'Okta SCIM provisioning' }) name!: string;
  @ApiPropertyOptional({ description: 'The bearer token, returned only once, on creation', example: 'idp_scim_X1y2...' }) token?: string;
  @ApiProperty({ description: 'Creation time' }) created!: string;
  @ApiProperty({ description: 'client_id of the administrator who created it' }) createdBy!: string;
  @ApiProperty({ description: 'Expiry time, or null', nullable: true, type: String }) expiresAt!: string | null;
  @ApiProperty({ description: 'Revocation time, or null', nullable: true, type: String }) revokedAt!: string | null;
}
