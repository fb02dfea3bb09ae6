import { ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import type { AppConfig } from '@app/config';
import { makeKeyPair, TestKeyPair } from '../../../test/support/certs';
import { IDP_ENTITY_ID, TestIdp } from '../../../test/support/saml-idp';
import { ResponseClaim, ResponseJudge, ResponseJudgement, ResponseValidationOptions } from './response-validation';
import { SamlValidationPool } from './saml-validation-pool';
import { buildSpMetadata, spEndpoints } from './sp-metadata';
import { SsoReason, SsoRejection } from './sso-rejection';

const SP = spEndpoints('https://sp.example.com');
const ATTRS = { firstName: ['Jane'], groups: ['Admins', 'Engineers'] };
const OAEP = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const AES256 = 'http://www.w3.org/2001/04/xmlenc#aes256-cbc';

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

/**
 * The main thread's side, in memory: it records the claims it judged, knows the requests in `outstanding`
 * (anything else is refused as unknown), and answers with `options`.
 */
function memoryJudge(
  options: ResponseValidationOptions,
  decryptionKeys: string[],
  outstanding: Record<string, string>,
  cache: CacheProvider = memoryCache(outstanding),
): ResponseJudge & { claims: ResponseClaim[] } {
  const claims: ResponseClaim[] = [];
  return {
    claims,
    judge: async (claim) => {
      claims.push(claim);
      if (claim.issuer !== IDP_ENTITY_ID) throw new SsoRejection(SsoReason.UnknownIssuer, `no identity provider ${claim.issuer}`);
      const id = claim.inResponseTo;
      const request: ResponseJudgement['request'] =
        id === undefined ? undefined : outstanding[id] ? { created: outstanding[id] } : { reason: SsoReason.InResponseToUnknown, detail: `${id} is not outstanding` };
      return {
        options,
        expected: { issuer: IDP_ENTITY_ID, acsUrl: SP.acsUrl, skewMs: 60_000 },
        policy: { acsUrl: SP.acsUrl, allowSha1: false, requiresEncryptedAssertion: false, allowUnsolicitedResponses: false },
        decryptionKeys,
        request,
      };
    },
    cache: () => cache,
  };
}

describe(SamlValidationPool.name, () => {
  let idpKeys: TestKeyPair;
  let spKeys: TestKeyPair;
  let idp: TestIdp;
  let options: ResponseValidationOptions;
  const now = () => new Date().toISOString();

  beforeAll(async () => {
    idpKeys = await makeKeyPair('pool-idp');
    spKeys = await makeKeyPair('pool-sp');
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

    it('should return the verified assertion, having asked the main thread to judge what the response claims', async () => {
      const cache = memoryCache({});
      const judge = memoryJudge(options, [spKeys.privateKeyPem], { _req1: now() }, cache);
      const response = await idp.signedResponse({ InResponseTo: '_req1', NameID: 'jane@example.com' }, ATTRS);
      const { assertion, requestToCheck } = await pool.validate(response, judge);
      expect(assertion).toMatchObject({ issuer: IDP_ENTITY_ID, nameId: 'jane@example.com', inResponseTo: '_req1', attributes: ATTRS });
      expect(assertion.notOnOrAfter.getTime()).toBeGreaterThan(Date.now());
      expect(requestToCheck).toBeUndefined();
      expect(judge.claims).toEqual([{ issuer: IDP_ENTITY_ID, inResponseTo: '_req1' }]);
      // The request judged is the one node-saml looks up: it is not asked again.
      expect(cache.asked).toEqual([]);
    });

    it("should refuse with the judge's reason when it does not know the issuer, before any other check", async () => {
      const response = await idp.signedResponse({ InResponseTo: '_req6', NameID: 'jane@example.com', Issuer: 'https://stranger.test', Destination: 'https://elsewhere.test/acs' }, ATTRS);
      await expect(pool.validate(response, memoryJudge(options, [], { _req6: now() }))).rejects.toMatchObject({ reason: SsoReason.UnknownIssuer });
    });

    it("should apply the judge's verdict on the request after the structural checks", async () => {
      const unknown = await idp.signedResponse({ InResponseTo: '_unknown', NameID: 'jane@example.com' }, ATTRS);
      await expect(pool.validate(unknown, memoryJudge(options, [], {}))).rejects.toMatchObject({ reason: SsoReason.InResponseToUnknown });
      const misdirected = await idp.signedResponse({ InResponseTo: '_unknown', NameID: 'jane@example.com', Destination: 'https://elsewhere.test/acs' }, ATTRS);
      await expect(pool.validate(misdirected, memoryJudge(options, [], {}))).rejects.toMatchObject({ reason: SsoReason.DestinationMismatch });
    });

    it("should pass our checks' rejection of the verified assertion on with its reason", async () => {
      const response = await idp.signedResponse({ InResponseTo: '_req5', NameID: 'jane@example.com', AssertionIssuer: 'https://someone-else.test' }, ATTRS);
      const refused = pool.validate(response, memoryJudge(options, [], { _req5: now() }));
      await expect(refused).rejects.toBeInstanceOf(SsoRejection);
      await expect(refused).rejects.toMatchObject({ reason: SsoReason.IssuerMismatch });
    });

    it('should refuse what is not a SAML response before asking the main thread anything', async () => {
      const judge = memoryJudge(options, [], {});
      await expect(pool.validate(Buffer.from('<html/>').toString('base64'), judge)).rejects.toMatchObject({ reason: SsoReason.ResponseMalformed });
      await expect(pool.validate(Buffer.from('<!DOCTYPE x><x/>').toString('base64'), judge)).rejects.toMatchObject({ reason: SsoReason.Doctype });
      expect(judge.claims).toEqual([]);
    });

    it('should reject a response signed with another key', async () => {
      const other = await makeKeyPair('pool-attacker');
      const response = await idp.signedResponse({ InResponseTo: '_req2', NameID: 'jane@example.com' }, ATTRS, other);
      await expect(pool.validate(response, memoryJudge(options, [], { _req2: now() }))).rejects.toThrow(/signature/i);
    });

    it('should decrypt an encrypted assertion with the first of our keys that opens it', async () => {
      const previous = await makeKeyPair('pool-sp-previous');
      const sealed = new TestIdp(buildSpMetadata({ ...SP, signingCertificateDer: spKeys.certificateB64, encryptionCertificateDers: [previous.certificateB64] }), SP, idpKeys);
      const response = await sealed.encryptedResponse({ InResponseTo: '_req7', NameID: 'sealed@example.com' }, ATTRS, { dataEncryptionAlgorithm: AES256, keyEncryptionAlgorithm: OAEP });
      // The active key first, as in a rollover: the IdP still encrypts to the previous one.
      const { assertion } = await pool.validate(response, memoryJudge(options, [spKeys.privateKeyPem, previous.privateKeyPem], { _req7: now() }));
      expect(assertion.nameId).toBe('sealed@example.com');
      await expect(pool.validate(response, memoryJudge(options, [spKeys.privateKeyPem], { _req7: now() }))).rejects.toMatchObject({ reason: SsoReason.ValidationFailed });
    });

    it('should verify many responses at once, each answer going to its own caller', async () => {
      const names = Array.from({ length: 12 }, (_, i) => `user${i}@example.com`);
      const known = Object.fromEntries(names.map((_, i) => [`_r${i}`, now()]));
      const responses = await Promise.all(names.map((n, i) => idp.signedResponse({ InResponseTo: `_r${i}`, NameID: n }, ATTRS)));
      const validated = await Promise.all(responses.map((r) => pool.validate(r, memoryJudge(options, [], known))));
      validated.forEach((v, i) => expect(v.assertion.nameId).toBe(names[i]));
    });

    it('should pass a failing judge on as a rejection', async () => {
      const failing: ResponseJudge = { ...memoryJudge(options, [], {}), judge: () => Promise.reject(new Error('database unavailable')) };
      const response = await idp.signedResponse({ InResponseTo: '_req3', NameID: 'jane@example.com' }, ATTRS);
      await expect(pool.validate(response, failing)).rejects.toThrow(/database unavailable/);
    });
  });

  it('should decrypt an encrypted assertion once, node-saml reusing what our checks decrypted', async () => {
    const xmlenc = jest.requireActual<{ decrypt: (...args: unknown[]) => void }>('xml-encryption');
    const decrypt = jest.spyOn(xmlenc, 'decrypt');
    const pool = new SamlValidationPool({ samlValidationThreads: 0 } as AppConfig);
    const sealed = new TestIdp(buildSpMetadata({ ...SP, signingCertificateDer: spKeys.certificateB64 }), SP, idpKeys);
    const response = await sealed.encryptedResponse({ InResponseTo: '_once', NameID: 'once@example.com' }, ATTRS, { dataEncryptionAlgorithm: AES256, keyEncryptionAlgorithm: OAEP });
    try {
      const { assertion } = await pool.validate(response, memoryJudge(options, [spKeys.privateKeyPem], { _once: now() }));
      expect(assertion.nameId).toBe('once@example.com');
      expect(decrypt).toHaveBeenCalledTimes(1);
    } finally {
      decrypt.mockRestore();
    }
  });

  it('should start threads only as the load needs them', async () => {
    const pool = new SamlValidationPool({ samlValidationThreads: 4 } as AppConfig);
    try {
      const known = { _seq: now() };
      for (let i = 0; i < 3; i++) {
        const response = await idp.signedResponse({ InResponseTo: '_seq', NameID: `seq${i}@example.com` }, ATTRS);
        await pool.validate(response, memoryJudge(options, [], known));
      }
      expect(pool.running).toBe(1); // one after the other: one thread is enough

      const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => idp.signedResponse({ InResponseTo: '_seq', NameID: `burst${i}@example.com` }, ATTRS)));
      await Promise.all(burst.map((r) => pool.validate(r, memoryJudge(options, [], known))));
      expect(pool.running).toBe(4);
    } finally {
      await pool.onApplicationShutdown();
    }
  });

  it('should replace a thread that died, failing only the tasks it had', async () => {
    const pool = new SamlValidationPool({ samlValidationThreads: 1 } as AppConfig);
    try {
      const response = await idp.signedResponse({ InResponseTo: '_req4', NameID: 'jane@example.com' }, ATTRS);
      const judge = memoryJudge(options, [], { _req4: now() });
      await pool.validate(response, judge);
      const thread = (pool as unknown as { threads: { worker: { terminate(): Promise<number> } }[] }).threads[0];
      const inFlight = pool.validate(response, { ...judge, judge: () => new Promise(() => undefined) });
      await thread.worker.terminate();
      await expect(inFlight).rejects.toThrow(/validation thread stopped/);
      await expect(pool.validate(response, judge)).resolves.toMatchObject({ assertion: { nameId: 'jane@example.com' } });
    } finally {
      await pool.onApplicationShutdown();
    }
  });
});
