/**
 * One graph of what the host has: networks (with their bridges), containers, the endpoints that
 * attach containers to networks, namespace groups ("pods": containers sharing one network
 * namespace through --network container:X) and published ports. Built by a pure function from
 * Docker's objects plus, when reachable, the tsnet driver's status (shared StatusReport).
 * The tree views and the topology webview both render this.
 */
import type { Proto } from '@tsnet/shared';

export interface SubnetModel {
  family: 4 | 6;
  subnet: string;
  gateway?: string;
  ipRange?: string;
}

export interface NetworkModel {
  id: string;
  name: string;
  driver: string;
  scope: string;
  internal: boolean;
  ipv6: boolean;
  /** Docker's predefined networks (bridge, host, none). */
  builtin: boolean;
  /** Created with the tsnet driver (any tag: tsnet, tsnet:latest, ...). */
  tsnet: boolean;
  /** Linux bridge name when known (docker0 / br-<id12> for Docker's bridges, from tsnet's status for tsnet). */
  bridge?: string;
  subnets: SubnetModel[];
  options: Record<string, string>;
  labels: Record<string, string>;
  /** IDs of endpoints on this network. */
  endpointIds: string[];
  /** Creation time as Docker reports it. */
  created?: string;
  attachable?: boolean;
  /** tsnet only: whether the bridge exists in the kernel right now (from tsnet's status). */
  bridgePresent?: boolean;
  /** tsnet only: firewall objects the driver programmed, one line each (from tsnet's status). */
  firewall?: string[];
  /** A multi-host tsnet network (tsnet.cluster) whose driver reports its cluster. */
  cluster?: NetworkClusterModel;
}

/** Another Docker host of a multi-host network, as this host's driver sees it in etcd. */
export interface RemoteHostModel {
  /** Underlay (VTEP) address. */
  address: string;
  hostname: string;
  vtepMac: string;
  leaseAgeSeconds: number;
  /** The host's address blocks inside this network's subnet. */
  blocks: string[];
  /** Blocks this host routes to it over the VXLAN link (a block without a route is not reachable yet). */
  routes: string[];
}

export interface NetworkClusterModel {
  /** The tsnet.cluster name. */
  name: string;
  /** This host's underlay (VTEP) address. */
  self: string;
  /** This host's own blocks inside the network's subnet. */
  ownBlocks: string[];
  /** The local VXLAN link every multi-host network routes through. */
  vxlan: { link: string; vni: number; port: number; mtu: number };
  etcd: { healthy: boolean; endpoints: string[]; lastError?: string };
  remoteHosts: RemoteHostModel[];
}

export interface PortModel {
  proto: Proto;
  hostIP: string;
  hostPort: number;
  containerPort: number;
  /** Network the port map was programmed on, when known (tsnet status). */
  networkId?: string;
  /** tsnet picked the host port. */
  picked?: boolean;
}

export interface EndpointModel {
  /**
   * Docker's EndpointID. A container that is attached but not running has no endpoint yet; its
   * attachment gets the id `<containerId>/<networkId>` and `active: false`.
   */
  id: string;
  networkId: string;
  containerId: string;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  aliases: string[];
  /** Host-side veth name (from tsnet's status for tsnet networks). */
  hostVeth?: string;
  /** Interface name inside the namespace when known (eth0, ...). */
  ifname?: string;
  ipv4PrefixLength?: number;
  ipv6PrefixLength?: number;
  gateway?: string;
  ipv6Gateway?: string;
  /** False for an attachment of a container that is not running (no endpoint in the kernel). */
  active?: boolean;
}

export interface ContainerModel {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  /** Network mode as Docker reports it: "bridge", "<network name>", "container:<id>", "host", "none". */
  networkMode: string;
  /** ID of the container whose network namespace this one joined (--network container:X). */
  sharesNamespaceWith?: string;
  /** Namespace group this container belongs to. */
  namespaceId: string;
  endpointIds: string[];
  ports: PortModel[];
  labels: Record<string, string>;
}

/** Containers that share one network namespace; the owner is the container that made it. */
export interface NamespaceGroupModel {
  /** The owner's container ID. */
  id: string;
  ownerId: string;
  /** Every container in the namespace, the owner first (when it exists), then by name. */
  memberIds: string[];
  /** SandboxKey when known (/var/run/docker/netns/...). */
  sandboxKey?: string;
}

export interface HostModel {
  /** Docker Engine version. */
  engineVersion?: string;
  /** tsnet driver status reachable. */
  tsnetStatus: boolean;
  tsnetVersion?: string;
  /** tsnet plugin/driver name users type in -d, when present ("tsnet", "tsnet:latest"...). */
  tsnetDriverName?: string;
}

export interface NetworkGraph {
  host: HostModel;
  networks: NetworkModel[];
  containers: ContainerModel[];
  endpoints: EndpointModel[];
  namespaces: NamespaceGroupModel[];
}
