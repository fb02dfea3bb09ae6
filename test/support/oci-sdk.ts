import * as common from 'oci-common';
import { IdentityDomainsClient } from 'oci-identitydomains';
import type { TestServer } from './server';

/**
 * Oracle's own TypeScript SDK (npm `oci-identitydomains`, unmodified) pointed at the test server.
 * No OCI request signing: a FetchHttpClient without a signer sends the requests as they are, and each
 * call carries `authorization: "Bearer <token>"` itself (the SDK has a request field for it).
 * The client circuit breaker is disabled: it would otherwise start opossum timers (and keep Jest alive)
 * and count our 4xx answers towards opening the circuit.
 */
export function ociClient(s: TestServer): IdentityDomainsClient {
  const client = new IdentityDomainsClient(
    { httpClient: new common.FetchHttpClient(null) },
    { circuitBreaker: new common.CircuitBreaker({ disableClientCircuitBreaker: true }) },
  );
  // The SDK appends "/admin/v1/..." itself: the endpoint is the domain URL only.
  client.endpoint = s.baseUrl;
  return client;
}

/** Runs an SDK call that must fail and returns the OciError it raised (status, service code and message from our body). */
export async function ociError(call: Promise<unknown>): Promise<common.OciError> {
  try {
    await call;
  } catch (e) {
    if (e instanceof common.OciError) return e;
    throw new Error(`expected an OciError, got ${e instanceof Error ? e.stack : JSON.stringify(e)}`);
  }
  throw new Error('expected the SDK call to fail, it succeeded');
}
