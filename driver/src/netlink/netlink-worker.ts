/**
 * The netlink worker thread: enters its network namespace when given one (only this thread
 * moves), opens the sockets there and runs one operation at a time for the driver's thread, which
 * never blocks on the kernel (worker/serve.ts).
 */
import { serveWorker } from '../worker/serve';
import { NetlinkOps } from './ops';
import { NetlinkError } from './types';

/** Methods the main thread may call; anything else is refused. */
export const OPS = [
  'listLinks',
  'getLink',
  'createBridge',
  'pinBridge',
  'createVeth',
  'deleteLink',
  'deleteLinks',
  'retireLink',
  'setLinkUp',
  'setLinkDown',
  'setMtu',
  'setMaster',
  'addAddress',
  'deleteAddress',
  'listAddresses',
  'listRoutes',
  'listSockets',
  'deleteConntrackFor',
] as const;
export type OpName = (typeof OPS)[number];

serveWorker<NetlinkOps>({
  create: () => new NetlinkOps(),
  methods: OPS,
  close: (ops) => ops.close(),
  encodeError: (e) => (e instanceof NetlinkError ? { kind: 'netlink', message: e.message, errno: e.errno, detail: { op: e.op } } : undefined),
});
