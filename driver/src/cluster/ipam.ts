/**
 * Docker's remote IPAM API (/IpamDriver.*) for multi-host networks, backed by etcd with block
 * affinity: this host claims whole blocks of a pool in etcd (a transaction that only succeeds if
 * nobody holds the block) and allocates addresses inside its own blocks alone, from a local,
 * crash-safe file. So a host keeps allocating while etcd is down; only a new block or a pool
 * this host has never seen waits for etcd, and fails with a clear error after a bounded time.
 * `--ip` is honoured cluster-wide: an address in a free block claims that block for this host;
 * an address in another host's block is refused (it would be routed to that host).
 * `--ip-range` limits what is handed out without `--ip` to that range, and the blocks this host
 * claims for it to blocks that overlap it (`--ip` may still name any address of the subnet, as
 * with Docker's own IPAM).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blockAddresses, blockOf, ipToNum, numToIp, parsePool, poolBlocks, type Pool } from './blocks';

export const ADDRESS_SPACE = 'tsnet';
export const GATEWAY_TYPE = 'com.docker.network.gateway';

export interface LocalPool {
  cidr: string;
  gateway?: string;
  /** Blocks this host owns (a copy of what etcd says, kept to allocate while etcd is down). */
  blocks: string[];
  allocated: string[];
  /** --ip-range on this host: addresses without --ip come from it only. */
  range?: string;
}

export interface IpamState {
  pools: Record<string, LocalPool>;
}

/** What the IPAM needs from the cluster: etcd transactions and the watched view. */
export interface IpamCoordinator {
  readonly self: string;
  /** Creates the pool record if absent; returns it. Needs etcd. */
  ensurePool(cidr: string): Promise<{ cidr: string; gateway?: string }>;
  /** Sets the pool's gateway if unset; returns the gateway in force. Needs etcd. */
  settleGateway(cidr: string, wanted: string): Promise<string>;
  /** Claims a block for this host; false if another host holds it. Needs etcd. */
  claimBlock(pool: string, block: string): Promise<boolean>;
  /** Owner of a block as last seen in etcd (undefined: free). */
  blockOwner(pool: string, block: string): string | undefined;
  /** Gives up this host's blocks of a pool. Best effort. */
  releaseBlocks(pool: string, blocks: string[]): Promise<void>;
  /** The set of pools used on this host changed (routes follow it). */
  localPoolsChanged(): void;
}

export class IpamError extends Error {}

export class ClusterIpam {
  state: IpamState = { pools: {} };
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly coord: IpamCoordinator,
  ) {}

  load(): void {
    try {
      const s = JSON.parse(fs.readFileSync(this.file, 'utf8')) as IpamState;
      if (s && typeof s.pools === 'object') this.state = s;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read the cluster IPAM state ${this.file}: ${(e as Error).message}`);
    }
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(this.state));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }

  /** One IPAM call at a time: allocation reads and writes the same blocks. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  localPools(): LocalPool[] {
    return Object.values(this.state.pools);
  }

  capabilities() {
    return { RequiresMACAddress: false, RequiresRequestReplay: false };
  }

  addressSpaces() {
    return { LocalDefaultAddressSpace: ADDRESS_SPACE, GlobalDefaultAddressSpace: ADDRESS_SPACE };
  }

  requestPool(req: { AddressSpace?: string; Pool?: string; SubPool?: string; V6?: boolean }): Promise<{ PoolID: string; Pool: string; Data: Record<string, string> }> {
    return this.serial(async () => {
      if (req.V6) throw new IpamError('tsnet IPAM: multi-host networks are IPv4 only for now; create the network without --ipv6');
      if (!req.Pool) throw new IpamError('tsnet IPAM: give the subnet with --subnet (e.g. --subnet 10.60.0.0/16); the same subnet on every host makes one multi-host network');
      const pool = parsePool(req.Pool);
      const range = req.SubPool ? parseRange(pool, req.SubPool) : undefined;
      if (!this.state.pools[pool.cidr]) {
        for (const other of Object.values(this.state.pools)) {
          const o = parsePool(other.cidr);
          if (pool.network < o.network + o.size && o.network < pool.network + pool.size) {
            throw new IpamError(`tsnet IPAM: subnet ${pool.cidr} overlaps ${o.cidr}, already used by a multi-host network on this host`);
          }
        }
        const rec = await this.coord.ensurePool(pool.cidr);
        this.state.pools[pool.cidr] = { cidr: pool.cidr, gateway: rec.gateway, blocks: [], allocated: [], ...(range ? { range: range.cidr } : {}) };
        this.save();
        this.coord.localPoolsChanged();
      } else if (this.state.pools[pool.cidr].range !== range?.cidr) {
        const p = this.state.pools[pool.cidr];
        if (range) p.range = range.cidr;
        else delete p.range;
        this.save();
      }
      return { PoolID: pool.cidr, Pool: pool.cidr, Data: {} };
    });
  }

  releasePool(req: { PoolID: string }): Promise<Record<string, never>> {
    return this.serial(async () => {
      const p = this.state.pools[req.PoolID];
      if (!p) return {};
      delete this.state.pools[req.PoolID];
      this.save();
      this.coord.localPoolsChanged();
      await this.coord.releaseBlocks(p.cidr, p.blocks).catch(() => undefined);
      return {};
    });
  }

  requestAddress(req: { PoolID: string; Address?: string; Options?: Record<string, string> | null }): Promise<{ Address: string; Data: Record<string, string> }> {
    return this.serial(async () => {
      const p = this.state.pools[req.PoolID];
      if (!p) throw new IpamError(`tsnet IPAM: unknown pool "${req.PoolID}"; it was not requested on this host (RequestPool)`);
      const pool = parsePool(p.cidr);
      const wanted = req.Address ? req.Address.split('/')[0] : undefined;
      if (wanted !== undefined && blockOf(pool, wanted) === undefined) throw new IpamError(`tsnet IPAM: ${wanted} is not inside the subnet ${p.cidr}`);
      if (req.Options?.RequestAddressType === GATEWAY_TYPE) {
        const gw = wanted ?? numToIp(pool.network + 1);
        if (p.gateway !== gw) {
          p.gateway = await this.coord.settleGateway(p.cidr, gw);
          this.save();
        }
        if (wanted !== undefined && p.gateway !== wanted) {
          throw new IpamError(`tsnet IPAM: the gateway of multi-host subnet ${p.cidr} is ${p.gateway} on every host (set by the first host); use --gateway ${p.gateway} or leave it out`);
        }
        return { Address: `${p.gateway}/${pool.prefix}`, Data: {} };
      }
      const ip = wanted !== undefined ? await this.take(p, pool, wanted) : await this.next(p, pool);
      p.allocated.push(ip);
      this.save();
      return { Address: `${ip}/${pool.prefix}`, Data: {} };
    });
  }

  releaseAddress(req: { PoolID: string; Address: string }): Promise<Record<string, never>> {
    return this.serial(async () => {
      const p = this.state.pools[req.PoolID];
      const ip = req.Address.split('/')[0];
      if (!p || ip === p.gateway) return {};
      const i = p.allocated.indexOf(ip);
      if (i >= 0) {
        p.allocated.splice(i, 1);
        this.save();
      }
      return {};
    });
  }

  private reserved(p: LocalPool): Set<string> {
    const s = new Set(p.allocated);
    if (p.gateway) s.add(p.gateway);
    return s;
  }

  private async take(p: LocalPool, pool: Pool, ip: string): Promise<string> {
    const block = blockOf(pool, ip)!;
    if (this.reserved(p).has(ip) || ipToNum(ip) === pool.network || ipToNum(ip) === pool.network + pool.size - 1) {
      throw new IpamError(`tsnet IPAM: ${ip} is already in use in ${p.cidr}`);
    }
    if (!p.blocks.includes(block)) {
      const owner = this.coord.blockOwner(p.cidr, block);
      if (owner !== undefined && owner !== this.coord.self) {
        throw new IpamError(`tsnet IPAM: ${ip} is in block ${block}, which belongs to host ${owner}; run the container there, or pick an address in a block of this host (${p.blocks.join(', ') || 'none yet'}) or in a free block`);
      }
      if (!(await this.coord.claimBlock(p.cidr, block))) {
        throw new IpamError(`tsnet IPAM: ${ip} is in block ${block}, which another host claimed just now; pick another address`);
      }
      p.blocks.push(block);
      this.save();
    }
    return ip;
  }

  private async next(p: LocalPool, pool: Pool): Promise<string> {
    const reserved = this.reserved(p);
    const range = p.range ? parsePool(p.range) : undefined;
    const inRange = (ip: string) => !range || (ipToNum(ip) >= range.network && ipToNum(ip) < range.network + range.size);
    const free = (b: string) => blockAddresses(pool, b, reserved).filter(inRange);
    for (const b of p.blocks) {
      const f = free(b);
      if (f.length > 0) return f[0];
    }
    // A new block: the only allocation step that needs etcd.
    for (const b of poolBlocks(pool)) {
      if (p.blocks.includes(b) || this.coord.blockOwner(p.cidr, b) !== undefined) continue;
      if (free(b).length === 0) continue;
      if (await this.coord.claimBlock(p.cidr, b)) {
        p.blocks.push(b);
        this.save();
        return free(b)[0];
      }
    }
    if (range) throw new IpamError(`tsnet IPAM: --ip-range ${range.cidr} of subnet ${p.cidr} has no free address for this host (its blocks are full or belong to other hosts); remove containers, use a larger --ip-range, or give --ip`);
    throw new IpamError(`tsnet IPAM: subnet ${p.cidr} has no free address block left for this host; remove containers or use a larger subnet`);
  }
}

/** --ip-range of a multi-host subnet: an IPv4 CIDR inside it. */
function parseRange(pool: Pool, subPool: string): Pool {
  let r: Pool;
  try {
    r = parsePool(subPool);
  } catch {
    throw new IpamError(`tsnet IPAM: --ip-range "${subPool}" is not an IPv4 CIDR of /30 or larger inside the subnet ${pool.cidr} (e.g. ${numToIp(pool.network)}/${Math.min(pool.prefix + 8, 30)})`);
  }
  if (r.network < pool.network || r.network + r.size > pool.network + pool.size) {
    throw new IpamError(`tsnet IPAM: --ip-range ${r.cidr} is not inside the subnet ${pool.cidr}`);
  }
  return r;
}
