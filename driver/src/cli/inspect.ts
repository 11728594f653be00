/**
 * `tsnet inspect <container>`: reads a container's network namespace through the kernel
 * (rtnetlink and /proc/thread-self/net in a worker thread that entered the namespace), so it works
 * for images with no `ip` or shell. Finds which containers share that namespace (the pod pattern),
 * and for veth interfaces the host-side veth and bridge, matched by ifindex in both directions.
 */
import * as fs from 'node:fs';
import { cidrContains, cidrsOverlap, parseCidr, type NetworkStatus, type StatusReport } from '@tsnet/shared';
import { openNetlink, type AddressInfo, type LinkInfo, type NetlinkHandle, type RouteInfo, type SocketInfo } from '../netlink';
import { containerName, type ContainerInspect, type DockerClient } from '../docker/client';
import { CliError } from './status-client';

export interface InspectInterface {
  index: number;
  name: string;
  kind?: string;
  mac?: string;
  mtu: number;
  state: 'up' | 'down';
  addresses: string[];
  /** For a veth whose peer is on the host: the host side. */
  host?: {
    veth: string;
    vethIndex: number;
    bridge?: string;
    /** Set when the host veth belongs to a tsnet endpoint (from the status API). */
    tsnet?: { networkId: string; networkName?: string; endpointId: string };
  };
}

export interface PodMember {
  id: string;
  name: string;
  /** "owner": the namespace is its own; "joined": it runs with --network container:<owner>; "host": --network host. */
  relation: 'owner' | 'joined' | 'host';
  networkMode: string;
  self: boolean;
}

export interface InspectRoute {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  dev?: string;
}

/** A neighbour in the container's ARP cache, on an interface in a tsnet network, and where it is. */
export interface InspectPeer {
  address: string;
  /** The MAC the container resolved it to (for a remote peer: its own bridge's, by proxy ARP). */
  mac?: string;
  interface: string;
  where: 'gateway' | 'local' | 'remote' | 'unknown';
  /** local: the container on this host (its name from Docker, else the endpoint ID). */
  container?: string;
  /** remote: the host the address block belongs to, and the VTEP the traffic goes through. */
  remote?: InspectRemoteHost & { block: string };
}

/** A host of a multi-host network the container is on, reached over the VXLAN link. */
export interface InspectRemoteHost {
  network: string;
  /** Underlay (VTEP) address of the host. */
  host: string;
  hostname: string;
  vtepMac: string;
  /** The local VXLAN link the traffic to it goes through. */
  via: string;
  /** Its address blocks in this network's subnet. */
  blocks: string[];
}

export interface InspectReport {
  container: { id: string; name: string; pid: number; networkMode: string; sandboxKey: string };
  namespace: { path: string; inode: number };
  sharedWith: PodMember[];
  interfaces: InspectInterface[];
  routes: InspectRoute[];
  sockets: SocketInfo[];
  /** Neighbours the container has resolved on interfaces in multi-host networks, each located (local or remote). */
  peers: InspectPeer[];
  /** Other hosts of the multi-host networks the container is on (needs the driver's status). */
  remoteHosts: InspectRemoteHost[];
  notes: string[];
}

export interface InspectDeps {
  docker: DockerClient;
  /** The driver's status, or undefined when it cannot be read (inspect still works without it). */
  status: () => Promise<StatusReport | undefined>;
  networkName?: (id: string) => Promise<string | undefined>;
  /** Endpoint ID -> container name of a network, from Docker. */
  endpointNames?: (networkId: string) => Promise<Map<string, string>>;
  /** The ARP cache of the namespace of `pid` (default: /proc/PID/net/arp). */
  arp?: (pid: number) => string;
  /** Opens a handle in the namespace at `netnsPath`, refusing one whose inode is not `netnsInode`. */
  open?: (netnsPath?: string, netnsInode?: number) => Promise<NetlinkHandle>;
}

function nsInode(pid: number): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

function relationOf(networkMode: string): PodMember['relation'] {
  if (networkMode.startsWith('container:')) return 'joined';
  if (networkMode === 'host') return 'host';
  return 'owner';
}

async function resolveContainer(deps: InspectDeps, ref: string): Promise<ContainerInspect> {
  if (!ref) throw new CliError('tsnet inspect: which container? usage: tsnet inspect <container>', 2);
  const c = await deps.docker.inspectContainer(ref);
  if (!c) throw new CliError(`no such container: ${ref}`);
  if (!c.State.Running || !c.State.Pid) throw new CliError(`container ${containerName(c)} is not running (${c.State.Status}): it has no network namespace to read`);
  return c;
}

/** Running containers whose namespace is the same kernel object as `inode`. */
async function podMembers(deps: InspectDeps, self: ContainerInspect, inode: number): Promise<PodMember[]> {
  const running = await deps.docker.listContainers(false);
  const inspected = await Promise.all(running.map((c) => (c.Id === self.Id ? Promise.resolve(self) : deps.docker.inspectContainer(c.Id).catch(() => undefined))));
  const members: PodMember[] = [];
  for (const c of inspected) {
    if (!c || !c.State.Pid || nsInode(c.State.Pid) !== inode) continue;
    members.push({ id: c.Id, name: containerName(c), networkMode: c.HostConfig.NetworkMode, relation: relationOf(c.HostConfig.NetworkMode), self: c.Id === self.Id });
  }
  // The owner first, then the others by name.
  const rank = (m: PodMember) => (m.relation === 'owner' ? 0 : 1);
  return members.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

function hostSide(iface: LinkInfo, hostLinks: LinkInfo[], status: StatusReport | undefined): InspectInterface['host'] {
  if (iface.kind !== 'veth' || iface.peerIndex === undefined) return undefined;
  // The host end's IFLA_LINK points back at this interface: checking both directions rules out a
  // peer in a third namespace that merely has the same ifindex as some host link.
  const peer = hostLinks.find((l) => l.index === iface.peerIndex && l.kind === 'veth' && l.peerIndex === iface.index);
  if (!peer) return undefined;
  const bridge = peer.masterIndex !== undefined ? hostLinks.find((l) => l.index === peer.masterIndex)?.name : undefined;
  let tsnet: NonNullable<InspectInterface['host']>['tsnet'];
  for (const n of status?.networks ?? []) {
    const ep = n.endpoints.find((e) => e.hostVeth === peer.name);
    if (ep) tsnet = { networkId: n.id, endpointId: ep.id };
  }
  return { veth: peer.name, vethIndex: peer.index, ...(bridge ? { bridge } : {}), ...(tsnet ? { tsnet } : {}) };
}

interface ArpEntry {
  address: string;
  mac?: string;
  device: string;
}

/** /proc/PID/net/arp: "IP address  HW type  Flags  HW address  Mask  Device"; flags 0 = unresolved. */
export function parseArp(text: string): ArpEntry[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 6)
    .map(([address, , flags, mac, , device]) => ({ address, device, ...(Number(flags) !== 0 && mac !== '00:00:00:00:00:00' ? { mac } : {}) }));
}

const isCluster = (n: NetworkStatus) => n.options.raw['tsnet.cluster'] !== undefined;

/** The other hosts of multi-host network `n`, with their blocks in its subnets. */
export function remoteHostsOf(n: NetworkStatus, networkName: string, status: StatusReport): InspectRemoteHost[] {
  const c = status.cluster;
  if (!c || !isCluster(n)) return [];
  const subnets = n.subnets.map((s) => parseCidr(s.subnet)).filter((x) => x !== undefined);
  return c.hosts
    .filter((h) => !h.self)
    .map((h) => ({
      network: networkName,
      host: h.address,
      hostname: h.hostname,
      vtepMac: h.vtepMac,
      via: c.vxlan.link,
      blocks: h.blocks.filter((b) => {
        const bc = parseCidr(b);
        return bc !== undefined && subnets.some((s) => cidrsOverlap(s, bc));
      }),
    }));
}

/** Where a neighbour of the container on network `n` is: gateway, a local endpoint, or a remote host's block. */
export function locatePeer(entry: ArpEntry, n: NetworkStatus, remote: InspectRemoteHost[], names: Map<string, string>): InspectPeer {
  const base = { address: entry.address, ...(entry.mac ? { mac: entry.mac } : {}), interface: entry.device };
  if (n.subnets.some((s) => s.gateway.split('/')[0] === entry.address)) return { ...base, where: 'gateway' };
  const ep = n.endpoints.find((e) => e.ipv4?.split('/')[0] === entry.address);
  if (ep) return { ...base, where: 'local', container: names.get(ep.id) ?? ep.id };
  for (const h of remote) {
    const block = h.blocks.find((b) => cidrContains(parseCidr(b)!, entry.address));
    if (block) return { ...base, where: 'remote', remote: { ...h, block } };
  }
  return { ...base, where: 'unknown' };
}

function enterError(e: unknown, where: string, name: string): CliError {
  const err = e as Error & { errno?: number };
  if (err.errno === 1 || /EPERM|not permitted/i.test(err.message)) {
    return new CliError(`permission denied entering the network namespace of ${name} (${where}): run as root (entering a namespace needs CAP_SYS_ADMIN)`);
  }
  return new CliError(`cannot read the network namespace of ${name} (${where}): ${err.message}`);
}

export async function inspectContainer(deps: InspectDeps, ref: string): Promise<InspectReport> {
  const open = deps.open ?? ((p?: string, ino?: number) => openNetlink(p ? { netnsPath: p, netnsInode: ino } : {}));
  const c = await resolveContainer(deps, ref);
  const name = containerName(c);
  const nsPath = `/proc/${c.State.Pid}/ns/net`;
  const inode = nsInode(c.State.Pid);
  if (inode === undefined) throw new CliError(`cannot read ${nsPath} for ${name}: run as root`);
  const notes: string[] = [];

  const [status, sharedWith] = await Promise.all([
    deps.status().catch((e: Error) => {
      notes.push(`tsnet status not available (${e.message}); host sides are matched through the kernel only`);
      return undefined;
    }),
    podMembers(deps, c, inode),
  ]);

  let ns: NetlinkHandle;
  try {
    // The namespace whose inode was recorded (and matched against the pod members), not whatever
    // the path holds by now: the PID may have exited and been reused.
    ns = await open(nsPath, inode);
  } catch (e) {
    throw enterError(e, nsPath, name);
  }
  let links: LinkInfo[];
  let addrs: AddressInfo[];
  let routes: RouteInfo[];
  let sockets: SocketInfo[];
  try {
    [links, addrs, routes, sockets] = await Promise.all([ns.listLinks(), ns.listAddresses(), ns.listRoutes(), ns.listSockets()]);
  } finally {
    await ns.close();
  }
  const host = await open();
  let hostLinks: LinkInfo[];
  try {
    hostLinks = await host.listLinks();
  } finally {
    await host.close();
  }

  const networkNames = new Map<string, string | undefined>();
  const interfaces: InspectInterface[] = [];
  for (const l of links.sort((a, b) => a.index - b.index)) {
    const h = hostSide(l, hostLinks, status);
    if (h?.tsnet && deps.networkName) {
      const id = h.tsnet.networkId;
      if (!networkNames.has(id)) networkNames.set(id, await deps.networkName(id).catch(() => undefined));
      const nn = networkNames.get(id);
      if (nn) h.tsnet.networkName = nn;
    }
    interfaces.push({
      index: l.index,
      name: l.name,
      ...(l.kind ? { kind: l.kind } : {}),
      ...(l.mac ? { mac: l.mac } : {}),
      mtu: l.mtu,
      state: l.up ? 'up' : 'down',
      addresses: addrs.filter((a) => a.ifindex === l.index).map((a) => a.cidr),
      ...(h ? { host: h } : {}),
    });
  }
  const { peers, remoteHosts } = await peersOf(deps, c.State.Pid, inode, interfaces, status, notes);
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  return {
    container: { id: c.Id, name, pid: c.State.Pid, networkMode: c.HostConfig.NetworkMode, sandboxKey: c.NetworkSettings.SandboxKey },
    namespace: { path: nsPath, inode },
    sharedWith,
    interfaces,
    routes: routes.map((r) => ({ family: r.family, dst: r.dst, ...(r.gateway ? { gateway: r.gateway } : {}), ...(r.ifindex !== undefined ? { dev: byIndex.get(r.ifindex) ?? `if${r.ifindex}` } : {}) })),
    sockets: sockets.sort((a, b) => a.proto.localeCompare(b.proto) || a.localPort - b.localPort || a.localAddress.localeCompare(b.localAddress)),
    peers,
    remoteHosts,
    notes,
  };
}

/** The container's neighbours on its multi-host interfaces, each located, and the other hosts of those networks. */
async function peersOf(deps: InspectDeps, pid: number, inode: number, interfaces: InspectInterface[], status: StatusReport | undefined, notes: string[]): Promise<{ peers: InspectPeer[]; remoteHosts: InspectRemoteHost[] }> {
  const peers: InspectPeer[] = [];
  const remoteHosts: InspectRemoteHost[] = [];
  // Local networks have no remote peers to tell apart: their output stays as it was.
  const onCluster = interfaces.flatMap((i) => {
    const n = status?.networks.find((x) => x.id === i.host?.tsnet?.networkId);
    return n && isCluster(n) ? [{ i, n }] : [];
  });
  if (!status || onCluster.length === 0) return { peers, remoteHosts };
  let arp: ArpEntry[] = [];
  try {
    arp = parseArp((deps.arp ?? ((p) => fs.readFileSync(`/proc/${p}/net/arp`, 'utf8')))(pid));
  } catch (e) {
    notes.push(`cannot read the container's ARP cache (${(e as Error).message}); peers are not listed`);
  }
  if (nsInode(pid) !== inode) {
    notes.push('the container stopped while it was read; peers are not listed');
    arp = [];
  }
  for (const { i, n } of onCluster) {
    const remote = remoteHostsOf(n, i.host!.tsnet!.networkName ?? n.id.slice(0, 12), status);
    remoteHosts.push(...remote);
    const names = (await deps.endpointNames?.(n.id).catch(() => undefined)) ?? new Map<string, string>();
    for (const e of arp.filter((x) => x.device === i.name)) peers.push(locatePeer(e, n, remote, names));
  }
  const rank = { gateway: 0, local: 1, remote: 2, unknown: 3 };
  peers.sort((a, b) => rank[a.where] - rank[b.where] || a.address.localeCompare(b.address, undefined, { numeric: true }));
  return { peers, remoteHosts };
}
