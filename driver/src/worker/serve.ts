/**
 * The worker-thread side of the RPC: enters the namespace it was started for (with the inode
 * check), builds its API object, says it is ready, then runs one call at a time in arrival order
 * and answers each. The API's methods are synchronous: a thread exists so the driver's event loop
 * never waits on the kernel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { enterNetworkNamespace } from '../host/netns';
import { CLOSE, type CallMessage, type MethodName, type ReadyMessage, type ReplyMessage, type WireError, type WorkerInit } from './protocol';

export interface ServeOptions<Api, Init> {
  /** Builds the API object inside the thread, after the namespace was entered. */
  create(init: Init | undefined): Api;
  /** The methods callers may run; anything else is refused. */
  methods: readonly MethodName<Api>[];
  /** Releases what the API holds (sockets, contexts) before the thread ends. */
  close?(api: Api): void;
  /** Names an error's kind and fields for the client; undefined for a plain Error. */
  encodeError?(e: unknown): WireError | undefined;
}

export function serveWorker<Api, Init = undefined>(opts: ServeOptions<Api, Init>): void {
  const port = parentPort;
  if (!port) throw new Error('serveWorker runs inside a worker thread only');
  const start = (workerData ?? {}) as WorkerInit<Init>;
  const encode = (e: unknown): WireError => opts.encodeError?.(e) ?? { message: e instanceof Error ? e.message : String(e) };
  let api: Api;
  try {
    if (start.netnsPath) enterNetworkNamespace(start.netnsPath, start.netnsInode);
    api = opts.create(start.init);
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    const ready: ReadyMessage = { ready: false, message: e instanceof Error ? e.message : String(e), errno: typeof errno === 'number' && errno !== 0 ? Math.abs(errno) : undefined };
    port.postMessage(ready);
    port.close();
    return;
  }
  port.postMessage({ ready: true } satisfies ReadyMessage);

  const allowed = new Set<string>(opts.methods);
  const table = api as unknown as Record<string, (...args: unknown[]) => unknown>;
  port.on('message', (m: CallMessage) => {
    if (m.method === CLOSE) {
      try {
        opts.close?.(api);
      } finally {
        port.postMessage({ id: m.id, ok: true, value: undefined } satisfies ReplyMessage);
        port.close(); // nothing left: the thread ends
      }
      return;
    }
    let reply: ReplyMessage;
    try {
      if (!allowed.has(m.method)) throw new Error(`unknown operation ${String(m.method)}`);
      reply = { id: m.id, ok: true, value: table[m.method].apply(api, m.args) };
    } catch (e) {
      reply = { id: m.id, ok: false, error: encode(e) };
    }
    port.postMessage(reply);
  });
}
