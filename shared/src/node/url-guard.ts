/**
 * Which addresses a URL input may reach. The worker fetches client URLs from
 * inside the cluster, so without this a client could make it read internal
 * services (SSRF): loopback, private, link-local (cloud metadata at
 * 169.254.169.254), multicast and reserved ranges are refused unless
 * URL_ALLOWLIST names the host or its network.
 */
import { BlockList, isIP } from 'node:net';

/** Ranges no client-supplied URL may reach. */
const BLOCKED_V4 = [
  ['0.0.0.0', 8], // "this network", incl. 0.0.0.0
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const;
const BLOCKED_V6 = [
  ['::', 128], // unspecified
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
] as const;

const blocked = new BlockList();
for (const [net, prefix] of BLOCKED_V4) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of BLOCKED_V6) blocked.addSubnet(net, prefix, 'ipv6');

/**
 * The IPv4 addresses an IPv6 address may carry, for the forms that route to
 * one: IPv4-mapped (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d, SIIT),
 * IPv4-compatible (::a.b.c.d), NAT64 with the well-known prefix
 * (64:ff9b::/96), 6to4 (2002::/16), and NAT64 with the local-use prefix
 * (64:ff9b:1::/48), where the operator picks how long its prefix is and so
 * where the IPv4 address sits (RFC 6052 §2.2: after a /48, /56, /64 or /96
 * prefix): every layout whose unused bits are zero is a candidate, and a
 * forbidden candidate refuses the address.
 */
export function embeddedIPv4s(address: string): string[] {
  if (isIP(address) !== 6) return [];
  const words = expandIPv6(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return [v4(words[6]!, words[7]!)];
  if (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) return [v4(words[6]!, words[7]!)];
  if (zeros(0, 6) && (words[6] !== 0 || words[7]! > 1)) return [v4(words[6]!, words[7]!)];
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return [v4(words[6]!, words[7]!)];
  if (words[0] === 0x2002) return [v4(words[1]!, words[2]!)];
  if (words[0] === 0x64 && words[1] === 0xff9b && words[2] === 1) {
    const b = words.flatMap((w) => [w >> 8, w & 255]);
    const zero = (from: number, to = 16) => b.slice(from, to).every((x) => x === 0);
    const dotted = (bytes: number[]) => bytes.join('.');
    const candidates: string[] = [];
    // bits 64-71 (byte 8) are zero in every layout but /96
    if (zero(8, 9) && zero(11)) candidates.push(dotted([b[6]!, b[7]!, b[9]!, b[10]!])); // /48
    if (zero(8, 9) && zero(12)) candidates.push(dotted([b[7]!, b[9]!, b[10]!, b[11]!])); // /56
    if (zero(8, 9) && zero(13)) candidates.push(dotted([b[9]!, b[10]!, b[11]!, b[12]!])); // /64
    candidates.push(dotted(b.slice(12, 16))); // /96
    return candidates;
  }
  return [];
}

/** The IPv4 address an IPv6 address carries (the first candidate of `embeddedIPv4s`), or null. */
export function embeddedIPv4(address: string): string | null {
  return embeddedIPv4s(address)[0] ?? null;
}

/** Eight 16-bit words of an IPv6 address (handles `::` and a dotted IPv4 tail). */
function expandIPv6(address: string): number[] {
  let text = address.split('%')[0]!.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -dotted[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** URL_ALLOWLIST, parsed: host names (exact, case-insensitive) and IP networks. */
export interface UrlAllowlist {
  hosts: Set<string>;
  networks: BlockList;
  empty: boolean;
}

/** Parses `host, 10.0.0.0/8, 127.0.0.1, ::1` (a bare IP is a /32 or /128). */
export function parseAllowlist(entries: readonly string[]): UrlAllowlist {
  const hosts = new Set<string>();
  const networks = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [ip, prefix] = entry.split('/') as [string, string | undefined];
    const family = isIP(ip);
    if (family) networks.addSubnet(ip, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    else hosts.add(entry);
  }
  return { hosts, networks, empty: entries.every((e) => !e.trim()) };
}

function inNetworks(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A URL's hostname without the brackets of an IPv6 literal (`[::1]` → `::1`). */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** Why `address` (reached for `hostname`) is refused, or null when it may be fetched. */
export function addressProblem(address: string, hostname: string, allow: UrlAllowlist): string | null {
  if (allow.hosts.has(hostname.toLowerCase()) || inNetworks(allow.networks, address)) return null;
  const v4s = embeddedIPv4s(address);
  const forbidden =
    v4s.length > 0
      ? v4s.find((v4) => !inNetworks(allow.networks, v4) && inNetworks(blocked, v4))
      : inNetworks(blocked, address)
        ? address
        : undefined;
  if (forbidden === undefined) return null;
  // the address is named only when the client wrote it: a name's internal address is not the client's to learn
  if (isIP(bareHost(hostname)) === 0) return `${hostname} resolves to a private or reserved address`;
  return forbidden === address
    ? `${hostname} resolves to ${address}, a private or reserved address`
    : `${hostname} resolves to ${address} (${forbidden}), a private or reserved address`;
}

/**
 * Why a URL is refused on its face — `localhost` or a literal forbidden IP —
 * before any name is resolved, or null. Lets a service refuse such a URL when
 * it is submitted (a VALIDATION_ERROR) instead of when it is fetched; names
 * that only resolve to forbidden addresses are still caught by
 * `addressProblem` at connect time.
 */
export function literalUrlProblem(url: string, allow: UrlAllowlist): string | null {
  let hostname: string;
  try {
    hostname = new URL(url).hostname.toLowerCase();
  } catch {
    return 'is not a URL';
  }
  const bare = bareHost(hostname);
  if (isIP(bare)) return addressProblem(bare, hostname, allow);
  const name = bare.replace(/\.$/, '');
  if ((name === 'localhost' || name.endsWith('.localhost')) && !allow.hosts.has(name)) {
    return `${name} is a loopback name`;
  }
  return null;
}
