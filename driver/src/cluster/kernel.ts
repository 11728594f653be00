/**
 * Client of the cluster kernel worker: VXLAN link and per-peer entries (see kernel-ops.ts), over
 * the driver's one worker RPC (a dead worker fails its calls in flight and is started again).
 */
import * as path from 'node:path';
import { NetlinkError } from '../netlink/types';
import { WorkerClient } from '../worker/client';
import type { ClusterKernelOps, ConvergeResult, DesiredPeers } from './kernel-ops';
import type { VxlanSpec } from './rtnl';

export type { ConvergeResult, DesiredPeers };

export interface ClusterKernel {
  ensureVxlan(spec: VxlanSpec): Promise<number>;
  deleteVxlan(name: string): Promise<void>;
  setLinkMac(name: string, mac: string): Promise<void>;
  linkIndexes(names: string[]): Promise<Record<string, number>>;
  converge(name: string, want: DesiredPeers): Promise<ConvergeResult>;
  close(): Promise<void>;
  /** The worker client (tests kill the thread through it). */
  readonly rpc?: WorkerClient<ClusterKernelOps>;
}

/** `netnsPath`: work in that network namespace (tests); default the host's. */
export function openClusterKernel(netnsPath?: string): ClusterKernel {
  const rpc = new WorkerClient<ClusterKernelOps>({
    script: path.join(__dirname, 'kernel-worker.js'),
    name: `cluster kernel worker (${netnsPath ?? 'host namespace'})`,
    netnsPath,
    decodeError: (e) => (e.kind === 'netlink' ? new NetlinkError(e.message, e.errno ?? 0, String(e.detail?.op ?? '')) : undefined),
  });
  return {
    rpc,
    ensureVxlan: (spec) => rpc.call('ensureVxlan', spec),
    deleteVxlan: (name) => rpc.call('deleteVxlan', name),
    setLinkMac: (name, mac) => rpc.call('setLinkMac', name, mac),
    linkIndexes: (names) => rpc.call('linkIndexes', names),
    converge: (name, want) => rpc.call('converge', name, want),
    close: () => rpc.close(),
  };
}
