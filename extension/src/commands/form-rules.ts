/**
 * Rules the command forms share: Docker's name pattern and what makes an address a host address
 * of a subnet. Pure, no vscode import.
 */
import { cidrContains, cidrToString, ipFamily, normalizeIP, type Cidr } from '@tsnet/shared';

/** Docker's rule for object names (daemon/names: RestrictedNamePattern). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function hostAddressError(what: string, ip: string, subnet: Cidr): string | undefined {
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
