import { lookup as dnsLookup } from 'node:dns';
import { request } from 'node:https';
import { BlockList, isIP, LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';

/*
 * Reading an IdP's metadata document from its metadataUrl, server to server. The URL is chosen by an
 * administrator, but the request comes from inside our network: without checks it would reach what the network
 * shields (cloud instance metadata at 169.254.169.254, databases and admin consoles on private addresses),
 * server-side request forgery. Hence, in this order:
 * 1. https only (the document names the keys sign-ins are verified with);
 * 2. the host is resolved once, and a loopback, private, link-local, unique-local, multicast, reserved or
 *    unspecified address is refused unless the IdP allows private networks; the connection goes to the address
 *    that was checked (pinned through `lookup`), so a DNS answer that changes between check and connect (DNS
 *    rebinding) cannot move it, and the socket's peer address is checked again once connected;
 * 3. no redirect is followed: a 3xx is a refusal that names its Location, for the administrator to update the URL;
 * 4. a deadline for the whole exchange and a cap on the size, counted on the bytes received, not on what
 *    Content-Length announces.
 */

/** Why a metadata document could not be read; `message` is for the administrator (stored in metadataLastError). */
export class MetadataFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataFetchError';
  }
}

export interface MetadataFetchOptions {
  allowPrivateNetwork: boolean;
  /** Largest document accepted, in bytes. */
  maxBytes?: number;
  /** Deadline for the whole request, connection included, in milliseconds. */
  timeoutMs?: number;
  /** Certificate authorities trusted beside the system's (PEM), for an IdP whose TLS certificate they issued. */
  extraCaPem?: string[];
  /** Ends the request early (server shutdown). */
  signal?: AbortSignal;
  /** Name resolution; node's by default (tests substitute one). */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

export const MAX_METADATA_BYTES = 1024 * 1024;
export const METADATA_FETCH_TIMEOUT_MS = 10_000;

/**
 * Addresses no metadata URL may reach without metadataAllowPrivateNetwork: everything that is not a public
 * unicast address. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4 address they carry.
 */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud instance metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique-local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address an IPv6 address carries (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d), if any. */
function embeddedIpv4(address: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2], 16);
  const lo = parseInt(m[3], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * Whether `address` (an IP literal) is one a metadata fetch may not reach unless private networks are allowed:
 * loopback, private, carrier-grade NAT, link-local, unique-local, multicast, documentation, reserved or
 * unspecified. Anything that is not an IP address counts as non-public.
 */
export function isNonPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const v4 = isIP(bare) === 6 ? embeddedIpv4(bare) : undefined;
  if (v4 !== undefined) return NON_PUBLIC.check(v4, 'ipv4');
  const family = isIP(bare);
  if (family === 4) return NON_PUBLIC.check(bare, 'ipv4');
  if (family === 6) return NON_PUBLIC.check(bare, 'ipv6');
  return true;
}

const systemResolve = (host: string) =>
  new Promise<{ address: string; family: number }[]>((resolve, reject) => dnsLookup(host, { all: true }, (e, addresses) => (e ? reject(e) : resolve(addresses))));

/**
 * The address to connect to for `host`: the host itself when it is an IP literal, else the first address it
 * resolves to that the policy allows.
 *
 * @throws MetadataFetchError when the host does not resolve, or only to addresses the policy refuses.
 */
export async function pinnedAddress(host: string, allowPrivateNetwork: boolean, resolve = systemResolve): Promise<{ address: string; family: 4 | 6 }> {
  const literal = host.replace(/^\[|\]$/g, '');
  const family = isIP(literal);
  let candidates: { address: string; family: number }[];
  if (family) candidates = [{ address: literal, family }];
  else {
    try {
      candidates = await resolve(host);
    } catch (e) {
      throw new MetadataFetchError(`the host ${host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const allowed = candidates.find((c) => allowPrivateNetwork || !isNonPublicAddress(c.address));
  if (!allowed) {
    throw new MetadataFetchError(
      `the host ${host} ${family ? 'is' : `resolves to ${candidates.map((c) => c.address).join(', ')}, only`} a loopback, private, link-local or otherwise non-public address; set metadataAllowPrivateNetwork to allow it`,
    );
  }
  return { address: allowed.address, family: allowed.family === 6 ? 6 : 4 };
}

/**
 * Reads the document at `url` under the rules above. Any Content-Type is accepted (IdPs serve metadata as
 * application/samlmetadata+xml, application/xml, text/xml or even text/html); the parser judges the content.
 *
 * @throws MetadataFetchError with the reason.
 */
export async function fetchMetadataDocument(url: string, options: MetadataFetchOptions): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_METADATA_BYTES;
  const timeoutMs = options.timeoutMs ?? METADATA_FETCH_TIMEOUT_MS;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new MetadataFetchError('metadataUrl is not an absolute URL');
  }
  if (target.protocol !== 'https:') throw new MetadataFetchError(`only https metadata URLs are read (got ${target.protocol.replace(/:$/, '')})`);
  const pinned = await pinnedAddress(target.hostname, options.allowPrivateNetwork, options.resolve);
  // Whatever name the request asks for, the socket connects to the address checked above.
  const lookup: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (message: string) => {
      if (settled) return;
      settle();
      req.destroy();
      reject(new MetadataFetchError(message));
    };
    const onAbort = () => fail('the server is shutting down');
    const req = request(
      target,
      {
        method: 'GET',
        lookup,
        agent: false,
        ca: options.extraCaPem?.length ? [...rootCertificates, ...options.extraCaPem] : undefined,
        headers: { accept: 'application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1', 'user-agent': 'identity-domain metadata refresh' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) return fail(`the server answered ${status} (a redirect to ${JSON.stringify(String(res.headers.location ?? '').slice(0, 200))}); redirects are not followed: set metadataUrl to where the document is`);
        if (status !== 200) return fail(`the server answered ${status} ${res.statusMessage ?? ''}`.trim());
        const announced = Number(res.headers['content-length']);
        if (Number.isFinite(announced) && announced > maxBytes) return fail(`the document is larger than ${maxBytes} bytes (Content-Length ${announced})`);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) return fail(`the document is larger than ${maxBytes} bytes`);
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (settled) return;
          settle();
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', (e) => fail(`reading the document failed: ${e.message}`));
      },
    );
    const deadline = setTimeout(() => fail(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    // The pinned address again, as the socket sees its peer: nothing between lookup and connect may change it.
    req.on('socket', (socket) =>
      socket.once('connect', () => {
        const peer = socket.remoteAddress ?? '';
        if (!options.allowPrivateNetwork && isNonPublicAddress(peer)) fail(`connected to ${peer}, a non-public address`);
      }),
    );
    req.on('error', (e) => fail(`${(e as NodeJS.ErrnoException).code ?? 'request failed'}: ${e.message}`));
    req.end();
  });
}
