/**
 * Pure validation and shaping of what the user types into the commands' inputs. Each validator
 * returns undefined when the text is acceptable, or the message shown under the input while the
 * user types. No vscode import: unit-tested with mocha.
 */
import {
  KNOWN_OPTIONS,
  OPT,
  OptionError,
  cidrContains,
  cidrToString,
  cidrsOverlap,
  ipFamily,
  isValidInterfaceName,
  normalizeIP,
  parseCidr,
  parseMtu,
  parseNetworkRequest,
  type Cidr,
} from '@tsnet/shared';
import { isTsnetDriver } from '../docker/model';
import type { NetworkModel } from '../docker/model-types';

/** Docker's rule for object names (daemon/names: RestrictedNamePattern). */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function validateNetworkName(name: string, existingNames: readonly string[]): string | undefined {
  if (name === '') return 'Enter a name for the network.';
  if (!NAME_PATTERN.test(name)) return `"${name}" is not a valid name: start with a letter or digit, then letters, digits, "_", "." or "-".`;
  if (existingNames.includes(name)) return `A network named "${name}" already exists.`;
  return undefined;
}

export function validateSubnet(text: string, family: 4 | 6, networks: readonly NetworkModel[], optional = true): string | undefined {
  const s = text.trim();
  if (s === '') return optional ? undefined : `Enter an IPv${family} subnet, e.g. ${family === 4 ? '10.20.0.0/24' : 'fd00:20::/64'}.`;
  const c = parseCidr(s);
  if (!c) return `"${s}" is not a subnet; write address/prefix, e.g. ${family === 4 ? '10.20.0.0/24' : 'fd00:20::/64'}.`;
  if (c.family !== family) return `${s} is an IPv${c.family} subnet; this field takes IPv${family}.`;
  if (normalizeIP(c.address) !== c.network) return `${s} has host bits set; the subnet is ${cidrToString(c)}.`;
  if (family === 4 && c.prefixLength > 30) return `${s} is too small: an IPv4 subnet needs room for a gateway and containers (/30 or larger).`;
  if (family === 6 && c.prefixLength > 126) return `${s} is too small for a gateway and containers.`;
  for (const n of networks) {
    for (const sub of n.subnets) {
      const other = parseCidr(sub.subnet);
      if (other && cidrsOverlap(c, other)) return `${s} overlaps ${sub.subnet} of network "${n.name}".`;
    }
  }
  return undefined;
}

function hostAddressError(what: string, ip: string, subnet: Cidr): string | undefined {
  if (ipFamily(ip) === undefined) return `"${ip}" is not an IP address.`;
  if (ipFamily(ip) !== subnet.family) return `${what} ${ip} is IPv${ipFamily(ip)} but the subnet ${cidrToString(subnet)} is IPv${subnet.family}.`;
  if (!cidrContains(subnet, ip)) return `${what} ${ip} is outside the subnet ${cidrToString(subnet)}.`;
  if (normalizeIP(ip) === subnet.network) return `${ip} is the network address of ${cidrToString(subnet)}; choose a host address.`;
  if (subnet.family === 4 && subnet.prefixLength < 31) {
    const bytes = subnet.network.split('.').map(Number);
    const hostBits = 32 - subnet.prefixLength;
    const n = ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3] + 2 ** hostBits - 1;
    const broadcast = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    if (normalizeIP(ip) === broadcast) return `${ip} is the broadcast address of ${cidrToString(subnet)}; choose a host address.`;
  }
  return undefined;
}

/** Gateway is optional (Docker picks the first address); when given it must be a host address of the subnet. */
export function validateGateway(text: string, subnet: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const c = parseCidr(subnet);
  if (!c) return 'Enter a subnet first.';
  return hostAddressError('Gateway', s, c);
}

export function validateIpRange(text: string, subnet: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const sub = parseCidr(subnet);
  if (!sub) return 'Enter a subnet first.';
  const r = parseCidr(s);
  if (!r) return `"${s}" is not a range; write it as a prefix inside the subnet, e.g. ${sub.family === 4 ? sub.network + '/' + Math.min(32, sub.prefixLength + 1) : sub.network + '/' + Math.min(128, sub.prefixLength + 1)}.`;
  if (r.family !== sub.family || r.prefixLength < sub.prefixLength || !cidrContains(sub, r.network)) {
    return `IP range ${s} is not inside the subnet ${cidrToString(sub)}.`;
  }
  return undefined;
}

export function validateMtu(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  try {
    parseMtu(s);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export function validateBridgeName(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  return isValidInterfaceName(s) ? undefined : `"${s}" is not a valid interface name: 1 to 15 bytes, no spaces, "/" or ":".`;
}

/** "a=b, c=d" -> { a: 'b', c: 'd' }; values may contain "=" but not ",". */
export function parseKeyValues(text: string): { values: Record<string, string>; error?: string } {
  const values: Record<string, string> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { values, error: `"${part}" is not key=value.` };
    const key = part.slice(0, eq).trim();
    if (/\s/.test(key)) return { values, error: `The key "${key}" contains spaces.` };
    values[key] = part.slice(eq + 1).trim();
  }
  return { values };
}

export function validateLabels(text: string): string | undefined {
  return parseKeyValues(text).error;
}

/** Driver options (-o). For tsnet the keys are checked against what the driver accepts. */
export function validateDriverOptions(text: string, driver: string): string | undefined {
  const { values, error } = parseKeyValues(text);
  if (error) return error;
  if (isTsnetDriver(driver)) {
    const unknown = Object.keys(values).filter((k) => !KNOWN_OPTIONS.includes(k));
    if (unknown.length > 0) return `tsnet does not know ${unknown.join(', ')}; it accepts ${KNOWN_OPTIONS.join(', ')}.`;
  }
  return undefined;
}

export interface CreateNetworkInput {
  name: string;
  driver: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  ipv6: boolean;
  ipv6Subnet?: string;
  internal: boolean;
  attachable: boolean;
  mtu?: string;
  bridgeName?: string;
  labels?: string;
  options?: string;
}

/** The body of POST /networks/create (dockerode's createNetwork) for what the user entered. */
export interface CreateNetworkBody {
  Name: string;
  Driver: string;
  CheckDuplicate: boolean;
  Internal: boolean;
  Attachable: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export function buildCreateNetworkBody(input: CreateNetworkInput): CreateNetworkBody {
  const options = parseKeyValues(input.options ?? '').values;
  if (input.mtu?.trim()) options[OPT.mtu] = input.mtu.trim();
  if (input.bridgeName?.trim()) options[OPT.bridgeName] = input.bridgeName.trim();
  const config: CreateNetworkBody['IPAM']['Config'] = [];
  if (input.subnet?.trim()) {
    config.push({
      Subnet: input.subnet.trim(),
      ...(input.gateway?.trim() ? { Gateway: input.gateway.trim() } : {}),
      ...(input.ipRange?.trim() ? { IPRange: input.ipRange.trim() } : {}),
    });
  }
  if (input.ipv6 && input.ipv6Subnet?.trim()) config.push({ Subnet: input.ipv6Subnet.trim() });
  return {
    Name: input.name,
    Driver: input.driver,
    CheckDuplicate: true,
    Internal: input.internal,
    Attachable: input.attachable,
    EnableIPv6: input.ipv6,
    IPAM: { Driver: 'default', Config: config },
    Options: options,
    Labels: parseKeyValues(input.labels ?? '').values,
  };
}

/**
 * For the tsnet driver: what the driver itself would answer to this network, checked before
 * Docker is asked (same parser as the driver). Undefined when it would accept it.
 */
export function previewTsnetRejection(body: CreateNetworkBody): string | undefined {
  const v4 = body.IPAM.Config.filter((c) => parseCidr(c.Subnet)?.family === 4);
  const v6 = body.IPAM.Config.filter((c) => parseCidr(c.Subnet)?.family === 6);
  if (v4.length === 0) return undefined; // Docker's IPAM picks a subnet and gateway itself.
  const withGateway = (c: { Subnet: string; Gateway?: string }) => {
    const sub = parseCidr(c.Subnet)!;
    const gw = c.Gateway ?? firstHost(sub);
    return { Pool: c.Subnet, Gateway: `${gw}/${sub.prefixLength}` };
  };
  try {
    parseNetworkRequest({
      NetworkID: '0'.repeat(64),
      Options: { 'com.docker.network.enable_ipv6': body.EnableIPv6, 'com.docker.network.internal': body.Internal, 'com.docker.network.generic': body.Options },
      IPv4Data: v4.map(withGateway),
      IPv6Data: v6.map(withGateway),
    });
    return undefined;
  } catch (e) {
    return e instanceof OptionError ? e.message : String(e);
  }
}

function firstHost(c: Cidr): string {
  const parts = c.family === 4 ? c.network.split('.').map(Number) : undefined;
  if (parts) {
    parts[3] += 1;
    return parts.join('.');
  }
  return normalizeIP(c.network.replace(/::$/, '::1'));
}

/** Static address for connect: optional; must lie inside one of the network's subnets. */
export function validateStaticIp(text: string, network: Pick<NetworkModel, 'name' | 'subnets'>): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  const fam = ipFamily(s);
  if (!fam) return `"${s}" is not an IP address.`;
  const subnets = network.subnets.filter((x) => x.family === fam);
  if (subnets.length === 0) return `Network "${network.name}" has no IPv${fam} subnet.`;
  let last: string | undefined;
  for (const sub of subnets) {
    const c = parseCidr(sub.subnet);
    if (!c) continue;
    last = hostAddressError('Address', s, c);
    if (!last) {
      if (sub.gateway && normalizeIP(sub.gateway) === normalizeIP(s)) return `${s} is the gateway of "${network.name}".`;
      return undefined;
    }
  }
  return last;
}

const ALIAS_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/;

export function parseAliases(text: string): { aliases: string[]; error?: string } {
  const aliases = text.split(/[\s,]+/).filter((a) => a !== '');
  const bad = aliases.find((a) => !ALIAS_PATTERN.test(a));
  return bad ? { aliases, error: `"${bad}" is not a valid alias: letters, digits, "_", "." and "-".` } : { aliases };
}

/** Splits a command line like a POSIX shell would for words and quotes (no expansions). */
export function splitCommand(text: string): { argv: string[]; error?: string } {
  const argv: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) cur += text[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      cur += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote) return { argv, error: `Unclosed ${quote} quote.` };
  if (inWord) argv.push(cur);
  return { argv };
}

export function validateImage(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return 'Enter an image, e.g. busybox:latest.';
  if (/\s/.test(s)) return 'An image reference has no spaces.';
  return /^[a-z0-9]([a-z0-9._/:@-]*)$/i.test(s) ? undefined : `"${s}" is not an image reference.`;
}

export function validateContainerName(text: string): string | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  return NAME_PATTERN.test(s) ? undefined : `"${s}" is not a valid container name: letters, digits, "_", "." or "-", starting with a letter or digit.`;
}

/** Ports that usually speak HTTP(S); the tree offers "open in browser" for them. */
const HTTP_PORTS = new Set([80, 443, 3000, 4200, 5000, 5173, 8000, 8008, 8080, 8081, 8088, 8443, 8888, 9000, 9090]);
const HTTPS_PORTS = new Set([443, 8443]);

export function isHttpPort(port: { proto: string; containerPort: number }): boolean {
  return port.proto === 'tcp' && HTTP_PORTS.has(port.containerPort);
}

/** URL of a published port as seen from this machine (the Docker host's name when DOCKER_HOST is tcp://). */
export function portUrl(port: { hostIP: string; hostPort: number; containerPort: number }, dockerHost?: string): string {
  const scheme = HTTPS_PORTS.has(port.containerPort) ? 'https' : 'http';
  let host = port.hostIP;
  if (host === '0.0.0.0' || host === '::' || host === '') {
    const remote = dockerHost && /^(tcp|ssh|https?):\/\//.test(dockerHost) ? new URL(dockerHost.replace(/^tcp:/, 'http:')).hostname : undefined;
    host = remote || 'localhost';
  }
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${scheme}://${host}:${port.hostPort}/`;
}

/** The message of an error from dockerode (Docker's own words), without the HTTP wrapper. */
export function dockerErrorMessage(err: unknown): string {
  const e = err as { json?: { message?: string } | string; reason?: string; message?: string; statusCode?: number };
  if (e && typeof e.json === 'object' && e.json?.message) return e.json.message;
  if (e && typeof e.json === 'string' && e.json.trim()) {
    try {
      const parsed = JSON.parse(e.json) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      return e.json.trim();
    }
  }
  const msg = e?.message ?? String(err);
  return msg.replace(/^\(HTTP code \d+\)\s*[a-z ]*-\s*/i, '').trim();
}
