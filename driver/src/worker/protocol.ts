/**
 * The message protocol between a worker client (client.ts, on the driver's thread) and a worker
 * thread serving an API object (serve.ts). Every message is structured-cloned.
 */

/** What a worker thread is started with. */
export interface WorkerInit<Init = undefined> {
  /** Enter this network namespace before anything else (nsfs path). */
  netnsPath?: string;
  /** Refuse to work unless `netnsPath` holds the namespace with this inode. */
  netnsInode?: number;
  /** The API's own start-up data. */
  init?: Init;
}

/** First message of a worker: ready to take calls, or why not. */
export type ReadyMessage = { ready: true } | { ready: false; message: string; errno?: number };

/** Method name of the close request: the thread closes its API and ends. */
export const CLOSE = '$close';

export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

/**
 * An error crossing the thread boundary: a class does not survive structured cloning, so the
 * serving side names a `kind` the client turns back into its class (anything else is an Error).
 */
export interface WireError {
  kind?: string;
  message: string;
  errno?: number;
  /** Further fields of the kind (e.g. a netlink operation's name). */
  detail?: Record<string, string | number | undefined>;
}

export type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

/** The methods of an API object (what a worker can be asked to run). */
export type MethodName<Api> = { [K in keyof Api]: Api[K] extends (...args: never[]) => unknown ? K : never }[keyof Api] & string;
