/** Worker thread running ClusterKernelOps, so the main thread never blocks on the kernel. */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { enterNetns } from '../netlink/socket';
import { NetlinkError } from '../netlink/types';
import { ClusterKernelOps } from './kernel-ops';

export const CLUSTER_OPS = ['ensureVxlan', 'deleteVxlan', 'converge', 'setLinkMac'] as const;
export type ClusterOp = (typeof CLUSTER_OPS)[number];
export type ClusterRequest = { id: number; method: ClusterOp | 'close'; args: unknown[] };
export type ClusterReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; errno?: number; op?: string };

function main(): void {
  const port = parentPort;
  if (!port) return;
  const netnsPath = (workerData as { netnsPath?: string } | undefined)?.netnsPath;
  if (netnsPath) {
    const fd = fs.openSync(netnsPath, fs.constants.O_RDONLY);
    try {
      enterNetns(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  const ops = new ClusterKernelOps();
  const table = ops as unknown as Record<ClusterOp, (...a: unknown[]) => unknown>;
  port.on('message', (req: ClusterRequest) => {
    if (req.method === 'close') {
      ops.close();
      port.postMessage({ id: req.id, ok: true, value: undefined } satisfies ClusterReply);
      port.close();
      return;
    }
    let reply: ClusterReply;
    try {
      if (!CLUSTER_OPS.includes(req.method)) throw new Error(`unknown cluster kernel operation ${String(req.method)}`);
      reply = { id: req.id, ok: true, value: table[req.method].apply(ops, req.args) };
    } catch (e) {
      reply = e instanceof NetlinkError ? { id: req.id, ok: false, message: e.message, errno: e.errno, op: e.op } : { id: req.id, ok: false, message: (e as Error).message };
    }
    port.postMessage(reply);
  });
}

main();
