import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as samlify from 'samlify';
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
      /^metadata describes 2 identity providers \("https:\/\/idp\.example\.com\/metadata", "https:\/\/idp2\.example\.com"\); give the metadata of exactly one$/,
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
