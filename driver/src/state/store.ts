/**
 * Crash-safe store of networks, endpoints and port maps, one small JSON file per object:
 *   networks/<network id>.json   a network's configuration
 *   endpoints/<endpoint id>.json an endpoint, its addresses and its port maps
 *   journal.log                  names of links about to be created, appended (`+name`) and
 *                                fdatasync'd before each creation; emptied at start
 * Each file is replaced atomically (temporary file, fsync, rename, fsync of the directory), so
 * a kill -9 at any instant leaves every object either old or new. A change writes only the
 * objects it touched: the cost of a call does not grow with the number of endpoints. Saves
 * asked for while a write is under way are coalesced into the next one (group commit), so
 * parallel Joins share their fsyncs.
 *
 * Files rather than an embedded database: the state is small, read once at start, and an
 * operator can read or repair a JSON file with any tool. A damaged file is moved aside (never
 * overwritten), reported, and only that object is lost; the rest loads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EndpointRecord, NetworkRecord, StateDocument } from './types';
import { STATE_VERSION } from './types';

export interface LoadResult {
  state: StateDocument;
  /** What could not be read, in words. */
  problems: string[];
  /** Where damaged files were kept. */
  quarantined: string[];
  /** Endpoints whose network record could not be read: the recovery from the kernel adopts them. */
  orphanEndpoints: EndpointRecord[];
}

type Key = `n:${string}` | `e:${string}`;

export class Store {
  private dirty = new Set<Key>();
  private writing: Promise<void> | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private snapshot: () => StateDocument = () => emptyState();

  constructor(readonly dir: string) {}

  private get networksDir(): string {
    return path.join(this.dir, 'networks');
  }

  private get endpointsDir(): string {
    return path.join(this.dir, 'endpoints');
  }

  private get journalFile(): string {
    return path.join(this.dir, 'journal.log');
  }

  private journalHandle?: fs.promises.FileHandle;
  private journalTail: Promise<void> = Promise.resolve();

  /** Loads every object; a damaged file is moved aside and named in `problems`. */
  load(): LoadResult {
    for (const d of [this.dir, this.networksDir, this.endpointsDir]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
    const result: LoadResult = { state: emptyState(), problems: [], quarantined: [], orphanEndpoints: [] };
    const damaged = (file: string, why: string) => {
      result.problems.push(`${file}: ${why}`);
      const to = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      fs.renameSync(file, to);
      result.quarantined.push(to);
    };
    const read = (file: string): unknown => {
      const text = fs.readFileSync(file, 'utf8');
      try {
        return JSON.parse(text);
      } catch (e) {
        damaged(file, `not valid JSON (${(e as Error).message}); ${text.length} bytes`);
        return undefined;
      }
    };

    for (const name of jsonFiles(this.networksDir)) {
      const file = path.join(this.networksDir, name);
      const rec = read(file) as NetworkRecord | undefined;
      if (rec === undefined) continue;
      const why = networkProblem(rec);
      if (why) {
        damaged(file, why);
        continue;
      }
      rec.endpoints = {};
      result.state.networks[rec.config.id] = rec;
    }
    for (const name of jsonFiles(this.endpointsDir)) {
      const file = path.join(this.endpointsDir, name);
      const ep = read(file) as EndpointRecord | undefined;
      if (ep === undefined) continue;
      const why = endpointProblem(ep);
      if (why) {
        damaged(file, why);
        continue;
      }
      const net = result.state.networks[ep.networkId];
      if (net) net.endpoints[ep.id] = ep;
      else result.orphanEndpoints.push(ep);
    }
    if (fs.existsSync(this.journalFile)) {
      // A torn last line (a crash mid-append) names no link that was created: it is ignored.
      const lines = fs.readFileSync(this.journalFile, 'utf8').split('\n');
      lines.pop(); // after the last newline: empty, or the torn line
      const names = lines
        .filter((l) => /^\+[^\s/]{1,15}$/.test(l))
        .map((l) => l.slice(1));
      result.state.pending = [...new Set(names)];
    }
    return result;
  }

  /** The function that yields the current state; read at each write. */
  bind(snapshot: () => StateDocument): void {
    this.snapshot = snapshot;
  }

  network(id: string): this {
    this.dirty.add(`n:${id}`);
    return this;
  }

  endpoint(id: string): this {
    this.dirty.add(`e:${id}`);
    return this;
  }

  /**
   * Appends a link name to the journal and waits until it is on disk: after a crash, a journalled
   * link no record owns is this driver's leftover. One small append and fdatasync, no rename.
   */
  journal(name: string): Promise<void> {
    const next = this.journalTail.then(async () => {
      this.journalHandle ??= await fs.promises.open(this.journalFile, 'a', 0o600);
      await this.journalHandle.write(`+${name}\n`);
      await this.journalHandle.datasync();
    });
    this.journalTail = next.catch(() => undefined);
    return next;
  }

  /** Closes the journal file (after its last append). */
  async close(): Promise<void> {
    await this.journalTail;
    await this.journalHandle?.close();
    this.journalHandle = undefined;
  }

  /** Empties the journal (at start, once its leftovers are dealt with). */
  async clearJournal(): Promise<void> {
    await this.close();
    await writeAtomically(this.journalFile, '');
    await syncDir(this.dir);
  }

  /** Marks every object of the state (and every file on disk) for the next save. */
  everything(): this {
    const s = this.snapshot();
    for (const name of jsonFiles(this.networksDir)) this.network(name.slice(0, -5));
    for (const name of jsonFiles(this.endpointsDir)) this.endpoint(name.slice(0, -5));
    for (const n of Object.values(s.networks)) {
      this.network(n.config.id);
      for (const id of Object.keys(n.endpoints)) this.endpoint(id);
    }
    return this;
  }

  /** Resolves once every object marked before this call is on disk. */
  save(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) this.writing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.waiters.length > 0) {
      const waiters = this.waiters;
      const keys = [...this.dirty];
      this.waiters = [];
      this.dirty.clear();
      try {
        await this.write(keys);
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const k of keys) this.dirty.add(k); // written again with the next save
        for (const w of waiters) w.reject(e as Error);
      }
    }
    this.writing = null;
  }

  private async write(keys: Key[]): Promise<void> {
    const state = this.snapshot();
    const touched = new Set<string>();
    for (const key of keys) {
      let file: string;
      let content: unknown;
      if (key.startsWith('n:')) {
        const id = key.slice(2);
        file = path.join(this.networksDir, `${safe(id)}.json`);
        const rec = state.networks[id];
        content = rec ? { ...rec, endpoints: undefined } : undefined;
      } else {
        const id = key.slice(2);
        file = path.join(this.endpointsDir, `${safe(id)}.json`);
        content = findEndpoint(state, id);
      }
      if (content === undefined) await fs.promises.rm(file, { force: true });
      else await writeAtomically(file, JSON.stringify(content, null, 1));
      touched.add(path.dirname(file));
    }
    for (const dir of touched) await syncDir(dir);
  }
}

export function emptyState(): StateDocument {
  return { version: STATE_VERSION, networks: {} };
}

function findEndpoint(state: StateDocument, id: string): EndpointRecord | undefined {
  for (const n of Object.values(state.networks)) if (n.endpoints[id]) return n.endpoints[id];
  return undefined;
}

/** IDs come from dockerd (validated as [0-9a-zA-Z_.-]); never let one name a path elsewhere. */
function safe(id: string): string {
  if (!/^[0-9a-zA-Z_.-]{1,128}$/.test(id) || id.startsWith('.')) throw new Error(`cannot store an object with the ID ${JSON.stringify(id)}`);
  return id;
}

function jsonFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  const dh = await fs.promises.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

function networkProblem(rec: unknown): string | undefined {
  const r = rec as NetworkRecord;
  if (!r || typeof r !== 'object' || !r.config || typeof r.config !== 'object') return 'not a network record';
  if (typeof r.config.id !== 'string' || typeof r.config.bridge !== 'string' || !Array.isArray(r.config.ipv4) || !Array.isArray(r.config.ipv6Subnets)) {
    return 'the network record is incomplete (id, bridge or subnets missing)';
  }
  return undefined;
}

function endpointProblem(rec: unknown): string | undefined {
  const e = rec as EndpointRecord;
  if (!e || typeof e !== 'object') return 'not an endpoint record';
  if (typeof e.id !== 'string' || typeof e.networkId !== 'string' || typeof e.hostVeth !== 'string' || !Array.isArray(e.ports)) {
    return 'the endpoint record is incomplete (id, network, veth or ports missing)';
  }
  return undefined;
}
