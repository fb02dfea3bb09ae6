import { createHash, generateKeyPairSync } from 'node:crypto';
import { certificateDer, CertificateError, CertificateErrorReason, describeCertificate, parseCertificate, rsaKeyValuePublicKey } from './certificates';
import { selfSignedCertificate } from './__fixtures__/self-signed';

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2027-01-01T00:00:00Z');
const DURING = new Date('2026-06-01T12:00:00Z');

let pem: string;
let der: string;
let other: string;

beforeAll(async () => {
  ({ pem, der } = await selfSignedCertificate('CN=idp.example.com, O=Example IdP', { notBefore: NOT_BEFORE, notAfter: NOT_AFTER }));
  ({ pem: other } = await selfSignedCertificate('CN=other.example.com'));
});

function fingerprint(b64: string): string {
  return createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').toUpperCase().match(/../g)!.join(':');
}

describe(parseCertificate.name, () => {
  const accepted: [string, () => string][] = [
    ['PEM', () => pem],
    ['PEM with CRLF line ends and indentation', () => pem.replace(/\n/g, '\r\n    ')],
    ['PEM inside surrounding text', () => `Our signing certificate:\n${pem}\n(valid two years)`],
    ['base64 DER on one line', () => der],
    ['base64 DER wrapped at 64 columns with spaces around', () => `  ${der.match(/.{1,64}/g)!.join('\n')}  \n`],
  ];

  it.each(accepted)('should accept %s', (_case, input) => {
    const parsed = parseCertificate(input(), DURING);

    expect(parsed).toEqual({
      der,
      subject: 'CN=idp.example.com, O=Example IdP',
      notBefore: NOT_BEFORE.toISOString(),
      notAfter: NOT_AFTER.toISOString(),
      fingerprintSha256: fingerprint(der),
    });
  });

  it('should accept the last second of validity', () => {
    expect(parseCertificate(pem, NOT_AFTER).notAfter).toBe(NOT_AFTER.toISOString());
  });

  const privateKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const refused: [string, () => string, CertificateErrorReason, RegExp][] = [
    ['an empty value', () => '  \n', 'not-a-certificate', /empty/],
    ['text that is not base64', () => 'hello, world!', 'not-a-certificate', /neither PEM nor base64/],
    ['base64 that is not a certificate', () => Buffer.from('definitely not DER').toString('base64'), 'not-a-certificate', /not a DER-encoded X\.509 certificate/],
    ['truncated base64 DER', () => der.slice(0, 200), 'not-a-certificate', /not a DER-encoded X\.509 certificate/],
    ['DER followed by extra bytes', () => Buffer.concat([Buffer.from(der, 'base64'), Buffer.from([0, 1, 2])]).toString('base64'), 'not-a-certificate', /3 unexpected bytes/],
    ['a private key in PEM', () => privateKeyPem, 'not-a-certificate', /PRIVATE KEY, not a CERTIFICATE/],
    ['two certificates (a chain)', () => pem + other, 'not-a-certificate', /holds 2 certificates/],
    ['PEM without its END line', () => pem.replace(/-----END CERTIFICATE-----/, ''), 'not-a-certificate', /armour is incomplete/],
    ['an expired certificate', () => pem, 'expired', new RegExp(`expired on ${NOT_AFTER.toISOString()}`)],
    ['a certificate not valid yet', () => pem, 'not-yet-valid', new RegExp(`starts on ${NOT_BEFORE.toISOString()}`)],
  ];

  it.each(refused)('should refuse %s', (_case, input, reason, message) => {
    const now = reason === 'expired' ? new Date(NOT_AFTER.getTime() + 1000) : reason === 'not-yet-valid' ? new Date(NOT_BEFORE.getTime() - 1000) : DURING;

    let error: unknown;
    try {
      parseCertificate(input(), now);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(CertificateError);
    expect((error as CertificateError).reason).toBe(reason);
    expect((error as CertificateError).message).toMatch(message);
  });

  it('should not repeat a pasted private key in its message', () => {
    const keyLines = privateKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'));

    const error = (() => {
      try {
        parseCertificate(privateKeyPem);
      } catch (e) {
        return e as Error;
      }
    })();

    expect(error).toBeInstanceOf(CertificateError);
    for (const line of keyLines) expect(error!.message).not.toContain(line);
  });
});

describe(certificateDer.name, () => {
  it('should return the canonical base64 DER without judging the dates', () => {
    expect(certificateDer(pem)).toBe(der);
  });
});

describe(describeCertificate.name, () => {
  it('should describe an expired certificate instead of refusing it', () => {
    expect(describeCertificate(pem)).toEqual({
      der,
      subject: 'CN=idp.example.com, O=Example IdP',
      notBefore: NOT_BEFORE.toISOString(),
      notAfter: NOT_AFTER.toISOString(),
      fingerprintSha256: fingerprint(der),
    });
  });

  it('should still refuse what is not a certificate', () => {
    expect(() => describeCertificate('hello')).toThrow(CertificateError);
  });
});

describe(rsaKeyValuePublicKey.name, () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  const b64 = (b64url: string) => Buffer.from(b64url, 'base64url').toString('base64');
  const spki = publicKey.export({ type: 'spki', format: 'der' });

  it('should build the SubjectPublicKeyInfo of a Modulus and Exponent, with its SHA-256 fingerprint', () => {
    const key = rsaKeyValuePublicKey(b64(jwk.n!), b64(jwk.e!));

    expect(key).toEqual({ spki: spki.toString('base64'), fingerprintSha256: fingerprint(spki.toString('base64')) });
  });

  it.each<[string, () => [string, string], RegExp]>([
    ['an empty Modulus', () => ['  ', 'AQAB'], /Modulus is missing/],
    ['a Modulus that is not base64', () => ['%%%', 'AQAB'], /Modulus is not base64/],
    ['a modulus too large to be worth verifying', () => [Buffer.alloc(2049, 1).toString('base64'), 'AQAB'], /larger than 16384 bits/],
    ['a modulus too small to resist forgery', () => [Buffer.alloc(64, 0xff).toString('base64'), 'AQAB'], /Modulus has 512 bits; an RSA key needs at least 1024/],
    ['an Exponent of zero', () => [b64(jwk.n!), 'AA=='], /Exponent is not an RSA public exponent/],
    ['an even Exponent', () => [b64(jwk.n!), 'AQAA'], /Exponent is not an RSA public exponent/],
    ['an Exponent of 1', () => [b64(jwk.n!), 'AQ=='], /Exponent is not an RSA public exponent/],
  ])('should refuse %s', (_case, values, message) => {
    const [n, e] = values();
    expect(() => rsaKeyValuePublicKey(n, e)).toThrow(message);
  });
});
