/**
 * The driver's read-only status API (GET on its own Unix socket, default /run/tsnet/status.sock).
 * The extension and the `tsnet` CLI read these types.
 */

export const DEFAULT_STATUS_SOCKET = '/run/tsnet/status.sock';
export const DEFAULT_PLUGIN_SOCKET = '/run/docker/plugins/tsnet.sock';
export const DEFAULT_STATE_DIR = '/var/lib/tsnet';

/** The status API's routes (all GET): the driver serves them, the CLI and the extension ask them. */
export const STATUS_ROUTES = {
  /** The whole StatusReport. */
  status: '/status',
  /** StatusReport.networks alone. */
  networks: '/networks',
  /** Every port map, each with its networkId and endpointId. */
  ports: '/ports',
  /** Kernel counters of the host's links (LinkStatsReport), all or `?names=a,b`. */
  links: '/links',
  health: '/health',
} as const;

export type Proto = 'tcp' | 'udp' | 'sctp';

export interface SubnetStatus {
  family: 4 | 6;
  /** CIDR, e.g. "10.232.1.0/24" */
  subnet: string;
  /** Gateway address (no prefix), on the bridge. */
  gateway: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
}

export interface PortMapStatus {
  proto: Proto;
  /** Host address the port is published on; "0.0.0.0" / "::" for every address. */
  hostIP: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
  /** True when Docker asked for "any port" and tsnet picked hostPort. */
  picked: boolean;
}

export interface EndpointStatus {
  id: string;
  networkId: string;
  /** Host-side veth name, attached to the bridge. */
  hostVeth: string;
  /** Container-side veth name before Docker renamed it (Docker names it eth<N> inside). */
  containerVeth: string;
  mac: string;
  /** "addr/len" */
  ipv4?: string;
  ipv6?: string;
  /** The network namespace the endpoint joined (Docker's SandboxKey), when joined. */
  sandboxKey?: string;
  joined: boolean;
  ports: PortMapStatus[];
  /** Whether the host-side veth exists in the kernel right now. */
  present: boolean;
}

export interface NetworkOptionsStatus {
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  ipv6: boolean;
  mtu?: number;
  hostBindingIPv4?: string;
  hostBindingIPv6?: string;
  containerIfacePrefix: string;
  /** The options exactly as the user gave them (-o key=value). */
  raw: Record<string, string>;
}

export interface NetworkStatus {
  id: string;
  bridge: string;
  /** True when the bridge existed before the network and is left in place on removal. */
  bridgeAdopted: boolean;
  /** Whether the bridge exists in the kernel right now. */
  present: boolean;
  subnets: SubnetStatus[];
  options: NetworkOptionsStatus;
  endpoints: EndpointStatus[];
  /** Firewall objects tsnet programmed for this network, one human-readable line each. */
  firewall: string[];
  createdAt: string;
}

export interface MethodStats {
  count: number;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface StatusReport {
  version: string;
  pid: number;
  startedAt: string;
  uptimeSeconds: number;
  pluginSocket: string;
  stateDir: string;
  firewallBackend: 'nftables' | 'iptables-legacy' | 'none';
  networks: NetworkStatus[];
  calls: Record<string, MethodStats>;
  /** Problems found at start (unreadable store, objects that could not be re-created...). */
  warnings: string[];
  /** Multi-host state, when the driver runs with --etcd. */
  cluster?: ClusterStatus;
}

export interface ClusterHostStatus {
  /** Underlay (VTEP) address; also the host's ID in etcd. */
  address: string;
  hostname: string;
  /** MAC of the host's VXLAN link. */
  vtepMac: string;
  /** Seconds since the host registered its current lease. */
  leaseAgeSeconds: number;
  /** Address blocks the host owns, per pool. */
  blocks: string[];
  self: boolean;
}

export interface ClusterStatus {
  etcd: { endpoints: string[]; healthy: boolean; lastError?: string };
  vxlan: { link: string; vni: number; port: number; mtu: number; containerMtu: number };
  self: string;
  hosts: ClusterHostStatus[];
  pools: Array<{ cidr: string; gateway?: string; ownBlocks: string[]; allocated: number }>;
  /** Routes to remote blocks programmed on the VXLAN link: "10.60.0.64/26 via 172.30.250.12". */
  remoteRoutes: string[];
  /** Underlay addresses allowed to send VXLAN to this host. */
  allowedVteps: string[];
  /** The netdev fast path (TSNET_FAST_PATH): bridges whose cross-host traffic takes it, and how many endpoints have its chain. */
  fastPath?: { enabled: boolean; networks: string[]; endpoints: number };
}

/** Counters of one network interface of the host (the kernel's link statistics, /sys/class/net/NAME/statistics). */
export interface LinkStats {
  name: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
  rxErrors: number;
  txErrors: number;
}

/** GET /links[?names=a,b]: counters of the host's links (all, or the named ones that exist), read at `at`. */
export interface LinkStatsReport {
  /** ISO time the counters were read. */
  at: string;
  links: LinkStats[];
}

export const LINKS_PATH = STATUS_ROUTES.links;
