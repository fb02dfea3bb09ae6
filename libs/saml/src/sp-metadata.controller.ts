import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { SAML_METADATA_MEDIA_TYPE } from './sp-metadata';
import { SpMetadataService } from './sp-metadata.service';

const EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://id.example.com/fed"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true" WantAssertionsSigned="true"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>MIIEBzCCAm+gAwIBAgIQ…</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://id.example.com/fed/v1/sp/slo"/><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://id.example.com/fed/v1/sp/sso" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>`;

/** Our service provider's SAML metadata, public like IDCS's `/fed/v1/metadata`: IdPs fetch it without credentials. */
@ApiTags('SAML')
@Public()
@Controller('fed/v1')
export class SpMetadataController {
  constructor(private readonly sp: SpMetadataService) {}

  @Get('metadata')
  @Header('Content-Type', SAML_METADATA_MEDIA_TYPE)
  @ApiOperation({
    summary: "Get this identity domain's SAML service provider metadata",
    description:
      'SAML 2.0 metadata to load into an identity provider: entityID `<PUBLIC_URL>/fed`, the assertion consumer service ' +
      '(HTTP-POST), the single logout service (HTTP-Redirect), the accepted NameID formats and the certificate that signs our ' +
      'AuthnRequests. No token is needed.',
  })
  @ApiProduces(SAML_METADATA_MEDIA_TYPE)
  @ApiOkResponse({
    description: 'The SP metadata (an md:EntityDescriptor)',
    content: { [SAML_METADATA_MEDIA_TYPE]: { schema: { type: 'string' }, example: EXAMPLE } },
  })
  metadata(): Promise<string> {
    return this.sp.metadataXml();
  }
}
