/** Address and prefix arithmetic for IPv4 and IPv6, on top of ipaddr.js. */
import * as ipaddr from 'ipaddr.js';

export interface Cidr {
  family: 4 | 6;
  /** The address as written (may have host bits set, e.g. a gateway "10.0.0.1/24"). */
  address: string;
  prefixLength: number;
  /** The network address (host bits cleared). */
  network: string;
}

export function isIPv4(s: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

export function isIPv6(s: string): boolean {
  return !s.includes('%') && ipaddr.IPv6.isValid(s) && !ipaddr.IPv4.isValid(s);
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}

export function ipFamily(s: string): 4 | 6 | undefined {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : undefined;
}

/** Parses "addr/len"; returns undefined when it is not one. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return undefined;
  const prefixLength = Number(lenText);
  const family = ipFamily(addr);
  if (!family) return undefined;
  if (prefixLength > (family === 4 ? 32 : 128)) return undefined;
  const bytes = ipaddr.parse(addr).toByteArray();
  const masked = maskBytes(bytes, prefixLength);
  return { family, address: normalizeIP(addr), prefixLength, network: bytesToIP(masked) };
}

export function normalizeIP(s: string): string {
  return ipaddr.parse(s).toString();
}

export function ipToBytes(s: string): number[] {
  return ipaddr.parse(s).toByteArray();
}

export function bytesToIP(bytes: number[]): string {
  return ipaddr.fromByteArray(bytes).toString();
}

function maskBytes(bytes: number[], prefixLength: number): number[] {
  return bytes.map((b, i) => {
    const bits = Math.max(0, Math.min(8, prefixLength - i * 8));
    return bits === 0 ? 0 : b & (0xff << (8 - bits)) & 0xff;
  });
}

export function cidrToString(c: Pick<Cidr, 'network' | 'prefixLength'>): string {
  return `${c.network}/${c.prefixLength}`;
}

/** True when address `ip` lies inside `cidr`. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const fam = ipFamily(ip);
  if (fam !== cidr.family) return false;
  const masked = bytesToIP(maskBytes(ipToBytes(ip), cidr.prefixLength));
  return masked === cidr.network;
}

/** True when the two prefixes share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const shorter = a.prefixLength <= b.prefixLength ? a : b;
  const longer = shorter === a ? b : a;
  return cidrContains(shorter, longer.network);
}

/** The MAC Docker's bridge driver derives from an IPv4 address: 02:42 + the 4 address bytes. */
export function macFromIPv4(ip: string): string {
  const bytes = [0x02, 0x42, ...ipToBytes(ip)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function isValidMac(s: string): boolean {
  return macProblem(s) === undefined;
}

/**
 * Why `s` cannot be a container's MAC address, or undefined when it can: six hex pairs, not a
 * multicast or broadcast address (the low bit of the first byte set) and not all zeros.
 */
export function macProblem(s: string): string | undefined {
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) return 'is not six hex pairs separated by ":"';
  const bytes = s.split(':').map((h) => parseInt(h, 16));
  if (bytes[0] & 1) return bytes.every((b) => b === 0xff) ? 'is the broadcast address' : 'is a multicast address (the lowest bit of the first byte is set)';
  if (bytes.every((b) => b === 0)) return 'is all zeros';
  return undefined;
}

/** A random locally administered unicast MAC. */
export function randomMac(): string {
  const bytes = Array.from({ length: 6 }, () => Math.floor(Math.random() * 256));
  bytes[0] = (bytes[0] & 0xfe) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
