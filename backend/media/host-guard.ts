// SSRF guard for image downloads: task data is user input, so an image URL
// (or a redirect) may point at cloud metadata services, link-local addresses
// or internal hosts. Checked twice: on the URL's host (IP literals and known
// metadata names) and on every address DNS returns, at connect time (a DNS
// lookup hook), so a name that resolves to 169.254.169.254 is caught too and
// DNS rebinding between check and connect does not help.
import dns from 'node:dns';
import net from 'node:net';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link_local' | 'metadata' | 'unspecified' | 'reserved';

export interface HostPolicy {
  /** Loopback and private ranges. */
  allowPrivate: boolean;
  /** Link-local and metadata addresses. */
  allowLinkLocal: boolean;
}

/** Host names of cloud metadata services (always link-local class). */
export const METADATA_HOSTS = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.internal',
]);

/** Metadata service addresses outside 169.254/16 (AWS IPv6, Alibaba). */
const METADATA_ADDRESSES = new Set(['fd00:ec2::254', '100.100.100.200']);

function v4(a: string): number[] {
  return a.split('.').map(Number);
}

function expandV6(a: string): number[] | undefined {
  // returns 8 16-bit groups; handles an embedded IPv4 tail
  let s = a.toLowerCase().split('%')[0];
  const m = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (m) {
    const [p, q, r, t] = v4(m[2]);
    s = `${m[1]}${((p << 8) | q).toString(16)}:${((r << 8) | t).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(Math.max(0, fill)).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function classifyV4(a: string): AddressClass {
  if (METADATA_ADDRESSES.has(a)) return 'metadata';
  const [p, q] = v4(a);
  if (p === 169 && q === 254) return a === '169.254.169.254' || a === '169.254.170.2' ? 'metadata' : 'link_local';
  if (p === 0) return 'unspecified';
  if (p === 127) return 'loopback';
  if (p === 10 || (p === 172 && q >= 16 && q <= 31) || (p === 192 && q === 168) || (p === 100 && q >= 64 && q <= 127)) return 'private';
  if (p >= 224) return 'reserved'; // multicast, 240/4, broadcast
  return 'public';
}

/** Classify an IP address (v4, v6, v4-mapped v6). Non-IPs are 'reserved'. */
export function classifyAddress(address: string): AddressClass {
  const a = address.replace(/^\[|\]$/g, '');
  if (net.isIPv4(a)) return classifyV4(a);
  if (!net.isIPv6(a.split('%')[0])) return 'reserved';
  const g = expandV6(a);
  if (!g) return 'reserved';
  const lower = a.toLowerCase();
  if (METADATA_ADDRESSES.has(lower)) return 'metadata';
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  // IPv6 forms that carry an IPv4 address are judged by the IPv4 inside, so
  // that ::a9fe:a9fe or 2002:a9fe:a9fe:: do not reach 169.254.169.254:
  const v4At = (hi: number, lo: number) => classifyV4(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), ::ffff:0:a.b.c.d (SIIT),
  // 64:ff9b::/96 (NAT64)
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return v4At(g[6], g[7]);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4At(g[6], g[7]);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4At(g[6], g[7]);
  // 6to4: 2002:AABB:CCDD::/48 routes to a.b.c.d
  if (g[0] === 0x2002) return v4At(g[1], g[2]);
  // Teredo: 2001:0::/32, server at groups 2-3, client (bits inverted) at 6-7
  if (g[0] === 0x2001 && g[1] === 0) {
    const client = v4At(g[6] ^ 0xffff, g[7] ^ 0xffff);
    return client !== 'public' ? client : v4At(g[2], g[3]);
  }
  if ((g[0] & 0xffc0) === 0xfe80) return 'link_local';
  if ((g[0] & 0xfe00) === 0xfc00) return 'private';
  if ((g[0] & 0xff00) === 0xff00) return 'reserved';
  return 'public';
}

/** Why an address class is refused under a policy, or undefined when allowed. */
export function refusal(cls: AddressClass, policy: HostPolicy): string | undefined {
  switch (cls) {
    case 'public':
      return undefined;
    case 'loopback':
    case 'private':
    case 'unspecified':
      return policy.allowPrivate ? undefined : `a ${cls === 'private' ? 'private-network' : cls} address (set ALLOW_PRIVATE_IMAGE_HOSTS=true to allow)`;
    case 'link_local':
    case 'metadata':
      return policy.allowLinkLocal ? undefined : `a ${cls === 'metadata' ? 'cloud metadata' : 'link-local'} address (set ALLOW_LINK_LOCAL=true to allow)`;
    case 'reserved':
      return 'a multicast or reserved address';
  }
}

export class ForbiddenHostError extends Error {
  constructor(
    readonly host: string,
    readonly addressClass: AddressClass,
    reason: string,
  ) {
    super(`Image host ${host} is ${reason}`);
    this.name = 'ForbiddenHostError';
  }
}

/** Check a URL's host before any connection: IP literals and metadata names. Throws ForbiddenHostError. */
export function checkUrlHost(url: string, policy: HostPolicy): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, '');
  if (net.isIP(host.split('%')[0])) {
    const cls = classifyAddress(host);
    const why = refusal(cls, policy);
    if (why) throw new ForbiddenHostError(host, cls, why);
    return;
  }
  if (METADATA_HOSTS.has(host)) {
    const why = refusal('metadata', policy);
    if (why) throw new ForbiddenHostError(host, 'metadata', why);
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    const why = refusal('loopback', policy);
    if (why) throw new ForbiddenHostError(host, 'loopback', why);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A dns.lookup replacement for http.request/axios that refuses forbidden
 * addresses: every address DNS returns must be allowed.
 */
export function guardedLookup(policy: HostPolicy, base: typeof dns.lookup = dns.lookup) {
  return (hostname: string, options: dns.LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts: dns.LookupOptions = typeof options === 'object' && options !== null ? options : typeof options === 'number' ? { family: options } : {};
    base(hostname, { ...opts, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      const list = addresses as dns.LookupAddress[];
      for (const a of list) {
        const cls = classifyAddress(a.address);
        const why = refusal(cls, policy);
        if (why) {
          const e = new ForbiddenHostError(hostname, cls, `${why}: it resolves to ${a.address}`) as ForbiddenHostError & { code: string };
          e.code = 'EFORBIDDENHOST';
          return cb(e, '');
        }
      }
      if (!list.length) return cb(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      if (opts.all) cb(null, list);
      else cb(null, list[0].address, list[0].family);
    });
  };
}
