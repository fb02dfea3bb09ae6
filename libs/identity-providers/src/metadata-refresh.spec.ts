import { readFileSync } from 'node:fs';
import { createServer, Server } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Doc, ScimError } from '@app/scim';
import { idpMetadataXml, signedMetadata, testCredential, TestCredential } from './__fixtures__/metadata-refresh-fixtures';
import { prepareIdentityProvider } from './identity-provider-rules';
import { refreshedRepresentation } from './metadata-refresh';
import { fetchMetadataDocument, isNonPublicAddress, MetadataFetchError, pinnedAddress } from './metadata-refresh-fetch';
import { prepareMetadataRefreshSettings } from './metadata-refresh-settings';
import { MetadataSignatureError, MetadataSignatureRefused, verifiedMetadataXml } from './metadata-refresh-signature';
import { TRUST_EXTENSION_SCHEMA_ID as TRUST } from './trust-extension.schema';

describe('isNonPublicAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::', true],
    ['::1', true],
    ['[::1]', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['fd00::1', true],
    ['fc12:3456::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:a9fe:a9fe', true],
    ['64:ff9b::10.0.0.1', true],
    ['not an address', true],
    ['93.184.215.14', false],
    ['172.32.0.1', false],
    ['8.8.8.8', false],
    ['2606:2800:220:1:248:1893:25c8:1946', false],
    ['::ffff:8.8.8.8', false],
  ])('should judge %s non-public: %s', (address, expected) => {
    expect(isNonPublicAddress(address)).toBe(expected);
  });
});

describe('pinnedAddress', () => {
  const resolving = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('should refuse a host that resolves only to non-public addresses', async () => {
    await expect(pinnedAddress('internal.example.com', false, resolving('10.0.0.5', 'fd00::5'))).rejects.toThrow(/resolves to 10\.0\.0\.5, fd00::5, only a loopback, private/);
  });

  it('should pin the first public address when a host resolves to public and private ones', async () => {
    await expect(pinnedAddress('mixed.example.com', false, resolving('127.0.0.1', '93.184.215.14'))).resolves.toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('should refuse an IP literal host without resolving it', async () => {
    const resolve = jest.fn();
    await expect(pinnedAddress('[::1]', false, resolve)).rejects.toThrow(/\[::1\] is a loopback, private/);
    await expect(pinnedAddress('169.254.169.254', false, resolve)).rejects.toThrow(MetadataFetchError);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('should allow private addresses when the IdP allows them', async () => {
    await expect(pinnedAddress('localhost', true, resolving('127.0.0.1'))).resolves.toEqual({ address: '127.0.0.1', family: 4 });
  });

  it('should say when a host does not resolve', async () => {
    const failing = async () => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    await expect(pinnedAddress('nowhere.invalid', false, failing)).rejects.toThrow('the host nowhere.invalid does not resolve (ENOTFOUND)');
  });
});

describe('fetchMetadataDocument', () => {
  let tls: TestCredential;
  let server: Server;
  let base: string;
  const routes: Record<string, (res: import('node:http').ServerResponse) => void> = {};

  beforeAll(async () => {
    tls = await testCredential('localhost', ['localhost', '127.0.0.1']);
    server = createServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, (req, res) => (routes[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
    routes['/ok'] = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<md/>');
    routes['/big'] = (res) => {
      res.writeHead(200);
      res.write('x'.repeat(600));
      res.end('y'.repeat(600));
    };
    routes['/announced-big'] = (res) => res.writeHead(200, { 'content-length': '5000000' }).end();
    routes['/moved'] = (res) => res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    routes['/slow'] = () => undefined;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const allowed = () => ({ allowPrivateNetwork: true, extraCaPem: [tls.certificatePem] });

  it('should read a document over https from an allowed loopback address, whatever its Content-Type', async () => {
    await expect(fetchMetadataDocument(`${base}/ok`, allowed())).resolves.toBe('<md/>');
  });

  it.each([
    ['a plain http URL', () => `http://localhost:1/ok`, allowed, /only https metadata URLs are read \(got http\)/],
    ['a loopback host without the allowance', () => `${base}/ok`, () => ({ allowPrivateNetwork: false, extraCaPem: [tls.certificatePem] }), /only a loopback, private/],
    ['a server certificate no trusted CA issued', () => `${base}/ok`, () => ({ allowPrivateNetwork: true }), /SELF_SIGNED|self[- ]signed/i],
    ['a document past the size cap', () => `${base}/big`, () => ({ ...allowed(), maxBytes: 1000 }), /larger than 1000 bytes$/],
    ['a Content-Length past the size cap', () => `${base}/announced-big`, () => ({ ...allowed(), maxBytes: 1000 }), /larger than 1000 bytes \(Content-Length 5000000\)/],
    ['a redirect', () => `${base}/moved`, allowed, /answered 302 \(a redirect to "http:\/\/169\.254\.169\.254\/latest\/meta-data\/"\); redirects are not followed/],
    ['an error status', () => `${base}/missing`, allowed, /answered 404/],
    ['a server that does not answer in time', () => `${base}/slow`, () => ({ ...allowed(), timeoutMs: 200 }), /no complete answer within 200 ms/],
  ])('should refuse %s', async (_case, url, options, reason) => {
    await expect(fetchMetadataDocument(url(), options())).rejects.toThrow(reason);
  });
});

describe('verifiedMetadataXml', () => {
  let signer: TestCredential;
  let stranger: TestCredential;
  let xml: string;

  beforeAll(async () => {
    [signer, stranger] = await Promise.all([testCredential('metadata signer'), testCredential('stranger')]);
    xml = idpMetadataXml({ entityId: 'https://idp.example.com', signingCertificateDer: signer.der, ssoUrl: 'https://idp.example.com/sso', id: '_root' });
  });

  it('should return the signed content of a document signed with the configured certificate', () => {
    const signed = verifiedMetadataXml(signedMetadata(xml, signer), signer.der);
    expect(signed).toContain('entityID="https://idp.example.com"');
    expect(signed).not.toContain('SignatureValue');
  });

  it('should verify metadata signed by SimpleSAMLphp 1.19 with the certificate it names', () => {
    const published = readFileSync(join(__dirname, '__fixtures__', 'simplesamlphp-1.19.idp.signed.xml'), 'utf8');
    const cert = /<ds:X509Certificate>([^<]+)</.exec(published)![1];
    expect(verifiedMetadataXml(published, cert)).toContain('https://idp.example.test/simplesaml/saml2/idp/metadata.php');
  });

  it.each([
    ['an unsigned document', () => xml, MetadataSignatureError.Unsigned],
    ['a document signed by another key', () => signedMetadata(xml, stranger), MetadataSignatureError.Invalid],
    ['a signed document changed afterwards', () => signedMetadata(xml, signer).replace('https://idp.example.com/sso', 'https://evil.example.com/sso'), MetadataSignatureError.Invalid],
    ['a document with two signatures on its root', () => signedMetadata(signedMetadata(xml, signer), signer), MetadataSignatureError.SeveralSignatures],
    [
      'a signature whose reference names an element other than the root',
      () => signedMetadata(xml, signer).replace('URI="#_root"', 'URI="#_other"').replace('<md:IDPSSODescriptor ', '<md:IDPSSODescriptor ID="_other" '),
      MetadataSignatureError.NotTheRoot,
    ],
    ['a document whose root ID is also on another element', () => signedMetadata(xml, signer).replace('<md:IDPSSODescriptor ', '<md:IDPSSODescriptor ID="_root" '), MetadataSignatureError.NotTheRoot],
  ])('should refuse %s', (_case, document, reason) => {
    expect(() => verifiedMetadataXml(document(), signer.der)).toThrow(new MetadataSignatureRefused(reason));
  });

  it('should refuse a DOCTYPE before any parser sees it', () => {
    expect(() => verifiedMetadataXml(`<!DOCTYPE x [<!ENTITY a "b">]>${xml}`, signer.der)).toThrow(/DOCTYPE/);
  });
});

describe('prepareMetadataRefreshSettings', () => {
  const saml = (ext: Doc): Doc => ({ type: 'SAML', [TRUST]: ext });
  const problem = (doc: Doc, old?: Doc) => {
    try {
      prepareMetadataRefreshSettings(doc, old);
      return undefined;
    } catch (e) {
      return (e as ScimError).detail;
    }
  };

  it.each([
    ['an http URL', { metadataUrl: 'http://idp.example.com/md' }, /metadataUrl must be an https URL \(got http\)/],
    ['a relative URL', { metadataUrl: '/md' }, /metadataUrl must be an absolute URL/],
    ['a URL with a password', { metadataUrl: 'https://u:p@idp.example.com/md' }, /must not carry a user name or password/],
    ['a URL too long', { metadataUrl: `https://idp.example.com/${'a'.repeat(2100)}` }, /at most 2048 characters/],
    ['an interval too short', { metadataUrl: 'https://idp.example.com/md', metadataRefreshIntervalMinutes: 14 }, /from 15 to 10080 \(got 14\)/],
    ['an interval too long', { metadataUrl: 'https://idp.example.com/md', metadataRefreshIntervalMinutes: 10081 }, /from 15 to 10080/],
    ['a fractional interval', { metadataUrl: 'https://idp.example.com/md', metadataRefreshIntervalMinutes: 20.5 }, /whole number/],
    ['metadataSigningCertificate that is no certificate', { metadataUrl: 'https://idp.example.com/md', metadataSigningCertificate: 'bm90IGEgY2VydA==' }, /metadataSigningCertificate/],
  ])('should refuse %s', (_case, ext, detail) => {
    expect(problem(saml(ext))).toMatch(detail);
  });

  it('should refuse a metadataUrl on an identity provider that is not SAML', () => {
    expect(problem({ type: 'SOCIAL', [TRUST]: { metadataUrl: 'https://idp.example.com/md' } })).toMatch(/SAML identity providers only/);
  });

  it('should default the interval to a day and keep the refresher\'s record while the URL stays', () => {
    const old = saml({ metadataUrl: 'https://idp.example.com/md', metadataRefreshIntervalMinutes: 60, metadataLastError: 'boom', metadataLastRefreshed: '2026-01-01T00:00:00.000Z' });
    const doc = saml({ metadataUrl: 'https://idp.example.com/md' });
    prepareMetadataRefreshSettings(doc, old);
    expect(doc[TRUST]).toEqual({ metadataUrl: 'https://idp.example.com/md', metadataRefreshIntervalMinutes: 1440, metadataLastError: 'boom', metadataLastRefreshed: '2026-01-01T00:00:00.000Z' });
  });

  it('should drop the refresher\'s record when the URL changes', () => {
    const old = saml({ metadataUrl: 'https://idp.example.com/md', metadataLastError: 'boom' });
    const doc = saml({ metadataUrl: 'https://idp.example.com/other', metadataLastError: 'forged' });
    prepareMetadataRefreshSettings(doc, old);
    expect(doc[TRUST]).toEqual({ metadataUrl: 'https://idp.example.com/other', metadataRefreshIntervalMinutes: 1440 });
  });
});

describe('refreshedRepresentation', () => {
  let key1: TestCredential;
  let key2: TestCredential;
  const url = 'https://idp.example.com/md';
  const entityId = 'https://idp.example.com';
  const now = '2026-11-26T12:00:00.000Z';
  let old: Doc;

  beforeAll(async () => {
    [key1, key2] = await Promise.all([testCredential('key 1'), testCredential('key 2')]);
    old = {
      schemas: ['urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider'],
      partnerName: 'refreshed',
      type: 'SAML',
      enabled: true,
      metadata: idpMetadataXml({ entityId, signingCertificateDer: key1.der, ssoUrl: 'https://idp.example.com/sso' }),
      [TRUST]: { metadataUrl: url },
    };
    prepareIdentityProvider(old, new Set(), true, undefined);
  });

  const document = (o: Partial<Parameters<typeof idpMetadataXml>[0]> = {}) => idpMetadataXml({ entityId, signingCertificateDer: key1.der, ssoUrl: 'https://idp.example.com/sso', ...o });

  it('should apply a new certificate and record when', () => {
    const d = refreshedRepresentation(old, { url, xml: document({ signingCertificateDer: key2.der }) }, now);
    expect(d.kind).toBe('applied');
    expect(d.doc.signingCertificate).toBe(key2.der);
    expect((d.doc[TRUST] as Doc).metadataLastRefreshed).toBe(now);
  });

  it('should leave the representation as it was when only what we do not use changed', () => {
    const d = refreshedRepresentation(old, { url, xml: document({ id: '_another_id' }) }, now);
    expect(d).toEqual({ kind: 'unchanged', doc: old });
  });

  it.each([
    ['a read that failed', () => ({ url, error: 'the server answered 500' }), 'the server answered 500'],
    ['a document of another entity', () => ({ url, xml: document({ entityId: 'https://evil.example.com' }) }), /describes entity "https:\/\/evil\.example\.com", not this identity provider's partnerProviderId/],
    ['a document that is not metadata', () => ({ url, xml: '<html/>' }), /EntityDescriptor or EntitiesDescriptor root element/],
  ])('should keep every setting and record the reason for %s', (_case, read, reason) => {
    const d = refreshedRepresentation(old, read(), now);
    expect(d.kind).toBe('refused');
    expect({ ...d.doc, [TRUST]: undefined }).toEqual({ ...old, [TRUST]: undefined });
    expect((d.doc[TRUST] as Doc).metadataLastError).toEqual(expect.stringMatching(reason));
  });

  it('should write nothing for the same refusal twice, and clear it after a good read', () => {
    const first = refreshedRepresentation(old, { url, error: 'down' }, now);
    expect(refreshedRepresentation(first.doc, { url, error: 'down' }, now).doc).toBe(first.doc);
    const cleared = refreshedRepresentation(first.doc, { url, xml: document() }, now);
    expect(cleared).toEqual({ kind: 'unchanged', doc: old });
  });

  it('should ignore a read of a URL the IdP no longer names', () => {
    expect(refreshedRepresentation(old, { url: 'https://idp.example.com/old', xml: document({ signingCertificateDer: key2.der }) }, now)).toEqual({ kind: 'stale', doc: old });
  });
});
