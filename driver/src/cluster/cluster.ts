/**
 * The multi-host control plane of one host: registers the host in etcd on a lease, watches the
 * other hosts and the address blocks, and keeps the kernel equal to what etcd says:
 *   - one VXLAN link (VXLAN_LINK) for every multi-host network, MTU = underlay - 50;
 *   - per remote live host: one FDB entry, one neighbour, one onlink route per block it owns in a
 *     pool used on this host (flannel's routed vxlan: state grows with hosts, not containers);
 *   - the underlay filter's set of known hosts;
 *   - the fast path (fast-path-rules.ts): the same remote blocks as an nft map, and per endpoint
 *     and per network the netdev chains that forward a network's cross-host traffic past the host's IP stack.
 * etcd going away changes nothing in the kernel: entries are only removed when etcd says a host
 * is gone (its lease expired) or a block was released. Everything converges when etcd returns.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { VXLAN_LINK, cidrContains, cidrToString, parseCidr, type ClusterStatus, type NetworkConfig } from '@tsnet/shared';
import type { Logger } from '../core/driver';
import type { ClusterNetworkHooks } from '../core/driver';
import type { NetlinkHandle } from '../netlink/types';
import type { NetworkRecord } from '../state/types';
import { NftWorker } from '../firewall/nft';
import { writeInterfaceSysctl, writeSysctl } from '../host/sysctl';
import { keyCidr } from './blocks';
import { vtepMac, VXLAN_OVERHEAD, type ClusterConfig } from './config';
import { blockKey, bounded, connectEtcd, hostKey, poolKey, PREFIX, type BlockRecord, type HostRecord, type PoolRecord } from './etcd';
import { ClusterIpam, type IpamCoordinator } from './ipam';
import { openClusterKernel, type ClusterKernel, type DesiredPeers } from './kernel';
import { UnderlayFilter } from './underlay-filter';
import { FastPath } from './fast-path';
import type { FastEndpoint, FastNetwork, FastPathWant } from './fast-path-rules';

export interface Underlay {
  address: string;
  ifindex: number;
  mtu: number;
  link: string;
}

/** The underlay: the given address's link, else the IPv4 address of the default route's link. */
export async function detectUnderlay(netlink: NetlinkHandle, wanted?: string): Promise<Underlay> {
  const links = await netlink.listLinks();
  const addrs = (await netlink.listAddresses()).filter((a) => a.family === 4);
  if (wanted) {
    const a = addrs.find((x) => x.cidr.split('/')[0] === wanted);
    if (!a) throw new Error(`--host-address ${wanted} is not an address of this host; give one of ${addrs.map((x) => x.cidr.split('/')[0]).join(', ') || '(none)'}`);
    const l = links.find((x) => x.index === a.ifindex)!;
    return { address: wanted, ifindex: l.index, mtu: l.mtu, link: l.name };
  }
  const def = (await netlink.listRoutes(4)).find((r) => r.dst === '0.0.0.0/0' && r.ifindex !== undefined && r.table === 254);
  if (!def) throw new Error('cannot find the underlay: no IPv4 default route; give the host\'s underlay address with --host-address IP (or TSNET_HOST_ADDRESS)');
  const a = addrs.find((x) => x.ifindex === def.ifindex);
  const l = links.find((x) => x.index === def.ifindex);
  if (!a || !l) throw new Error(`the default route's link (ifindex ${def.ifindex}) has no IPv4 address; give --host-address IP`);
  return { address: a.cidr.split('/')[0], ifindex: l.index, mtu: l.mtu, link: l.name };
}

/** A stable, locally administered MAC for a multi-host network's bridge, derived from its name. */
export function bridgeMac(bridge: string): string {
  const h = createHash('sha256').update(bridge).digest();
  return ['02', '75', ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export class Cluster implements ClusterNetworkHooks, IpamCoordinator {
  readonly vxlanLink = VXLAN_LINK;
  readonly containerMtu: number;
  readonly self: string;
  readonly ipam: ClusterIpam;
  private readonly kernel: ClusterKernel;
  /** One libnftables worker for the underlay filter and the fast path. */
  private readonly nft = new NftWorker();
  private readonly filter = new UnderlayFilter(this.nft);
  private readonly fastPath = new FastPath(this.nft);
  /** The driver's networks (set once the driver has reconciled); the fast path waits for it. */
  private networkRecords?: () => NetworkRecord[];
  private fastPathCleared = false;
  private fastPathStatus: { networks: string[]; endpoints: number } = { networks: [], endpoints: 0 };
  private etcd!: Etcd3;
  private lease?: Lease;
  private watcher?: Watcher;
  private synced = false;
  private stopped = false;
  private healthy = false;
  private lastError?: string;
  private readonly hosts = new Map<string, HostRecord>();
  private readonly pools = new Map<string, PoolRecord>();
  /** pool cidr -> block cidr -> owner host */
  private readonly blocks = new Map<string, Map<string, string>>();
  private convergeTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private vxlanIndex?: number;
  private converging: Promise<void> = Promise.resolve();
  private remoteRoutes: string[] = [];
  private registeredAt = new Date().toISOString();

  constructor(
    private readonly cfg: ClusterConfig,
    private readonly underlay: Underlay,
    stateDir: string,
    private readonly log: Logger,
  ) {
    this.self = underlay.address;
    this.containerMtu = underlay.mtu - VXLAN_OVERHEAD;
    this.kernel = openClusterKernel();
    this.ipam = new ClusterIpam(path.join(stateDir, 'cluster-ipam.json'), this);
  }

  private get record(): HostRecord {
    return { address: this.self, hostname: os.hostname(), mac: vtepMac(this.self), vni: this.cfg.vni, port: this.cfg.port, registeredAt: this.registeredAt };
  }

  async start(): Promise<void> {
    this.ipam.load();
    await this.ensureLink();
    await writeSysctl('net.ipv4.ip_forward', '1');
    this.etcd = connectEtcd(this.cfg);
    void this.connectLoop();
    // The kernel state is small (per remote host one FDB entry and one neighbour, per block one
    // route), so comparing it now and then is cheap, and whatever was deleted by hand comes back.
    this.checkTimer = setInterval(() => this.check(), this.cfg.checkIntervalMs);
    this.checkTimer.unref();
  }

  /** The VXLAN link, created again when it is missing, down or different. */
  private async ensureLink(): Promise<void> {
    const index = await this.kernel.ensureVxlan({ name: VXLAN_LINK, vni: this.cfg.vni, local: this.self, port: this.cfg.port, linkIndex: this.underlay.ifindex, mtu: this.containerMtu, mac: vtepMac(this.self) });
    if (this.vxlanIndex !== undefined && index !== this.vxlanIndex) this.log.warn({ link: VXLAN_LINK }, 'the VXLAN link was missing, down or changed; created it again');
    this.vxlanIndex = index;
  }

  private checking = false;

  private check(): void {
    if (this.checking || this.stopped) return;
    this.checking = true;
    this.converging = this.converging
      .then(() => this.converge())
      .catch((e) => this.log.error({ err: String(e) }, 'checking the VXLAN link failed'))
      .finally(() => (this.checking = false));
  }

  /** Registers and starts watching; retried until etcd answers. Never clears the kernel. */
  private async connectLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.register();
        await this.syncAndWatch();
        return;
      } catch (e) {
        this.noteError(e);
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  private noteError(e: unknown): void {
    const msg = (e as Error).message ?? String(e);
    if (this.healthy || this.lastError !== msg) this.log.warn({ err: msg }, 'etcd not reachable; the data plane keeps its current state');
    this.healthy = false;
    this.lastError = msg;
  }

  private async register(): Promise<void> {
    const lease = this.etcd.lease(this.cfg.leaseTtl, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      if (this.stopped) return;
      this.noteError(err);
      this.lease = undefined;
      void this.reRegisterLoop();
    });
    lease.on('keepaliveSucceeded', () => {
      if (!this.healthy) this.log.info('etcd reachable again');
      this.healthy = true;
      this.lastError = undefined;
    });
    this.registeredAt = new Date().toISOString();
    try {
      await bounded('registering this host', this.cfg.endpoints, this.cfg.consensusTimeoutMs, lease.put(hostKey(this.self)).value(JSON.stringify(this.record)).exec());
    } catch (e) {
      // This lease never carried the key: stop its keepalive so only the caller's loop retries.
      lease.removeAllListeners();
      lease.release();
      throw e;
    }
    this.lease = lease;
    this.healthy = true;
    this.lastError = undefined;
    this.log.info({ host: this.self, ttl: this.cfg.leaseTtl }, 'registered in etcd');
  }

  private reRegistering = false;

  private async reRegisterLoop(): Promise<void> {
    if (this.reRegistering) return;
    this.reRegistering = true;
    try {
      await this.reRegister();
    } finally {
      this.reRegistering = false;
    }
  }

  private async reRegister(): Promise<void> {
    while (!this.stopped && !this.lease) {
      try {
        await this.register();
        // The watch may have missed events while etcd was away: read everything again.
        await this.readCluster();
        this.scheduleConverge();
      } catch (e) {
        this.noteError(e);
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  /** Replaces the view with everything under PREFIX; returns the revision it was read at. */
  private async readCluster(): Promise<number> {
    const res = await bounded('reading the cluster', this.cfg.endpoints, this.cfg.consensusTimeoutMs, this.etcd.getAll().prefix(PREFIX).exec());
    this.hosts.clear();
    this.pools.clear();
    this.blocks.clear();
    for (const kv of res.kvs) this.apply('put', kv.key.toString(), kv.value.toString());
    this.synced = true;
    return Number(res.header.revision);
  }

  private async syncAndWatch(): Promise<void> {
    const revision = await this.readCluster();
    this.scheduleConverge(0);
    const w = await this.etcd
      .watch()
      .prefix(PREFIX)
      .startRevision(String(revision + 1))
      .create();
    w.on('put', (kv) => {
      this.apply('put', kv.key.toString(), kv.value.toString());
      this.scheduleConverge();
    });
    w.on('delete', (kv) => {
      this.apply('delete', kv.key.toString(), '');
      this.scheduleConverge();
    });
    w.on('disconnected', (e) => this.noteError(e));
    w.on('connected', () => {
      this.healthy = true;
      this.lastError = undefined;
    });
    w.on('error', (e) => this.noteError(e));
    this.watcher = w;
  }

  private apply(kind: 'put' | 'delete', key: string, value: string): void {
    const rest = key.slice(PREFIX.length).split('/');
    try {
      if (rest[0] === 'hosts' && rest.length === 2) {
        if (kind === 'put') this.hosts.set(rest[1], JSON.parse(value) as HostRecord);
        else this.hosts.delete(rest[1]);
      } else if (rest[0] === 'pools' && rest.length === 2) {
        const cidr = keyCidr(rest[1]);
        if (kind === 'put') this.pools.set(cidr, JSON.parse(value) as PoolRecord);
        else this.pools.delete(cidr);
      } else if (rest[0] === 'blocks' && rest.length === 3) {
        const pool = keyCidr(rest[1]);
        const block = keyCidr(rest[2]);
        let m = this.blocks.get(pool);
        if (!m) this.blocks.set(pool, (m = new Map()));
        if (kind === 'put') m.set(block, (JSON.parse(value) as BlockRecord).host);
        else m.delete(block);
      }
    } catch (e) {
      this.log.warn({ key, err: (e as Error).message }, 'ignoring an unreadable etcd record');
    }
  }

  desired(): DesiredPeers {
    const want: DesiredPeers = { routes: [], neighbours: [], fdb: [] };
    const local = new Set(this.ipam.localPools().map((p) => p.cidr));
    for (const h of this.hosts.values()) {
      if (h.address === this.self) continue;
      want.fdb.push({ mac: h.mac, dst: h.address });
      want.neighbours.push({ ip: h.address, mac: h.mac });
    }
    for (const [pool, blocks] of this.blocks) {
      if (!local.has(pool)) continue;
      for (const [block, owner] of blocks) {
        if (owner !== this.self && this.hosts.has(owner)) want.routes.push({ dst: block, gateway: owner });
      }
    }
    return want;
  }

  scheduleConverge(delayMs = 20): void {
    if (!this.synced || this.stopped) return;
    clearTimeout(this.convergeTimer);
    this.convergeTimer = setTimeout(() => {
      this.converging = this.converging.then(() => this.converge()).catch((e) => this.log.error({ err: String(e) }, 'programming remote hosts failed; retrying'));
    }, delayMs);
  }

  /** Makes the kernel match the view; on failure tries again a little later. */
  private async converge(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.ensureLink();
      if (!this.synced) return;
      const want = this.desired();
      const r = await this.kernel.converge(VXLAN_LINK, want);
      await this.filter.apply(this.cfg.port, [...this.hosts.keys()]);
      this.remoteRoutes = want.routes.map((x) => `${x.dst} via ${x.gateway}`).sort();
      if (r.added || r.removed) this.log.info({ ...r, hosts: this.hosts.size }, 'remote hosts programmed');
      // Routes, FDB and filter are in place; the fast path is an optimisation the traffic does not
      // depend on (a veth deleted between its lookup and the nft run fails one sync): retried by the
      // next periodic check, not by the 1-s converge retry below.
      await this.syncFastPath().catch((e) => this.log.warn({ err: String(e) }, 'fast path not programmed; the next check retries'));
    } catch (e) {
      this.log.error({ err: String(e) }, 'programming remote hosts failed; retrying in 1 s');
      setTimeout(() => this.scheduleConverge(0), 1000).unref();
    }
  }

  // ---- fast path ---------------------------------------------------------------------------

  /** Called once the driver has its records (after reconcile): the fast path follows them from then on. */
  attachNetworks(records: () => NetworkRecord[]): Promise<void> {
    this.networkRecords = records;
    return this.syncFastPath().catch((e) => this.log.error({ err: String(e) }, 'programming the fast path failed; retried with the next check'));
  }

  private fastNetworks(config: NetworkConfig): Array<Omit<FastNetwork, 'bridgeIndex'>> {
    if (config.cluster === undefined || !config.icc) return [];
    return config.ipv4.map((s) => ({ bridge: config.bridge, subnet: cidrToString(s.pool), gateway: s.gateway }));
  }

  private fastEndpoint(config: NetworkConfig, ep: { hostVeth: string; ipv4?: string }): FastEndpoint | undefined {
    const a = ep.ipv4 ? parseCidr(ep.ipv4) : undefined;
    if (!a || config.cluster === undefined || !config.icc) return undefined;
    const s = config.ipv4.find((x) => cidrContains(x.pool, a.address));
    return s ? { veth: ep.hostVeth, address: a.address, subnet: cidrToString(s.pool), gateway: s.gateway } : undefined;
  }

  private async fastPathWant(): Promise<FastPathWant> {
    const nets = this.networkRecords!().filter((n) => n.config.cluster !== undefined && n.config.icc);
    const networks = nets.flatMap((n) => this.fastNetworks(n.config));
    const endpoints = nets.flatMap((n) => Object.values(n.endpoints).flatMap((e) => this.fastEndpoint(n.config, e) ?? []));
    // A chain's device must exist and `fwd` binds its device by ifindex: only links that are there.
    const idx = await this.kernel.linkIndexes([...new Set([...networks.map((n) => n.bridge), ...endpoints.map((e) => e.veth)])]);
    const want: FastPathWant = {
      vxlan: VXLAN_LINK,
      vxlanIndex: this.vxlanIndex!,
      remote: this.desired().routes.map((r) => ({ block: r.dst, via: r.gateway })),
      networks: networks.filter((n) => idx[n.bridge] !== undefined).map((n) => ({ ...n, bridgeIndex: idx[n.bridge] })),
      endpoints: endpoints.filter((e) => idx[e.veth] !== undefined),
    };
    this.fastPathStatus = { networks: [...new Set(want.networks.map((n) => n.bridge))].sort(), endpoints: want.endpoints.length };
    return want;
  }

  /** Makes the fast path's table what the view and the records say (nothing written when equal). */
  private async syncFastPath(): Promise<void> {
    if (!this.cfg.fastPath) {
      if (!this.fastPathCleared) await this.fastPath.removeAll();
      this.fastPathCleared = true;
      return;
    }
    if (!this.networkRecords || this.vxlanIndex === undefined || !this.synced) return;
    const n = await this.fastPath.sync(() => this.fastPathWant());
    if (n > 0) this.log.debug({ commands: n }, 'fast path programmed');
  }

  // ---- ClusterNetworkHooks ----------------------------------------------------------------

  async endpointCreated(config: NetworkConfig, ep: { hostVeth: string; ipv4?: string }): Promise<void> {
    const e = this.fastEndpoint(config, ep);
    if (!e || !this.cfg.fastPath || this.vxlanIndex === undefined) return;
    await this.fastPath.addEndpoint(e, VXLAN_LINK, this.vxlanIndex);
  }

  async endpointDeleted(config: NetworkConfig, hostVeth: string): Promise<void> {
    if (config.cluster === undefined || !this.cfg.fastPath) return;
    await this.fastPath.removeEndpoint(hostVeth);
  }

  /** A multi-host network came or went: its VXLAN-ingress rule and its endpoints' chains follow now. */
  async networksChanged(): Promise<void> {
    await this.syncFastPath();
  }

  async configureBridge(bridge: string): Promise<void> {
    // A bridge without a MAC of its own takes the lowest MAC of its ports, so it changes as
    // containers come and go; every container has it cached as the next hop of all remote
    // addresses (proxy ARP), and would lose traffic for seconds each time. Fix it once.
    await this.kernel.setLinkMac(bridge, bridgeMac(bridge));
    // Containers see the whole subnet on-link; the bridge answers ARP for addresses routed to
    // other hosts, at once (the default proxy_delay holds answers up to 0.8 s).
    await writeInterfaceSysctl('ipv4', bridge, 'proxy_arp', '1');
    await writeSysctl(`net/ipv4/neigh/${bridge}/proxy_delay`, '0');
  }

  // ---- IpamCoordinator ---------------------------------------------------------------------

  private within<T>(what: string, p: Promise<T>): Promise<T> {
    return bounded(what, this.cfg.endpoints, this.cfg.consensusTimeoutMs, p);
  }

  async ensurePool(cidr: string): Promise<PoolRecord> {
    const key = poolKey(cidr);
    const rec: PoolRecord = { cidr };
    await this.within(`creating multi-host subnet ${cidr}`, this.etcd.if(key, 'Create', '==', 0).then(this.etcd.put(key).value(JSON.stringify(rec))).commit());
    const now = await this.within(`reading multi-host subnet ${cidr}`, this.etcd.get(key).string());
    const got = now ? (JSON.parse(now) as PoolRecord) : rec;
    this.pools.set(cidr, got);
    return got;
  }

  async settleGateway(cidr: string, wanted: string): Promise<string> {
    const key = poolKey(cidr);
    for (let i = 0; i < 5; i++) {
      const res = await this.within(`setting the gateway of ${cidr}`, this.etcd.get(key).exec());
      const kv = res.kvs[0];
      const cur: PoolRecord = kv ? (JSON.parse(kv.value.toString()) as PoolRecord) : { cidr };
      if (cur.gateway) return cur.gateway;
      const next = JSON.stringify({ ...cur, gateway: wanted });
      const txn = kv ? this.etcd.if(key, 'Mod', '==', kv.mod_revision) : this.etcd.if(key, 'Create', '==', 0);
      const r = await this.within(`setting the gateway of ${cidr}`, txn.then(this.etcd.put(key).value(next)).commit());
      if (r.succeeded) return wanted;
    }
    throw new Error(`setting the gateway of ${cidr}: too much contention in etcd; retry`);
  }

  async claimBlock(pool: string, block: string): Promise<boolean> {
    const key = blockKey(pool, block);
    const rec: BlockRecord = { host: this.self };
    const r = await this.within(`a new address block of ${pool} for this host`, this.etcd.if(key, 'Create', '==', 0).then(this.etcd.put(key).value(JSON.stringify(rec))).commit());
    if (r.succeeded) {
      this.apply('put', key, JSON.stringify(rec));
      this.log.info({ pool, block }, 'claimed address block');
      return true;
    }
    const cur = await this.within(`reading block ${block}`, this.etcd.get(key).string());
    if (cur) this.apply('put', key, cur);
    return cur !== null && (JSON.parse(cur) as BlockRecord).host === this.self;
  }

  blockOwner(pool: string, block: string): string | undefined {
    return this.blocks.get(pool)?.get(block);
  }

  async releaseBlocks(pool: string, blocks: string[]): Promise<void> {
    const mine = JSON.stringify({ host: this.self } satisfies BlockRecord);
    for (const b of blocks) {
      const key = blockKey(pool, b);
      await this.within(`releasing block ${b}`, this.etcd.if(key, 'Value', '==', mine).then(this.etcd.delete().key(key)).commit());
    }
  }

  localPoolsChanged(): void {
    this.scheduleConverge();
  }

  // ---- status ------------------------------------------------------------------------------

  status(): ClusterStatus {
    const now = Date.now();
    const blocksOf = (host: string) => [...this.blocks.values()].flatMap((m) => [...m].filter(([, h]) => h === host).map(([b]) => b)).sort();
    return {
      etcd: { endpoints: this.cfg.endpoints, healthy: this.healthy, ...(this.lastError ? { lastError: this.lastError } : {}) },
      vxlan: { link: VXLAN_LINK, vni: this.cfg.vni, port: this.cfg.port, mtu: this.containerMtu, containerMtu: this.containerMtu },
      self: this.self,
      hosts: [...this.hosts.values()]
        .map((h) => ({ address: h.address, hostname: h.hostname, vtepMac: h.mac, leaseAgeSeconds: Math.max(0, Math.round((now - Date.parse(h.registeredAt)) / 1000)), blocks: blocksOf(h.address), self: h.address === this.self }))
        .sort((a, b) => a.address.localeCompare(b.address)),
      pools: this.ipam.localPools().map((p) => ({ cidr: p.cidr, ...(p.gateway ? { gateway: p.gateway } : {}), ownBlocks: [...p.blocks], allocated: p.allocated.length })),
      remoteRoutes: this.remoteRoutes,
      allowedVteps: [...this.hosts.keys()].sort(),
      fastPath: { enabled: this.cfg.fastPath, ...this.fastPathStatus },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.convergeTimer);
    clearInterval(this.checkTimer);
    await this.watcher?.cancel().catch(() => undefined);
    // The lease is left to expire, not revoked: a restarting driver re-registers within the TTL
    // and no other host drops its routes in between.
    this.lease?.release();
    this.etcd?.close();
    await this.kernel.close();
    await this.nft.close();
  }
}
