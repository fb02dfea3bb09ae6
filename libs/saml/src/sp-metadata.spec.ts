import 'reflect-metadata'; // @peculiar/x509 needs it
import * as x509 from '@peculiar/x509';
import { DOMParser } from '@xmldom/xmldom';
import { webcrypto } from 'node:crypto';
import * as samlify from 'samlify';
import { buildSpMetadata, SP_NAME_ID_FORMATS, spEndpoints } from './sp-metadata';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
let CERT_DER: string;

beforeAll(async () => {
  const crypto = webcrypto as unknown as Crypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=id.example.com', keys, signingAlgorithm: alg }, crypto);
  CERT_DER = Buffer.from(cert.rawData).toString('base64');
});

describe(spEndpoints.name, () => {
  it.each([
    ['https://id.example.com', 'https://id.example.com'],
    ['https://id.example.com/', 'https://id.example.com'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['https://example.com/identity', 'https://example.com/identity'],
  ])('should put the IDCS paths under %s', (publicUrl, base) => {
    expect(spEndpoints(publicUrl)).toEqual({ entityId: `${base}/fed`, acsUrl: `${base}/fed/v1/sp/sso`, sloUrl: `${base}/fed/v1/sp/slo` });
  });
});

describe(buildSpMetadata.name, () => {
  const endpoints = spEndpoints('https://id.example.com');
  const xml = () => buildSpMetadata({ ...endpoints, signingCertificateDer: CERT_DER });

  it('should be loaded by samlify as SP metadata with our entityID, ACS, SLO, signing policy, certificate and NameID formats', () => {
    const sp = samlify.ServiceProvider({ metadata: xml() });

    expect(sp.entityMeta.getEntityID()).toBe('https://id.example.com/fed');
    expect(sp.entityMeta.getAssertionConsumerService('post')).toBe('https://id.example.com/fed/v1/sp/sso');
    expect(sp.entityMeta.getAssertionConsumerService('redirect')).toBeUndefined();
    expect(sp.entityMeta.getSingleLogoutService('redirect')).toBe('https://id.example.com/fed/v1/sp/slo');
    expect(sp.entityMeta.isAuthnRequestSigned()).toBe(true);
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(true);
    expect(sp.entityMeta.getX509Certificate('signing')).toBe(CERT_DER);
    expect(sp.entityMeta.getX509Certificate('encryption')).toBe(CERT_DER);
    expect(sp.entityMeta.getNameIDFormat()).toEqual([...SP_NAME_ID_FORMATS]);
  });

  it('should list the SPSSODescriptor children in the order the metadata schema requires', () => {
    const doc = new DOMParser().parseFromString(xml(), 'text/xml');
    const sp = doc.getElementsByTagNameNS(MD, 'SPSSODescriptor')[0];

    const order = Array.from(sp.childNodes).map((n) => (n as unknown as { localName: string }).localName);

    expect(order).toEqual(['KeyDescriptor', 'KeyDescriptor', 'SingleLogoutService', 'SingleLogoutService', 'NameIDFormat', 'NameIDFormat', 'NameIDFormat', 'NameIDFormat', 'AssertionConsumerService']);
    const [signing, encryption] = Array.from(sp.getElementsByTagNameNS(MD, 'KeyDescriptor'));
    expect([signing.getAttribute('use'), encryption.getAttribute('use')]).toEqual(['signing', 'encryption']);
    // Weak key transport (RSA PKCS#1 v1.5) and 3DES are not offered (and are refused at the ACS).
    expect(Array.from(encryption.getElementsByTagNameNS(MD, 'EncryptionMethod')).map((e) => e.getAttribute('Algorithm'))).toEqual([
      'http://www.w3.org/2009/xmlenc11#aes256-gcm',
      'http://www.w3.org/2009/xmlenc11#aes128-gcm',
      'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
      'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
      'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
    ]);
    expect(sp.getElementsByTagNameNS(MD, 'AssertionConsumerService')[0].getAttribute('index')).toBe('0');
  });

  it('should escape values instead of letting them become markup', () => {
    const hostile = 'https://id.example.com/"><md:AssertionConsumerService Location="https://evil.example.com/&amp;';

    const out = buildSpMetadata({ entityId: hostile, acsUrl: endpoints.acsUrl, sloUrl: endpoints.sloUrl, signingCertificateDer: '<x>&' });
    const doc = new DOMParser().parseFromString(out, 'text/xml');

    expect(doc.documentElement!.getAttribute('entityID')).toBe(hostile);
    expect(doc.getElementsByTagNameNS(MD, 'AssertionConsumerService')).toHaveLength(1);
    expect(doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')[0].textContent).toBe('<x>&');
  });

  it('should start with an XML declaration and carry no private key material', () => {
    const out = xml();

    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<md:EntityDescriptor ')).toBe(true);
    expect(out).not.toMatch(/PRIVATE KEY/);
  });

  it('should publish one KeyDescriptor per certificate and use, active first, during a key rollover', () => {
    const [sig1, sig2, enc1] = ['c2lnMQ==', 'c2lnMg==', 'ZW5jMQ=='];
    const doc = new DOMParser().parseFromString(buildSpMetadata({ ...endpoints, signingCertificateDer: [sig1, sig2], encryptionCertificateDers: [enc1] }), 'text/xml');

    const descriptors = Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor')).map((k) => [
      k.getAttribute('use'),
      k.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')[0].textContent,
      k.getElementsByTagNameNS(MD, 'EncryptionMethod').length > 0,
    ]);
    expect(descriptors).toEqual([
      ['signing', sig1, false],
      ['signing', sig2, false],
      ['encryption', enc1, true],
    ]);
  });
});
