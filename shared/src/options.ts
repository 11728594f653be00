/**
 * Network options: the built-in bridge driver's names (so `-d bridge` -> `-d tsnet` is a drop-in)
 * and tsnet's own under `tsnet.*`. Parsing is pure; every error names the option, the value and
 * what is accepted.
 */
import type { CreateNetworkRequest, IPAMData } from './remote-api';
import { bridgeName, isValidInterfaceName, IFNAMSIZ_MAX } from './naming';
import { Cidr, cidrContains, cidrToString, ipToBytes, isIPv4, isIPv6, normalizeIP, parseCidr } from './ip';
import { checkEnableIPv4, checkEngineGenericOptions, ENGINE_OPTIONS } from './engine-options';

export const OPT = {
  bridgeName: 'com.docker.network.bridge.name',
  enableICC: 'com.docker.network.bridge.enable_icc',
  enableIPMasquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  hostBindingIPv4: 'com.docker.network.bridge.host_binding_ipv4',
  mtu: 'com.docker.network.driver.mtu',
  containerIfacePrefix: 'com.docker.network.container_iface_prefix',
  hostBindingIPv6: 'tsnet.host_binding_ipv6',
  portRange: 'tsnet.port_range',
  cluster: 'tsnet.cluster',
} as const;

/** Every option key tsnet accepts in `-o`, with its default and meaning (the README lists these). */
export const OPTION_DOCS: Record<string, { default: string; help: string }> = {
  [OPT.bridgeName]: { default: 'tsn-<first 11 hex of the network ID>', help: 'Linux bridge name (at most 15 bytes). An existing bridge of that name is adopted and left in place on removal.' },
  [OPT.enableICC]: { default: 'true', help: 'Allow traffic between containers of this network.' },
  [OPT.enableIPMasquerade]: { default: 'true', help: 'Masquerade traffic leaving the network behind the host\'s address.' },
  [OPT.hostBindingIPv4]: { default: '0.0.0.0', help: 'Default host address for published ports (-p without an address).' },
  [OPT.mtu]: { default: 'the kernel default (1500)', help: 'MTU of the bridge and of every veth (68-65535).' },
  [OPT.containerIfacePrefix]: { default: 'eth', help: 'Prefix of the interface name inside the container.' },
  [OPT.hostBindingIPv6]: { default: '::', help: 'Default host IPv6 address for published ports on --ipv6 networks.' },
  [OPT.portRange]: { default: '49153-65535', help: 'Range tsnet picks host ports from for `-p PORT` without a host port.' },
  [OPT.cluster]: { default: '(none: a local network)', help: 'Name of a multi-host network: the same subnet on every host of the etcd cluster, joined over VXLAN (needs --etcd and --ipam-driver tsnet).' },
};

export const KNOWN_OPTIONS = Object.keys(OPTION_DOCS);

export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

export interface SubnetConfig {
  family: 4 | 6;
  pool: Cidr;
  /** Gateway address without prefix. */
  gateway: string;
  auxAddresses: Record<string, string>;
}

export interface NetworkConfig {
  id: string;
  bridge: string;
  /** True when the user named the bridge (so it may already exist and be adopted). */
  bridgeNamed: boolean;
  mtu?: number;
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  ipv6: boolean;
  hostBindingIPv4: string;
  hostBindingIPv6: string;
  containerIfacePrefix: string;
  portRange: { start: number; end: number };
  ipv4: SubnetConfig[];
  ipv6Subnets: SubnetConfig[];
  /** Options exactly as given with -o. */
  raw: Record<string, string>;
  /** Multi-host network name (tsnet.cluster), when the network spans the etcd cluster's hosts. */
  cluster?: string;
}

/** Go's strconv.ParseBool, which Docker uses for these options. */
export function parseBool(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  const s = String(value);
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new OptionError(`option ${key}: "${s}" is not a boolean; use true or false`);
}

export function parseMtu(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 68 || Number(value) > 65535) {
    throw new OptionError(`option ${OPT.mtu}: "${value}" is not a valid MTU; use a whole number from 68 to 65535`);
  }
  return Number(value);
}

export function parsePortRange(value: string): { start: number; end: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  if (!m || start < 1 || end > 65535 || start > end) {
    throw new OptionError(`option ${OPT.portRange}: "${value}" is not a port range; use START-END with 1 <= START <= END <= 65535, e.g. 49153-65535`);
  }
  return { start, end };
}

/**
 * Pools per address family a network may have. Docker sends one per --subnet (a handful at most);
 * the cap keeps a hostile request from making the driver do unbounded work.
 */
export const MAX_POOLS_PER_FAMILY = 16;

function parseSubnets(family: 4 | 6, data: IPAMData[] | null | undefined): SubnetConfig[] {
  const flag = family === 4 ? 'IPv4Data' : 'IPv6Data';
  if (data === undefined || data === null) return [];
  if (!Array.isArray(data)) throw new OptionError(`${flag} must be a list of IPAM pools`);
  if (data.length > MAX_POOLS_PER_FAMILY) {
    throw new OptionError(`${flag} has ${data.length} pools; tsnet accepts at most ${MAX_POOLS_PER_FAMILY} IPv${family} subnets per network (one per --subnet)`);
  }
  return data.map((d, i) => {
    if (!d || typeof d !== 'object' || typeof d.Pool !== 'string') {
      throw new OptionError(`${flag}[${i}]: missing Pool (the subnet, e.g. --subnet 10.20.0.0/24)`);
    }
    const pool = parseCidr(d.Pool);
    if (!pool || pool.family !== family) {
      throw new OptionError(`subnet "${d.Pool}" is not an IPv${family} prefix like ${family === 4 ? '10.20.0.0/24' : 'fd00:20::/64'}`);
    }
    if (family === 4 && pool.prefixLength > 30) {
      throw new OptionError(`subnet ${d.Pool} is too small: an IPv4 subnet needs room for a gateway and containers (/30 or larger)`);
    }
    let gateway: string;
    if (typeof d.Gateway === 'string' && d.Gateway !== '') {
      const gw = parseCidr(d.Gateway) ?? (family === 4 ? (isIPv4(d.Gateway) ? parseCidr(`${d.Gateway}/${pool.prefixLength}`) : undefined) : isIPv6(d.Gateway) ? parseCidr(`${d.Gateway}/${pool.prefixLength}`) : undefined);
      if (!gw || gw.family !== family) throw new OptionError(`gateway "${d.Gateway}" is not an IPv${family} address`);
      if (!cidrContains(pool, gw.address)) {
        throw new OptionError(`gateway ${gw.address} is outside its subnet ${cidrToString(pool)}; choose an address inside the subnet`);
      }
      if (gw.address === pool.network) {
        throw new OptionError(`gateway ${gw.address} is the network address of ${cidrToString(pool)}; choose a host address`);
      }
      gateway = gw.address;
    } else {
      throw new OptionError(`subnet ${cidrToString(pool)} has no gateway; Docker's default IPAM always sets one (--gateway)`);
    }
    const aux: Record<string, string> = {};
    for (const [name, value] of Object.entries(d.AuxAddresses ?? {})) {
      const a = parseCidr(String(value)) ?? parseCidr(`${value}/${pool.prefixLength}`);
      if (!a || !cidrContains(pool, a.address)) {
        throw new OptionError(`aux-address ${name}=${a ? a.address : value} is not inside subnet ${cidrToString(pool)}`);
      }
      aux[name] = a.address;
    }
    return { family, pool, gateway, auxAddresses: aux };
  });
}

/**
 * Turns dockerd's CreateNetwork request into a validated network configuration. Checks that need
 * the host (overlaps with routes or other networks, a bridge name in use) are the driver's.
 */
export function parseNetworkRequest(req: CreateNetworkRequest): NetworkConfig {
  const options = req.Options ?? {};
  const generic = options['com.docker.network.generic'] ?? {};
  if (typeof generic !== 'object' || Array.isArray(generic)) {
    throw new OptionError('com.docker.network.generic must be an object of -o key=value options');
  }
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(generic)) raw[k] = String(v);

  const unknown = Object.keys(raw).filter((k) => !KNOWN_OPTIONS.includes(k) && !ENGINE_OPTIONS.includes(k));
  if (unknown.length > 0) {
    throw new OptionError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; tsnet accepts: ${KNOWN_OPTIONS.join(', ')}`);
  }
  checkEngineGenericOptions(raw);
  checkEnableIPv4(options);

  let bridge = bridgeName(req.NetworkID);
  let bridgeNamed = false;
  if (raw[OPT.bridgeName] !== undefined) {
    const name = raw[OPT.bridgeName];
    // `*` is a wildcard in firewall interface matches: a bridge named `a*` would match others.
    if (!isValidInterfaceName(name) || /[*\p{Cc}]/u.test(name)) {
      throw new OptionError(`option ${OPT.bridgeName}: ${JSON.stringify(name)} is not a valid interface name; use 1 to ${IFNAMSIZ_MAX} bytes without spaces, control characters, "/", ":" or "*" (the firewall reads * as a wildcard)`);
    }
    bridge = name;
    bridgeNamed = true;
  }

  const hostBindingIPv4 = raw[OPT.hostBindingIPv4] ?? '0.0.0.0';
  if (!isIPv4(hostBindingIPv4)) {
    throw new OptionError(`option ${OPT.hostBindingIPv4}: "${hostBindingIPv4}" is not an IPv4 address; use e.g. 127.0.0.1 or 0.0.0.0`);
  }
  const hostBindingIPv6 = raw[OPT.hostBindingIPv6] ?? '::';
  if (!isIPv6(hostBindingIPv6)) {
    throw new OptionError(`option ${OPT.hostBindingIPv6}: "${hostBindingIPv6}" is not an IPv6 address; use e.g. ::1 or ::`);
  }
  const prefix = raw[OPT.containerIfacePrefix] ?? 'eth';
  if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,10}$/.test(prefix)) {
    throw new OptionError(`option ${OPT.containerIfacePrefix}: "${prefix}" is not a valid interface prefix; use 1 to 11 letters, digits, "_" or "-", starting with a letter`);
  }

  const ipv6 = options['com.docker.network.enable_ipv6'] === undefined ? false : parseBool('--ipv6', options['com.docker.network.enable_ipv6']);
  const internal = options['com.docker.network.internal'] === undefined ? false : parseBool('--internal', options['com.docker.network.internal']);

  const ipv4 = parseSubnets(4, req.IPv4Data);
  const ipv6Subnets = parseSubnets(6, req.IPv6Data);
  if (ipv4.length === 0) throw new OptionError('the network has no IPv4 subnet; tsnet needs one from Docker\'s IPAM (--subnet)');
  if (ipv6 && ipv6Subnets.length === 0) throw new OptionError('--ipv6 was given but no IPv6 subnet; add --subnet with an IPv6 prefix, e.g. fd00:20::/64');
  assertNoOverlapWithin([...ipv4, ...ipv6Subnets]);
  const cluster = raw[OPT.cluster];
  if (cluster !== undefined) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(cluster)) {
      throw new OptionError(`option ${OPT.cluster}: "${cluster}" is not a multi-host network name; use 1 to 63 letters, digits, "_", "." or "-", starting with a letter or digit`);
    }
    if (ipv6Subnets.length > 0) throw new OptionError(`option ${OPT.cluster}: multi-host networks are IPv4 only for now; drop --ipv6`);
    if (ipv4.length !== 1) throw new OptionError(`option ${OPT.cluster}: a multi-host network has exactly one IPv4 subnet (--subnet), not ${ipv4.length}`);
  }

  return {
    id: req.NetworkID,
    bridge,
    bridgeNamed,
    mtu: raw[OPT.mtu] !== undefined ? parseMtu(raw[OPT.mtu]) : undefined,
    icc: raw[OPT.enableICC] !== undefined ? parseBool(OPT.enableICC, raw[OPT.enableICC]) : true,
    masquerade: raw[OPT.enableIPMasquerade] !== undefined ? parseBool(OPT.enableIPMasquerade, raw[OPT.enableIPMasquerade]) : true,
    internal,
    ipv6: ipv6 || ipv6Subnets.length > 0,
    hostBindingIPv4: normalizeIP(hostBindingIPv4),
    hostBindingIPv6: normalizeIP(hostBindingIPv6),
    containerIfacePrefix: prefix,
    portRange: raw[OPT.portRange] !== undefined ? parsePortRange(raw[OPT.portRange]) : { start: 49153, end: 65535 },
    ipv4,
    ipv6Subnets,
    raw,
    ...(cluster !== undefined ? { cluster } : {}),
  };
}

/**
 * Prefixes are either nested or disjoint, so on a list sorted by first address two of them
 * overlap exactly when one starts before the furthest end seen so far: O(n log n).
 */
export function assertNoOverlapWithin(subnets: SubnetConfig[]): void {
  for (const family of [4, 6] as const) {
    const ranges = subnets
      .filter((s) => s.family === family)
      .map((s) => ({ pool: s.pool, ...bounds(s.pool) }))
      .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    let widest: (typeof ranges)[number] | undefined;
    for (const r of ranges) {
      if (widest && r.first <= widest.last) throw new OptionError(`subnets ${cidrToString(widest.pool)} and ${cidrToString(r.pool)} overlap`);
      if (!widest || r.last > widest.last) widest = r;
    }
  }
}

/** First and last address of a prefix, as integers. */
function bounds(c: Cidr): { first: bigint; last: bigint } {
  const bits = c.family === 4 ? 32 : 128;
  const first = ipToBytes(c.network).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  const size = 1n << BigInt(bits - c.prefixLength);
  return { first, last: first + size - 1n };
}
