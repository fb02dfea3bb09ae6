import { ApiProperty } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { SP_KEY_STATUSES, SP_KEY_USES, SpKey, SpKeyStatus, SpKeyUse } from './sp-keys.service';

export class SpKeyCreateDto {
  @ApiProperty({ description: 'What the new key is for: it is staged as the next key of this use only', enum: SP_KEY_USES, example: 'encryption' })
  @IsIn(SP_KEY_USES as SpKeyUse[])
  use!: SpKeyUse;
}

export class SpKeyUseDto {
  @ApiProperty({ description: 'signing (our AuthnRequests) or encryption (assertions IdPs encrypt for us)', enum: SP_KEY_USES, example: 'signing' })
  use!: SpKeyUse;
  @ApiProperty({
    description: 'next: published in our metadata, not used yet; active: in use; previous: was active, still decrypts, no longer published',
    enum: SP_KEY_STATUSES,
    example: 'active',
  })
  status!: SpKeyStatus;
  @ApiProperty({ description: 'When the key took this status', example: '2026-11-22T10:00:00.000Z' })
  since!: string;
}

/** An SP key as the admin API shows it: its certificate and uses, never its private key. */
export class SpKeyResponseDto {
  @ApiProperty({ description: 'Key id (signing_keys kid)', example: 'saml-sp-enc-3f9a1c2b7d4e' }) id!: string;
  @ApiProperty({ description: 'Its uses and where each is in its rollover', type: SpKeyUseDto, isArray: true }) uses!: SpKeyUseDto[];
  @ApiProperty({ description: 'The self-signed certificate, base64 DER (as our metadata publishes it)', example: 'MIIEBzCCAm+gAwIBAgIQ…' }) certificate!: string;
  @ApiProperty({ description: 'Subject distinguished name of the certificate', example: 'CN=id.example.com' }) subject!: string;
  @ApiProperty({ description: 'SHA-256 of the certificate, upper-case hex pairs separated by colons', example: '3A:9F:…' }) fingerprint!: string;
  @ApiProperty({ description: "Start of the certificate's validity", example: '2026-11-22T09:00:00.000Z' }) notBefore!: string;
  @ApiProperty({ description: "End of the certificate's validity", example: '2036-11-22T09:00:00.000Z' }) notAfter!: string;
  @ApiProperty({ description: 'Whether notAfter has passed (at the time of the response)', example: false }) expired!: boolean;
  @ApiProperty({ description: 'When the key was generated', example: '2026-11-22T10:00:00.000Z' }) created!: string;
}

/** The admin API's view of a key. */
export function spKeyView(key: SpKey, now: Date = new Date()): SpKeyResponseDto {
  return {
    id: key.credentials.keyId,
    uses: key.roles.map((r) => ({ use: r.use, status: r.status, since: r.since })),
    certificate: key.certificate.der,
    subject: key.certificate.subject,
    fingerprint: key.certificate.fingerprintSha256,
    notBefore: key.certificate.notBefore,
    notAfter: key.certificate.notAfter,
    expired: Date.parse(key.certificate.notAfter) < now.getTime(),
    created: key.created,
  };
}
