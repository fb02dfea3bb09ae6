import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as samlify from 'samlify';
import { describeCertificate } from './certificates';
import { IdpMetadata, MetadataError, parseIdpMetadata } from './idp-metadata';
import { selfSignedCertificate } from './__fixtures__/self-signed';

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const SOAP = 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP';
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

/** Metadata written by SimpleSAMLphp 1.19 (Debian bookworm) for a hosted IdP; see the comment on `fixture`. */
function fixture(name: string): string {
  return readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
}

let signing: { pem: string; der: string };
let encryption: { pem: string; der: string };
let stranger: { pem: string; der: string };

beforeAll(async () => {
  [signing, encryption, stranger] = await Promise.all([
    selfSignedCertificate('CN=signing.idp.example.com'),
    selfSignedCertificate('CN=encryption.idp.example.com'),
    selfSignedCertificate('CN=stranger.example.com'),
  ]);
});

/** The metadata samlify, acting as a real IdP implementation, publishes for the given settings. */
function samlifyIdp(overrides: Record<string, unknown> = {}): string {
  return samlify
    .IdentityProvider({
      entityID: 'https://idp.example.com/metadata',
      signingCert: signing.pem,
      encryptCert: encryption.pem,
      nameIDFormat: [EMAIL, PERSISTENT],
      singleSignOnService: [
        { Binding: REDIRECT, Location: 'https://idp.example.com/sso/redirect' },
        { Binding: POST, Location: 'https://idp.example.com/sso/post' },
      ],
      singleLogoutService: [{ Binding: REDIRECT, Location: 'https://idp.example.com/slo' }],
      ...overrides,
    })
    .getMetadata();
}

function samlifySp(): string {
  return samlify
    .ServiceProvider({
      entityID: 'https://sp.example.com/metadata',
      signingCert: signing.pem,
      assertionConsumerService: [{ Binding: POST, Location: 'https://sp.example.com/acs' }],
    })
    .getMetadata();
}

function withoutProlog(xml: string): string {
  return xml.replace(/^<\?xml[^>]*\?>\s*/, '');
}

describe(parseIdpMetadata.name, () => {
  const accepted: [string, () => string, () => Partial<IdpMetadata>][] = [
    [
      'samlify IdP metadata with separate signing and encryption certificates',
      () => samlifyIdp(),
      () => ({
        entityId: 'https://idp.example.com/metadata',
        ssoUrls: [
          { binding: 'Redirect', location: 'https://idp.example.com/sso/redirect' },
          { binding: 'Post', location: 'https://idp.example.com/sso/post' },
        ],
        signingCertificates: [signing.der],
        encryptionCertificates: [encryption.der],
        sloUrls: [{ binding: 'Redirect', location: 'https://idp.example.com/slo' }],
        nameIdFormats: [EMAIL, PERSISTENT],
      }),
    ],
    [
      'samlify IdP metadata with one certificate for both uses',
      () => samlifyIdp({ encryptCert: signing.pem, nameIDFormat: [] }),
      () => ({ signingCertificates: [signing.der], encryptionCertificates: [signing.der], nameIdFormats: [] }),
    ],
    [
      'SimpleSAMLphp 1.19 IdP metadata',
      () => fixture('simplesamlphp-1.19.idp.xml'),
      () => ({
        entityId: 'https://idp.example.test/simplesaml/saml2/idp/metadata.php',
        ssoUrls: [
          { binding: 'Redirect', location: 'https://idp.example.test/simplesaml/saml2/idp/SSOService.php' },
          { binding: 'Post', location: 'https://idp.example.test/simplesaml/saml2/idp/SSOService.php' },
        ],
        sloUrls: [
          { binding: 'Redirect', location: 'https://idp.example.test/simplesaml/saml2/idp/SingleLogoutService.php' },
          { binding: 'Post', location: 'https://idp.example.test/simplesaml/saml2/idp/SingleLogoutService.php' },
        ],
        nameIdFormats: [PERSISTENT],
      }),
    ],
    [
      'SimpleSAMLphp 1.19 IdP metadata with an enveloped metadata signature',
      () => fixture('simplesamlphp-1.19.idp.signed.xml'),
      () => ({ entityId: 'https://idp.example.test/simplesaml/saml2/idp/metadata.php' }),
    ],
    [
      'an EntitiesDescriptor holding one IdP and one SP',
      () => `<EntitiesDescriptor xmlns="${MD}">${withoutProlog(samlifySp())}${withoutProlog(samlifyIdp())}</EntitiesDescriptor>`,
      () => ({ entityId: 'https://idp.example.com/metadata', signingCertificates: [signing.der] }),
    ],
    [
      'a KeyDescriptor without use, counted as signing and encryption',
      () => samlifyIdp({ encryptCert: undefined }).replace(' use="signing"', ''),
      () => ({ signingCertificates: [signing.der], encryptionCertificates: [signing.der] }),
    ],
    [
      'a byte-order mark and unusual prefixes (matching by namespace, not by prefix)',
      () =>
        `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<m:EntityDescriptor xmlns:m="${MD}" entityID="urn:idp">` +
        `<m:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol">` +
        `<m:KeyDescriptor use="signing"><KeyInfo xmlns="${DS}"><X509Data><X509Certificate>\n${signing.der.match(/.{1,64}/g)!.join('\n')}\n</X509Certificate></X509Data></KeyInfo></m:KeyDescriptor>` +
        `<m:SingleLogoutService Binding="${POST}" Location="https://idp.example.com/slo" ResponseLocation="https://idp.example.com/slo/response"/>` +
        `<m:SingleSignOnService Binding="${POST}" Location="https://idp.example.com/sso"/>` +
        `</m:IDPSSODescriptor></m:EntityDescriptor>`,
      () => ({
        entityId: 'urn:idp',
        ssoUrls: [{ binding: 'Post', location: 'https://idp.example.com/sso' }],
        signingCertificates: [signing.der],
        sloUrls: [{ binding: 'Post', location: 'https://idp.example.com/slo', responseLocation: 'https://idp.example.com/slo/response' }],
      }),
    ],
    [
      'look-alike elements in other namespaces and unsupported bindings, which are ignored',
      () =>
        samlifyIdp({
          singleSignOnService: [
            { Binding: SOAP, Location: 'https://idp.example.com/sso/soap' },
            { Binding: POST, Location: 'https://idp.example.com/sso/post' },
          ],
        }).replace(
          '<KeyDescriptor',
          `<x:SingleSignOnService xmlns:x="urn:example:not-metadata" Binding="${REDIRECT}" Location="https://evil.example.com/sso"/>` +
            `<x:KeyDescriptor xmlns:x="urn:example:not-metadata"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${stranger.der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></x:KeyDescriptor><KeyDescriptor`,
        ),
      () => ({ ssoUrls: [{ binding: 'Post', location: 'https://idp.example.com/sso/post' }], signingCertificates: [signing.der] }),
    ],
    [
      "a metadata signature's KeyInfo, which is not taken as the IdP's key",
      () =>
        samlifyIdp().replace(
          '<IDPSSODescriptor',
          `<ds:Signature><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${stranger.der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><IDPSSODescriptor`,
        ),
      () => ({ signingCertificates: [signing.der], encryptionCertificates: [encryption.der] }),
    ],
  ];

  it.each(accepted)('should read %s', (_case, xml, expected) => {
    expect(parseIdpMetadata(xml())).toEqual(expect.objectContaining(expected()));
  });

  it('should return certificates as base64 DER without armour or whitespace', () => {
    const md = parseIdpMetadata(fixture('simplesamlphp-1.19.idp.xml'));

    expect(md.signingCertificates).toHaveLength(1);
    expect(md.signingCertificates[0]).toMatch(/^MII[A-Za-z0-9+/]+=*$/);
    expect(md.encryptionCertificates).toEqual(md.signingCertificates);
  });

  const idp = (inner: string, attrs = 'entityID="https://idp.example.com"') =>
    `<EntityDescriptor xmlns="${MD}" ${attrs}><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</IDPSSODescriptor></EntityDescriptor>`;
  const sso = `<SingleSignOnService Binding="${REDIRECT}" Location="https://idp.example.com/sso"/>`;

  const refused: [string, () => string, RegExp][] = [
    ['an empty document', () => '   ', /^metadata is empty$/],
    [
      'a DOCTYPE with an external entity (XXE)',
      () => `<?xml version="1.0"?><!DOCTYPE EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${idp(sso, 'entityID="&xxe;"')}`,
      /^metadata must not contain a DOCTYPE/,
    ],
    ['a lower-case doctype', () => `<!doctype html>${idp(sso)}`, /^metadata must not contain a DOCTYPE/],
    ['text that is not XML', () => 'this is not XML', /^metadata is not well-formed XML: /],
    ['JSON', () => '{"entityID": "https://idp.example.com"}', /^metadata is not well-formed XML: /],
    // xmldom points at the element left open.
    ['mismatched tags, with the line', () => `<?xml version="1.0"?>\n<EntityDescriptor xmlns="${MD}">\n<IDPSSODescriptor>\n</EntityDescriptor>`, /^metadata is not well-formed XML: .*mismatch.* at line 3, column \d+$/],
    ['an undefined entity', () => idp(sso).replace('https://idp.example.com/sso', 'https://idp.example.com/&foo;'), /^metadata is not well-formed XML: entity not found/],
    ['an unbound namespace prefix', () => idp(`<md:SingleSignOnService Binding="${REDIRECT}" Location="https://x"/>`), /^metadata is not well-formed XML: /],
    ['a duplicated attribute', () => idp(sso, 'entityID="a" entityID="b"'), /^metadata is not well-formed XML: .*redefined/],
    ['an HTML page', () => '<html><body>Sign in</body></html>', /EntityDescriptor or EntitiesDescriptor root element .*found \{\}html/],
    ['an EntityDescriptor outside the metadata namespace', () => '<EntityDescriptor entityID="x"/>', /found \{\}EntityDescriptor/],
    ['SP metadata (samlify)', () => samlifySp(), /^metadata has no IDPSSODescriptor \(is this SP metadata\? It has an SPSSODescriptor\)$/],
    ['an EntitiesDescriptor with only an SP', () => `<EntitiesDescriptor xmlns="${MD}">${withoutProlog(samlifySp())}</EntitiesDescriptor>`, /^metadata has no IDPSSODescriptor \(is this SP metadata\?\)/],
    [
      'an EntitiesDescriptor with two IdPs',
      () => `<EntitiesDescriptor xmlns="${MD}">${withoutProlog(samlifyIdp())}${withoutProlog(samlifyIdp({ entityID: 'https://idp2.example.com' }))}</EntitiesDescriptor>`,
      /^metadata describes 2 identity providers; set partnerProviderId to the entityID of the one to import: "https:\/\/idp\.example\.com\/metadata", "https:\/\/idp2\.example\.com"$/,
    ],
    [
      'elements nested deeper than any metadata (before parsing)',
      () => idp(`${'<Extensions>'.repeat(70)}${'</Extensions>'.repeat(70)}${sso}`),
      /^metadata nests elements more than 64 deep/,
    ],
    [
      'an RSAKeyValue that is not base64',
      () => idp(`<KeyDescriptor use="signing"><KeyInfo xmlns="${DS}"><KeyValue><RSAKeyValue><Modulus>not base64!</Modulus><Exponent>AQAB</Exponent></RSAKeyValue></KeyValue></KeyInfo></KeyDescriptor>${sso}`),
      /^metadata KeyDescriptor #1: the RSAKeyValue Modulus is not base64$/,
    ],
    [
      'an RSAKeyValue without its Exponent',
      () => idp(`<KeyDescriptor use="signing"><KeyInfo xmlns="${DS}"><KeyValue><RSAKeyValue><Modulus>${Buffer.alloc(256, 7).toString('base64')}</Modulus></RSAKeyValue></KeyValue></KeyInfo></KeyDescriptor>${sso}`),
      /^metadata KeyDescriptor #1: the RSAKeyValue Exponent is missing$/,
    ],
    ['no entityID', () => idp(sso, ''), /^metadata has no entityID/],
    ['a blank entityID', () => idp(sso, 'entityID="  "'), /^metadata has no entityID/],
    ['no SingleSignOnService', () => idp(`<NameIDFormat>${EMAIL}</NameIDFormat>`), /^metadata has no SingleSignOnService: /],
    ['only a SOAP SingleSignOnService', () => idp(`<SingleSignOnService Binding="${SOAP}" Location="https://idp.example.com/soap"/>`), /HTTP-Redirect or HTTP-POST binding \(found urn:oasis:names:tc:SAML:2\.0:bindings:SOAP\)/],
    ['a SAML 1.1-only IDPSSODescriptor', () => idp(sso).replace('urn:oasis:names:tc:SAML:2.0:protocol', 'urn:oasis:names:tc:SAML:1.1:protocol'), /does not support SAML 2\.0/],
    ['a SingleSignOnService Location that is not a URL', () => idp(`<SingleSignOnService Binding="${REDIRECT}" Location="/sso"/>`), /SingleSignOnService Location is not an absolute URL: "\/sso"/],
    ['a javascript: SingleSignOnService Location', () => idp(`<SingleSignOnService Binding="${REDIRECT}" Location="javascript:alert(1)"/>`), /must be an http\(s\) URL \(got javascript:\)/],
    [
      'a KeyDescriptor whose certificate is not one',
      () => idp(`<KeyDescriptor use="signing"><KeyInfo xmlns="${DS}"><X509Data><X509Certificate>Zm9v</X509Certificate></X509Data></KeyInfo></KeyDescriptor>${sso}`),
      /^metadata KeyDescriptor #1: not an X\.509 certificate/,
    ],
    ['a KeyDescriptor with an unknown use', () => idp(`<KeyDescriptor use="both"/>${sso}`), /KeyDescriptor #1 has use="both"/],
  ];

  it.each(refused)('should refuse %s', (_case, xml, message) => {
    const console = [jest.spyOn(global.console, 'error').mockImplementation(), jest.spyOn(global.console, 'warn').mockImplementation()];
    try {
      let error: unknown;
      try {
        parseIdpMetadata(xml());
      } catch (e) {
        error = e;
      }

      expect(error).toBeInstanceOf(MetadataError);
      expect((error as MetadataError).message).toMatch(message);
      // xmldom reports recoverable problems on the console unless told otherwise; they must become the error instead.
      for (const spy of console) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of console) spy.mockRestore();
    }
  });
});

/** Real metadata that IdP products published (see __fixtures__/metadata/SOURCES.md). */
function published(name: string): string {
  return readFileSync(join(__dirname, '__fixtures__', 'metadata', name), 'utf8');
}

/** Certificate dates are judged against a fixed day, so that what "expired" means here does not drift with the calendar. */
const ON = new Date('2026-11-26T00:00:00Z');

describe(`${parseIdpMetadata.name} of published documents`, () => {
  // [file, partnerProviderId naming the IdP in an aggregate, entityID, signing keys, of which expired on ON, first SSO endpoint]
  const documents: [string, string | undefined, string, number, number, string][] = [
    ['entra-id.tenant-8b966979.xml', undefined, 'https://sts.windows.net/8b966979-910b-487c-a604-69229b1ac75c/', 3, 3, 'Redirect https://login.microsoftonline.com/8b966979-910b-487c-a604-69229b1ac75c/saml2'],
    ['entra-id.tenant-81c1df79.xml', undefined, 'https://sts.windows.net/81c1df79-e153-4f9d-a101-8dcf04af6c2c/', 2, 1, 'Redirect https://login.microsoftonline.com/81c1df79-e153-4f9d-a101-8dcf04af6c2c/saml2'],
    ['entra-id.tenant-a9054a0f.xml', undefined, 'https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/', 1, 1, 'Redirect https://login.microsoftonline.com/a9054a0f-2011-4e31-b3ac-fd8c354146ec/saml2'],
    ['entra-id.common-tenantid.xml', undefined, 'https://sts.windows.net/{tenantid}/', 4, 0, 'Redirect https://login.microsoftonline.com/common/saml2'],
    ['entra-id.common-2017.xml', undefined, 'https://sts.windows.net/{tenantid}/', 3, 3, 'Redirect https://login.microsoftonline.com/common/saml2'],
    ['adfs.ucar.xml', undefined, 'https://sts.ucar.edu/adfs/services/trust', 1, 1, 'Redirect https://sts.ucar.edu/adfs/ls/'],
    ['adfs.melco-resorts.xml', undefined, 'http://sso.melco-resorts.com/adfs/services/trust', 1, 1, 'Redirect https://sso.melco-resorts.com/adfs/ls/'],
    ['adfs.php-saml.xml', undefined, 'http://idp.adfs.example.com/adfs/services/trust', 1, 1, 'Redirect https://idp.adfs.example.com/adfs/ls/'],
    ['adfs.sustainsys.xml', undefined, 'http://adfs.server.url/adfs/services/trust', 1, 1, 'Redirect https://adfs.server.url/adfs/ls/'],
    ['adfs.v2-msidlab7.xml', undefined, 'http://fs.msidlab7.com/adfs/services/trust', 1, 1, 'Redirect https://fs.msidlab7.com/adfs/ls/'],
    ['adfs.v4-msidlab11.xml', undefined, 'http://fs.msidlab11.com/adfs/services/trust', 1, 1, 'Redirect https://fs.msidlab11.com/adfs/ls/'],
    ['okta.crewjam.xml', undefined, 'http://www.okta.com/exkppsa1qwuFV4D7z0h7', 1, 0, 'Post https://dev-513394.oktapreview.com/app/rstudioincdev513394_dev_1/exkppsa1qwuFV4D7z0h7/sso/saml'],
    ['okta.ssoready.xml', undefined, 'http://www.okta.com/exkdoocxa1VmjpXmX697', 1, 0, 'Post https://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml'],
    ['google.crewjam.xml', undefined, 'https://accounts.google.com/o/saml2?idpid=C02dfl1r1', 1, 1, 'Post https://accounts.google.com/o/saml2/idp?idpid=C02dfl1r1'],
    ['google.ssoready.xml', undefined, 'https://accounts.google.com/o/saml2?idpid=C029op2ga', 1, 0, 'Redirect https://accounts.google.com/o/saml2/idp?idpid=C029op2ga'],
    ['google.boxyhq.xml', undefined, 'https://accounts.google.com/o/saml2', 1, 1, 'Redirect https://accounts.google.com/o/saml2'],
    ['onelogin.crewjam.xml', undefined, 'https://app.onelogin.com/saml/metadata/503983', 1, 1, 'Post https://app.onelogin.com/trust/saml2/http-post/sso/503983'],
    ['onelogin.php-saml.xml', undefined, 'https://app.onelogin.com/saml/metadata/645460', 1, 1, 'Redirect https://example.onelogin.com/trust/saml2/http-redirect/sso/645460'],
    ['onelogin-toolkit.multi-signing-certs.xml', undefined, 'https://idp.examle.com/saml/metadata', 2, 2, 'Redirect https://idp.examle.com/saml/sso'],
    ['pingone.ssoready.xml', undefined, 'https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6', 1, 1, 'Post https://auth.pingone.com/3030059e-440b-4ad0-9217-44326f1757f6/saml20/idp/sso'],
    ['jumpcloud.ssoready.xml', undefined, 'IdP Entity ID', 1, 0, 'Post https://sso.jumpcloud.com/saml2/ucariontest'],
    ['keycloak.ssoready.xml', undefined, 'http://localhost:8085/realms/master', 1, 0, 'Post http://localhost:8085/realms/master/protocol/saml'],
    ['auth0.boxyhq.xml', undefined, 'urn:dev-tyj7qyzz.auth0.com', 1, 0, 'Redirect https://dev-tyj7qyzz.auth0.com/samlp/AX3jRN4ECnojiEepVjvM7yVCEcpVX6w6'],
    ['zitadel.xml', undefined, 'http://localhot:8090/metadata', 1, 1, 'Redirect http://localhot:8090/saml/SSO'],
    ['wso2-identity-server.xml', undefined, 'localhost', 1, 0, 'Redirect https://localhost:9443/samlsso'],
    ['shibboleth.testshib-idp.xml', undefined, 'https://idp.testshib.org/idp/shibboleth', 1, 1, 'Post https://idp.testshib.org/idp/profile/SAML2/POST/SSO'],
    ['shibboleth.testshib-providers.xml', undefined, 'https://idp.testshib.org/idp/shibboleth', 1, 0, 'Post https://idp.testshib.org/idp/profile/SAML2/POST/SSO'],
    ['shibboleth.samltest-id.xml', undefined, 'https://samltest.id/saml/idp', 2, 0, 'Post https://samltest.id/idp/profile/SAML2/POST/SSO'],
    ['shibboleth.msidlab13.xml', undefined, 'https://idp.msidlab13.com/idp/shibboleth', 1, 1, 'Post https://idp.msidlab13.com/idp/profile/SAML2/POST/SSO'],
    ['shibboleth.fccn-aggregate.xml', 'https://idp.fccn.pt/idp/shibboleth', 'https://idp.fccn.pt/idp/shibboleth', 1, 0, 'Post https://idp.fccn.pt/idp/profile/SAML2/POST/SSO'],
    ['swamid.aggregate-trimmed.xml', 'https://idp.nordu.net/idp/shibboleth', 'https://idp.nordu.net/idp/shibboleth', 1, 0, 'Post https://idp.nordu.net/idp/profile/SAML2/POST/SSO'],
  ];

  it.each(documents)('should import %s', (file, entityId, expectedEntityId, keys, expired, firstSso) => {
    const md = parseIdpMetadata(published(file), { entityId });

    expect(md.entityId).toBe(expectedEntityId);
    expect(md.signingKeys).toHaveLength(keys);
    expect(md.signingKeys.filter((k) => k.type === 'X509Certificate' && Date.parse(describeCertificate(k.der).notAfter) < ON.getTime())).toHaveLength(expired);
    expect(`${md.ssoUrls[0].binding} ${md.ssoUrls[0].location}`).toBe(firstSso);
  });

  it('should keep every signing certificate of an Entra ID document in rollover, the expired one first as published', () => {
    const md = parseIdpMetadata(published('entra-id.tenant-81c1df79.xml'));

    const dates = md.signingKeys.map((k) => (k.type === 'X509Certificate' ? describeCertificate(k.der).notAfter : ''));
    expect(dates.map((d) => d < ON.toISOString())).toEqual([true, false]);
    expect(md.signingCertificates).toEqual(md.signingKeys.map((k) => (k as { der: string }).der));
  });

  it('should refuse WS-Federation-only metadata (no SAML 2.0 identity provider role), saying so', () => {
    expect(() => parseIdpMetadata(published('azure-ad.ws-federation-only.xml'))).toThrow(/^metadata has no IDPSSODescriptor/);
  });

  it.each([
    ['shibboleth.fccn-aggregate.xml', 2, /"https:\/\/si-saai\.ualg\.pt\/idp\/shibboleth", "https:\/\/idp\.fccn\.pt\/idp\/shibboleth"$/],
    ['swamid.aggregate-trimmed.xml', 3, /"https:\/\/login\.liu\.se\/idp\/shibboleth", "https:\/\/idp\.nordu\.net\/idp\/shibboleth", "https:\/\/idp\.it\.gu\.se\/idp\/shibboleth"$/],
  ])('should refuse the aggregate %s without partnerProviderId, listing the %d identity providers to choose from', (file, count, list) => {
    expect(() => parseIdpMetadata(published(file))).toThrow(new RegExp(`^metadata describes ${count} identity providers; set partnerProviderId to the entityID of the one to import: `));
    expect(() => parseIdpMetadata(published(file))).toThrow(list);
  });

  it('should refuse an aggregate entity that is not an identity provider, and name an unknown one among the choices', () => {
    expect(() => parseIdpMetadata(published('shibboleth.fccn-aggregate.xml'), { entityId: 'https://webtut.fccn.pt' })).toThrow(
      /^metadata entity "https:\/\/webtut\.fccn\.pt" is not a SAML 2\.0 identity provider/,
    );
    expect(() => parseIdpMetadata(published('swamid.aggregate-trimmed.xml'), { entityId: 'https://idp.example.org' })).toThrow(
      /^metadata describes 3 identity providers, none of them "https:\/\/idp\.example\.org"; set partnerProviderId/,
    );
  });

  it('should take the only identity provider of an aggregate, whatever partnerProviderId says (as for a single EntityDescriptor)', () => {
    expect(parseIdpMetadata(published('shibboleth.testshib-providers.xml'), { entityId: 'https://elsewhere.example' }).entityId).toBe('https://idp.testshib.org/idp/shibboleth');
  });

  it('should bound the entity IDs an ambiguous aggregate lists', () => {
    const entities = Array.from({ length: 25 }, (_, i) => idpEntity(`https://idp${i}.example.org`)).join('');

    let message = '';
    try {
      parseIdpMetadata(`<EntitiesDescriptor xmlns="${MD}">${entities}</EntitiesDescriptor>`);
    } catch (e) {
      message = (e as Error).message;
    }

    expect(message).toMatch(/^metadata describes 25 identity providers;/);
    expect(message).toMatch(/"https:\/\/idp19\.example\.org" and 5 more$/);
    expect(message).not.toContain('idp20');
  });
});

function idpEntity(entityId: string, keyInfo = ''): string {
  return (
    `<EntityDescriptor xmlns="${MD}" entityID="${entityId}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `${keyInfo}<SingleSignOnService Binding="${REDIRECT}" Location="https://idp.example.org/sso"/></IDPSSODescriptor></EntityDescriptor>`
  );
}

describe(`${parseIdpMetadata.name} of keys`, () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = rsa.publicKey.export({ format: 'jwk' });
  const b64 = (b64url: string) => Buffer.from(b64url, 'base64url').toString('base64');
  const spki = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const rsaKeyValue = (modulus = b64(jwk.n!), exponent = b64(jwk.e!)) =>
    `<ds:KeyValue xmlns:ds="${DS}"><ds:RSAKeyValue><ds:Modulus>\n${modulus.match(/.{1,76}/g)!.join('\n')}\n</ds:Modulus><ds:Exponent>${exponent}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>`;
  const keyDescriptor = (inner: string, use = 'signing') => `<KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="${DS}">${inner}</ds:KeyInfo></KeyDescriptor>`;
  const x509 = (der: string) => `<ds:X509Data><ds:X509Certificate>${der}</ds:X509Certificate></ds:X509Data>`;

  it('should read a key given as RSAKeyValue, without certificate, as its SubjectPublicKeyInfo', () => {
    const md = parseIdpMetadata(idpEntity('https://idp.example.org', keyDescriptor(rsaKeyValue())));

    expect(md.signingKeys).toEqual([{ type: 'RSAKeyValue', spki }]);
    expect(md.signingCertificates).toEqual([]);
  });

  it('should accept a CryptoBinary Modulus with a leading zero octet', () => {
    const padded = Buffer.concat([Buffer.from([0]), Buffer.from(jwk.n!, 'base64url')]).toString('base64');

    expect(parseIdpMetadata(idpEntity('https://idp.example.org', keyDescriptor(rsaKeyValue(padded)))).signingKeys).toEqual([{ type: 'RSAKeyValue', spki }]);
  });

  it('should read a KeyInfo carrying a certificate and its RSAKeyValue as the certificate only', () => {
    const md = parseIdpMetadata(idpEntity('https://idp.example.org', keyDescriptor(x509(signing.der) + rsaKeyValue())));

    expect(md.signingKeys).toEqual([{ type: 'X509Certificate', der: signing.der }]);
  });

  it('should keep every signing key in document order, certificates and bare keys, without duplicates or encryption keys', () => {
    const md = parseIdpMetadata(
      idpEntity(
        'https://idp.example.org',
        keyDescriptor(x509(signing.der)) + keyDescriptor(x509(encryption.der), 'encryption') + keyDescriptor(rsaKeyValue()) + keyDescriptor(x509(stranger.der)) + keyDescriptor(x509(signing.der)),
      ),
    );

    expect(md.signingKeys).toEqual([
      { type: 'X509Certificate', der: signing.der },
      { type: 'RSAKeyValue', spki },
      { type: 'X509Certificate', der: stranger.der },
    ]);
    expect(md.signingCertificates).toEqual([signing.der, stranger.der]);
  });

  it('should accept leading blank lines before the XML declaration', () => {
    expect(parseIdpMetadata(`\uFEFF\n\n  ${samlifyIdp()}`).entityId).toBe('https://idp.example.com/metadata');
  });

  it('should not count nesting inside comments, CDATA or attribute values', () => {
    const deep = `<!-- ${'<a>'.repeat(100)} --><Extensions><x:Note xmlns:x="urn:example" value="${'>'.repeat(100)}"><![CDATA[${'<c>'.repeat(100)}]]></x:Note></Extensions>`;

    expect(parseIdpMetadata(idpWith(deep + `<SingleSignOnService Binding="${REDIRECT}" Location="https://idp.example.com/sso"/>`)).entityId).toBe('https://idp.example.com');
  });
});

function idpWith(inner: string): string {
  return `<EntityDescriptor xmlns="${MD}" entityID="https://idp.example.com"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</IDPSSODescriptor></EntityDescriptor>`;
}
