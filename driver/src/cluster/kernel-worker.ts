/** Worker thread running ClusterKernelOps, so the main thread never blocks on the kernel (worker/serve.ts). */
import { NetlinkError } from '../netlink/types';
import { serveWorker } from '../worker/serve';
import { ClusterKernelOps } from './kernel-ops';

export const CLUSTER_OPS = ['ensureVxlan', 'deleteVxlan', 'converge', 'setLinkMac', 'linkIndexes'] as const;

serveWorker<ClusterKernelOps>({
  create: () => new ClusterKernelOps(),
  methods: CLUSTER_OPS,
  close: (ops) => ops.close(),
  encodeError: (e) => (e instanceof NetlinkError ? { kind: 'netlink', message: e.message, errno: e.errno, detail: { op: e.op } } : undefined),
});
