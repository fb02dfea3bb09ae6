import { generateKeyPairSync } from 'node:crypto';
import { Doc } from '@app/scim';
import { IdpMetadata } from './idp-metadata';
import { recordSigningKeys, signingCertificateExpiries, signingKeyWarnings, signInKeysOf, usableSigningKeys, withSigningKeyStatus } from './signing-keys';
import { TRUST_EXTENSION_SCHEMA_ID as TRUST } from './trust-extension.schema';
import { selfSignedCertificate } from './__fixtures__/self-signed';

const CORE = 'urn:ietf:params:scim:schemas:oracle:idcs:IdentityProvider';
const NOW = new Date('2026-06-01T00:00:00Z');

let current: { der: string; pem: string };
let next: { der: string; pem: string };
let expired: { der: string; pem: string };
const bare = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

beforeAll(async () => {
  [current, next, expired] = await Promise.all([
    selfSignedCertificate('CN=current', { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') }),
    selfSignedCertificate('CN=next', { notBefore: new Date('2026-05-01T00:00:00Z'), notAfter: new Date('2028-01-01T00:00:00Z') }),
    selfSignedCertificate('CN=expired', { notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') }),
  ]);
});

/** What parseIdpMetadata yields for metadata listing these certificates (and bare keys) as signing keys. */
function metadata(...keys: ({ der: string } | string)[]): IdpMetadata {
  const signingKeys = keys.map((k) => (typeof k === 'string' ? { type: 'RSAKeyValue' as const, spki: k } : { type: 'X509Certificate' as const, der: k.der }));
  return {
    entityId: 'https://idp.example.com',
    ssoUrls: [],
    signingCertificates: signingKeys.flatMap((k) => (k.type === 'X509Certificate' ? [k.der] : [])),
    signingKeys,
    encryptionCertificates: [],
    sloUrls: [],
    nameIdFormats: [],
  };
}

const values = (doc: Doc) => ((doc[TRUST] as Doc | undefined)?.signingCertificates as { value: string }[] | undefined)?.map((k) => k.value);

describe(recordSigningKeys.name, () => {
  it('should trust every signing key of imported metadata, with what each certificate says', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: current.der };

    recordSigningKeys(doc, metadata(current, next, bare), undefined);

    expect(doc.schemas).toEqual([CORE, TRUST]);
    expect((doc[TRUST] as Doc).signingCertificates).toEqual([
      { value: current.der, type: 'X509Certificate', fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/), subject: 'CN=current', notBefore: '2026-01-01T00:00:00.000Z', notAfter: '2027-01-01T00:00:00.000Z' },
      expect.objectContaining({ value: next.der, subject: 'CN=next' }),
      { value: bare, type: 'RSAKeyValue', fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) },
    ]);
  });

  it('should record nothing when signingCertificate is set to a certificate the metadata does not hold: sign-in trusts that one alone', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der };

    recordSigningKeys(doc, metadata(current, next), undefined);

    expect(doc).toEqual({ schemas: [CORE], signingCertificate: expired.der });
    expect(signInKeysOf(doc).signingKeys).toEqual([expect.objectContaining({ notAfter: '2025-01-01T00:00:00.000Z' })]);
  });

  it('should keep the trusted keys across changes that leave signingCertificate alone (PATCH of other attributes)', () => {
    const old: Doc = { schemas: [CORE], signingCertificate: current.der };
    recordSigningKeys(old, metadata(current, next), undefined);
    // What normalizeResource leaves of a read-only attribute: nothing.
    const doc: Doc = { schemas: [CORE], signingCertificate: current.der, description: 'changed' };

    recordSigningKeys(doc, undefined, old);

    expect(values(doc)).toEqual([current.der, next.der]);
  });

  it('should let new metadata decide when the stored signingCertificate is merely sent back with it (GET, then PUT)', () => {
    const old: Doc = { schemas: [CORE], signingCertificate: expired.der };
    recordSigningKeys(old, metadata(expired), undefined);
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der };

    recordSigningKeys(doc, metadata(current, next), old);

    expect(doc.signingCertificate).toBe(current.der);
    expect(values(doc)).toEqual([current.der, next.der]);
  });

  it('should forget the keys of the metadata when signingCertificate is changed by hand: that one is trusted alone', () => {
    const old: Doc = { schemas: [CORE], signingCertificate: current.der };
    recordSigningKeys(old, metadata(current, next), undefined);
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der };

    recordSigningKeys(doc, undefined, old);

    expect(doc).toEqual({ schemas: [CORE], signingCertificate: expired.der });
    expect(signInKeysOf(doc).signingKeys).toHaveLength(1);
  });

  it('should trust the bare keys of metadata that has no certificate', () => {
    const doc: Doc = { schemas: [CORE] };

    recordSigningKeys(doc, metadata(bare), undefined);

    expect(values(doc)).toEqual([bare]);
  });

  it('should leave the extension out of the representation and of schemas when it holds nothing', () => {
    const doc: Doc = { schemas: [CORE, TRUST], [TRUST]: { signingCertificates: [{ value: 'x' }], warnings: ['w'] } };

    recordSigningKeys(doc, undefined, undefined);

    expect(doc).toEqual({ schemas: [CORE] });
  });

  it('should keep refuseExpiredSigningKeys, and list the extension last in schemas whatever the client sent', () => {
    const other = 'urn:ietf:params:scim:schemas:oracle:idcs:extension:x509:IdentityProvider';
    const doc: Doc = { schemas: [CORE, TRUST, other], [TRUST]: { refuseExpiredSigningKeys: true } };

    recordSigningKeys(doc, undefined, undefined);

    expect(doc).toEqual({ schemas: [CORE, other, TRUST], [TRUST]: { refuseExpiredSigningKeys: true } });
  });

  it('should record nothing for an IdP configured by hand, whose representation stays exactly IDCS\'s', () => {
    const old: Doc = { schemas: [CORE], signingCertificate: current.der };
    const doc: Doc = { schemas: [CORE], signingCertificate: current.der, enabled: false };

    recordSigningKeys(doc, undefined, old);

    expect(doc).toEqual({ schemas: [CORE], signingCertificate: current.der, enabled: false });
  });
});

describe(withSigningKeyStatus.name, () => {
  it('should show which certificates have expired, with a warning for each, and leave bare keys undated', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der };
    recordSigningKeys(doc, metadata(expired, current, bare), undefined);

    const shown = withSigningKeyStatus(doc, NOW)[TRUST] as Doc;

    expect((shown.signingCertificates as Doc[]).map((k) => k.expired)).toEqual([true, false, undefined]);
    expect(shown.warnings).toEqual([expect.stringMatching(/^signing certificate CN=expired \(SHA-256 [0-9A-F:]+\) expired on 2025-01-01T00:00:00\.000Z: responses signed with it are still accepted/)]);
    // Computed for the response only: the stored representation does not change with the calendar.
    expect((doc[TRUST] as Doc).warnings).toBeUndefined();
  });

  it('should say that nobody can sign in when every key has expired and expired keys are refused, a certificate given by hand included', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der, [TRUST]: { refuseExpiredSigningKeys: true } };
    recordSigningKeys(doc, undefined, undefined);
    expect(doc[TRUST]).toEqual({ refuseExpiredSigningKeys: true });

    expect(signingKeyWarnings(doc, NOW)).toEqual([
      expect.stringMatching(/expired on 2025-01-01T00:00:00\.000Z: sign-in refuses responses signed with it \(refuseExpiredSigningKeys\)$/),
      expect.stringMatching(/^every signing key has expired and refuseExpiredSigningKeys is on: nobody can sign in/),
    ]);
  });

  it('should return a representation without the extension unchanged', () => {
    const doc: Doc = { schemas: [CORE] };
    expect(withSigningKeyStatus(doc, NOW)).toBe(doc);
  });
});

describe(usableSigningKeys.name, () => {
  const keysOf = (refuse: boolean, ...certs: ({ der: string } | string)[]) => {
    const doc: Doc = { schemas: [CORE], ...(refuse ? { [TRUST]: { refuseExpiredSigningKeys: true } } : {}) };
    recordSigningKeys(doc, metadata(...certs), undefined);
    return signInKeysOf(doc);
  };

  it('should hand sign-in every key as PEM, certificates and bare keys alike', () => {
    const { signingKeys } = keysOf(false, current, bare);

    expect(signingKeys.map((k) => k.pem.split('\n')[0])).toEqual(['-----BEGIN CERTIFICATE-----', '-----BEGIN PUBLIC KEY-----']);
  });

  it.each<[string, boolean, string[], number]>([
    ['all keys, expired ones included, when expired keys are not refused', false, ['expired', 'current', 'bare'], Infinity],
    ['the unexpired keys, until the first of them expires, when they are refused', true, ['current', 'bare'], Date.parse('2027-01-01T00:00:00Z')],
  ])('should use %s', (_case, refuse, expected, until) => {
    const names = new Map([
      [expired.der, 'expired'],
      [current.der, 'current'],
      [bare, 'bare'],
    ]);
    const keys = keysOf(refuse, expired, current, bare);

    const { usable, validUntil } = usableSigningKeys(keys, NOW);

    const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');
    expect(usable.map((k) => names.get(body(k.pem)))).toEqual(expected);
    expect(validUntil).toBe(until);
  });

  it('should leave no usable key when every one has expired and expired keys are refused', () => {
    const { usable, refused } = usableSigningKeys(keysOf(true, expired), NOW);

    expect(usable).toEqual([]);
    expect(refused).toEqual([expect.objectContaining({ notAfter: '2025-01-01T00:00:00.000Z' })]);
  });

  it('should trust the signingCertificate of an IdP stored without the extension', () => {
    expect(signInKeysOf({ schemas: [CORE], signingCertificate: current.der })).toEqual({
      signingKeys: [expect.objectContaining({ pem: expect.stringContaining('BEGIN CERTIFICATE'), notAfter: '2027-01-01T00:00:00.000Z' })],
      refuseExpiredSigningKeys: false,
    });
  });
});

describe(signingCertificateExpiries.name, () => {
  it('should list the expiry of every certificate an IdP trusts from metadata, leaving out bare keys', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: expired.der };
    recordSigningKeys(doc, metadata(expired, next, bare), undefined);

    expect(signingCertificateExpiries(doc)).toEqual([
      { fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/), subject: 'CN=expired', notAfter: '2025-01-01T00:00:00.000Z' },
      { fingerprint: expect.any(String), subject: 'CN=next', notAfter: '2028-01-01T00:00:00.000Z' },
    ]);
  });

  it('should list the signingCertificate given by hand, which the representation keeps as IDCS has it', () => {
    const doc: Doc = { schemas: [CORE], signingCertificate: current.der };

    expect(signingCertificateExpiries(doc)).toEqual([expect.objectContaining({ subject: 'CN=current', notAfter: '2027-01-01T00:00:00.000Z' })]);
    expect(withSigningKeyStatus(doc, NOW)).toBe(doc);
  });
});
