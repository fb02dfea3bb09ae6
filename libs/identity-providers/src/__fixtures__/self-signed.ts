import 'reflect-metadata'; // @peculiar/x509 relies on it (tsyringe) and refuses to load without it
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 } as const;

/** A fresh RSA key and a self-signed certificate for tests: what an IdP's signing credential looks like. */
export async function selfSignedCertificate(
  subject: string,
  validity: { notBefore: Date; notAfter: Date } = { notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 365 * 86400_000) },
): Promise<{ pem: string; der: string; cert: x509.X509Certificate }> {
  const crypto = webcrypto as unknown as Crypto;
  const keys = (await crypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    { serialNumber: '01', name: subject, notBefore: validity.notBefore, notAfter: validity.notAfter, signingAlgorithm: RSA, keys },
    crypto,
  );
  return { pem: cert.toString('pem'), der: Buffer.from(cert.rawData).toString('base64'), cert };
}
