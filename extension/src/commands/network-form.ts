/**
 * The "create network" form: each validator returns undefined when the text is acceptable, or the
 * message shown under the input while the user types; the body sent to Docker is built from the
 * answers, and for tsnet checked with the driver's own option parser first. Pure, no vscode import.
 */
import { KNOWN_OPTIONS, OPT, OptionError, cidrContains, cidrToString, cidrsOverlap, isValidInterfaceName, normalizeIP, parseCidr, parseMtu, parseNetworkRequest, type Cidr } from '@tsnet/shared';
import type { CreateNetworkBody } from '../docker/docker-types';
import { isTsnetDriver } from '../docker/model';
import type { NetworkModel } from '../docker/model-types';
import { hostAddressError, NAME_PATTERN } from './form-rules';

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
