/**
 * Address-block arithmetic of the cluster IPAM (Calico-style block affinity): a pool is cut into
 * fixed-size blocks; a host claims whole blocks in etcd and hands out addresses inside its own
 * blocks without asking anyone. Pure functions over IPv4 numbers.
 */
import { parseCidr } from '@tsnet/shared';

export const DEFAULT_BLOCK_PREFIX = 26;

export function ipToNum(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function numToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export interface Pool {
  cidr: string;
  network: number;
  prefix: number;
  size: number;
}

export function parsePool(cidr: string): Pool {
  const c = parseCidr(cidr);
  if (!c || c.family !== 4) throw new Error(`"${cidr}" is not an IPv4 subnet; multi-host networks take an IPv4 --subnet such as 10.60.0.0/16`);
  if (c.prefixLength > 30) throw new Error(`subnet ${cidr} is too small for a multi-host network; use /30 or larger (a /16 gives 1024 blocks of 64)`);
  return { cidr: `${c.network}/${c.prefixLength}`, network: ipToNum(c.network), prefix: c.prefixLength, size: 2 ** (32 - c.prefixLength) };
}

export function blockPrefix(pool: Pool, wanted = DEFAULT_BLOCK_PREFIX): number {
  return Math.max(pool.prefix, wanted);
}

/** Every block of the pool, in address order. */
export function poolBlocks(pool: Pool, prefix = blockPrefix(pool)): string[] {
  const size = 2 ** (32 - prefix);
  const out: string[] = [];
  for (let n = pool.network; n < pool.network + pool.size; n += size) out.push(`${numToIp(n)}/${prefix}`);
  return out;
}

export function blockOf(pool: Pool, ip: string, prefix = blockPrefix(pool)): string | undefined {
  const n = ipToNum(ip);
  if (n < pool.network || n >= pool.network + pool.size) return undefined;
  const size = 2 ** (32 - prefix);
  return `${numToIp(n - ((n - pool.network) % size))}/${prefix}`;
}

/** Usable addresses of a block: not the pool's network or broadcast address, nor one in `reserved`. */
export function blockAddresses(pool: Pool, block: string, reserved: ReadonlySet<string>): string[] {
  const [base, len] = block.split('/');
  const start = ipToNum(base);
  const size = 2 ** (32 - Number(len));
  const out: string[] = [];
  for (let n = start; n < start + size; n++) {
    if (n === pool.network || n === pool.network + pool.size - 1) continue;
    const ip = numToIp(n);
    if (!reserved.has(ip)) out.push(ip);
  }
  return out;
}

/** etcd key segment of a CIDR ("10.60.0.0/16" -> "10.60.0.0-16"). */
export const cidrKey = (cidr: string): string => cidr.replace('/', '-');
export const keyCidr = (key: string): string => key.replace(/-(\d+)$/, '/$1');
