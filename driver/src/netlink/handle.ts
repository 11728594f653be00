/**
 * NetlinkHandle for the driver: a thin client of a netlink worker thread bound to one network
 * namespace. Calls may overlap freely; the worker runs them in arrival order. The worker only
 * keeps the process alive while a call is in flight.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { OpName, ReadyMessage, WorkerInit, WorkerReply, WorkerRequest } from './netlink-worker';
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

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

class WorkerHandle implements NetlinkHandle {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing?: Promise<void>;
  private dead?: Error;

  constructor(
    private readonly worker: Worker,
    private readonly where: string,
  ) {
    worker.on('message', (m: WorkerReply) => this.settle(m));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => this.fail(new Error(`netlink worker (${where}) exited with code ${code}`)));
    worker.unref();
  }

  private settle(m: WorkerReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.ok) p.resolve(m.value);
    else p.reject(m.error.netlink ? new NetlinkError(m.error.message, m.error.errno ?? 0, m.error.op ?? '') : new Error(m.error.message));
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call<T>(method: WorkerRequest['method'], ...args: unknown[]): Promise<T> {
    if (this.closing && method !== 'close') return Promise.reject(new Error(`netlink handle (${this.where}) is closed`));
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, method, args } as WorkerRequest);
    });
  }

  private op<T>(method: OpName, ...args: unknown[]): Promise<T> {
    return this.call<T>(method, ...args);
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
    this.closing ??= (async () => {
      if (this.dead) return;
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      await this.call('close').catch(() => undefined);
      // Keep the process alive until the worker is gone, or a short-lived caller exits mid-close.
      this.worker.ref();
      await exited;
    })();
    return this.closing;
  }
}

/** Opens a handle bound to the namespace at `opts.netnsPath` (default: the host's). */
export function openNetlink(opts: OpenNetlinkOptions = {}): Promise<NetlinkHandle> {
  const where = opts.netnsPath ?? 'host namespace';
  const worker = new Worker(path.join(__dirname, 'netlink-worker.js'), { workerData: { netnsPath: opts.netnsPath, netnsInode: opts.netnsInode } satisfies WorkerInit });
  return new Promise<NetlinkHandle>((resolve, reject) => {
    const onError = (e: Error) => reject(new Error(`netlink worker (${where}) failed to start: ${e.message}`));
    const onExit = (code: number) => reject(new Error(`netlink worker (${where}) exited with code ${code} before it was ready`));
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (m: ReadyMessage) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (m.ready) {
        resolve(new WorkerHandle(worker, where));
      } else {
        const msg = `open netlink in ${where}: ${m.message}`;
        reject(m.errno ? new NetlinkError(msg, m.errno, 'openNetlink') : new Error(msg));
        void worker.terminate();
      }
    });
  });
}
