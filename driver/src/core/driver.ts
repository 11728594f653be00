/**
 * The Driver: the only place that decides. Each remote-API call becomes a list of steps with
 * undos, run under its network's lock (held alone by network calls, shared by endpoint calls) and
 * its endpoint's queue; kernel work goes through the netlink and firewall
 * adapters, and every change a restart needs is persisted before dockerd hears that it succeeded
 * (Join's and a port-less Leave's, which it does not need, right after).
 */
import {
  cidrsOverlap,
  cidrToString,
  cidrContains,
  macProblem,
  macFromIPv4,
  parseCidr,
  parseNetworkRequest,
  checkEndpointOptions,
  vethContainerName,
  vethHostName,
  vethRetiredName,
  OptionError,
  PROTO_NAMES,
  type CreateEndpointRequest,
  type CreateEndpointResponse,
  type CreateNetworkRequest,
  type EndpointOperInfoResponse,
  type EndpointRequest,
  type JoinRequest,
  type JoinResponse,
  type NetworkConfig,
  type NetworkStatus,
  type ProgramExternalConnectivityRequest,
  type PortBinding,
} from '@tsnet/shared';
import type { Firewall, PortMapRule } from '../firewall/types';
import type { NetlinkHandle } from '../netlink/types';
import { records, type EndpointRecord, type NetworkRecord, type PortMapRecord, type StateDocument } from '../state/types';
import type { SaveOptions, Store } from '../state/store';
import { StateRepository } from '../state/repository';

import { ConflictError, DriverError, NotFoundError } from './errors';
import { BackgroundWork, KeyedQueue, SharedExclusiveLock } from './queue';
import { LinkReaper } from './link-reaper';
import { runSteps, type Step } from './steps';
import { planPortMaps, toPortBinding, validateBinding, type BoundSocket } from './ports';
import { bridgeSteps, build, deleteLinkIfPresent, toFirewallNetwork, vethSteps, type KernelParams } from './provision';

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export type { KernelParams } from './provision';
export { toFirewallNetwork } from './provision';

export interface DriverDeps {
  netlink: NetlinkHandle;
  /**
   * Conntrack clean-up, on a netlink handle of its own: a conntrack dump takes ~10 ms and must
   * not hold up link changes queued behind it in the same worker.
   */
  conntrack: Pick<NetlinkHandle, 'deleteConntrackFor'>;
  firewall: Firewall;
  store: Store;
  log: Logger;
  params: KernelParams;
  /** Sockets of these protocols bound by host processes (to refuse a published port in use). */
  boundSockets: (protos: ReadonlyArray<'tcp' | 'udp'>) => Promise<BoundSocket[]>;
  /** Initial state (from Store.load()). */
  state: StateDocument;
  /** Deletes veths after DeleteEndpoint's reply (default: a LinkReaper on `netlink`). */
  reaper?: LinkReaper;
  /** Multi-host networks (tsnet.cluster); absent when the driver runs without etcd. */
  cluster?: ClusterNetworkHooks;
}

/** What a multi-host network needs from the cluster module (driver/src/cluster). */
export interface ClusterNetworkHooks {
  /** The VXLAN link remote hosts are reached through. */
  readonly vxlanLink: string;
  /** Container MTU that fits in the underlay after VXLAN's 50 bytes. */
  readonly containerMtu: number;
  /** Bridge settings for routed multi-host traffic (proxy ARP for remote addresses of the subnet). */
  configureBridge(bridge: string): Promise<void>;
  /** The fast path of a new endpoint's veth (multi-host networks only). */
  endpointCreated?(config: NetworkConfig, ep: { hostVeth: string; ipv4?: string }): Promise<void>;
  /** Removes it again. */
  endpointDeleted?(config: NetworkConfig, hostVeth: string): Promise<void>;
  /** A multi-host network came or went: the fast path follows the records. */
  networksChanged?(): Promise<void>;
}


export class Driver {
  /** The one owner of networks and endpoints in memory. */
  readonly repository: StateRepository;
  /** Network operations hold their network alone; endpoint operations share it. */
  private readonly networks = new SharedExclusiveLock();
  /** Calls for one endpoint run one after another. */
  private readonly endpoints = new KeyedQueue();
  /** Host ports are shared by every network: planned and programmed one endpoint at a time. */
  private readonly ports = new KeyedQueue();
  /** Endpoint IDs and addresses taken by a CreateEndpoint still under way. */
  private readonly reserved = new Set<string>();
  /** Endpoints created by this process whose veth has not been handed to a Join yet. */
  private readonly unjoined = new Set<string>();
  private portCursor = 0;
  /** Link names a CreateNetwork or CreateEndpoint under way is about to create. */
  private readonly creatingLinks = new Set<string>();

  private readonly reaper: LinkReaper;
  /** Interface names whose deferred deletion (after DeleteEndpoint answered) has not finished. */
  private readonly retiring = new Map<string, Promise<void>>();

  constructor(private readonly deps: DriverDeps) {
    this.repository = new StateRepository(deps.state, deps.store);
    deps.store.onBackgroundError = (e) => deps.log.error({ err: String(e) }, 'could not make the store durable; the objects are written again with the next save');
    this.reaper = deps.reaper ?? new LinkReaper(deps.netlink);
  }

  /** The state, to read (status, tests); reconcile and docker-sync change it through `repository`. */
  get state(): Readonly<StateDocument> {
    return this.repository.snapshot;
  }

  // ---- networks ----------------------------------------------------------------------------

  createNetwork(req: CreateNetworkRequest): Promise<void> {
    const config = parseNetworkRequest(req);
    if (config.cluster !== undefined) {
      if (!this.deps.cluster) throw new OptionError(`option tsnet.cluster: this tsnet driver has no etcd configured; start it with --etcd URL (or TSNET_ETCD) on every host`);
      config.mtu ??= this.deps.cluster.containerMtu;
    }
    // The lock is per network ID: two networks asking for one bridge name would otherwise both
    // pass the checks below and share the bridge. The name is held from the first moment.
    if (this.creatingLinks.has(config.bridge)) {
      return Promise.reject(new ConflictError(`option com.docker.network.bridge.name: bridge "${config.bridge}" is being created for another network right now; choose another name`));
    }
    this.creatingLinks.add(config.bridge);
    return this.createNetworkHolding(config).finally(() => this.creatingLinks.delete(config.bridge));
  }

  private createNetworkHolding(config: NetworkConfig): Promise<void> {
    return this.networks.exclusive(config.id, async () => {
      if (this.repository.network(config.id)) throw new ConflictError(`network ${config.id.slice(0, 12)} already exists in tsnet`);
      await this.checkNetworkFitsHost(config);
      const existing = await this.deps.netlink.getLink(config.bridge);
      let adopted = false;
      if (existing) {
        if (existing.kind !== 'bridge') {
          throw new ConflictError(`option com.docker.network.bridge.name: "${config.bridge}" is already a ${existing.kind ?? 'network'} interface, not a bridge; choose another name`);
        }
        adopted = config.bridgeNamed;
      }
      const record: NetworkRecord = { config, bridgeAdopted: adopted, createdAt: new Date().toISOString(), endpoints: records(), addedAddresses: [] };
      const steps: Step[] = [];
      if (existing && !adopted) {
        if (!this.repository.isPendingLink(config.bridge)) {
          throw new ConflictError(`bridge "${config.bridge}" already exists but no tsnet network records it, so tsnet did not make it and will not delete it; remove it (ip link del ${config.bridge}) or name another bridge with -o com.docker.network.bridge.name`);
        }
        // Ours: journalled by an earlier attempt in this run that could not remove it.
        steps.push({ name: 'remove leftover bridge', do: () => this.deleteLinkIfPresent(config.bridge) });
      }
      steps.push(
        ...bridgeSteps(this.deps, {
          config,
          adopted,
          existing: adopted ? existing : undefined,
          beforeCreate: () => this.intend(config.bridge),
          added: record.addedAddresses,
        }),
      );
      const addNetwork = () => this.repository.putNetwork(record);
      const removeNetwork = () => this.repository.removeNetwork(config.id);
      steps.push({
        name: 'persist network',
        do: async () => {
          await this.persist(addNetwork, removeNetwork, () => this.repository.markNetworkDirty(config.id));
          this.settle(config.bridge);
        },
        undo: () => this.persist(removeNetwork, addNetwork, () => this.repository.markNetworkDirty(config.id)),
      });
      try {
        await runSteps(steps, (step, err) => this.deps.log.error({ step, err: String(err) }, 'undo failed'));
      } catch (e) {
        if (!adopted) await this.settleIfGone(config.bridge);
        throw e;
      }
      if (config.cluster !== undefined) await this.fastPathChanged(() => this.deps.cluster?.networksChanged?.());
      this.deps.log.info({ network: config.id, bridge: config.bridge, adopted }, 'network created');
    });
  }

  deleteNetwork(networkId: string): Promise<void> {
    return this.networks.exclusive(networkId, async () => {
      const net = this.networkForRequest(networkId);
      const { netlink, firewall } = this.deps;
      // dockerd removes endpoints first; any still here are leftovers (a container that vanished).
      for (const ep of Object.values(net.endpoints)) {
        await this.removePortMaps(net, ep);
        await this.deleteLinkIfPresent(ep.hostVeth);
        this.unjoined.delete(ep.id);
        this.repository.markEndpointDirty(ep.id);
      }
      await this.background.drain(net.config.id);
      await firewall.removeNetwork(toFirewallNetwork(net.config));
      if (net.bridgeAdopted) {
        for (const a of net.addedAddresses ?? []) await netlink.deleteAddress(net.config.bridge, a).catch(() => undefined);
      } else {
        await this.deleteLinkIfPresent(net.config.bridge);
      }
      this.repository.removeNetwork(net.config.id);
      await this.repository.markNetworkDirty(net.config.id).save();
      if (net.config.cluster !== undefined) await this.fastPathChanged(() => this.deps.cluster?.networksChanged?.());
      this.deps.log.info({ network: net.config.id, bridge: net.config.bridge }, 'network deleted');
    });
  }

  /** Refuses a network whose subnets collide with another tsnet network or a host route, or whose bridge is taken. */
  private async checkNetworkFitsHost(config: NetworkConfig): Promise<void> {
    const subnets = [...config.ipv4, ...config.ipv6Subnets];
    for (const other of this.repository.networks()) {
      if (other.config.bridge === config.bridge) {
        throw new ConflictError(`option com.docker.network.bridge.name: bridge "${config.bridge}" is already used by tsnet network ${other.config.id.slice(0, 12)}; choose another name`);
      }
      for (const s of subnets) {
        for (const o of [...other.config.ipv4, ...other.config.ipv6Subnets]) {
          if (cidrsOverlap(s.pool, o.pool)) {
            throw new ConflictError(`subnet ${cidrToString(s.pool)} overlaps ${cidrToString(o.pool)} of tsnet network ${other.config.id.slice(0, 12)}; choose a subnet that does not overlap`);
          }
        }
      }
    }
    const links = await this.deps.netlink.listLinks();
    const ownBridge = links.find((l) => l.name === config.bridge);
    // A multi-host network's remote blocks are routed over the VXLAN link before it exists here.
    const vxlan = config.cluster !== undefined ? links.find((l) => l.name === this.deps.cluster?.vxlanLink) : undefined;
    for (const family of [4, 6] as const) {
      const mine = subnets.filter((s) => s.family === family);
      if (mine.length === 0) continue;
      for (const r of await this.deps.netlink.listRoutes(family)) {
        const dst = parseCidr(r.dst);
        if (!dst || dst.prefixLength === 0) continue;
        if (ownBridge && r.ifindex === ownBridge.index) continue;
        if (vxlan && r.ifindex === vxlan.index) continue;
        if (family === 6 && dst.network.startsWith('fe80:')) continue;
        for (const s of mine) {
          if (cidrsOverlap(s.pool, dst)) {
            const dev = links.find((l) => l.index === r.ifindex)?.name;
            throw new ConflictError(`subnet ${cidrToString(s.pool)} overlaps the host route ${r.dst}${dev ? ` on ${dev}` : ''}; choose a subnet that does not overlap the host's routes`);
          }
        }
      }
    }
  }

  // ---- endpoints ---------------------------------------------------------------------------

  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
    return this.onEndpoint(req, async () => {
      const net = this.networkForRequest(req.NetworkID);
      if (this.repository.findEndpoint(req.EndpointID) || this.reserved.has(req.EndpointID)) throw new ConflictError(`endpoint ${req.EndpointID.slice(0, 12)} already exists`);
      checkEndpointOptions(req.Options);
      const iface = req.Interface ?? {};
      const ipv4 = iface.Address || undefined;
      const ipv6 = iface.AddressIPv6 || undefined;
      if (!ipv4) throw new DriverError('the endpoint has no IPv4 address; tsnet needs Docker\'s IPAM to assign one');
      this.checkAddressFits(net, ipv4, 4);
      if (ipv6) this.checkAddressFits(net, ipv6, 6);
      // Other CreateEndpoints of this network run alongside: hold the ID and addresses until
      // the record is in place.
      const held = [req.EndpointID, ...[ipv4, ipv6].filter((a): a is string => !!a).map((a) => `${net.config.id}|${a.split('/')[0]}`)];
      for (const h of held.slice(1)) if (this.reserved.has(h)) throw new ConflictError(`address ${h.split('|')[1]} is already being given to another endpoint on this network`);
      for (const h of held) this.reserved.add(h);
      try {
        let mac = iface.MacAddress || '';
        const response: CreateEndpointResponse = {};
        const macWrong = mac ? macProblem(mac) : undefined;
        if (macWrong) throw new DriverError(`MAC address "${mac}" ${macWrong}; use a unicast address of six hex pairs like 02:42:0a:00:00:02`);
        if (!mac) {
          mac = macFromIPv4(ipv4.split('/')[0]);
          response.Interface = { MacAddress: mac };
        }
        const ep: EndpointRecord = {
          id: req.EndpointID,
          networkId: net.config.id,
          hostVeth: vethHostName(req.EndpointID),
          containerVeth: vethContainerName(req.EndpointID),
          mac,
          ipv4,
          ipv6,
          joined: false,
          ports: [],
          createdAt: new Date().toISOString(),
        };
        const addEndpoint = () => {
          this.repository.putEndpoint(net, ep);
        };
        const removeEndpoint = () => {
          this.repository.removeEndpoint(net, ep.id);
        };
        const names = [ep.hostVeth, ep.containerVeth];
        for (const n of names) if (this.creatingLinks.has(n)) throw new ConflictError(`endpoint ${ep.id.slice(0, 12)}: interface name ${n} is being created for another endpoint right now (endpoint IDs that share their first 11 hex digits share interface names)`);
        for (const n of names) this.creatingLinks.add(n);
        try {
          for (const n of names) await this.retiring.get(n);
          const what = `endpoint ${ep.id.slice(0, 12)}`;
          for (const n of names) this.checkLinkRecords(n, what);
          // The journal names the pair by its host end. Whether it was there before this call
          // decides, should the kernel find the names taken, whether the links are ours.
          const journalled = this.repository.isPendingLink(ep.hostVeth);
          const appeared = () =>
            new ConflictError(`${what}: an interface named ${ep.hostVeth} or ${ep.containerVeth} appeared while tsnet was creating it; tsnet does not delete what it did not make: remove it and retry`);
          const create = (replaceLeftover: boolean) =>
            vethSteps(this.deps, {
              config: net.config,
              hostVeth: ep.hostVeth,
              containerVeth: ep.containerVeth,
              mac,
              beforeCreate: () => this.intend(ep.hostVeth),
              replaceLeftover,
              nameTaken: replaceLeftover ? appeared : () => new NameTaken(),
            })[0];
          // No lookup first: the kernel refuses (EEXIST, touching nothing) a name that is taken,
          // and only then is it looked at.
          const createVeth: Step = {
            name: `create veth ${ep.hostVeth}`,
            do: async () => {
              try {
                await create(false).do();
              } catch (e) {
                if (!(e instanceof NameTaken)) throw e;
                if (!journalled) await this.disown(ep.hostVeth);
                let leftover = false;
                // The endpoint's own record may be in place already (written side by side).
                for (const n of names) leftover = (await this.checkLinkName(n, what, ep.hostVeth, journalled, ep.id)) || leftover;
                if (!leftover) throw appeared();
                // Ours, journalled by an earlier attempt that could not remove it: replace it.
                await create(true).do();
              }
            },
            undo: create(false).undo,
          };
          const persistEndpoint: Step = {
            name: 'persist endpoint',
            // Written before the answer, fsync'd just after (see Store): dockerd does not wait for the disk.
            do: () => this.persist(addEndpoint, removeEndpoint, () => this.repository.markEndpointDirty(ep.id), { durable: false }),
            undo: () => this.persist(removeEndpoint, addEndpoint, () => this.repository.markEndpointDirty(ep.id)),
          };
          await this.sideBySide(createVeth, persistEndpoint)
            .then(() => (net.config.cluster !== undefined ? this.fastPathChanged(() => this.deps.cluster?.endpointCreated?.(net.config, ep)) : undefined))
            .catch(async (e) => {
              await this.settleIfGone(ep.hostVeth);
              throw e;
            });
          this.settle(ep.hostVeth);
          this.unjoined.add(ep.id);
        } finally {
          for (const n of names) this.creatingLinks.delete(n);
        }
        return response;
      } finally {
        for (const h of held) this.reserved.delete(h);
      }
    });
  }

  private checkAddressFits(net: NetworkRecord, cidr: string, family: 4 | 6): void {
    const a = parseCidr(cidr);
    const subnets = family === 4 ? net.config.ipv4 : net.config.ipv6Subnets;
    if (!a || a.family !== family) throw new DriverError(`endpoint address "${cidr}" is not an IPv${family} address with prefix`);
    if (!subnets.some((s) => cidrContains(s.pool, a.address))) {
      throw new DriverError(`endpoint address ${a.address} is outside the network's subnets (${subnets.map((s) => cidrToString(s.pool)).join(', ')})`);
    }
    const other = this.repository.endpointsWithAddress(net, a.address)[0];
    if (other) throw new ConflictError(`address ${a.address} is already used by endpoint ${other.id.slice(0, 12)} on this network`);
  }

  deleteEndpoint(req: EndpointRequest): Promise<void> {
    return this.onEndpoint(req, async () => {
      const net = this.networkForRequest(req.NetworkID);
      const ep = this.endpointForRequest(net, req.EndpointID);
      await this.removePortMaps(net, ep);
      // Docker needs nothing of the veth any more (after Leave its container end is back in the
      // host namespace without addresses). Before the answer it is only taken out of use: down,
      // off the bridge and renamed (well under a millisecond); the kernel's deletion, which waits
      // for RCU grace periods (~15-30 ms), runs after the answer, batched with others, in a
      // netlink worker of its own. The journal line makes the removal durable and names the veth
      // (under both names) for reconcile, should the driver die before the deletion ran.
      await this.deps.store.journalDeletion(ep.id, ep.hostVeth, net.config.id);
      const retired = vethRetiredName(ep.hostVeth);
      const present = await this.deps.netlink.retireLink(ep.hostVeth, retired);
      this.repository.removeEndpoint(net, ep.id);
      this.unjoined.delete(ep.id);
      this.saveLater(this.repository.markEndpointDirty(ep.id));
      if (net.config.cluster !== undefined) await this.fastPathChanged(() => this.deps.cluster?.endpointDeleted?.(net.config, ep.hostVeth));
      // The container end keeps its name until the kernel deletes the pair: a CreateEndpoint
      // that needs the same names (an ID with the same first 11 hex digits) waits for it.
      const gone = present ? this.reaper.delete(retired) : Promise.resolve();
      const names = [ep.hostVeth, ep.containerVeth];
      const settled = gone.catch(() => undefined);
      for (const n of names) this.retiring.set(n, settled);
      void settled.then(() => {
        for (const n of names) if (this.retiring.get(n) === settled) this.retiring.delete(n);
      });
      this.background.run(net.config.id, async () => {
        await gone;
        this.deps.store.deletionDone(ep.id, ep.hostVeth, net.config.id);
      });
    });
  }

  /** Removes an endpoint's port maps from the kernel; conntrack entries follow in the background. */
  private async removePortMaps(net: NetworkRecord, ep: EndpointRecord): Promise<void> {
    if (ep.ports.length === 0) return;
    await this.deps.firewall.removePortMaps(ep.ports.map((p) => toRule(net, p)));
    const datagrams = ep.ports.some((p) => p.proto !== 'tcp');
    ep.ports = [];
    this.repository.markEndpointDirty(ep.id);
    // A UDP flow keeps its conntrack entry (and so its old DNAT) while packets keep coming: it
    // must be gone before the port can be published again. A new TCP connection has a new tuple,
    // so TCP needs no flush; skipping it matters, because a conntrack dump walks the whole hash
    // table (~10 ms of kernel time here, which slows everything else on a 2-core host).
    if (datagrams) await this.forgetConnections(ep);
  }

  join(req: JoinRequest): Promise<JoinResponse> {
    return this.onEndpoint(req, async () => {
      const net = this.networkForRequest(req.NetworkID);
      const ep = this.endpointForRequest(net, req.EndpointID);
      if (typeof req.SandboxKey !== 'string' || !req.SandboxKey.startsWith('/')) throw new DriverError('Join: SandboxKey must be the path of the container\'s network namespace');
      // An endpoint this process created and nobody joined yet has its veth: no kernel round trip
      // (it would queue behind other containers' work in the netlink worker).
      const link = this.unjoined.delete(ep.id) || (await this.deps.netlink.getLink(ep.hostVeth));
      if (!link) {
        // The pair vanished (its namespace went away): make it again so the container gets an interface.
        await build(vethSteps(this.deps, { config: net.config, hostVeth: ep.hostVeth, containerVeth: ep.containerVeth, mac: ep.mac }));
      }
      ep.sandboxKey = req.SandboxKey;
      ep.joined = true;
      // Informative only (restart logic copes without it): written after the answer.
      this.saveAfterReply(this.repository.markEndpointDirty(ep.id));
      const res: JoinResponse = { InterfaceName: { SrcName: ep.containerVeth, DstPrefix: net.config.containerIfacePrefix } };
      if (!net.config.internal) {
        res.Gateway = net.config.ipv4[0].gateway;
        if (ep.ipv6 && net.config.ipv6Subnets.length > 0) res.GatewayIPv6 = net.config.ipv6Subnets[0].gateway;
      }
      return res;
    });
  }

  leave(req: EndpointRequest): Promise<void> {
    return this.onEndpoint(req, async () => {
      const net = this.networkForRequest(req.NetworkID);
      const ep = this.endpointForRequest(net, req.EndpointID);
      const hadPorts = ep.ports.length > 0;
      await this.removePortMaps(net, ep);
      ep.joined = false;
      ep.sandboxKey = undefined;
      // Written before the answer when port maps went (a restart must not bring them back),
      // fsync'd after it: what loses the page cache loses the kernel's maps too.
      if (hadPorts) await this.repository.markEndpointDirty(ep.id).save({ durable: false });
      else this.saveAfterReply(this.repository.markEndpointDirty(ep.id));
    });
  }

  // ---- port publishing ---------------------------------------------------------------------

  programExternalConnectivity(req: ProgramExternalConnectivityRequest): Promise<void> {
    return this.onEndpoint(req, () =>
      this.ports.run('host', async () => {
        const net = this.networkForRequest(req.NetworkID);
        const ep = this.endpointForRequest(net, req.EndpointID);
        const raw = req.Options?.['com.docker.network.portmap'] ?? [];
        if (!Array.isArray(raw)) throw new DriverError('com.docker.network.portmap must be a list of port bindings');
        const bindings = raw.map((b, i) => validateBinding(b, i));
        if (bindings.length === 0) return;
        if (net.config.internal) throw new DriverError('ports cannot be published from an --internal network: nothing enters or leaves it');
        const previous = ep.ports;
        const taken = this.allPortMaps().filter((p) => !previous.includes(p));
        // Only the protocols published can clash (sock_diag sees no SCTP sockets).
        const protos = (['tcp', 'udp'] as const).filter((p) => bindings.some((b) => PROTO_NAMES[b.Proto] === p));
        const bound = protos.length > 0 ? await this.deps.boundSockets(protos) : [];
        let planned: PortMapRecord[] = [];
        // A map element the store does not know (another tsnet instance, a stale leftover) makes
        // the kernel answer "File exists": plan again around it, a few times at most.
        for (let attempt = 0; ; attempt++) {
          planned = planPortMaps({
            bindings: dedupeBindings(bindings),
            containerIPv4: ep.ipv4?.split('/')[0],
            containerIPv6: ep.ipv6?.split('/')[0],
            hostBindingIPv4: net.config.hostBindingIPv4,
            hostBindingIPv6: net.config.hostBindingIPv6,
            ipv6: net.config.ipv6,
            portRange: net.config.portRange,
            taken,
            bound,
            cursor: this.portCursor || net.config.portRange.start,
          });
          const picked = planned.filter((p) => p.picked).map((p) => p.hostPort);
          if (picked.length > 0) this.portCursor = Math.max(...picked) + 1;
          try {
            await this.programPorts(net, ep, previous, planned);
            break;
          } catch (e) {
            const clash = /File exists/.test(String((e as Error).message));
            if (!clash) throw e;
            if (picked.length === 0 || attempt >= 4) {
              throw new ConflictError(`host port ${planned.map((p) => `${p.hostIP}:${p.hostPort}/${p.proto}`).join(', ')} is already mapped in the kernel's tsnet table by something this driver did not record (another tsnet instance?); choose another host port`);
            }
            taken.push(...planned.filter((p) => p.picked));
          }
        }
        this.deps.log.info({ endpoint: ep.id, ports: planned.map((p) => `${p.hostIP}:${p.hostPort}->${p.containerIP}:${p.containerPort}/${p.proto}`) }, 'ports published');
      }),
    );
  }

  private programPorts(net: NetworkRecord, ep: EndpointRecord, previous: PortMapRecord[], planned: PortMapRecord[]): Promise<void> {
    const remove = this.removePortMapsStep(net, planned);
    const program: Step = { name: 'program port maps', do: remove.undo, undo: remove.do };
    const record = this.recordPortsStep(ep, previous, planned, 'persist port maps');
    if (previous.length === 0) return this.sideBySide(program, record);
    return runSteps([this.removePortMapsStep(net, previous, 'remove previous port maps'), program, record], (step, err) => this.deps.log.error({ step, err: String(err) }, 'undo failed'));
  }

  /** Takes these port maps out of the kernel (undo: puts them back). */
  private removePortMapsStep(net: NetworkRecord, maps: PortMapRecord[], name = 'remove port maps'): Required<Step> {
    const rules = maps.map((p) => toRule(net, p));
    return { name, do: () => this.deps.firewall.removePortMaps(rules), undo: () => this.deps.firewall.addPortMaps(rules) };
  }

  /**
   * The endpoint's recorded port maps go from `from` to `to` (undo: back, durably). Recorded
   * before the answer by one journal line (a write(2), like the kernel's maps lost only with the
   * page cache); the endpoint's file is written and fsync'd after the answer.
   */
  private recordPortsStep(ep: EndpointRecord, from: PortMapRecord[], to: PortMapRecord[], name: string): Step {
    const set = (ports: PortMapRecord[]) => {
      const before = ep.ports;
      ep.ports = ports;
      try {
        this.deps.store.journalPorts(ep.id, ep.networkId, ports);
      } catch (e) {
        ep.ports = before;
        throw e;
      }
    };
    return {
      name,
      do: async () => {
        set(to);
        this.saveAfterReply(this.deps.store);
      },
      undo: async () => {
        set(from);
        await this.deps.store.save();
      },
    };
  }

  revokeExternalConnectivity(req: EndpointRequest): Promise<void> {
    return this.onEndpoint(req, async () => {
      const net = this.networkForRequest(req.NetworkID);
      const ep = this.endpointForRequest(net, req.EndpointID);
      if (ep.ports.length === 0) return;
      const previous = ep.ports;
      // Recorded before the answer: a restart must not bring the maps back.
      await this.sideBySide(this.removePortMapsStep(net, previous), this.recordPortsStep(ep, previous, [], 'persist port maps removed'));
      if (previous.some((p) => p.proto !== 'tcp')) await this.forgetConnections(ep);
    });
  }

  endpointOperInfo(req: EndpointRequest): EndpointOperInfoResponse {
    const net = this.networkForRequest(req.NetworkID);
    const ep = this.endpointForRequest(net, req.EndpointID);
    return {
      Value: {
        'com.docker.network.endpoint.macaddress': ep.mac,
        'com.docker.network.portmap': ep.ports.map(toPortBinding),
        'tsnet.host_veth': ep.hostVeth,
      },
    };
  }

  // ---- queries ---------------------------------------------------------------------------

  private allPortMaps(): PortMapRecord[] {
    return this.repository.portMaps();
  }

  /** Networks and endpoints as the status API shows them, with what the kernel has right now. */
  async describe(): Promise<NetworkStatus[]> {
    const links = new Set((await this.deps.netlink.listLinks()).map((l) => l.name));
    return this.repository.networks().map((n) => ({
      id: n.config.id,
      bridge: n.config.bridge,
      bridgeAdopted: n.bridgeAdopted,
      present: links.has(n.config.bridge),
      createdAt: n.createdAt,
      subnets: [...n.config.ipv4, ...n.config.ipv6Subnets].map((s) => ({
        family: s.family,
        subnet: cidrToString(s.pool),
        gateway: s.gateway,
        ...(Object.keys(s.auxAddresses).length > 0 ? { auxAddresses: s.auxAddresses } : {}),
      })),
      options: {
        icc: n.config.icc,
        masquerade: n.config.masquerade,
        internal: n.config.internal,
        ipv6: n.config.ipv6,
        mtu: n.config.mtu,
        hostBindingIPv4: n.config.hostBindingIPv4,
        hostBindingIPv6: n.config.hostBindingIPv6,
        containerIfacePrefix: n.config.containerIfacePrefix,
        raw: n.config.raw,
      },
      endpoints: Object.values(n.endpoints).map((e) => ({
        id: e.id,
        networkId: e.networkId,
        hostVeth: e.hostVeth,
        containerVeth: e.containerVeth,
        mac: e.mac,
        ipv4: e.ipv4,
        ipv6: e.ipv6,
        sandboxKey: e.sandboxKey,
        joined: e.joined,
        present: links.has(e.hostVeth),
        ports: e.ports.map((p) => ({ proto: p.proto, hostIP: p.hostIP, hostPort: p.hostPort, containerIP: p.containerIP, containerPort: p.containerPort, picked: p.picked })),
      })),
      firewall: this.deps.firewall.describe(toFirewallNetwork(n.config)),
    }));
  }

  // ---- helpers ---------------------------------------------------------------------------

  private onEndpoint<T>(req: EndpointRequest, fn: () => Promise<T>): Promise<T> {
    return this.networks.shared(String(req.NetworkID), () => this.endpoints.run(String(req.EndpointID), fn));
  }


  /**
   * Before creating a link: refuses a name another record owns or a link tsnet did not journal
   * (never delete what is not ours). True when the link exists and is ours to replace.
   */
  private async checkLinkName(name: string, what: string, journalledAs = name, journalled = this.repository.isPendingLink(journalledAs), forEndpoint?: string): Promise<boolean> {
    this.checkLinkRecords(name, what, forEndpoint);
    if (!(await this.deps.netlink.getLink(name))) return false;
    if (journalled) return true;
    throw new ConflictError(`${what}: an interface named ${name} already exists and tsnet did not create it, so it will not delete it; remove it (ip link del ${name}) and retry`);
  }

  /** Refuses a link name that a network or endpoint record (other than `forEndpoint`'s) owns. */
  private checkLinkRecords(name: string, what: string, forEndpoint?: string): void {
    for (const n of this.repository.networks()) {
      if (n.config.bridge === name) throw new ConflictError(`${what}: interface name ${name} is the bridge of tsnet network ${n.config.id.slice(0, 12)}`);
    }
    const e = this.repository.endpointsWithLink(name).find((x) => x.id !== forEndpoint);
    if (e) {
      throw new ConflictError(`${what}: interface name ${name} is already used by endpoint ${e.id.slice(0, 12)} (endpoint IDs that share their first 11 hex digits share interface names); remove that endpoint or retry with another container`);
    }
  }

  /** Records that a link is about to be created (on disk before the kernel is asked). */
  private async intend(name: string): Promise<void> {
    this.repository.addPendingLink(name);
    await this.deps.store.journal(name);
  }

  /** A journalled name whose link turned out to be someone else's: voided, so no restart deletes it. */
  private async disown(name: string): Promise<void> {
    this.repository.settlePendingLink(name);
    await this.deps.store.journalNotOurs(name);
  }

  /**
   * The link is owned by a record on disk now, or is gone: its journal line is no longer needed
   * (the journal keeps it until its next compaction or the next start).
   */
  private settle(name: string): void {
    this.repository.settlePendingLink(name);
  }

  /** After a failed creation: forgets the link's journal entry only when the undo removed the link. */
  private async settleIfGone(name: string): Promise<void> {
    const link = await this.deps.netlink.getLink(name).catch(() => true);
    if (!link) this.settle(name);
  }

  /**
   * A change to memory made durable: `apply` changes memory and the objects `mark` names are
   * saved. When the save fails, `revert` restores memory, the same objects are saved again so the
   * disk holds what it held (what cannot be written now stays marked for the next save), and the
   * error is rethrown: no record is left in memory that is not on disk.
   */
  private async persist(apply: () => void, revert: () => void, mark: () => Store, opts?: SaveOptions): Promise<void> {
    apply();
    try {
      await mark().save(opts);
    } catch (e) {
      revert();
      await mark()
        .save()
        .catch((again) => this.deps.log.error({ err: String(again) }, 'could not restore the store after a failed save; it is written again with the next save'));
      throw e;
    }
  }

  /**
   * Kernel work (done in a worker thread) and the write of the record describing it, side by
   * side: the write starts once the kernel request is posted (setImmediate runs after the
   * microtasks that post it), so the two overlap. A kill -9 at any point is recovered at start
   * as with the kernel first: a record whose link or port map is missing gets it back from
   * reconcile, a journalled link no record owns and a port map no record names are removed.
   * When one of the two fails, the other is undone and the first failure (the kernel's, if
   * both) is thrown.
   */
  private async sideBySide(kernel: Step, record: Step): Promise<void> {
    const kernelOutcome = Promise.resolve()
      .then(kernel.do)
      .then(
        () => ({ ok: true as const }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    await new Promise((resolve) => setImmediate(resolve));
    const recordOutcome = await Promise.resolve()
      .then(record.do)
      .then(
        () => ({ ok: true as const }),
        (err: unknown) => ({ ok: false as const, err }),
      );
    const k = await kernelOutcome;
    if (k.ok && recordOutcome.ok) return;
    const undo = async (step: Step) => {
      try {
        await step.undo?.();
      } catch (err) {
        this.deps.log.error({ step: step.name, err: String(err) }, 'undo failed');
      }
    };
    if (recordOutcome.ok) await undo(record);
    if (k.ok) await undo(kernel);
    if (!k.ok) throw k.err;
    if (!recordOutcome.ok) throw recordOutcome.err;
  }

  /** Writes marked objects soon, without making the caller wait for the disk. */
  private saveLater(store: Store): void {
    store.save().catch((e) => this.deps.log.error({ err: String(e) }, 'could not save the store'));
  }

  /**
   * saveLater once the answer is sent: a save writes the endpoint file on the driver's thread
   * (~0.2-0.5 ms of file creation and rename), which the caller need not wait for. The answer
   * goes out in the microtasks that follow the handler, before the event loop's check phase.
   */
  private saveAfterReply(store: Store): void {
    setImmediate(() => this.saveLater(store));
  }

  /** Work that follows a reply (veth deletion, conntrack flushes); a network's removal waits for it. */
  readonly background = new BackgroundWork((err) => this.deps.log.warn({ err: String(err) }, 'background work failed'));

  /**
   * The network a request names. A network recovered from the kernel is known by a prefix of its
   * ID: the first request that names it completes the ID (saved soon, without waiting).
   */
  networkForRequest(id: string): NetworkRecord {
    const net = this.repository.network(id) ?? this.repository.recoveredNetworkFor(id);
    if (!net) throw new NotFoundError('network', String(id));
    if (net.recovered && net.config.id !== id) {
      this.repository.completeNetworkId(net, id);
      this.saveLater(this.deps.store);
    }
    return net;
  }

  /** The endpoint a request names; a recovered one's ID is completed like a network's. */
  private endpointForRequest(net: NetworkRecord, id: string): EndpointRecord {
    let ep = this.repository.endpoint(net, id);
    if (!ep) {
      ep = this.repository.recoveredEndpointFor(net, id);
      if (ep) {
        this.repository.completeEndpointId(net, ep, id);
        this.saveLater(this.deps.store);
      }
    }
    if (!ep) throw new NotFoundError('endpoint', String(id));
    return ep;
  }

  /**
   * A fast-path change (multi-host networks only) that the traffic does not depend on (without
   * it, packets take the routed path): a failure (an nft error, a kernel without `fwd`) fails no
   * call; it is logged, and the cluster's periodic check writes it again.
   */
  private async fastPathChanged(change: () => Promise<void> | undefined): Promise<void> {
    try {
      await change();
    } catch (e) {
      this.deps.log.warn({ err: String(e) }, 'fast path not updated; the next cluster check retries');
    }
  }

  deleteLinkIfPresent(name: string): Promise<void> {
    return deleteLinkIfPresent(this.deps.netlink, name);
  }


  /** Drops conntrack entries that would keep sending a flow to an address that is going away. */
  private async forgetConnections(ep: EndpointRecord): Promise<void> {
    for (const a of [ep.ipv4, ep.ipv6]) {
      if (!a) continue;
      try {
        await this.deps.conntrack.deleteConntrackFor(a.split('/')[0]);
      } catch (e) {
        this.deps.log.warn({ endpoint: ep.id, err: String(e) }, 'could not flush conntrack entries');
      }
    }
  }
}

export function toRule(net: NetworkRecord, p: PortMapRecord): PortMapRule {
  return { networkId: net.config.id, bridge: net.config.bridge, proto: p.proto, family: p.family, hostIP: p.hostIP, hostPort: p.hostPort, containerIP: p.containerIP, containerPort: p.containerPort };
}

/** Docker may list one binding twice (exposed + published); keep the first of each. */
function dedupeBindings(bindings: PortBinding[]): PortBinding[] {
  const seen = new Set<string>();
  return bindings.filter((b) => {
    const k = `${b.Proto}/${b.Port}/${b.HostIP}/${b.HostPort}/${b.HostPortEnd}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The kernel refused a veth's names (EEXIST): looked at before anything else is decided. */
class NameTaken extends Error {}
