/** Client of the cluster kernel worker: VXLAN link and per-peer entries (see kernel-ops.ts). */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { NetlinkError } from '../netlink/types';
import type { ConvergeResult, DesiredPeers } from './kernel-ops';
import type { ClusterOp, ClusterReply } from './kernel-worker';
import type { VxlanSpec } from './rtnl';

export type { ConvergeResult, DesiredPeers };

export interface ClusterKernel {
  ensureVxlan(spec: VxlanSpec): Promise<number>;
  deleteVxlan(name: string): Promise<void>;
  setLinkMac(name: string, mac: string): Promise<void>;
  converge(name: string, want: DesiredPeers): Promise<ConvergeResult>;
  close(): Promise<void>;
}

/** `netnsPath`: work in that network namespace (tests); default the host's. */
export function openClusterKernel(netnsPath?: string): ClusterKernel {
  const worker = new Worker(path.join(__dirname, 'kernel-worker.js'), { workerData: { netnsPath } });
  worker.unref();
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let dead: Error | undefined;
  worker.on('message', (m: ClusterReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.ok) p.resolve(m.value);
    else p.reject(m.errno !== undefined ? new NetlinkError(m.message, m.errno, m.op ?? '') : new Error(m.message));
  });
  const fail = (e: Error) => {
    dead ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (c) => fail(new Error(`cluster kernel worker exited (${c})`)));
  const call = <T>(method: ClusterOp | 'close', ...args: unknown[]): Promise<T> => {
    if (dead) return Promise.reject(dead);
    return new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ id, method, args });
    });
  };
  return {
    ensureVxlan: (spec) => call('ensureVxlan', spec),
    deleteVxlan: (name) => call('deleteVxlan', name),
    setLinkMac: (name, mac) => call('setLinkMac', name, mac),
    converge: (name, want) => call('converge', name, want),
    close: async () => {
      if (!dead) await call('close').catch(() => undefined);
    },
  };
}
