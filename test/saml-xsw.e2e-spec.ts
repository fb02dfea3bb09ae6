import { Document, DOMParser, Element, Node, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { encrypt as xmlEncrypt } from 'xml-encryption';
import { SsoReason } from '@app/saml';
import { createJitIdentityProvider, postSamlResponse, startSamlSignIn } from '@app/fixtures';
import { makeKeyPair, TestKeyPair } from './support/certs';
import { IDP_ENTITY_ID, TestIdp } from './support/saml-idp';
import { ApiResponse, E2E_DB, expectStatus, patch, TestServer, user } from './support/server';

/*
 * What a trusted SAML SP must refuse (saml-sp-security.md), proven end to end against POST /fed/v1/sp/sso with
 * responses forged by hand: XML signature wrapping XSW1–XSW8 ("On Breaking SAML", USENIX Security 2012), weak and
 * HMAC signature methods, a foreign key with its certificate in KeyInfo, an edit after signing, a comment inside
 * NameID, two assertions, an assertion without ID.
 *
 * Every forgery starts from a response the IdP genuinely signed (xml-crypto, the IdP's real key) for the attacker,
 * user A; the wrapping cases then inject an assertion for the victim, user B, who exists. The "genuine" controls
 * prove those starting points pass every security check, so each refusal below is the check it names, not a
 * broken fixture. A response that passes every check goes on to JIT (libs/jit): it signs in (303) or JIT refuses
 * with its own reason, which is never one of the SsoReason codes, so the assertions hold with or without JIT.
 */

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
const HMAC_SHA1 = 'http://www.w3.org/2000/09/xmldsig#hmac-sha1';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const SHA1 = 'http://www.w3.org/2000/09/xmldsig#sha1';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const OAEP = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const AES256_CBC = 'http://www.w3.org/2001/04/xmlenc#aes256-cbc';

const RESPONSE_XPATH = "/*[local-name()='Response']";
const ASSERTION_XPATH = "/*[local-name()='Response']/*[local-name()='Assertion']";

const USER_A = 'attacker.a@example.com';
const USER_B = 'victim.b@example.com';
const ALL_SSO_REASONS: string[] = Object.values(SsoReason);

/** How an element is signed: by default as a real IdP does it (RSA-SHA256, SHA-256 digest, its certificate in KeyInfo). */
interface SignWith {
  /** Private key (RSA) or, for HMAC, the shared secret. */
  key: string | Buffer;
  /** The certificate put in KeyInfo, if any. */
  keyInfoCert?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
}

/** Signs the element at `xpath` with an enveloped signature placed right after its Issuer, as SAML requires. */
function sign(xml: string, xpath: string, w: SignWith): string {
  const sig = new SignedXml({ privateKey: w.key, publicCert: w.keyInfoCert, signatureAlgorithm: w.signatureAlgorithm ?? RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  if ((w.signatureAlgorithm ?? RSA_SHA256) === HMAC_SHA1) sig.enableHMAC();
  sig.addReference({ xpath, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: w.digestAlgorithm ?? SHA256 });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${xpath}/*[local-name()='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

const parse = (xml: string): Document => new DOMParser().parseFromString(xml, 'text/xml');
const serialize = (doc: Document): string => new XMLSerializer().serializeToString(doc);
const b64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');

function child(parent: Element, ns: string, localName: string): Element {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === Node.ELEMENT_NODE && (n as Element).namespaceURI === ns && (n as Element).localName === localName) return n as Element;
  }
  throw new Error(`fixture: no ${localName} in ${parent.localName}`);
}

const assertionOf = (response: Element) => child(response, SAML, 'Assertion');
const signatureOf = (el: Element) => child(el, DS, 'Signature');
const nameIdOf = (assertion: Element) => child(child(assertion, SAML, 'Subject'), SAML, 'NameID');

function setText(el: Element, value: string): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(value));
}

/**
 * The attacker's assertion: a copy of the genuine one naming user B, with a new ID and (unless kept) without the
 * signature, which cannot cover it.
 */
function evilAssertion(genuine: Element, opts: { keepSignature?: boolean } = {}): Element {
  const evil = genuine.cloneNode(true) as Element;
  evil.setAttribute('ID', `_evil-assertion-${Math.random().toString(36).slice(2)}`);
  setText(nameIdOf(evil), USER_B);
  if (!opts.keepSignature) evil.removeChild(signatureOf(evil));
  return evil;
}

/** A copy of `el` without its own signature: what the signature's digest covers (enveloped transform). */
function withoutSignature(el: Element): Element {
  const copy = el.cloneNode(true) as Element;
  copy.removeChild(signatureOf(copy));
  return copy;
}

/** `xml` encrypted to `certificatePem` as an IdP encrypts an assertion (AES-256-CBC, RSA-OAEP key transport). */
function encryptedData(xml: string, certificatePem: string): Promise<string> {
  return new Promise((resolve, reject) =>
    xmlEncrypt(xml, { rsa_pub: certificatePem, pem: certificatePem, encryptionAlgorithm: AES256_CBC, keyEncryptionAlgorithm: OAEP, disallowEncryptionWithInsecureAlgorithm: true }, (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
}

/**
 * The forged response `b64Response` with each assertion that is a child of the Response (its content, forgery and
 * all) sealed in a saml:EncryptedAssertion to our encryption certificate: what an attacker who intercepted a
 * genuinely encrypted assertion could rebuild, since the encryption key is public.
 */
async function sealAssertions(b64Response: string, certificatePem: string): Promise<string> {
  const doc = parse(Buffer.from(b64Response, 'base64').toString('utf8'));
  const response = doc.documentElement!;
  const assertions: Element[] = [];
  for (let n = response.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === Node.ELEMENT_NODE && (n as Element).namespaceURI === SAML && (n as Element).localName === 'Assertion') assertions.push(n as Element);
  }
  if (!assertions.length) throw new Error('fixture: no assertion to seal');
  for (const assertion of assertions) {
    const data = parse(await encryptedData(new XMLSerializer().serializeToString(assertion), certificatePem)).documentElement!;
    const sealed = doc.createElementNS(SAML, 'saml:EncryptedAssertion');
    sealed.appendChild(doc.importNode(data, true));
    response.replaceChild(sealed, assertion);
  }
  return b64(serialize(doc));
}

describe(`SAML ACS refuses forged responses: XSW1–XSW8, weak algorithms, foreign keys (${E2E_DB})`, () => {
  let s: TestServer;
  let idpKeys: TestKeyPair;
  let attackerKeys: TestKeyPair;
  let idp: TestIdp;
  let idpId: string;
  /** Our SP's encryption certificate (PEM), from our metadata. */
  let spEncryptionPem: string;

  /** Starts an SP-initiated sign-in and returns the AuthnRequest id, so no case is refused for its InResponseTo. */
  async function initiate(): Promise<string> {
    const started = await startSamlSignIn(s.baseUrl, idpId);
    expect(started.status).toBe(302);
    return started.requestId;
  }

  const attrs = (nameId: string) => ({ firstName: ['Forged'], familyName: ['Case'], email: [nameId] });
  const idpSigner = (): SignWith => ({ key: idpKeys.privateKeyPem, keyInfoCert: idpKeys.certificatePem });

  /** A response as the IdP issues it for `nameId`: the assertion signed, and the Response too when asked. */
  async function genuineXml(nameId: string, opts: { signResponse?: boolean; inResponseTo?: string; assertionId?: string | undefined; signer?: SignWith } = {}): Promise<string> {
    const inResponseTo = opts.inResponseTo ?? (await initiate());
    const tags = { InResponseTo: inResponseTo, NameID: nameId, ...('assertionId' in opts ? { AssertionID: opts.assertionId } : {}) };
    const signer = opts.signer ?? idpSigner();
    let xml = sign(idp.responseXml(tags, attrs(nameId)), ASSERTION_XPATH, signer);
    if (opts.signResponse) xml = sign(xml, RESPONSE_XPATH, signer);
    return xml;
  }

  /** Takes the genuine response for user A apart and puts it back together as `forge` says. */
  async function tampered(forge: (doc: Document, response: Element) => void, opts: { signResponse?: boolean } = {}): Promise<string> {
    const doc = parse(await genuineXml(USER_A, opts));
    forge(doc, doc.documentElement!);
    return b64(serialize(doc));
  }

  /*
   * XSW1–XSW8 as in "On Breaking SAML" (and SAML Raider, which implements them). XSW1–2 attack the Response
   * signature, XSW3–8 the assertion signature; in each the signed original stays intact (so its digest still
   * verifies) while an unsigned or re-identified element for user B sits where a careless SP would read it.
   */
  const forge = {
    /** XSW1: evil Response (new ID, assertion for B) at the root; the signed original Response inside its Signature. */
    xsw1EvilResponseWithSignedOriginalInsideSignature: () =>
      tampered(
        (doc, response) => {
          const original = withoutSignature(response);
          response.setAttribute('ID', '_evil-response');
          response.replaceChild(evilAssertion(assertionOf(response)), assertionOf(response));
          signatureOf(response).appendChild(original);
        },
        { signResponse: true },
      ),
    /** XSW2: as XSW1, with the signed original Response placed before the Signature (a detached signature). */
    xsw2EvilResponseWithSignedOriginalBeforeSignature: () =>
      tampered(
        (doc, response) => {
          const original = withoutSignature(response);
          response.setAttribute('ID', '_evil-response');
          response.replaceChild(evilAssertion(assertionOf(response)), assertionOf(response));
          response.insertBefore(original, signatureOf(response));
        },
        { signResponse: true },
      ),
    /** XSW3: an evil assertion for B inserted before the signed original, as the Response's first assertion. */
    xsw3EvilAssertionBeforeSignedOriginal: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        response.insertBefore(evilAssertion(original), original);
      }),
    /** XSW4: the evil assertion replaces the original, which moves inside it, signature and all. */
    xsw4SignedOriginalInsideEvilAssertion: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        const evil = evilAssertion(original);
        response.replaceChild(evil, original);
        evil.appendChild(original);
      }),
    /** XSW5: the evil assertion carries the original Signature; an unsigned copy of the original is appended last. */
    xsw5EvilAssertionCarriesSignatureOriginalCopyLast: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        response.replaceChild(evilAssertion(original, { keepSignature: true }), original);
        response.appendChild(withoutSignature(original));
      }),
    /** XSW6: the evil assertion carries the original Signature, with the unsigned copy of the original inside that Signature. */
    xsw6OriginalCopyInsideEvilAssertionsSignature: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        const evil = evilAssertion(original, { keepSignature: true });
        response.replaceChild(evil, original);
        signatureOf(evil).appendChild(withoutSignature(original));
      }),
    /** XSW7: the signed original wrapped in samlp:Extensions (schema: any content), the evil assertion where assertions go. */
    xsw7SignedOriginalInExtensionsEvilAssertionAfter: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        const evil = evilAssertion(original);
        const extensions = doc.createElementNS(SAMLP, 'samlp:Extensions');
        response.insertBefore(extensions, child(response, SAMLP, 'Status'));
        response.replaceChild(evil, original);
        extensions.appendChild(original);
      }),
    /** XSW8: the evil assertion carries the original Signature, with the unsigned original copy in a ds:Object of it. */
    xsw8OriginalCopyInObjectOfEvilAssertionsSignature: () =>
      tampered((doc, response) => {
        const original = assertionOf(response);
        const evil = evilAssertion(original, { keepSignature: true });
        response.replaceChild(evil, original);
        const object = doc.createElementNS(DS, 'ds:Object');
        signatureOf(evil).appendChild(object);
        object.appendChild(withoutSignature(original));
      }),

    /** RSA-SHA1 signature over a SHA-1 digest: refused unless the IdP is configured signatureHashAlgorithm "SHA-1". */
    rsaSha1SignatureWithSha1Digest: async () => b64(await genuineXml(USER_A, { signer: { ...idpSigner(), signatureAlgorithm: RSA_SHA1, digestAlgorithm: SHA1 } })),
    /** RSA-SHA256 signature over a SHA-1 digest: the weak digest alone is enough to refuse. */
    sha1DigestOnly: async () => b64(await genuineXml(USER_A, { signer: { ...idpSigner(), digestAlgorithm: SHA1 } })),
    /**
     * HMAC "signature" keyed with the IdP's public certificate (key confusion: anyone has that secret). A verifier
     * that let the document choose HMAC would accept it with the configured certificate as the key.
     */
    hmacKeyedWithIdpCertificate: async () => b64(await genuineXml(USER_B, { signer: { key: Buffer.from(idpKeys.certificatePem), signatureAlgorithm: HMAC_SHA1 } })),
    /** Signed by the attacker's key, with the attacker's certificate in KeyInfo for a verifier that trusts KeyInfo. */
    attackerKeyWithItsCertificateInKeyInfo: async () => b64(await genuineXml(USER_B, { signer: { key: attackerKeys.privateKeyPem, keyInfoCert: attackerKeys.certificatePem } })),
    /** Genuinely signed for A, then the NameID text changed to B. */
    nameIdEditedAfterSigning: () =>
      tampered((doc, response) => {
        setText(nameIdOf(assertionOf(response)), USER_B);
      }),
    /** Two assertions the IdP genuinely signed (for A and for B) in one response. */
    twoSignedAssertions: async () => {
      const inResponseTo = await initiate();
      const doc = parse(await genuineXml(USER_A, { inResponseTo }));
      const other = parse(await genuineXml(USER_B, { inResponseTo }));
      doc.documentElement!.appendChild(doc.importNode(assertionOf(other.documentElement!), true));
      return b64(serialize(doc));
    },
    /** An assertion without the ID attribute (the IdP signs it all the same): nothing to guard against replay. */
    assertionWithoutId: async () => b64(await genuineXml(USER_A, { assertionId: undefined })),
  };

  const userCount = async () => (await s.api('GET', '/admin/v1/Users?count=0')).body.totalResults as number;
  const userNamed = async (userName: string) => (await s.api('GET', `/admin/v1/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)).body.Resources as unknown[];

  /** Posts to the ACS from the browser that started the sign-in the response answers. */
  async function post(samlResponse: string): Promise<ApiResponse> {
    const res = await postSamlResponse(s.baseUrl, samlResponse);
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text, text };
  }

  /** The sso.login audit events of the request that produced `res` (found by the correlation id on its page). */
  async function ssoEvents(res: ApiResponse): Promise<Record<string, any>[]> {
    const correlation = /id="correlation-id">([^<]+)</.exec(res.text)?.[1];
    expect(correlation).toBeTruthy();
    const events = await s.api('GET', `/admin/v1/AuditEvents?filter=${encodeURIComponent(`eventId eq "sso.login" and correlationId eq "${correlation}"`)}`);
    expectStatus(events, 200);
    return events.body.Resources ?? [];
  }

  /** Refused by the security check `reason`: generic page, no cookie, one failure event with that reason, no user written. */
  async function expectRefused(samlResponse: string, reason: string): Promise<void> {
    const before = await userCount();
    const res = await post(samlResponse);
    expect([401, 403]).toContain(res.status);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.text).toContain('Sign-in failed');
    expect(res.text).not.toContain(reason);
    expect(res.text).not.toMatch(/SAML_[A-Z_]+/);
    const events = await ssoEvents(res);
    expect(events.map((e) => [e.outcome, e.reason])).toEqual([['failure', reason]]);
    expect(await userCount()).toBe(before);
  }

  /** Got past every security check of the ACS: signed in, or refused by JIT with a reason of its own. */
  async function expectPassedSecurityChecks(res: ApiResponse): Promise<void> {
    if (res.status === 303) return;
    const events = await ssoEvents(res);
    expect(events).toHaveLength(1);
    expect(ALL_SSO_REASONS).not.toContain(events[0].reason);
  }

  async function setIdp(values: Record<string, unknown>): Promise<void> {
    const ops = Object.entries(values).map(([path, value]) => ({ op: 'replace', path, value }));
    expectStatus(await s.api('PATCH', `/admin/v1/IdentityProviders/${idpId}`, patch(...ops)), 200);
  }

  const DEFAULTS = { signatureHashAlgorithm: 'SHA-256', requireSignedResponse: false, jitUserProvCreateUserEnabled: true };

  /** Runs `body` with the IdP configured as `settings`, then puts the defaults back. */
  async function withIdp(settings: Record<string, unknown> | null, body: () => Promise<void>): Promise<void> {
    if (!settings) return body();
    await setIdp(settings);
    try {
      await body();
    } finally {
      await setIdp(DEFAULTS);
    }
  }

  beforeAll(async () => {
    [idpKeys, attackerKeys] = await Promise.all([makeKeyPair('xsw-idp'), makeKeyPair('xsw-attacker')]);
    s = await TestServer.start();
    const metadata = await s.raw('GET', '/fed/v1/metadata');
    const encryptionKey = /<md:KeyDescriptor use="encryption">[\s\S]*?<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(metadata.text);
    if (!encryptionKey) throw new Error('fixture: no encryption certificate in our SP metadata');
    spEncryptionPem = `-----BEGIN CERTIFICATE-----\n${encryptionKey[1].replace(/\s+/g, '').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    idp = new TestIdp(metadata.text, { entityId: `${s.publicUrl}/fed`, acsUrl: `${s.publicUrl}/fed/v1/sp/sso` }, idpKeys);
    ({ idpId } = await createJitIdentityProvider(s, {
      partnerName: 'xsw-idp',
      partnerProviderId: IDP_ENTITY_ID,
      idpSsoUrl: 'https://idp.samlify.test/sso',
      signingCertificate: idpKeys.certificateB64,
      settings: { nameIdFormat: 'saml-emailaddress', authnRequestBinding: 'Redirect' },
    }));
    // The victims exist: a forgery that got user B (or a truncated NameID) through would sign in as them.
    for (const userName of [USER_B, 'user@evil.com']) {
      expectStatus(await s.api('POST', '/admin/v1/Users', user(userName, { name: { givenName: 'Victim', familyName: 'User' } })), 201);
    }
  });

  afterAll(async () => {
    await s?.stop();
  });

  describe('controls: the genuine responses the forgeries start from pass every security check', () => {
    it('should pass a response whose assertion the IdP signed', async () => {
      await expectPassedSecurityChecks(await post(b64(await genuineXml('control.assertion@example.com'))));
    });

    it('should pass a response whose Response and assertion the IdP signed, with the Response signature required', async () => {
      await withIdp({ requireSignedResponse: true }, async () => {
        await expectPassedSecurityChecks(await post(b64(await genuineXml('control.response@example.com', { signResponse: true }))));
      });
    });
  });

  /** Every row has its four entries: jest would pass a missing last one as the `done` callback. */
  type Case = [name: string, fixture: () => Promise<string>, reason: string, idpSettings: Record<string, unknown> | null];
  const AS_CREATED = null;
  const SIGNED_RESPONSE_REQUIRED = { requireSignedResponse: true };
  const SHA1_ALLOWED = { signatureHashAlgorithm: 'SHA-1' };

  const cases: Case[] = [
    ['XSW1 (Response signature required)', forge.xsw1EvilResponseWithSignedOriginalInsideSignature, SsoReason.InvalidSignature, SIGNED_RESPONSE_REQUIRED],
    ['XSW1 (assertion signature only required)', forge.xsw1EvilResponseWithSignedOriginalInsideSignature, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW2 (Response signature required)', forge.xsw2EvilResponseWithSignedOriginalBeforeSignature, SsoReason.InvalidSignature, SIGNED_RESPONSE_REQUIRED],
    ['XSW2 (assertion signature only required)', forge.xsw2EvilResponseWithSignedOriginalBeforeSignature, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW3', forge.xsw3EvilAssertionBeforeSignedOriginal, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW4', forge.xsw4SignedOriginalInsideEvilAssertion, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW5', forge.xsw5EvilAssertionCarriesSignatureOriginalCopyLast, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW6', forge.xsw6OriginalCopyInsideEvilAssertionsSignature, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW7', forge.xsw7SignedOriginalInExtensionsEvilAssertionAfter, SsoReason.InvalidSignature, AS_CREATED],
    ['XSW8', forge.xsw8OriginalCopyInObjectOfEvilAssertionsSignature, SsoReason.InvalidSignature, AS_CREATED],
    ['an RSA-SHA1 signature with a SHA-1 digest from an IdP configured SHA-256', forge.rsaSha1SignatureWithSha1Digest, SsoReason.AlgorithmNotAllowed, AS_CREATED],
    ['a SHA-1 digest from an IdP configured SHA-256', forge.sha1DigestOnly, SsoReason.AlgorithmNotAllowed, AS_CREATED],
    ['an HMAC SignatureMethod keyed with the IdP certificate', forge.hmacKeyedWithIdpCertificate, SsoReason.AlgorithmNotAllowed, AS_CREATED],
    ['an HMAC SignatureMethod, even from an IdP configured SHA-1', forge.hmacKeyedWithIdpCertificate, SsoReason.AlgorithmNotAllowed, SHA1_ALLOWED],
    ["a signature by the attacker's key with the attacker's certificate in KeyInfo", forge.attackerKeyWithItsCertificateInKeyInfo, SsoReason.InvalidSignature, AS_CREATED],
    ['a NameID edited after signing', forge.nameIdEditedAfterSigning, SsoReason.InvalidSignature, AS_CREATED],
    ['two signed assertions in one response', forge.twoSignedAssertions, SsoReason.InvalidSignature, AS_CREATED],
    // node-saml verifies it (its XPath matches @ID against the Id attribute xml-crypto adds); our own check refuses it.
    ['an assertion without ID', forge.assertionWithoutId, SsoReason.AssertionIdMissing, AS_CREATED],
  ];

  it.each(cases)('should refuse %s, write nothing and tell the browser only that sign-in failed', async (_name, fixture, reason, settings) => {
    await withIdp(settings, async () => {
      await expectRefused(await fixture(), reason);
    });
  });

  describe('the same forgeries inside an encrypted assertion (decrypted once, on a validation thread)', () => {
    const seal = (fixture: () => Promise<string>) => async () => sealAssertions(await fixture(), spEncryptionPem);

    it('control: should pass the genuine response with its signed assertion encrypted', async () => {
      await expectPassedSecurityChecks(await post(await sealAssertions(b64(await genuineXml('control.sealed@example.com')), spEncryptionPem)));
    });

    const sealedCases: Case[] = [
      ['XSW3 with both assertions encrypted', seal(forge.xsw3EvilAssertionBeforeSignedOriginal), SsoReason.InvalidSignature, AS_CREATED],
      ['XSW4 (the signed original inside the evil assertion, encrypted together)', seal(forge.xsw4SignedOriginalInsideEvilAssertion), SsoReason.InvalidSignature, AS_CREATED],
      ['XSW5 with both assertions encrypted', seal(forge.xsw5EvilAssertionCarriesSignatureOriginalCopyLast), SsoReason.InvalidSignature, AS_CREATED],
      ["XSW6 (the original copy inside the evil assertion's Signature, encrypted)", seal(forge.xsw6OriginalCopyInsideEvilAssertionsSignature), SsoReason.InvalidSignature, AS_CREATED],
      ['XSW7 (the evil assertion encrypted, the signed original in Extensions)', seal(forge.xsw7SignedOriginalInExtensionsEvilAssertionAfter), SsoReason.InvalidSignature, AS_CREATED],
      ["XSW8 (the original copy in a ds:Object of the evil assertion's Signature, encrypted)", seal(forge.xsw8OriginalCopyInObjectOfEvilAssertionsSignature), SsoReason.InvalidSignature, AS_CREATED],
      ['a NameID edited after signing, then encrypted', seal(forge.nameIdEditedAfterSigning), SsoReason.InvalidSignature, AS_CREATED],
      ['two signed assertions, each encrypted', seal(forge.twoSignedAssertions), SsoReason.InvalidSignature, AS_CREATED],
      ['a SHA-1 digest inside the encrypted assertion', seal(forge.sha1DigestOnly), SsoReason.AlgorithmNotAllowed, AS_CREATED],
      ['an HMAC SignatureMethod keyed with the IdP certificate inside the encrypted assertion', seal(forge.hmacKeyedWithIdpCertificate), SsoReason.AlgorithmNotAllowed, AS_CREATED],
      ["the attacker's key and certificate inside the encrypted assertion", seal(forge.attackerKeyWithItsCertificateInKeyInfo), SsoReason.InvalidSignature, AS_CREATED],
    ];

    it.each(sealedCases)('should refuse %s, write nothing and tell the browser only that sign-in failed', async (_name, fixture, reason, settings) => {
      await withIdp(settings, async () => {
        await expectRefused(await fixture(), reason);
      });
    });
  });

  it('should let an RSA-SHA1 / SHA-1 signature past the algorithm check when the IdP is configured signatureHashAlgorithm "SHA-1"', async () => {
    await withIdp(SHA1_ALLOWED, async () => {
      const res = await post(await forge.rsaSha1SignatureWithSha1Digest());
      await expectPassedSecurityChecks(res);
      if (res.status !== 303) expect((await ssoEvents(res))[0].reason).not.toBe(SsoReason.AlgorithmNotAllowed);
    });
  });

  describe('a comment inside NameID (user@evil.com<!---->.good.com) is read as the whole text, not truncated', () => {
    /** The IdP signs "user@evil.com.good.com"; a comment, which canonicalization drops, is then slipped into it. */
    async function commentInsideNameId(): Promise<string> {
      const doc = parse(await genuineXml('user@evil.com.good.com'));
      const nameId = nameIdOf(assertionOf(doc.documentElement!));
      setText(nameId, 'user@evil.com');
      nameId.appendChild(doc.createComment(''));
      nameId.appendChild(doc.createTextNode('.good.com'));
      const xml = serialize(doc);
      expect(xml).toContain('user@evil.com<!---->.good.com');
      return b64(xml);
    }

    it('should not sign in as the existing user@evil.com when JIT may not create users: JIT looks up the full NameID and finds nobody', async () => {
      await withIdp({ jitUserProvCreateUserEnabled: false }, async () => {
        const before = await userCount();
        const res = await post(await commentInsideNameId());
        expect(res.status).not.toBe(303);
        expect(res.headers.get('set-cookie')).toBeNull();
        await expectPassedSecurityChecks(res);
        const [event] = await ssoEvents(res);
        // JIT records the identity it looked up (without JIT, there is no such detail to read).
        if (event.details) expect(JSON.parse(event.details).nameId).toBe('user@evil.com.good.com');
        expect(event.message ?? '').not.toContain('"user@evil.com"');
        expect(await userCount()).toBe(before);
      });
    });

    it('should never produce an identity from the truncated NameID when JIT may create users', async () => {
      const res = await post(await commentInsideNameId());
      await expectPassedSecurityChecks(res);
      if (res.status === 303) {
        const me = await s.api('GET', '/admin/v1/Me', undefined, { token: null, headers: { cookie: res.headers.get('set-cookie')!.split(';')[0] } });
        expect(me.body.userName).toBe('user@evil.com.good.com');
      }
      // Only the victim created by this test setup carries the truncated name.
      expect(await userNamed('user@evil.com')).toHaveLength(1);
    });
  });
});
