/**
 * NetlinkHandle for the driver: a thin client of a netlink worker thread bound to one network
 * namespace. Calls may overlap freely; the worker runs them in arrival order. The worker only
 * keeps the process alive while a call is in flight.
 */
import * as path from 'node:path';
import { WorkerClient, type CallArgs, type CallResult } from '../worker/client';
import type { NetlinkOps } from './ops';
import type { OpName } from './netlink-worker';
import { NetlinkError, type AddressInfo, type BridgeOptions, type LinkInfo, type NetlinkHandle, type RouteInfo, type SocketInfo, type VethOptions } from './types';

export interface OpenNetlinkOptions {
  /** nsfs path of the namespace to work in (/run/netns/NAME, /proc/PID/ns/net, a SandboxKey); default: the host's. */
  netnsPath?: string;
  /**
   * Inode of the namespace the caller looked up (e.g. stat of /proc/PID/ns/net): the worker
   * refuses to work in whatever else the path holds when it opens it.
   */
  netnsInode?: number;
}


export class WorkerHandle implements NetlinkHandle {
  constructor(readonly rpc: WorkerClient<NetlinkOps>) {}

  private op<K extends OpName>(method: K, ...args: CallArgs<NetlinkOps[K]>): Promise<CallResult<NetlinkOps[K]>> {
    return this.rpc.call(method, ...args);
  }
  listLinks(): Promise<LinkInfo[]> {
    return this.op('listLinks');
  }
  getLink(name: string): Promise<LinkInfo | undefined> {
    return this.op('getLink', name);
  }
  createBridge(name: string, opts?: BridgeOptions): Promise<void> {
    return this.op('createBridge', name, opts);
  }

  pinBridge(name: string, opts: BridgeOptions): Promise<void> {
    return this.op('pinBridge', name, opts);
  }
  createVeth(hostName: string, peerName: string, opts?: VethOptions): Promise<void> {
    return this.op('createVeth', hostName, peerName, opts);
  }
  deleteLink(name: string): Promise<void> {
    return this.op('deleteLink', name);
  }
  deleteLinks(names: string[]): Promise<string[]> {
    return this.op('deleteLinks', names);
  }
  retireLink(name: string, retiredName: string): Promise<boolean> {
    return this.op('retireLink', name, retiredName);
  }
  setLinkUp(name: string): Promise<void> {
    return this.op('setLinkUp', name);
  }
  setLinkDown(name: string): Promise<void> {
    return this.op('setLinkDown', name);
  }
  setMtu(name: string, mtu: number): Promise<void> {
    return this.op('setMtu', name, mtu);
  }
  setMaster(name: string, master: string): Promise<void> {
    return this.op('setMaster', name, master);
  }
  addAddress(name: string, cidr: string): Promise<void> {
    return this.op('addAddress', name, cidr);
  }
  deleteAddress(name: string, cidr: string): Promise<void> {
    return this.op('deleteAddress', name, cidr);
  }
  listAddresses(name?: string): Promise<AddressInfo[]> {
    return this.op('listAddresses', name);
  }
  listRoutes(family?: 4 | 6): Promise<RouteInfo[]> {
    return this.op('listRoutes', family);
  }
  listSockets(): Promise<SocketInfo[]> {
    return this.op('listSockets');
  }
  deleteConntrackFor(ip: string): Promise<number> {
    return this.op('deleteConntrackFor', ip);
  }

  /** Waits for calls already sent, closes the sockets and ends the thread. Idempotent. */
  close(): Promise<void> {
    return this.rpc.close();
  }
}

/** Opens a handle bound to the namespace at `opts.netnsPath` (default: the host's). */
export async function openNetlink(opts: OpenNetlinkOptions = {}): Promise<NetlinkHandle> {
  const where = opts.netnsPath ?? 'host namespace';
  const rpc = new WorkerClient<NetlinkOps>({
    script: path.join(__dirname, 'netlink-worker.js'),
    name: `netlink worker (${where})`,
    netnsPath: opts.netnsPath,
    netnsInode: opts.netnsInode,
    decodeError: (e) => (e.kind === 'netlink' ? new NetlinkError(e.message, e.errno ?? 0, String(e.detail?.op ?? '')) : undefined),
    startError: (m) => {
      const msg = `open netlink in ${where}: ${m.message}`;
      return m.errno ? new NetlinkError(msg, m.errno, 'openNetlink') : new Error(msg);
    },
  });
  await rpc.start();
  return new WorkerHandle(rpc);
}
