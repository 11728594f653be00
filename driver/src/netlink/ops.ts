/**
 * The NetlinkHandle operations, synchronous, on sockets of the calling thread's namespace. Runs
 * inside the netlink worker only. Every kernel refusal becomes a NetlinkError naming the
 * operation and the object: `create veth tsv1 (peer tsc1): File exists (EEXIST)`.
 */
import * as fs from 'node:fs';
// The ip module alone: the package root also loads zod and every schema (~12 MB in each worker isolate).
import { ipFamily, normalizeIP } from '@tsnet/shared/dist/ip';
import { conntrackMatches, decodeConntrack, deleteConntrackRequest, dumpConntrackRequest } from './conntrack';
import {
  addressRequest,
  decodeAddress,
  decodeLink,
  decodeRoute,
  deleteGroupRequest,
  detachLinkRequest,
  deleteLinkRequest,
  dumpAddressesRequest,
  dumpLinksRequest,
  dumpRoutesRequest,
  bridgePortRequest,
  getLinkRequest,
  invalidIfName,
  newBridgeRequest,
  newVethRequest,
  renameLinkRequest,
  RT_TABLE_MAIN,
  setGroupRequest,
  setLinkRequest,
  type Request,
} from './rtnl';
import { describeErrno, KernelError, NETLINK_NETFILTER, NETLINK_ROUTE, NETLINK_SOCK_DIAG, NetlinkSocket } from './socket';
import { listBoundSockets } from './sockdiag';
import { EEXIST, ENODEV, ENOENT, NetlinkError, type AddressInfo, type BridgeOptions, type LinkInfo, type RouteInfo, type SocketInfo, type VethOptions } from './types';

const EINVAL = 22;
/** Link groups tsnet uses for batched deletion sit above this (0 is the default group). */
const LINK_GROUP_BASE = 0x40000000;

/** Runs `fn`; a KernelError (or Node fs error) becomes a NetlinkError for `op` described by `what`. */
function named<T>(op: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asNetlinkError(op, what, e);
  }
}

function asNetlinkError(op: string, what: string, e: unknown): Error {
  if (e instanceof NetlinkError) return e;
  if (e instanceof KernelError) return new NetlinkError(`${what}: ${e.message}`, e.errno, op);
  const sysErrno = (e as NodeJS.ErrnoException).errno;
  if (typeof sysErrno === 'number') {
    const errno = Math.abs(sysErrno);
    return new NetlinkError(`${what}: ${describeErrno(errno)}`, errno, op);
  }
  return new NetlinkError(`${what}: ${(e as Error).message ?? String(e)}`, EINVAL, op);
}

function checkName(op: string, what: string, ...names: string[]): void {
  for (const n of names) {
    const bad = invalidIfName(n);
    if (bad) throw new NetlinkError(`${what}: ${bad}`, EINVAL, op);
  }
}

/** An MTU next to `mtu` (never below IPv6's 1280 when `mtu` is not, so IPv6 stays on). */
function otherMtu(mtu: number): number {
  return mtu >= 65535 ? mtu - 1 : mtu + 1;
}

export class NetlinkOps {
  private readonly route = new NetlinkSocket(NETLINK_ROUTE);
  private netfilter?: NetlinkSocket;
  private diag?: NetlinkSocket;

  private send(r: Request) {
    return this.route.request(r.type, r.flags, r.payload);
  }

  private dump(r: Request) {
    return this.route.dump(r.type, r.flags, r.payload);
  }

  /** ifindex of `name`; KernelError(ENODEV) with the name when absent. */
  private indexOf(name: string, role: string): number {
    try {
      return decodeLink(this.send(getLinkRequest(name))[0]).index;
    } catch (e) {
      if (e instanceof KernelError) throw new KernelError(e.errno, e.extAck, `${role} ${name}`);
      throw e;
    }
  }

  listLinks(): LinkInfo[] {
    return named('listLinks', 'list links', () => this.dump(dumpLinksRequest()).map(decodeLink));
  }

  getLink(name: string): LinkInfo | undefined {
    if (invalidIfName(name)) return undefined;
    try {
      const [msg] = this.send(getLinkRequest(name));
      return msg && decodeLink(msg);
    } catch (e) {
      if (e instanceof KernelError && e.errno === ENODEV) return undefined;
      throw asNetlinkError('getLink', `get link ${name}`, e);
    }
  }

  /**
   * Creates a bridge whose MAC and MTU stay put as ports come and go (see pinBridge). It is
   * created at another MTU and then set, because the kernel marks an MTU as chosen only when a
   * change is asked for.
   */
  createBridge(name: string, opts: BridgeOptions = {}): void {
    const what = `create bridge ${name}`;
    checkName('createBridge', what, name);
    named('createBridge', what, () => {
      const mtu = opts.mtu === undefined ? undefined : otherMtu(opts.mtu);
      this.send(newBridgeRequest(name, { mac: opts.mac, mtu }));
      if (opts.mtu !== undefined) this.send(setLinkRequest(name, { mtu: opts.mtu }));
    });
  }

  /**
   * Fixes an existing bridge's MAC and MTU. Without this the kernel gives a bridge the lowest MAC
   * and the lowest MTU of its ports, so both change under running containers whenever a port
   * joins or leaves (and the MAC becomes 00:00:00:00:00:00 when the last one leaves).
   */
  pinBridge(name: string, opts: BridgeOptions): void {
    named('pinBridge', `pin MAC and MTU of bridge ${name}`, () => {
      if (opts.mac !== undefined) this.send(setLinkRequest(name, { mac: opts.mac }));
      if (opts.mtu === undefined) return;
      const current = decodeLink(this.send(getLinkRequest(name))[0]).mtu;
      if (current === opts.mtu) this.send(setLinkRequest(name, { mtu: otherMtu(opts.mtu) }));
      this.send(setLinkRequest(name, { mtu: opts.mtu }));
    });
  }

  createVeth(hostName: string, peerName: string, opts: VethOptions = {}): void {
    const what = `create veth ${hostName} (peer ${peerName}${opts.peerNetnsPath ? ` in ${opts.peerNetnsPath}` : ''})`;
    checkName('createVeth', what, hostName, peerName);
    named('createVeth', what, () => {
      const masterIndex = opts.master === undefined ? undefined : this.indexOf(opts.master, 'master');
      let nsFd: number | undefined;
      try {
        if (opts.peerNetnsPath !== undefined) nsFd = fs.openSync(opts.peerNetnsPath, fs.constants.O_RDONLY);
        this.send(newVethRequest(hostName, peerName, { mtu: opts.mtu, masterIndex, peerMac: opts.peerMac, peerNetnsFd: nsFd, up: true }));
      } finally {
        if (nsFd !== undefined) fs.closeSync(nsFd);
      }
      if (masterIndex === undefined || (opts.hairpin === undefined && opts.isolated === undefined)) return;
      // In this thread, not through sysfs on the driver's: a brport write spins on the rtnl lock
      // (restart_syscall) while a veth deletion holds it. A pair whose flags failed is not left.
      try {
        const index = decodeLink(this.send(getLinkRequest(hostName))[0]).index;
        this.send(bridgePortRequest(index, { hairpin: opts.hairpin, isolated: opts.isolated }));
      } catch (e) {
        try {
          this.send(deleteLinkRequest(hostName));
        } catch {
          // reported by the caller's undo (it deletes the link if present)
        }
        if (e instanceof KernelError) throw new KernelError(e.errno, e.extAck, 'bridge port flags');
        throw e;
      }
    });
  }

  deleteLink(name: string): void {
    const what = `delete link ${name}`;
    checkName('deleteLink', what, name);
    named('deleteLink', what, () => this.send(deleteLinkRequest(name)));
  }

  /**
   * Takes a link out of use at once, for a deletion that follows later: down, off its bridge and
   * renamed to `retiredName` (three short requests; the deletion itself waits for RCU grace
   * periods). False when the link was already gone. A leftover of that name is deleted first.
   */
  retireLink(name: string, retiredName: string): boolean {
    const what = `retire link ${name} as ${retiredName}`;
    checkName('retireLink', what, name, retiredName);
    return named('retireLink', what, () => {
      let index: number;
      try {
        index = decodeLink(this.send(getLinkRequest(name))[0]).index;
      } catch (e) {
        if (e instanceof KernelError && e.errno === ENODEV) return false;
        throw e;
      }
      this.send(detachLinkRequest(index));
      try {
        this.send(renameLinkRequest(index, retiredName));
      } catch (e) {
        if (!(e instanceof KernelError && e.errno === EEXIST)) throw e;
        this.send(deleteLinkRequest(retiredName));
        this.send(renameLinkRequest(index, retiredName));
      }
      return true;
    });
  }

  /**
   * Deletes several links in one kernel transaction: each is put into a link group of its own
   * (random, so no other link is in it) and the group is deleted. Returns the names that were
   * already gone.
   */
  deleteLinks(names: string[]): string[] {
    const what = `delete links ${names.join(', ')}`;
    checkName('deleteLinks', what, ...names);
    const absent: string[] = [];
    if (names.length === 1) {
      try {
        this.deleteLink(names[0]);
      } catch (e) {
        if (!(e instanceof NetlinkError && e.errno === ENODEV)) throw e;
        absent.push(names[0]);
      }
      return absent;
    }
    const group = LINK_GROUP_BASE + Math.floor(Math.random() * 0x3fffffff);
    let grouped = 0;
    for (const name of names) {
      try {
        this.send(setGroupRequest(name, group));
        grouped++;
      } catch (e) {
        if (e instanceof KernelError && e.errno === ENODEV) absent.push(name);
        else throw asNetlinkError('deleteLinks', `put ${name} into link group ${group}`, e);
      }
    }
    if (grouped > 0) named('deleteLinks', what, () => this.send(deleteGroupRequest(group)));
    return absent;
  }

  setLinkUp(name: string): void {
    named('setLinkUp', `set link ${name} up`, () => this.send(setLinkRequest(name, { up: true })));
  }

  setLinkDown(name: string): void {
    named('setLinkDown', `set link ${name} down`, () => this.send(setLinkRequest(name, { up: false })));
  }

  setMtu(name: string, mtu: number): void {
    named('setMtu', `set mtu of ${name} to ${mtu}`, () => this.send(setLinkRequest(name, { mtu })));
  }

  setMaster(name: string, master: string): void {
    named('setMaster', `set master of ${name} to ${master}`, () =>
      this.send(setLinkRequest(name, { masterIndex: this.indexOf(master, 'master') })),
    );
  }

  addAddress(name: string, cidr: string): void {
    named('addAddress', `add address ${cidr} to ${name}`, () => this.send(addressRequest('add', this.indexOf(name, 'link'), cidr)));
  }

  deleteAddress(name: string, cidr: string): void {
    named('deleteAddress', `delete address ${cidr} from ${name}`, () =>
      this.send(addressRequest('delete', this.indexOf(name, 'link'), cidr)),
    );
  }

  listAddresses(name?: string): AddressInfo[] {
    return named('listAddresses', name ? `list addresses of ${name}` : 'list addresses', () => {
      const index = name === undefined ? undefined : this.indexOf(name, 'link');
      const all = this.dump(dumpAddressesRequest()).map(decodeAddress);
      return all.filter((a): a is AddressInfo => a !== undefined && (index === undefined || a.ifindex === index));
    });
  }

  listRoutes(family?: 4 | 6): RouteInfo[] {
    return named('listRoutes', 'list routes', () =>
      this.dump(dumpRoutesRequest(family))
        .map(decodeRoute)
        .filter((r): r is RouteInfo => r !== undefined && r.table === RT_TABLE_MAIN),
    );
  }

  /** Listening TCP and bound UDP sockets of this thread's namespace, through sock_diag. */
  listSockets(): SocketInfo[] {
    return named('listSockets', 'list sockets', () => {
      return listBoundSockets((this.diag ??= new NetlinkSocket(NETLINK_SOCK_DIAG)));
    });
  }

  deleteConntrackFor(ip: string): number {
    const what = `delete conntrack entries of ${ip}`;
    const family = ipFamily(ip);
    if (!family) throw new NetlinkError(`${what}: not an IP address`, EINVAL, 'deleteConntrackFor');
    const addr = normalizeIP(ip);
    return named('deleteConntrackFor', what, () => {
      const nf = (this.netfilter ??= new NetlinkSocket(NETLINK_NETFILTER));
      const dumpReq = dumpConntrackRequest(family);
      const victims = nf
        .dump(dumpReq.type, dumpReq.flags, dumpReq.payload)
        .map(decodeConntrack)
        .filter((e) => e !== undefined && conntrackMatches(e, addr));
      let deleted = 0;
      for (const e of victims) {
        const r = deleteConntrackRequest(e!);
        try {
          nf.request(r.type, r.flags, r.payload);
          deleted++;
        } catch (err) {
          // Expired between the dump and the delete: already gone, which is what we wanted.
          if (!(err instanceof KernelError && err.errno === ENOENT)) throw err;
        }
      }
      return deleted;
    });
  }

  close(): void {
    this.route.close();
    this.netfilter?.close();
    this.diag?.close();
    this.netfilter = undefined;
    this.diag = undefined;
  }
}
