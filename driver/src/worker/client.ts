/**
 * The driver-thread side of the RPC to a worker thread (serve.ts): typed calls, answered in the
 * order they were sent. One rule for a worker that dies (crashes, is killed, its thread fails):
 * every call in flight fails at once with a WorkerDiedError that says so, and the next call
 * starts a fresh worker (in the same namespace, with the same inode check). The worker only keeps
 * the process alive while a call is in flight.
 */
import { Worker } from 'node:worker_threads';
import { CLOSE, type MethodName, type ReadyMessage, type ReplyMessage, type WireError, type WorkerInit } from './protocol';

export interface WorkerClientOptions<Init> {
  /** The compiled worker script (it calls serveWorker). */
  script: string;
  /** How messages name the worker, e.g. "netlink worker (host namespace)". */
  name: string;
  netnsPath?: string;
  netnsInode?: number;
  init?: Init;
  /** Turns a worker's error back into its class; undefined for a plain Error. */
  decodeError?(e: WireError): Error | undefined;
  /** The error a call gets when the worker says it cannot start. */
  startError?(m: { message: string; errno?: number }): Error;
}

/** The worker ended while the call was in flight: whether the call took effect is not known. */
export class WorkerDiedError extends Error {
  constructor(
    message: string,
    readonly method: string,
  ) {
    super(message);
    this.name = 'WorkerDiedError';
  }
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  up: boolean;
  /** Set when close() asked the thread to end: its exit is no failure. */
  closing: boolean;
  /** Calls sent to it and not answered yet (it is ref'd while there are any). */
  inFlight: number;
}

interface Pending {
  thread: Thread;
  method: string;
  /** Held until the call is posted (a call made while the worker starts waits for it). */
  args?: unknown[];
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export type CallArgs<F> = F extends (...args: infer A) => unknown ? A : never;
export type CallResult<F> = F extends (...args: never[]) => infer R ? R : never;

export class WorkerClient<Api, Init = undefined> {
  private thread?: Thread;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing?: Promise<void>;
  private started = 0;

  constructor(private readonly opts: WorkerClientOptions<Init>) {}

  /** How many times a worker was started again after one died. */
  get restarts(): number {
    return Math.max(0, this.started - 1);
  }

  /** Starts the worker (if none runs) and waits until it is ready. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    return this.current().ready;
  }

  call<K extends MethodName<Api>>(method: K, ...args: CallArgs<Api[K]>): Promise<CallResult<Api[K]>> {
    if (this.closing) return Promise.reject(this.closedError());
    return this.send(this.current(), method, args) as Promise<CallResult<Api[K]>>;
  }

  /** Waits for calls already sent, lets the API release what it holds and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const thread = this.thread;
      if (!thread) return;
      try {
        await thread.ready;
      } catch {
        return;
      }
      if (thread !== this.thread) return;
      const exited = new Promise<void>((resolve) => thread.worker.once('exit', () => resolve()));
      thread.closing = true;
      await this.send(thread, CLOSE, []).catch(() => undefined);
      // Keep the process alive until the worker is gone, or a short-lived caller exits mid-close.
      thread.worker.ref();
      await exited;
    })();
    return this.closing;
  }

  /** Ends the thread at once, as a crash would. For tests, and for a worker stuck beyond use. */
  async terminate(): Promise<void> {
    await this.thread?.worker.terminate();
  }

  private current(): Thread {
    return (this.thread ??= this.startThread());
  }

  private startThread(): Thread {
    this.started++;
    const { script, name, netnsPath, netnsInode, init } = this.opts;
    const worker = new Worker(script, { workerData: { netnsPath, netnsInode, init } satisfies WorkerInit<Init> });
    const thread: Thread = { worker, ready: Promise.resolve(), up: false, closing: false, inFlight: 0 };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m: ReadyMessage) => {
        if (!m.ready) {
          const e = this.opts.startError?.(m) ?? new Error(`${name} could not start: ${m.message}`);
          this.retire(thread, e, reject);
          return;
        }
        thread.up = true;
        worker.on('message', (r: ReplyMessage) => this.settle(r));
        for (const [id, p] of this.pending) if (p.thread === thread && p.args) this.post(thread, id, p.method, p.args);
        if (thread.inFlight === 0) worker.unref();
        resolve();
      });
      worker.on('error', (e) => this.retire(thread, e, reject, `failed (${e.message})`));
      worker.on('exit', (code) => this.retire(thread, undefined, reject, `exited with code ${code}`));
    });
    thread.ready.catch(() => undefined);
    return thread;
  }

  private send(thread: Thread, method: string, args: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { thread, method, args, resolve, reject });
      // Before the worker is ready the call waits in `pending`; it is posted once ready, in order.
      if (thread.up) this.post(thread, id, method, args);
    });
  }

  private post(thread: Thread, id: number, method: string, args: unknown[]): void {
    const p = this.pending.get(id);
    if (p) p.args = undefined;
    if (thread.inFlight++ === 0) thread.worker.ref();
    thread.worker.postMessage({ id, method, args });
  }

  private settle(r: ReplyMessage): void {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (--p.thread.inFlight === 0) p.thread.worker.unref();
    if (r.ok) p.resolve(r.value);
    else p.reject(this.opts.decodeError?.(r.error) ?? new Error(r.error.message));
  }

  /**
   * The thread is gone (or never came up): forget it so the next call starts another, and fail
   * what it was asked. `startFailure` is the error of a worker that said it cannot start.
   */
  private retire(thread: Thread, startFailure: Error | undefined, rejectReady: (e: Error) => void, how?: string): void {
    if (this.thread === thread) this.thread = undefined;
    const { name } = this.opts;
    if (!thread.up) {
      const e = startFailure ?? new Error(`${name} ${how ?? 'ended'} before it was ready`);
      rejectReady(e);
      for (const [id, p] of this.pending) {
        if (p.thread !== thread) continue;
        this.pending.delete(id);
        p.reject(e);
      }
      if (startFailure) void thread.worker.terminate();
      return;
    }
    for (const [id, p] of this.pending) {
      if (p.thread !== thread) continue;
      this.pending.delete(id);
      p.reject(
        thread.closing
          ? this.closedError()
          : new WorkerDiedError(`${name} ${how ?? 'ended'} during ${p.method}; whether ${p.method} took effect is not known; the next call starts the worker again`, p.method),
      );
    }
  }

  private closedError(): Error {
    return new Error(`${this.opts.name} is closed`);
  }
}
