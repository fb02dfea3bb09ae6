import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAML, SamlConfig } from '@node-saml/node-saml';
import { installXmlCryptoFastPath, stockModules, uninstallXmlCryptoFastPath } from './xml-crypto-fast-path';

/*
 * Every case runs twice in this process, with the stock xml-crypto / node-saml and with the fast path installed, and
 * requires the same outcome: valid or not, the error thrown (message), the references (uri, the xpath left in
 * `ref.xpath`, the validation error), the signed references, what loadSignature read.
 */

const FIXTURES = join(__dirname, '../../../test/fixtures/upstream-xml-crypto');
const { xmlCrypto, nodeSamlXml } = stockModules();
const { SignedXml, xpath, xmldom } = xmlCrypto as unknown as {
  SignedXml: new (o?: object) => Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  xpath: { select(e: string, n: unknown): unknown[] };
  xmldom: { DOMParser: new (o?: object) => { parseFromString(xml: string, mime?: string): any } }; // eslint-disable-line @typescript-eslint/no-explicit-any
};
const SIGNATURES = "//*[local-name(.)='Signature' and namespace-uri(.)='http://www.w3.org/2000/09/xmldsig#']";
const quietParser = () => new xmldom.DOMParser({ errorHandler: () => undefined, onError: () => undefined });

/** `run` with the stock libraries, then with the fast path installed. */
async function stockAndFast<T>(run: () => T | Promise<T>): Promise<{ stock: T; fast: T }> {
  uninstallXmlCryptoFastPath();
  const stock = await run();
  installXmlCryptoFastPath();
  try {
    return { stock, fast: await run() };
  } finally {
    uninstallXmlCryptoFastPath();
  }
}

const message = (e: unknown) => String((e as Error)?.message ?? e);

/** What xml-crypto's verification of each Signature of `xml` tells, as a plain value. */
function xmlCryptoOutcome(xml: string, publicCert: string, idMode?: string) {
  const doc = quietParser().parseFromString(xml);
  return (xpath.select(SIGNATURES, doc) as unknown[]).map((node) => {
    const sig = new SignedXml({ idMode });
    sig.publicCert = publicCert;
    const outcome: Record<string, unknown> = {};
    try {
      sig.loadSignature(node);
    } catch (e) {
      return { loadError: message(e) };
    }
    outcome.loaded = { c14n: sig.canonicalizationAlgorithm, alg: sig.signatureAlgorithm, value: sig.signatureValue, keyInfo: sig.keyInfo?.toString() };
    try {
      outcome.result = sig.checkSignature(xml);
    } catch (e) {
      outcome.error = message(e);
    }
    outcome.references = (sig.references as Record<string, unknown>[]).map((r) => ({ uri: r.uri, xpath: r.xpath, transforms: r.transforms, validationError: r.validationError && message(r.validationError), signedReference: r.signedReference }));
    outcome.signedReferences = sig.getSignedReferences();
    return outcome;
  });
}

const xcFile = (name: string) => readFileSync(join(FIXTURES, 'xml-crypto', name), 'utf8');
/** The key each upstream test verifies a fixture with (xml-crypto's test/*.spec.ts). */
function certFor(name: string): string {
  const byPrefix: [RegExp, string][] = [
    [/^(valid_saml(?!_sha256)|valid_saml_with|id_with_quotes|invalid_saml_no_signed_info)/, 'feide_public.pem'],
    [/sha256_rsa_mgf1/, 'idp_certificate.pem'],
    [/^saml_/, 'saml_external_ns.pem'],
    [/^signature_with_inclusivenamespaces/, 'signature_with_inclusivenamespaces.pem'],
    [/^windows_store/, 'windows_store_certificate.pem'],
    [/^wsfederation/, 'wsfederation_metadata.pem'],
    [/^keyinfo/, 'keyinfo.pem'],
  ];
  return xcFile(byPrefix.find(([re]) => re.test(name))?.[1] ?? 'client_public.pem');
}

describe('installXmlCryptoFastPath', () => {
  it('should replace the xml-crypto and node-saml functions, and uninstall put the stock ones back', () => {
    const proto = SignedXml.prototype;
    const stock = [proto.validateReference, proto.loadSignature, proto.findLoadedSignature, proto.canonicalize, xmlCrypto.utils.findAncestorNs, nodeSamlXml.getVerifiedXml];
    installXmlCryptoFastPath();
    const fast = [proto.validateReference, proto.loadSignature, proto.findLoadedSignature, proto.canonicalize, xmlCrypto.utils.findAncestorNs, nodeSamlXml.getVerifiedXml];
    uninstallXmlCryptoFastPath();
    fast.forEach((f, i) => expect(f).not.toBe(stock[i]));
    expect([proto.validateReference, proto.loadSignature, proto.findLoadedSignature, proto.canonicalize, xmlCrypto.utils.findAncestorNs, nodeSamlXml.getVerifiedXml]).toEqual(stock);
  });

  describe('xml-crypto upstream fixtures', () => {
    const files = readdirSync(join(FIXTURES, 'xml-crypto')).filter((f) => f.endsWith('.xml'));

    it('should have the upstream fixtures, including the wrapping attack', () => {
      expect(files).toEqual(expect.arrayContaining(['valid_saml_signature_wrapping.xml', 'id_with_quotes.xml', 'invalid_signature - non existing reference.xml', 'valid_signature.xml']));
    });

    it.each(files)('should verify %s as stock does', async (file) => {
      const xml = xcFile(file);
      const idMode = file.includes('wsu') ? 'wssecurity' : undefined;
      const { stock, fast } = await stockAndFast(() => xmlCryptoOutcome(xml, certFor(file), idMode));
      expect(fast).toEqual(stock);
    });

    it.each<[string, (o: Record<string, unknown>[]) => void]>([
      ['valid_signature.xml', (o) => expect(o[0]).toMatchObject({ result: true, signedReferences: (o[0].references as unknown[]).map(() => expect.any(String)) })],
      ['valid_saml_signature_wrapping.xml', (o) => expect(o.map((s) => s.error)).toContainEqual(expect.stringMatching(/signature wrapping attack/))],
      ['id_with_quotes.xml', (o) => expect(o.map((s) => s.error)).toContain('Cannot validate a uri with quotes inside it')],
      ['invalid_signature - non existing reference.xml', (o) => expect(o[0]).toMatchObject({ result: false, signedReferences: [] })],
    ])('should give upstream verdict on %s with the fast path', async (file, expected) => {
      const { fast } = await stockAndFast(() => xmlCryptoOutcome(xcFile(file), certFor(file)));
      expected(fast);
    });
  });

  describe('node-saml upstream signature fixtures', () => {
    const dir = join(FIXTURES, 'node-saml');
    const files = ['valid', 'invalid'].flatMap((d) => readdirSync(join(dir, 'signatures', d)).map((f) => `${d}/${f}`));
    const optionSets: [string, Partial<SamlConfig>][] = [
      ['both wanted', {}],
      ['assertion not wanted signed', { wantAssertionsSigned: false }],
      ['response not wanted signed', { wantAuthnResponseSigned: false }],
      ['neither wanted', { wantAssertionsSigned: false, wantAuthnResponseSigned: false }],
      ['the public key', { idpCert: readFileSync(join(dir, 'pub.pem'), 'ascii') }],
    ];

    beforeAll(() => jest.useFakeTimers({ now: Date.parse('2020-09-25T16:59:00Z'), doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] }));
    afterAll(() => jest.useRealTimers());

    const verdicts: string[] = [];
    /** node-saml's verdict on the response: the profile, or the refusal's message. */
    async function validate(file: string, options: Partial<SamlConfig>) {
      const verdict = await nodeSamlVerdict(file, options);
      verdicts.push(verdict.error ?? 'accepted');
      return verdict;
    }
    async function nodeSamlVerdict(file: string, options: Partial<SamlConfig>): Promise<{ error?: string; profile?: unknown; assertionXml?: string; loggedOut?: boolean }> {
      const saml = new SAML({
        callbackUrl: 'http://localhost/saml/consume',
        idpCert: readFileSync(join(dir, 'cert.pem'), 'ascii'),
        issuer: 'onesaml_login',
        audience: false,
        decryptionPvk: readFileSync(join(dir, 'testshib encryption pvk.pem'), 'ascii'),
        ...options,
      });
      try {
        const { profile, loggedOut } = await saml.validatePostResponseAsync({ SAMLResponse: readFileSync(join(dir, 'signatures', file), 'base64') });
        return { profile: JSON.parse(JSON.stringify(profile)), assertionXml: profile?.getAssertionXml?.(), loggedOut };
      } catch (e) {
        return { error: message(e) };
      }
    }

    it('should have node-saml\'s signature fixtures', () => {
      expect(files.length).toBeGreaterThanOrEqual(36);
    });

    describe.each(optionSets)('with %s', (_name, options) => {
      it.each(files)('should judge %s as stock does', async (file) => {
        const { stock, fast } = await stockAndFast(() => validate(file, options));
        expect(fast).toEqual(stock);
      });
    });

    it('should have compared acceptances and each of node-saml\'s signature refusals', () => {
      expect(verdicts.filter((v) => v === 'accepted').length).toBeGreaterThanOrEqual(20);
      for (const refusal of ['Invalid signature', 'Invalid document signature', 'Invalid signature from encrypted assertion', 'Invalid signature, too many transforms']) expect(verdicts).toContain(refusal);
    });

    // As node-saml's test/test-signatures.spec.ts states them.
    it.each<[string, Partial<SamlConfig>, string | false]>([
      ['valid/response.root-signed.assertion-signed.xml', {}, false],
      ['invalid/response.root-signed.assertion-invalidly-signed.xml', {}, 'Invalid document signature'],
      ['invalid/response.root-resigned-by-attacker-assertion-unsigned-attackers-cert-at-keyinfo.xml', { wantAssertionsSigned: false }, 'Invalid document signature'],
      ['invalid/response.root-unsigned.assertion-signed-transforms.xml', { wantAuthnResponseSigned: false }, 'Invalid signature, too many transforms'],
    ])('should give node-saml\'s verdict on %s with the fast path', async (...[file, options, error]) => {
      const { fast } = await stockAndFast(() => validate(file, options));
      if (error) expect(fast).toEqual({ error });
      else expect(fast).toMatchObject({ profile: expect.objectContaining({ issuer: expect.any(String) }) });
    });
  });

  describe('validateReference', () => {
    /** validateReference on one Reference to `uri` in `xml`: what it returns or throws, and what it leaves in `ref`. */
    function lookup(xml: string, uri: string | undefined, idAttribute?: string) {
      const sig = new SignedXml({ idAttribute });
      const ref: Record<string, unknown> = { uri, transforms: ['http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm: 'http://www.w3.org/2000/09/xmldsig#sha1', digestValue: 'AAAA', inclusiveNamespacesPrefixList: [] };
      const doc = quietParser().parseFromString(xml);
      let canon: unknown;
      let thrown: string | undefined;
      try {
        canon = sig.validateReference(ref, doc);
      } catch (e) {
        thrown = message(e);
      }
      // The digest in validationError is that of the element the lookup chose.
      return { canon, thrown, xpath: ref.xpath, validationError: ref.validationError && message(ref.validationError) };
    }

    const wrap = (body: string) => `<r xmlns:f="urn:foreign">${body}</r>`;
    it.each<[string, string, string | undefined, string?]>([
      ['one ID', wrap('<a ID="x">1</a>'), '#x'],
      ['one Id, one id', wrap('<a Id="x">1</a><b id="y"/>'), '#x'],
      ['duplicate IDs across Id and ID', wrap('<a Id="x">1</a><b ID="x">2</b>'), '#x'],
      ['duplicate IDs across ID and id, document order reversed', wrap('<b id="x">2</b><a ID="x">1</a>'), '#x'],
      ['duplicate across all three', wrap('<a id="x"/><b ID="x"/><c Id="x"/>'), '#x'],
      ['ID and id on the same element', wrap('<a ID="x" id="x">1</a>'), '#x'],
      ['a duplicate nested inside the element', wrap('<a ID="x"><b ID="x"/></a>'), '#x'],
      ['an ID attribute in a foreign namespace', wrap('<a f:ID="x">1</a>'), '#x'],
      ['a foreign-namespace ID and a plain ID', wrap('<a f:ID="x">1</a><b ID="x">2</b>'), '#x'],
      ['a prefixed and an unprefixed ID on one element', wrap('<a f:ID="x" ID="x">1</a>'), '#x'],
      ['an xmlns:ID declaration', wrap('<a xmlns:ID="x">1</a>'), '#x'],
      ['an xmlns:ID declaration and an ID', wrap('<a xmlns:ID="x">1</a><b ID="x">2</b>'), '#x'],
      ['an xmlns:id declaration on the root', '<r xmlns:id="x"><a ID="y"/></r>', '#x'],
      ['uri not found', wrap('<a ID="y"/>'), '#x'],
      ['a value differing by case', wrap('<a ID="X"/>'), '#x'],
      ['a value differing by blanks', wrap('<a ID=" x"/>'), '#x'],
      ['an attribute named differently in case', wrap('<a iD="x"/>'), '#x'],
      ['uri with a quote', wrap('<a ID="x\'y"/>'), "#x'y"],
      ['uri with a double quote', wrap('<a ID="x&quot;y"/>'), '#x"y'],
      ['no uri', wrap('<a ID="x"/>'), undefined],
      ['the empty uri', wrap('<a ID="x"/>'), ''],
      ['a uri without #', wrap('<a ID="x">1</a>'), 'x'],
      ['a custom idAttribute', wrap('<a AssertionID="x">1</a>'), '#x', 'AssertionID'],
      ['a custom idAttribute and an ID', wrap('<a AssertionID="x">1</a><b ID="x"/>'), '#x', 'AssertionID'],
      ['a custom idAttribute repeating ID', wrap('<a ID="x">1</a>'), '#x', 'ID'],
      ['a custom idAttribute with a quote', wrap('<a ID="x">1</a>'), '#x', "I'D"],
    ])('should find the element as stock does: %s', async (...[, xml, uri, idAttribute]) => {
      const { stock, fast } = await stockAndFast(() => lookup(xml, uri, idAttribute));
      expect(fast).toEqual(stock);
    });

    it('should refuse duplicate IDs across Id / ID / id with the fast path (signature wrapping)', async () => {
      const { fast } = await stockAndFast(() => lookup(wrap('<a Id="x"/><b ID="x"/>'), '#x'));
      expect(fast.thrown).toMatch(/in order to prevent signature wrapping attack/);
    });

    it('should count an xmlns:ID declaration as an ID, as the stock XPath does', async () => {
      const { fast } = await stockAndFast(() => lookup(wrap('<a xmlns:ID="x"/><b ID="x"/>'), '#x'));
      expect(fast.thrown).toMatch(/signature wrapping attack/);
    });
  });

  describe('findAncestorNs', () => {
    const doc = () =>
      quietParser().parseFromString(
        '<p:r xmlns:p="urn:p" xmlns:q="urn:q"><q:a xmlns="urn:d" ID="x"><ds:SignedInfo xmlns:ds="urn:ds"/></q:a><b xmlns:q="urn:q2"><SignedInfo Id="y"/></b></p:r>',
      );
    it.each([["//*[local-name()='SignedInfo']"], ["//*[@*[local-name(.)='ID']='x']"], ["//*[@*[local-name(.)='Id']='y']"], ["//*[@*[local-name(.)='ID']='none']"], ['//*[local-name()="b"]'], [undefined]])(
      'should give the ancestor namespaces of %s as stock does',
      async (docSubsetXpath) => {
        const { stock, fast } = await stockAndFast(() => xmlCrypto.utils.findAncestorNs(doc(), docSubsetXpath));
        expect(fast).toEqual(stock);
      },
    );
  });

  describe('loadSignature', () => {
    const DS = 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"';
    const signature = (signedInfoExtra: string, value: string, extra = '') =>
      `<ds:Signature ${DS}><ds:SignedInfo>${signedInfoExtra}<ds:Reference URI="#x"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>${value}${extra}</ds:Signature>`;
    const c14n = '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>';

    function load(xml: string) {
      const sig = new SignedXml();
      const node = xpath.select(SIGNATURES, quietParser().parseFromString(xml))[0];
      try {
        sig.loadSignature(node);
      } catch (e) {
        return { thrown: message(e) };
      }
      return { c14n: sig.canonicalizationAlgorithm, alg: sig.signatureAlgorithm, value: sig.signatureValue, keyInfo: sig.keyInfo?.toString(), refs: sig.references.map((r: { uri: string }) => r.uri) };
    }

    it.each([
      ['a plain signature', signature(c14n, '<ds:SignatureValue>ab\ncd</ds:SignatureValue>', '<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>')],
      ['a CDATA SignatureValue', signature(c14n, '<ds:SignatureValue><![CDATA[abcd]]></ds:SignatureValue>')],
      ['text after a nested SignatureValue', signature(c14n, '<ds:SignatureValue><ds:SignatureValue>inner</ds:SignatureValue>outer</ds:SignatureValue>')],
      ['no SignatureValue text', signature(c14n, '<ds:SignatureValue/>')],
      ['an Algorithm attribute named in lower case', signature('<ds:CanonicalizationMethod algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod ALGORITHM="x"/>', '<ds:SignatureValue>a</ds:SignatureValue>')],
      ['a namespaced Algorithm attribute', signature('<ds:CanonicalizationMethod ds:Algorithm="x"/><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<ds:SignatureValue>a</ds:SignatureValue>')],
      ['no CanonicalizationMethod', signature('', '<ds:SignatureValue>a</ds:SignatureValue>')],
      ['two KeyInfos', signature(c14n, '<ds:SignatureValue>a</ds:SignatureValue>', '<ds:KeyInfo Id="1"/><ds:KeyInfo Id="2"/>')],
    ])('should read %s as stock does', async (_case, xml) => {
      const { stock, fast } = await stockAndFast(() => load(xml));
      expect(fast).toEqual(stock);
    });
  });

  describe('getVerifiedXml', () => {
    const dir = join(FIXTURES, 'node-saml');
    const cert = () => readFileSync(join(dir, 'cert.pem'), 'ascii');
    const response = () => readFileSync(join(dir, 'signatures/valid/response.root-signed.assertion-signed.xml'), 'utf8');

    function verified(xml: string, pick: 'root' | 'assertion') {
      const doc = quietParser().parseFromString(xml);
      const node = pick === 'root' ? doc.documentElement : xpath.select("/*/*[local-name(.)='Assertion']", doc)[0];
      // getVerifiedXml keeps xml-crypto's refusals to itself (null), so xml-crypto's own verdict is compared as well.
      const sig = new SignedXml();
      sig.publicCert = cert();
      let check: unknown;
      try {
        sig.loadSignature(xpath.select("./*[local-name(.)='Signature']", node)[0]);
        check = sig.checkSignature(xml);
      } catch (e) {
        check = message(e);
      }
      try {
        return { check, xml: nodeSamlXml.getVerifiedXml(xml, node, [cert()]) };
      } catch (e) {
        return { check, thrown: message(e) };
      }
    }

    it.each<[string, (xml: string) => string]>([
      ['the untouched response', (x) => x],
      ['a second element with the Response ID', (x) => x.replace(/(<\/samlp:Response>)$/, (_m, end: string) => `<x ID="${/ID="([^"]+)"/.exec(x)![1]}"/>${end}`)],
      ['a second element with the ID in lower case', (x) => x.replace(/(<\/samlp:Response>)\s*$/, (_m, end: string) => `<x id="${/ID="([^"]+)"/.exec(x)![1]}"/>${end}`)],
      ['a tampered assertion', (x) => x.replace('onesaml_login', 'someone_else')],
      ['a copy of the assertion\'s Signature in another element', (x) => x.replace(/(<\/samlp:Response>)\s*$/, (_m, end: string) => `<x>${[...x.matchAll(/<ds:Signature [\s\S]*?<\/ds:Signature>/g)][1][0]}</x>${end}`)],
      ['comments in the signed content', (x) => x.replace(/<saml:Issuer>/g, '<!-- dropped by c14n --><saml:Issuer><!---->')],
    ])('should verify as stock does: %s', async (_case, tamper) => {
      const xml = tamper(response());
      for (const pick of ['root', 'assertion'] as const) {
        const { stock, fast } = await stockAndFast(() => verified(xml, pick));
        expect(fast).toEqual(stock);
      }
    });

    it('should refuse a copy of the loaded Signature elsewhere with the fast path (signature wrapping)', async () => {
      const x = response();
      const xml = x.replace(/(<\/samlp:Response>)\s*$/, (_m, end: string) => `<x>${[...x.matchAll(/<ds:Signature [\s\S]*?<\/ds:Signature>/g)][1][0]}</x>${end}`);
      const { fast } = await stockAndFast(() => verified(xml, 'assertion'));
      expect(fast).toEqual({ check: expect.stringMatching(/multiple Signature elements with the same SignatureValue/), xml: null });
    });
  });
});
