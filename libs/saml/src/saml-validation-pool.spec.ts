import { ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import type { AppConfig } from '@app/config';
import { makeKeyPair, TestKeyPair } from '../../../test/support/certs';
import { IDP_ENTITY_ID, TestIdp } from '../../../test/support/saml-idp';
import { AssertionExpectations, ResponseValidationOptions } from './response-validation';
import { SamlValidationPool } from './saml-validation-pool';
import { buildSpMetadata, spEndpoints } from './sp-metadata';
import { SsoReason, SsoRejection } from './sso-rejection';

const SP = spEndpoints('https://sp.example.com');
const ATTRS = { firstName: ['Jane'], groups: ['Admins', 'Engineers'] };
const EXPECTED: AssertionExpectations = { issuer: IDP_ENTITY_ID, acsUrl: SP.acsUrl, skewMs: 60_000 };

/** A request-id store in memory that records what the threads asked the main thread. */
function memoryCache(known: Record<string, string>): CacheProvider & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    getAsync: async (key) => {
      asked.push(key);
      return known[key] ?? null;
    },
    saveAsync: async (_key, value) => ({ value, createdAt: Date.now() }),
    removeAsync: async (key) => key,
  };
}

describe(SamlValidationPool.name, () => {
  let idpKeys: TestKeyPair;
  let idp: TestIdp;
  let options: ResponseValidationOptions;

  beforeAll(async () => {
    idpKeys = await makeKeyPair('pool-idp');
    const spKeys = await makeKeyPair('pool-sp');
    idp = new TestIdp(buildSpMetadata({ ...SP, signingCertificateDer: spKeys.certificateB64 }), SP, idpKeys);
    options = {
      issuer: SP.entityId,
      callbackUrl: SP.acsUrl,
      audience: SP.entityId,
      idpCert: idpKeys.certificatePem,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      acceptedClockSkewMs: 60_000,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: 15 * 60_000,
    };
  });

  describe.each([0, 2])('with %i threads', (threads) => {
    let pool: SamlValidationPool;
    beforeAll(() => {
      pool = new SamlValidationPool({ samlValidationThreads: threads } as AppConfig);
    });
    afterAll(() => pool.onApplicationShutdown());

    it('should return the verified assertion, asking the main thread about its InResponseTo', async () => {
      const cache = memoryCache({ _req1: new Date().toISOString() });
      const response = await idp.signedResponse({ InResponseTo: '_req1', NameID: 'jane@example.com' }, ATTRS);
      const assertion = await pool.validate(options, EXPECTED, response, cache);
      expect(assertion).toMatchObject({ issuer: IDP_ENTITY_ID, nameId: 'jane@example.com', inResponseTo: '_req1', attributes: ATTRS });
      expect(assertion.notOnOrAfter.getTime()).toBeGreaterThan(Date.now());
      expect(cache.asked).toContain('_req1');
    });

    it('should not ask the main thread about a request id it was given', async () => {
      const cache = memoryCache({});
      const response = await idp.signedResponse({ InResponseTo: '_given', NameID: 'jane@example.com' }, ATTRS);
      const assertion = await pool.validate(options, EXPECTED, response, cache, { _given: new Date().toISOString() });
      expect(assertion.nameId).toBe('jane@example.com');
      expect(cache.asked).toEqual([]);
    });

    it("should pass our checks' rejection of the verified assertion on with its reason", async () => {
      const response = await idp.signedResponse({ InResponseTo: '_req5', NameID: 'jane@example.com', AssertionIssuer: 'https://someone-else.test' }, ATTRS);
      const refused = pool.validate(options, EXPECTED, response, memoryCache({ _req5: new Date().toISOString() }));
      await expect(refused).rejects.toBeInstanceOf(SsoRejection);
      await expect(refused).rejects.toMatchObject({ reason: SsoReason.IssuerMismatch });
    });

    it("should reject a response to a request the store does not know, with node-saml's message", async () => {
      const response = await idp.signedResponse({ InResponseTo: '_unknown', NameID: 'jane@example.com' }, ATTRS);
      await expect(pool.validate(options, EXPECTED, response, memoryCache({}))).rejects.toThrow(/InResponseTo is not valid/);
    });

    it('should reject a response signed with another key', async () => {
      const other = await makeKeyPair('pool-attacker');
      const response = await idp.signedResponse({ InResponseTo: '_req2', NameID: 'jane@example.com' }, ATTRS, other);
      await expect(pool.validate(options, EXPECTED, response, memoryCache({ _req2: new Date().toISOString() }))).rejects.toThrow(/signature/i);
    });

    it('should verify many responses at once, each answer going to its own caller', async () => {
      const names = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`);
      const known = Object.fromEntries(names.map((_, i) => [`_r${i}`, new Date().toISOString()]));
      const responses = await Promise.all(names.map((n, i) => idp.signedResponse({ InResponseTo: `_r${i}`, NameID: n }, ATTRS)));
      const assertions = await Promise.all(responses.map((r) => pool.validate(options, EXPECTED, r, memoryCache(known))));
      assertions.forEach((a, i) => expect(a.nameId).toBe(names[i]));
    });

    it('should pass a failing request-id lookup on as a rejection', async () => {
      const failing: CacheProvider = { ...memoryCache({}), getAsync: async () => Promise.reject(new Error('database unavailable')) };
      const response = await idp.signedResponse({ InResponseTo: '_req3', NameID: 'jane@example.com' }, ATTRS);
      await expect(pool.validate(options, EXPECTED, response, failing)).rejects.toThrow(/database unavailable/);
    });
  });

  it('should start threads only as the load needs them', async () => {
    const pool = new SamlValidationPool({ samlValidationThreads: 4 } as AppConfig);
    try {
      const known = { _seq: new Date().toISOString() };
      for (let i = 0; i < 3; i++) {
        const response = await idp.signedResponse({ InResponseTo: '_seq', NameID: `seq${i}@example.com` }, ATTRS);
        await pool.validate(options, EXPECTED, response, memoryCache(known));
      }
      expect(pool.running).toBe(1); // one after the other: one thread is enough

      const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => idp.signedResponse({ InResponseTo: '_seq', NameID: `burst${i}@example.com` }, ATTRS)));
      await Promise.all(burst.map((r) => pool.validate(options, EXPECTED, r, memoryCache(known))));
      expect(pool.running).toBe(4);
    } finally {
      await pool.onApplicationShutdown();
    }
  });

  it('should replace a thread that died, failing only the tasks it had', async () => {
    const pool = new SamlValidationPool({ samlValidationThreads: 1 } as AppConfig);
    try {
      const response = await idp.signedResponse({ InResponseTo: '_req4', NameID: 'jane@example.com' }, ATTRS);
      const cache = memoryCache({ _req4: new Date().toISOString() });
      await pool.validate(options, EXPECTED, response, cache);
      const thread = (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0];
      const inFlight = pool.validate(options, EXPECTED, response, { ...cache, getAsync: () => new Promise(() => undefined) });
      await thread.worker.terminate();
      await expect(inFlight).rejects.toThrow(/validation thread stopped/);
      await expect(pool.validate(options, EXPECTED, response, cache)).resolves.toMatchObject({ nameId: 'jane@example.com' });
    } finally {
      await pool.onApplicationShutdown();
    }
  });
});
