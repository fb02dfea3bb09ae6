import { ScimError } from '@app/scim';
import { CLAIM_LEASE_MS, parseRetryToken, principalScope, requestDigest, RETRY_TOKEN_TTL_MS, stateOf, TokenState } from './retry-tokens';

describe('RetryTokens', () => {
  describe('parseRetryToken', () => {
    it.each([
      ['a UUID (what the OCI SDKs generate)', '0c8ee0a0-ab6f-11ef-8f6a-3b6b54e7c3a1'],
      ['one character', 'x'],
      ['64 characters', 'a'.repeat(64)],
      ['printable punctuation', 'job-42/user:7+retry=1'],
    ])('should accept %s', (_case, token) => {
      expect(parseRetryToken(token)).toBe(token);
    });

    it('should treat a missing header as no token', () => {
      expect(parseRetryToken(undefined)).toBeUndefined();
    });

    it.each([
      ['an empty value', '', /it is empty/],
      ['65 characters', 'a'.repeat(65), /it has 65/],
      ['a space', 'two words', /spaces/],
      ['a control character', 'a\tb', /spaces, control/],
      ['non-ASCII', 'jeton-é', /non-ASCII/],
      ['two headers (joined by Node with ", ")', ['a', 'b'], /spaces/],
    ])('should refuse %s with a 400 invalidValue', (_case, header, detail) => {
      let error: unknown;
      try {
        parseRetryToken(header);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ScimError);
      expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
      expect((error as ScimError).detail).toMatch(detail);
      expect((error as ScimError).detail).toMatch(/^The opc-retry-token header must be 1 to 64 printable ASCII characters/);
    });
  });

  describe('requestDigest', () => {
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a', name: { givenName: 'A', familyName: 'B' } };

    it('should give the same digest for the same body with its keys in another order', () => {
      const reordered = { name: { familyName: 'B', givenName: 'A' }, userName: 'a', schemas: body.schemas };
      expect(requestDigest('POST', '/admin/v1/Users', reordered)).toBe(requestDigest('post', '/admin/v1/Users', body));
    });

    it.each([
      ['another body', 'POST', '/admin/v1/Users', { ...body, userName: 'b' }],
      ['another path', 'POST', '/admin/v1/Groups', body],
      ['another query', 'POST', '/admin/v1/Users?attributes=userName', body],
      ['another method', 'PUT', '/admin/v1/Users', body],
      ['no body', 'POST', '/admin/v1/Users', undefined],
    ])('should tell %s apart', (_case, method, url, other) => {
      expect(requestDigest(method, url, other)).not.toBe(requestDigest('POST', '/admin/v1/Users', body));
    });
  });

  describe('principalScope', () => {
    it('should keep the kind apart, so that a client and a provisioning token with one id are two principals', () => {
      expect(principalScope({ kind: 'client', id: 'x' })).not.toBe(principalScope({ kind: 'provisioningToken', id: 'x' }));
    });

    it('should fit any id in the column (160 characters)', () => {
      const scope = principalScope({ kind: 'client', id: 'c'.repeat(500) });
      expect(scope.length).toBeLessThanOrEqual(160);
      expect(scope).not.toBe(principalScope({ kind: 'client', id: 'c'.repeat(499) }));
    });
  });

  describe('stateOf', () => {
    const now = 1_800_000_000_000;
    const digest = 'd'.repeat(64);
    const row = (r: { digest?: string; status?: number | null; leaseIn?: number; expiresIn?: number }) => ({
      requestDigest: r.digest ?? digest,
      status: r.status ?? null,
      // PostgreSQL returns BIGINT as a string: both must work.
      leaseUntil: String(now + (r.leaseIn ?? CLAIM_LEASE_MS)),
      expiresAt: now + (r.expiresIn ?? RETRY_TOKEN_TTL_MS),
    });

    it.each<[string, Parameters<typeof row>[0] | null, TokenState]>([
      ['no row', null, 'unused'],
      ['an answered row of this request', { status: 201 }, 'answered'],
      ['an answered row of another request', { status: 201, digest: 'e'.repeat(64) }, 'other-request'],
      ['a running claim of this request', {}, 'in-progress'],
      ['a running claim of another request', { digest: 'e'.repeat(64) }, 'other-request'],
      ['a claim whose lease ran out', { leaseIn: 0 }, 'abandoned'],
      ['an abandoned claim of another request', { leaseIn: -1, digest: 'e'.repeat(64) }, 'other-request'],
      ['an answer older than 24 hours', { status: 201, expiresIn: 0 }, 'expired'],
      ['another request older than 24 hours', { status: 201, expiresIn: -1, digest: 'e'.repeat(64) }, 'expired'],
    ])('should read %s', (_case, r, expected) => {
      expect(stateOf(r && row(r), digest, now)).toBe(expected);
    });
  });
});
