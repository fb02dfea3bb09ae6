/**
 * node-saml's verification of one SAML response, stock and with our xml-crypto fast path
 * (libs/saml/src/xml-crypto-fast-path.ts), in the same process: RSA-2048 / SHA-256 responses from the test IdP
 * (test/support/saml-idp.ts) signed on the Response and the Assertion, on the Assertion only, and with the signed
 * assertion encrypted (AES-256-CBC, RSA-OAEP). Rounds alternate stock and fast so that a busy machine slows both
 * alike; the figures are the medians of the rounds, CPU time of this process per response and wall time.
 *
 *   npm run bench:saml-verify            (SAML_VERIFY_ROUNDS, SAML_VERIFY_N: rounds, and responses per round)
 */
import { createPublicKey, createSign, createVerify } from 'node:crypto';
import * as samlify from 'samlify';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { makeKeyPair } from '../test/support/certs';
import { TestIdp } from '../test/support/saml-idp';
// Relative, not @app/saml: the benches run under plain ts-node, without the path aliases.
import { installXmlCryptoFastPath, uninstallXmlCryptoFastPath } from '../libs/saml/src/xml-crypto-fast-path';

const ROUNDS = Number(process.env.SAML_VERIFY_ROUNDS ?? 5);
const N = Number(process.env.SAML_VERIFY_N ?? 60);
const WARMUP = 30;

type Shape = 'response+assertion signed' | 'assertion signed' | 'assertion signed, encrypted';
type Variant = 'stock' | 'fast path';

async function main(): Promise<void> {
  const idpKeys = await makeKeyPair('bench-verify-idp');
  const spKeys = await makeKeyPair('bench-verify-sp');
  const sp = { entityId: 'https://sp.example/fed/v1/sp', acsUrl: 'https://sp.example/fed/v1/sp/sso' };
  const options = {
    issuer: sp.entityId,
    audience: sp.entityId,
    callbackUrl: sp.acsUrl,
    idpCert: idpKeys.certificatePem,
    decryptionPvk: spKeys.privateKeyPem,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 60_000,
    validateInResponseTo: ValidateInResponseTo.never,
  };
  const meta = new SAML(options).generateServiceProviderMetadata(spKeys.certificatePem, spKeys.certificatePem);
  const idp = new TestIdp(meta, sp, idpKeys);
  const tags = { InResponseTo: '_bench', NameID: 'bench.user@example.com' };
  const attrs = { firstName: ['Ann'], familyName: ['Bench'], email: ['bench.user@example.com'], groups: ['Administrators', 'Engineering'] };
  const spWantingSignedResponse = samlify.ServiceProvider({ metadata: meta, wantMessageSigned: true });
  const both = (await idp.entity().createLoginResponse(spWantingSignedResponse, { extract: {} } as never, 'post', {}, () => ({ id: 'unused', context: idp.responseXml(tags, attrs) }))).context;
  const responses: Record<Shape, string> = {
    'response+assertion signed': both,
    'assertion signed': await idp.signedResponse(tags, attrs),
    'assertion signed, encrypted': await idp.encryptedResponse(tags, attrs, { dataEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc', keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p' }),
  };
  const saml = new SAML(options);
  const verify = async (shape: Shape) => (await saml.validatePostResponseAsync({ SAMLResponse: responses[shape] })).profile?.getAssertionXml?.();
  const use = (variant: Variant) => (variant === 'stock' ? uninstallXmlCryptoFastPath() : installXmlCryptoFastPath());

  // Both variants must accept each response with the same verified assertion, or the comparison means nothing.
  for (const shape of Object.keys(responses) as Shape[]) {
    use('stock');
    const stock = await verify(shape);
    use('fast path');
    const fast = await verify(shape);
    if (!stock || stock !== fast) throw new Error(`${shape}: the fast path verified a different assertion`);
  }

  const samples = new Map<string, { cpu: number[]; wall: number[] }>();
  for (const shape of Object.keys(responses) as Shape[]) {
    for (const variant of ['stock', 'fast path'] as Variant[]) {
      use(variant);
      for (let i = 0; i < WARMUP; i++) await verify(shape);
      samples.set(`${shape}|${variant}`, { cpu: [], wall: [] });
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const shape of Object.keys(responses) as Shape[]) {
      const order: Variant[] = round % 2 === 0 ? ['stock', 'fast path'] : ['fast path', 'stock'];
      for (const variant of order) {
        use(variant);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N; i++) await verify(shape);
        const wall = Number(process.hrtime.bigint() - t0) / 1e6 / N;
        const { user, system } = process.cpuUsage(cpu0);
        const s = samples.get(`${shape}|${variant}`)!;
        s.cpu.push((user + system) / 1000 / N);
        s.wall.push(wall);
      }
    }
  }
  uninstallXmlCryptoFastPath();

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = (Object.keys(responses) as Shape[]).map((shape) => {
    const stock = samples.get(`${shape}|stock`)!;
    const fast = samples.get(`${shape}|fast path`)!;
    const [sc, fc, sw, fw] = [median(stock.cpu), median(fast.cpu), median(stock.wall), median(fast.wall)];
    return {
      response: `${shape} (${Buffer.from(responses[shape], 'base64').length} B)`,
      'stock CPU ms': sc.toFixed(2),
      'fast CPU ms': fc.toFixed(2),
      'CPU ×': (sc / fc).toFixed(2),
      'stock wall ms': sw.toFixed(2),
      'fast wall ms': fw.toFixed(2),
      'wall ×': (sw / fw).toFixed(2),
    };
  });
  console.log(`node-saml validatePostResponseAsync, per response: median of ${ROUNDS} rounds of ${N} (stock and fast path alternating)`);
  console.table(rows);
  console.log(`for scale, one bare RSA-2048/SHA-256 verify: ${rsaVerifyMicros(idpKeys.privateKeyPem, idpKeys.certificatePem).toFixed(0)} µs`);
}

function rsaVerifyMicros(privateKeyPem: string, certificatePem: string): number {
  const data = 'x'.repeat(600);
  const signature = createSign('RSA-SHA256').update(data).sign(privateKeyPem);
  const key = createPublicKey(certificatePem);
  const n = 2000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) createVerify('RSA-SHA256').update(data).verify(key, signature);
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
