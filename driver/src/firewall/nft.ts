/**
 * Client side of the libnftables worker: sends one JSON buffer per call (= one atomic kernel
 * transaction) and parses the JSON output. Calls are queued in order; the worker is unref'd
 * while idle so it never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import type { WorkerReply, WorkerRequest } from './nft-worker';
import type { Json, NftCmd } from './rules';

export class NftError extends Error {
  constructor(
    message: string,
    readonly rc: number,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'NftError';
  }
  /** The kernel/libnftables said an object does not exist. */
  get isNotFound(): boolean {
    return /No such file or directory|does not exist/i.test(this.stderr);
  }
}

export interface NftRunResult {
  items: Json[];
  ms: number;
}

export class NftWorker {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  private fatal: Error | undefined;

  constructor(private readonly netnsPath?: string) {}

  private start(): Promise<void> {
    if (this.ready) return this.ready;
    const w = new Worker(path.join(__dirname, 'nft-worker.js'), { workerData: { netnsPath: this.netnsPath } });
    this.worker = w;
    this.ready = new Promise<void>((resolve, reject) => {
      const fail = (e: Error) => {
        this.fatal = e;
        reject(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      w.on('message', (r: WorkerReply) => {
        if (r.id === 0) {
          w.unref();
          resolve();
          return;
        }
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if (this.pending.size === 0) w.unref();
        p.resolve(r);
      });
      w.on('error', (e) => fail(new Error(`libnftables worker failed: ${e.message}`)));
      w.on('exit', (code) => fail(new Error(`libnftables worker exited (${code})`)));
    });
    return this.ready;
  }

  private async request(req: Omit<WorkerRequest, 'id'>): Promise<WorkerReply> {
    if (this.fatal) {
      // The worker died (or never started): start a fresh one for this request.
      this.fatal = undefined;
      this.ready = undefined;
      this.worker = undefined;
    }
    await this.start();
    const id = this.nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.ref();
      this.worker!.postMessage({ ...req, id } satisfies WorkerRequest);
    });
  }

  /** Runs the commands as one buffer: one atomic transaction (all or none). */
  async run(cmds: NftCmd[]): Promise<NftRunResult> {
    if (cmds.length === 0) return { items: [], ms: 0 };
    const r = await this.request({ op: 'run', bufs: [JSON.stringify({ nftables: cmds })] });
    const res = r.results[0];
    if (res.rc !== 0) throw toError(res.rc, res.err);
    return { items: parseOutput(res.out), ms: r.ms };
  }

  /**
   * Runs each list command in its own libnftables call, in one worker round trip.
   * (libnftables 1.0.6 builds its cache for the first list command of a buffer only, so
   * several list commands in one buffer fail.) Objects that do not exist are skipped.
   */
  async list(cmds: NftCmd[]): Promise<NftRunResult & { missing: number }> {
    if (cmds.length === 0) return { items: [], ms: 0, missing: 0 };
    const r = await this.request({ op: 'run', bufs: cmds.map((c) => JSON.stringify({ nftables: [c] })) });
    const items: Json[] = [];
    let missing = 0;
    for (const res of r.results) {
      if (res.rc !== 0) {
        const e = toError(res.rc, res.err);
        if (!e.isNotFound) throw e;
        missing++;
        continue;
      }
      items.push(...parseOutput(res.out));
    }
    return { items, ms: r.ms, missing };
  }

  async legacyTableNames(): Promise<string[]> {
    const r = await this.request({ op: 'legacyTables' });
    return r.results[0].out.split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** Adds (or removes) the DOCKER-USER accepts of a bridge through libip4tc; false if no such chain. */
  async legacy(action: 'accept' | 'remove', bridge: string): Promise<boolean> {
    const r = await this.request({ op: action === 'accept' ? 'legacyAccept' : 'legacyRemove', bridge });
    const res = r.results[0];
    if (res.rc === 2) throw new NftError(res.err, res.rc, res.err);
    return res.rc === 0;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (w) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}

function toError(rc: number, err: string): NftError {
  const msg = err.trim().split('\n').filter((l) => l.trim()).slice(0, 6).join('; ');
  return new NftError(`nftables: ${msg || `error ${rc}`}`, rc, err);
}

/** A list call yields one `{"nftables":[...]}` document per list command, concatenated. */
export function parseOutput(out: string): Json[] {
  const items: Json[] = [];
  const text = out.trim();
  if (!text) return items;
  try {
    return ((JSON.parse(text) as { nftables?: Json[] }).nftables ?? []) as Json[];
  } catch {
    /* several documents: split below */
  }
  // Split concatenated JSON documents at top-level object boundaries.
  let depth = 0;
  let start = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      const doc = JSON.parse(text.slice(start, i + 1)) as { nftables?: Json[] };
      items.push(...(doc.nftables ?? []));
      start = i + 1;
    }
  }
  return items;
}
