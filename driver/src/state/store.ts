/**
 * Crash-safe store of networks, endpoints and port maps, one small JSON file per object:
 *   networks/<network id>.json   a network's configuration
 *   endpoints/<endpoint id>.json an endpoint, its addresses and its port maps
 *   journal.log                  appended and fdatasync'd (parallel lines share one append),
 *                                emptied at start:
 *                                `+name`        a link about to be created
 *                                `-<id> <veth>` an endpoint removed; its veth is renamed tsx…
 *                                               and deleted after the reply (this line makes the
 *                                               removal durable before its file is, and names
 *                                               the veth, under both names, for reconcile
 *                                               should a crash come first)
 * Each file is replaced atomically (temporary file, fsync, rename, fsync of the directory), so
 * a kill -9 at any instant leaves every object either old or new. A change writes only the
 * objects it touched: the cost of a call does not grow with the number of endpoints. Saves
 * asked for while a write is under way are coalesced into the next one (group commit), so
 * parallel Joins share their fsyncs.
 *
 * The journal is compacted while the driver runs (every JOURNAL_COMPACT_AFTER appends): it is
 * rewritten with only the names still pending, i.e. links whose owning record is not on disk yet,
 * and the deletions whose veth is not gone yet (after the files they cover are on disk).
 *
 * The state directory and its subdirectories are made 0700 (also when they already exist) and
 * must belong to this process's user. Files are opened with O_NOFOLLOW and temporary files with
 * O_EXCL, so a symbolic link planted in the directory is never followed.
 *
 * Files rather than an embedded database: the state is small, read once at start, and an
 * operator can read or repair a JSON file with any tool. A damaged file is moved aside (never
 * overwritten), reported, and only that object is lost; the rest loads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vethRetiredName } from '@tsnet/shared';
import { endpointFile, networkFile, readEndpointFile, readNetworkFile } from './files';
import type { EndpointRecord, StateDocument } from './types';
import { own, records, STATE_VERSION } from './types';

/** Appends to the journal after which it is rewritten with only what is still pending. */
export const JOURNAL_COMPACT_AFTER = 256;

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW } = fs.constants;

/** An object whose ID can never name a file: saving it again would fail again, so it is not retried. */
export class UnstorableIdError extends Error {
  constructor(id: string) {
    super(`cannot store an object with the ID ${JSON.stringify(id)}: IDs are 1 to 128 letters, digits, "_", "." or "-", not starting with "."; it was not saved`);
    this.name = 'UnstorableIdError';
  }
}

export interface LoadResult {
  state: StateDocument;
  /** What could not be read, in words. */
  problems: string[];
  /** Where damaged files were kept. */
  quarantined: string[];
  /** Endpoints whose network record could not be read: the recovery from the kernel adopts them. */
  orphanEndpoints: EndpointRecord[];
  /** What was corrected on the way (a state directory's mode), in words. */
  corrected: string[];
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
  private journalLines = 0;
  /** Lines waiting for the next append: parallel calls share one write and one fdatasync. */
  private journalQueue: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Deletion lines whose veth is not gone yet: kept when the journal is compacted. */
  private liveDeletions = new Map<string, number>();

  /** Loads every object; a damaged file is moved aside and named in `problems`. */
  load(): LoadResult {
    const result: LoadResult = { state: emptyState(), problems: [], quarantined: [], orphanEndpoints: [], corrected: [] };
    this.prepareDirectories(result.corrected);
    const damaged = (file: string, why: string) => {
      result.problems.push(`${file}: ${why}`);
      const to = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      fs.renameSync(file, to);
      result.quarantined.push(to);
    };
    const read = (file: string): unknown => {
      let text: string;
      try {
        text = readNoFollow(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ELOOP') throw e;
        damaged(file, 'is a symbolic link, not a file tsnet wrote; it was not followed');
        return undefined;
      }
      try {
        return JSON.parse(text);
      } catch (e) {
        damaged(file, `not valid JSON (${(e as Error).message}); ${text.length} bytes`);
        return undefined;
      }
    };

    for (const name of jsonFiles(this.networksDir)) {
      const file = path.join(this.networksDir, name);
      const raw = read(file);
      if (raw === undefined) continue;
      const rec = readNetworkFile(raw);
      if (typeof rec === 'string') {
        damaged(file, rec);
        continue;
      }
      result.state.networks[rec.config.id] = rec;
    }
    for (const name of jsonFiles(this.endpointsDir)) {
      const file = path.join(this.endpointsDir, name);
      const raw = read(file);
      if (raw === undefined) continue;
      const ep = readEndpointFile(raw);
      if (typeof ep === 'string') {
        damaged(file, ep);
        continue;
      }
      const net = own(result.state.networks, ep.networkId);
      if (net) net.endpoints[ep.id] = ep;
      else result.orphanEndpoints.push(ep);
    }
    let journal: string | undefined;
    try {
      journal = readNoFollow(this.journalFile);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') damaged(this.journalFile, 'is a symbolic link, not a file tsnet wrote; it was not followed');
      else if (code !== 'ENOENT') throw e;
    }
    if (journal !== undefined) {
      // A torn last line (a crash mid-append) names no link that was created: it is ignored.
      const lines = journal.split('\n');
      lines.pop(); // after the last newline: empty, or the torn line
      const names = lines
        .filter((l) => /^\+[^\s/]{1,15}$/.test(l))
        .map((l) => l.slice(1));
      const deleting: string[] = [];
      for (const l of lines) {
        // "-ENDPOINT VETH NETWORK"; lines of earlier versions name no network (then: any network).
        const m = /^-([0-9a-zA-Z_.-]{1,128}) ([^\s/]{1,15})(?: ([0-9a-zA-Z_.-]{1,128}))?$/.exec(l);
        if (!m) continue;
        const [, id, veth, networkId] = m;
        for (const n of Object.values(result.state.networks)) {
          if (networkId !== undefined && n.config.id !== networkId) continue;
          if (own(n.endpoints, id)) delete n.endpoints[id];
        }
        result.orphanEndpoints = result.orphanEndpoints.filter((e) => e.id !== id || (networkId !== undefined && e.networkId !== networkId));
        deleting.push(veth, vethRetiredName(veth));
      }
      result.state.pending = [...new Set([...names, ...deleting])];
      if (deleting.length > 0) result.state.deleting = [...new Set(deleting)];
      this.journalLines = lines.length;
    }
    return result;
  }

  /**
   * Makes the state directory and its subdirectories, and enforces what an existing one must be:
   * owned by this process's user, mode 0700, subdirectories real directories (not symbolic links).
   */
  private prepareDirectories(corrected: string[]): void {
    const uid = process.getuid?.();
    const check = (dir: string, followLink: boolean) => {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const st = followLink ? fs.statSync(dir) : fs.lstatSync(dir);
      if (!st.isDirectory()) throw new Error(`state directory ${dir} is not a directory${st.isSymbolicLink() ? ' (it is a symbolic link)' : ''}; remove it or choose another --state-dir`);
      if (uid !== undefined && st.uid !== uid) {
        throw new Error(`state directory ${dir} belongs to uid ${st.uid}, not to the driver's user (uid ${uid}): anyone owning it could change what tsnet believes it made; chown it to uid ${uid} or choose another --state-dir`);
      }
      if ((st.mode & 0o777) !== 0o700) {
        fs.chmodSync(dir, 0o700);
        corrected.push(`state directory ${dir} had mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}; set to 0700`);
      }
    };
    fs.mkdirSync(path.dirname(path.resolve(this.dir)), { recursive: true, mode: 0o755 });
    // The top directory may be a symbolic link an administrator made (state kept elsewhere).
    check(this.dir, true);
    check(this.networksDir, false);
    check(this.endpointsDir, false);
  }

  /** The function that yields the current state; read at each write. */
  bind(snapshot: () => StateDocument): void {
    this.snapshot = snapshot;
  }

  /** Marks a network for the next save (its file is written, or removed when the network is gone). */
  markNetworkDirty(id: string): this {
    this.dirty.add(`n:${id}`);
    return this;
  }

  /** Marks an endpoint for the next save (its file is written, or removed when the endpoint is gone). */
  markEndpointDirty(id: string): this {
    this.dirty.add(`e:${id}`);
    return this;
  }

  /**
   * Appends a link name to the journal and waits until it is on disk: after a crash, a journalled
   * link no record owns is this driver's leftover. One small append and fdatasync, no rename.
   */
  journal(name: string): Promise<void> {
    return this.append(`+${name}\n`);
  }

  /**
   * Records durably that an endpoint is gone and its veth is to be deleted: at the next start
   * the endpoint's record is dropped (should its file still be there) and the veth is removed
   * by reconcile (should the deletion not have run). The file is removed with a later save.
   */
  journalDeletion(endpointId: string, hostVeth: string, networkId?: string): Promise<void> {
    safe(endpointId);
    if (networkId !== undefined) safe(networkId);
    const line = deletionLine(endpointId, hostVeth, networkId);
    this.liveDeletions.set(line, (this.liveDeletions.get(line) ?? 0) + 1);
    return this.append(line);
  }

  /** The endpoint's veth is gone: its deletion line may be compacted away. */
  deletionDone(endpointId: string, hostVeth: string, networkId?: string): void {
    const line = deletionLine(endpointId, hostVeth, networkId);
    const n = this.liveDeletions.get(line);
    if (n === undefined) return;
    if (n > 1) this.liveDeletions.set(line, n - 1);
    else this.liveDeletions.delete(line);
  }

  private append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const first = this.journalQueue.length === 0;
      this.journalQueue.push({ line, resolve, reject });
      if (!first) return; // a group commit already queued takes this line too
      this.journalTail = this.journalTail.then(async () => {
        const group = this.journalQueue;
        this.journalQueue = [];
        try {
          this.journalHandle ??= await fs.promises.open(this.journalFile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600);
          await this.journalHandle.write(group.map((g) => g.line).join(''));
          await this.journalHandle.datasync();
        } catch (e) {
          for (const g of group) g.reject(e as Error);
          return;
        }
        this.journalLines += group.length;
        if (this.journalLines >= JOURNAL_COMPACT_AFTER) {
          // The append is on disk: a failed compaction must not fail it (it is tried again later).
          await this.compactJournal().catch(() => undefined);
        }
        for (const g of group) g.resolve();
      });
    });
  }

  /** Lines in the journal file (appends since it was last rewritten, plus what that kept). */
  get journalLength(): number {
    return this.journalLines;
  }

  /**
   * Rewrites the journal with only the names still pending: a name leaves `pending` once the
   * record owning its link is on disk, or the link is gone. Runs in the journal's own queue.
   */
  private async compactJournal(): Promise<void> {
    // A finished deletion's line may go only once its endpoint file's removal is on disk.
    await this.save();
    const keep = [...new Set(this.snapshot().pending ?? [])].map((n) => `+${n}\n`);
    for (const [line, n] of this.liveDeletions) for (let i = 0; i < n; i++) keep.push(line);
    await this.journalHandle?.close();
    this.journalHandle = undefined;
    await writeAtomically(this.journalFile, keep.join(''));
    await syncDir(this.dir);
    this.journalLines = keep.length;
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
    this.journalLines = 0;
    this.liveDeletions.clear();
  }

  /** Marks every object of the state (and every file on disk) for the next save. */
  markAllDirty(): this {
    const s = this.snapshot();
    for (const name of jsonFiles(this.networksDir)) this.markNetworkDirty(name.slice(0, -5));
    for (const name of jsonFiles(this.endpointsDir)) this.markEndpointDirty(name.slice(0, -5));
    for (const n of Object.values(s.networks)) {
      this.markNetworkDirty(n.config.id);
      for (const id of Object.keys(n.endpoints)) this.markEndpointDirty(id);
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
        for (const w of waiters) w.reject(e as Error);
      }
    }
    this.writing = null;
  }

  /**
   * Writes each key's object (or removes its file). A key that failed for a reason that can pass
   * (a full disk, an I/O error) is marked again for the next save; one whose ID can never name a
   * file is dropped. Throws the first failure once every key was tried.
   */
  private async write(keys: Key[]): Promise<void> {
    const state = this.snapshot();
    const touched = new Map<string, Key[]>();
    let failure: unknown;
    for (const key of keys) {
      try {
        const id = key.slice(2);
        let file: string;
        let content: unknown;
        if (key.startsWith('n:')) {
          file = path.join(this.networksDir, `${safe(id)}.json`);
          const rec = own(state.networks, id);
          content = rec ? networkFile(rec) : undefined;
        } else {
          file = path.join(this.endpointsDir, `${safe(id)}.json`);
          const ep = findEndpoint(state, id);
          content = ep ? endpointFile(ep) : undefined;
        }
        if (content === undefined) await fs.promises.rm(file, { force: true });
        else await writeAtomically(file, JSON.stringify(content, null, 1));
        const dir = path.dirname(file);
        touched.set(dir, [...(touched.get(dir) ?? []), key]);
      } catch (e) {
        if (!(e instanceof UnstorableIdError)) this.dirty.add(key);
        failure ??= e;
      }
    }
    for (const [dir, written] of touched) {
      try {
        await syncDir(dir);
      } catch (e) {
        for (const k of written) this.dirty.add(k);
        failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
  }
}

export function emptyState(): StateDocument {
  return { version: STATE_VERSION, networks: records() };
}

function findEndpoint(state: StateDocument, id: string): EndpointRecord | undefined {
  for (const n of Object.values(state.networks)) {
    const ep = own(n.endpoints, id);
    if (ep) return ep;
  }
  return undefined;
}

/** IDs come from dockerd (validated as [0-9a-zA-Z_.-]); never let one name a path elsewhere. */
function safe(id: string): string {
  if (!/^[0-9a-zA-Z_.-]{1,128}$/.test(id) || id.startsWith('.')) throw new UnstorableIdError(id);
  return id;
}

function jsonFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

function readNoFollow(file: string): string {
  const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Temporary file, fsync, rename. The temporary name is first removed (a leftover of a crash, or
 * a symbolic link someone planted: rm removes the link itself) and then created with O_EXCL and
 * O_NOFOLLOW, so the write never lands anywhere but in a new file of our own.
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.promises.rm(tmp, { force: true });
  const fh = await fs.promises.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } catch (e) {
    await fh.close();
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  await fh.close();
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

/** The journal line of a deferred veth deletion: the endpoint is dropped from its network at the next start. */
function deletionLine(endpointId: string, hostVeth: string, networkId?: string): string {
  return networkId === undefined ? `-${endpointId} ${hostVeth}\n` : `-${endpointId} ${hostVeth} ${networkId}\n`;
}
