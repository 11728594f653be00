/**
 * The netlink worker thread: optionally enters a network namespace (only this thread moves),
 * opens the sockets there and runs one operation at a time for the main thread, which never
 * blocks on the kernel. Protocol: see WorkerRequest / WorkerReply.
 */
import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { NetlinkOps } from './ops';
import { enterNetns, KernelError } from './socket';
import { NetlinkError } from './types';

export interface WorkerInit {
  netnsPath?: string;
  /** Inode of the namespace the caller saw at netnsPath: refused if the path now holds another. */
  netnsInode?: number;
}

export type WorkerRequest = { id: number; method: OpName; args: unknown[] } | { id: number; method: 'close'; args: [] };

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; errno?: number; op?: string; netlink: boolean } };

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

export type ReadyMessage = { ready: true } | { ready: false; message: string; errno?: number };

/**
 * Enters the namespace at `path`. What is checked is the namespace actually entered (the opened
 * descriptor), never the path again: a path can be re-pointed between two looks at it.
 */
function enterNamespace(path: string, expectedInode?: number): void {
  const fd = fs.openSync(path, fs.constants.O_RDONLY);
  let entered: number;
  try {
    entered = fs.fstatSync(fd).ino;
    if (expectedInode !== undefined && entered !== expectedInode) {
      throw new Error(`${path} now holds network namespace net:[${entered}], not net:[${expectedInode}] that was looked up (the container restarted or its process exited); run the command again`);
    }
    enterNetns(fd);
  } finally {
    fs.closeSync(fd);
  }
  // Guard against a path that is not a network namespace (setns would have refused) or a thread mix-up.
  if (fs.statSync('/proc/thread-self/ns/net').ino !== entered) {
    throw new Error(`setns into ${path} did not take effect for this thread`);
  }
}

function serializeError(e: unknown): Extract<WorkerReply, { ok: false }>['error'] {
  if (e instanceof NetlinkError) return { message: e.message, errno: e.errno, op: e.op, netlink: true };
  return { message: e instanceof Error ? e.message : String(e), netlink: false };
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('netlink worker started outside a worker thread');
  const init = (workerData ?? {}) as WorkerInit;
  let ops: NetlinkOps;
  try {
    if (init.netnsPath) enterNamespace(init.netnsPath, init.netnsInode);
    ops = new NetlinkOps();
  } catch (e) {
    const errno = e instanceof KernelError ? e.errno : Math.abs((e as NodeJS.ErrnoException).errno ?? 0) || undefined;
    const ready: ReadyMessage = { ready: false, message: (e as Error).message, errno };
    port.postMessage(ready);
    port.close();
    return;
  }
  port.postMessage({ ready: true } satisfies ReadyMessage);

  const table = ops as unknown as Record<OpName, (...args: unknown[]) => unknown>;
  port.on('message', (req: WorkerRequest) => {
    let reply: WorkerReply;
    if (req.method === 'close') {
      ops.close();
      port.postMessage({ id: req.id, ok: true, value: undefined } satisfies WorkerReply);
      port.close(); // nothing left: the thread ends
      return;
    }
    try {
      if (!OPS.includes(req.method)) throw new Error(`unknown netlink operation ${String(req.method)}`);
      reply = { id: req.id, ok: true, value: table[req.method].apply(ops, req.args) };
    } catch (e) {
      reply = { id: req.id, ok: false, error: serializeError(e) };
    }
    port.postMessage(reply);
  });
}

main();
