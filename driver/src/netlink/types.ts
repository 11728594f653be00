/**
 * What the driver needs from rtnetlink, written in the kernel's words. Implemented over koffi
 * (libc socket/bind/send/recv on AF_NETLINK) in a worker thread, so a slow kernel call (veth
 * deletion takes ~15 ms) never stalls the event loop. A handle is bound to one network namespace.
 */

export interface LinkInfo {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "bridge", "veth", ... (undefined for physical/loopback). */
  kind?: string;
  /** ifindex of the master (bridge) the link is attached to. */
  masterIndex?: number;
  mtu: number;
  /** IFF_UP is set. */
  up: boolean;
  mac?: string;
  /** For veth: ifindex of the peer (IFLA_LINK), possibly in another namespace. */
  peerIndex?: number;
}

export interface AddressInfo {
  ifindex: number;
  family: 4 | 6;
  /** "addr/len" */
  cidr: string;
}

export interface RouteInfo {
  family: 4 | 6;
  /** "addr/len"; "0.0.0.0/0" or "::/0" for a default route. */
  dst: string;
  gateway?: string;
  ifindex?: number;
  /** Main table only is returned by default. */
  table: number;
}

export interface SocketInfo {
  proto: 'tcp' | 'udp' | 'tcp6' | 'udp6';
  localAddress: string;
  localPort: number;
  /** "LISTEN" for TCP listeners, "UNCONN" for bound UDP sockets. */
  state: string;
}

export interface BridgeOptions {
  mtu?: number;
  /** A unicast MAC, set explicitly so the kernel never replaces it with a port's. */
  mac?: string;
}

export interface VethOptions {
  mtu?: number;
  /** Bridge to attach the host end to. */
  master?: string;
  /** MAC of the peer (container side). */
  peerMac?: string;
  /** Create the peer directly in this namespace (path to an nsfs file). */
  peerNetnsPath?: string;
  /** Bridge-port flags of the host end (with `master`), set before the call returns. */
  hairpin?: boolean;
  isolated?: boolean;
}

/** Raised for a kernel refusal; `errno` is the positive errno, message the kernel's extended ack if any. */
export class NetlinkError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly op: string,
  ) {
    super(message);
    this.name = 'NetlinkError';
  }
}

export const ENOENT = 2;
export const ENODEV = 19;
export const EEXIST = 17;
export const EADDRNOTAVAIL = 99;

export interface NetlinkHandle {
  listLinks(): Promise<LinkInfo[]>;
  /** undefined when no link has that name. */
  getLink(name: string): Promise<LinkInfo | undefined>;
  /** Creates a bridge with its MAC and MTU pinned (they do not follow its ports). */
  createBridge(name: string, opts?: BridgeOptions): Promise<void>;
  /** Pins an existing bridge's MAC and MTU to these values. */
  pinBridge(name: string, opts: BridgeOptions): Promise<void>;
  /** Creates the pair; the host end is attached to `master` (if given), given `mtu`, and set up. */
  createVeth(hostName: string, peerName: string, opts?: VethOptions): Promise<void>;
  /** Deletes a link (for veth, the peer goes too). Throws NetlinkError(ENODEV) if absent. */
  deleteLink(name: string): Promise<void>;
  /** Sets a link down, off its bridge, and renames it (for a deletion later); false if it was gone. */
  retireLink(name: string, retiredName: string): Promise<boolean>;
  /** Deletes several links in one kernel transaction; returns the names that were already gone. */
  deleteLinks(names: string[]): Promise<string[]>;
  setLinkUp(name: string): Promise<void>;
  setLinkDown(name: string): Promise<void>;
  setMtu(name: string, mtu: number): Promise<void>;
  setMaster(name: string, master: string): Promise<void>;
  /** cidr is "addr/len", IPv4 or IPv6. Throws NetlinkError(EEXIST) if already present. */
  addAddress(name: string, cidr: string): Promise<void>;
  deleteAddress(name: string, cidr: string): Promise<void>;
  listAddresses(name?: string): Promise<AddressInfo[]>;
  listRoutes(family?: 4 | 6): Promise<RouteInfo[]>;
  /** Sockets bound in this namespace (TCP listeners and UDP), for `tsnet inspect`. */
  listSockets(): Promise<SocketInfo[]>;
  /** Deletes conntrack entries whose original destination or reply source is `ip`; returns how many. */
  deleteConntrackFor(ip: string): Promise<number>;
  close(): Promise<void>;
}
