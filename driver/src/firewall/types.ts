/**
 * What the driver needs from the firewall. The implementation writes one `inet tsnet` nftables
 * table (NAT, isolation, port maps) through libnftables' JSON API via koffi, one transaction per
 * change, plus the smallest static accepts in Docker's DOCKER-USER chain that forwarding needs.
 */

export interface FirewallSubnet {
  family: 4 | 6;
  /** "10.20.0.0/24" */
  cidr: string;
  /** Gateway address (no prefix). */
  gateway: string;
}

export interface FirewallNetwork {
  /** Docker network ID (used to name per-network objects and in comments). */
  id: string;
  bridge: string;
  subnets: FirewallSubnet[];
  icc: boolean;
  masquerade: boolean;
  internal: boolean;
  /** Multi-host network: the VXLAN link its remote hosts are reached through. */
  clusterDevice?: string;
}

export interface PortMapRule {
  networkId: string;
  bridge: string;
  proto: 'tcp' | 'udp' | 'sctp';
  family: 4 | 6;
  /** Host address; "0.0.0.0" / "::" means every local address. */
  hostIP: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
}

export type FirewallBackend = 'nftables' | 'iptables-legacy' | 'none';

export interface Firewall {
  readonly backend: FirewallBackend;
  /** Creates the tsnet table, its base chains and maps if missing (idempotent). */
  init(): Promise<void>;
  /** Adds or replaces everything for one network (isolation, ICC, masquerade, DOCKER-USER accepts). */
  applyNetwork(net: FirewallNetwork): Promise<void>;
  /** Removes everything for one network, including its port maps. Absent objects are not an error. */
  removeNetwork(net: FirewallNetwork): Promise<void>;
  /** Adds port maps in one transaction; all or none. */
  addPortMaps(rules: PortMapRule[]): Promise<void>;
  /** Removes port maps in one transaction; absent ones are not an error. */
  removePortMaps(rules: PortMapRule[]): Promise<void>;
  /** Networks (by bridge name) that have rules in the kernel now: for reconcile at start. */
  listProgrammedBridges(): Promise<string[]>;
  /** Port maps programmed in the kernel now. */
  listPortMaps(): Promise<PortMapRule[]>;
  /** Human-readable lines for the status API. */
  describe(net: FirewallNetwork): string[];
  /** Removes the whole tsnet table and every DOCKER-USER rule tsnet wrote. */
  removeAll(): Promise<void>;
}
