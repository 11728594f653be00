/**
 * Crash-safe store of networks, endpoints and port maps, one small JSON file per object:
 *   networks/<network id>.json   a network's configuration
 *   endpoints/<endpoint id>.json an endpoint, its addresses and its port maps
 *   journal.log                  appended, emptied at start:
 *                                `+name`        a link about to be created (not fdatasync'd: a
 *                                               crash that loses the page cache loses the link too)
 *                                `!name`        a link of that name turned out to exist and not
 *                                               be tsnet's: the `+name` before it is void
 *                                `-<id> <veth>` an endpoint removed; its veth is renamed tsx…
 *                                               and deleted after the reply (this line makes the
 *                                               removal durable before its file is, and names
 *                                               the veth, under both names, for reconcile
 *                                               should a crash come first)
 *                                `=<id> <network> <ports>` an endpoint's port maps changed
 *                                               (JSON); its file follows after the reply, and
 *                                               the last such line wins over the file at load
 * Deletion lines are fdatasync'd (parallel ones share one). Each file is replaced atomically, so
 * a kill -9 at any instant leaves every object either old or new: a network file through a
 * temporary file, fsync, rename, fsync of the directory; an endpoint file is written to its
 * temporary file and renamed at once on the driver's thread (microseconds, no thread-pool trip)
 * and fsync'd with the directory afterwards. A save resolves once the fsyncs are done; a save
 * with `durable: false` once the files are written, which a kill -9 of the driver cannot undo,
 * while the fsyncs follow (what they protect against, losing the page cache, also loses the
 * kernel objects an endpoint record describes). A change writes only the objects it touched: the
 * cost of a call does not grow with the number of endpoints. Saves asked for while a write is
 * under way are coalesced into the next one (group commit), so parallel calls share fsyncs.
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

export interface SaveOptions {
  /**
   * false: resolve once the files are written (renamed into place, in the page cache), with the
   * fsyncs following in the background; default true: once they are on disk.
   */
  durable?: boolean;
}

/** A file written and renamed whose data and directory entry are not fsync'd yet. */
interface Unsynced {
  key: Key;
  dir: string;
  /** Open descriptor of the written file; undefined for a removal (only the directory). */
  fd?: number;
}

export class Store {
  private dirty = new Set<Key>();
  private writing: Promise<void> | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private snapshot: () => StateDocument = () => emptyState();
  private unsynced: Unsynced[] = [];
  /** Called with the failure of fsyncs that follow a `durable: false` save (the objects are marked to be written again). */
  onBackgroundError: (e: Error) => void = () => undefined;

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

  private journalFd?: number;
  private journalLines = 0;
  /** Callers waiting for the journal's next fdatasync: parallel calls share one. */
  private journalWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private journalSyncing: Promise<void> | null = null;
  /** Deletion lines whose veth is not gone yet: kept when the journal is compacted. */
  private liveDeletions = new Map<string, number>();
  /** The last port-map line of each endpoint since the last compaction, with its sequence number. */
  private portLines = new Map<string, { seq: number; line: string }>();
  private portSeq = 0;

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
      const names = new Set<string>();
      for (const l of lines) {
        if (!/^[+!][^\s/]{1,15}$/.test(l)) continue;
        if (l[0] === '+') names.add(l.slice(1));
        else names.delete(l.slice(1));
      }
      // Port-map lines: the last one of an endpoint is newer than its file.
      for (const l of lines) {
        const m = /^=([0-9a-zA-Z_.-]{1,128}) ([0-9a-zA-Z_.-]{1,128}) (\[.*\])$/.exec(l);
        if (!m) continue;
        const [, id, networkId, json] = m;
        const ports = parsePortLine(json);
        if (ports === undefined) {
          result.problems.push(`${this.journalFile}: a port-map line of endpoint ${id} is not valid; the endpoint's file is used`);
          continue;
        }
        const ep = own(own(result.state.networks, networkId)?.endpoints ?? records<EndpointRecord>(), id) ?? result.orphanEndpoints.find((e) => e.id === id && e.networkId === networkId);
        if (ep) ep.ports = ports;
      }
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
   * Appends a link name to the journal, before the link is created: after a crash, a journalled
   * link no record owns is this driver's leftover. Written at once, not fdatasync'd: a crash that
   * loses the page cache loses the link as well.
   */
  journal(name: string): Promise<void> {
    try {
      this.appendNow(`+${name}\n`);
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve();
  }

  /**
   * Voids the last `+name` line: the link of that name exists and tsnet did not make it (its
   * owner may make it again after a reboot, so this one waits for the disk).
   */
  journalNotOurs(name: string): Promise<void> {
    try {
      this.appendNow(`!${name}\n`);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.syncJournal();
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
    try {
      this.appendNow(line);
    } catch (e) {
      return Promise.reject(e);
    }
    this.liveDeletions.set(line, (this.liveDeletions.get(line) ?? 0) + 1);
    return this.syncJournal();
  }

  /**
   * Records an endpoint's new port maps with one append (no fsync, like a `durable: false` save:
   * what loses the page cache loses the kernel's maps too) and marks the endpoint for the next
   * save. Until its file is written, the line is what a restart reads (see load). Throws when
   * the append fails.
   */
  journalPorts(endpointId: string, networkId: string, ports: EndpointRecord['ports']): void {
    safe(endpointId);
    safe(networkId);
    const line = `=${endpointId} ${networkId} ${JSON.stringify(ports)}\n`;
    this.appendNow(line);
    this.portLines.set(endpointId, { seq: ++this.portSeq, line });
    this.markEndpointDirty(endpointId);
  }

  /** The endpoint's veth is gone: its deletion line may be compacted away. */
  deletionDone(endpointId: string, hostVeth: string, networkId?: string): void {
    const line = deletionLine(endpointId, hostVeth, networkId);
    const n = this.liveDeletions.get(line);
    if (n === undefined) return;
    if (n > 1) this.liveDeletions.set(line, n - 1);
    else this.liveDeletions.delete(line);
  }

  /** One write(2) on the driver's thread: appends never interleave with a compaction's rewrite. */
  private appendNow(line: string): void {
    this.journalFd ??= fs.openSync(this.journalFile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0o600);
    const buf = Buffer.from(line);
    // A short write leaves a torn line, which load ignores; the rest follows.
    for (let off = 0; off < buf.length; ) off += fs.writeSync(this.journalFd, buf, off);
    this.journalLines++;
    if (this.journalLines >= JOURNAL_COMPACT_AFTER && !this.journalSyncing) void this.syncJournal().catch(() => undefined);
  }

  /** Resolves once every line appended before the call is on disk. */
  private syncJournal(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.journalWaiters.push({ resolve, reject });
      this.journalSyncing ??= this.journalSyncRounds();
    });
  }

  private async journalSyncRounds(): Promise<void> {
    try {
      while (this.journalWaiters.length > 0) {
        const group = this.journalWaiters;
        this.journalWaiters = [];
        try {
          if (this.journalFd !== undefined) await fdatasync(this.journalFd);
        } catch (e) {
          for (const g of group) g.reject(e as Error);
          continue;
        }
        if (this.journalLines >= JOURNAL_COMPACT_AFTER) {
          // The lines are on disk: a failed compaction must not fail them (it is tried again later).
          await this.compactJournal().catch(() => undefined);
        }
        for (const g of group) g.resolve();
      }
    } finally {
      this.journalSyncing = null;
    }
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
    // A finished deletion's line may go only once its endpoint file's removal is on disk, a port
    // line once its endpoint's file is: those appended before this save are covered by it.
    const covered = this.portSeq;
    await this.save();
    // From here on synchronous: an append lands either in the old file (and is in `keep`) or in
    // the new one (a few milliseconds of fsync on the driver's thread, every 256 appends).
    const keep = [...new Set(this.snapshot().pending ?? [])].map((n) => `+${n}\n`);
    for (const [line, n] of this.liveDeletions) for (let i = 0; i < n; i++) keep.push(line);
    for (const [id, p] of this.portLines) {
      if (p.seq > covered) keep.push(p.line);
      else this.portLines.delete(id);
    }
    this.closeJournalFd();
    writeAtomicallySync(this.journalFile, keep.join(''));
    syncDirSync(this.dir);
    this.journalLines = keep.length;
  }

  private closeJournalFd(): void {
    if (this.journalFd === undefined) return;
    fs.closeSync(this.journalFd);
    this.journalFd = undefined;
  }

  /** Closes the journal file (after its last append) once pending writes and fsyncs are done. */
  async close(): Promise<void> {
    await this.journalSyncing;
    if (this.writing) await this.writing.catch(() => undefined);
    this.closeJournalFd();
  }

  /** Empties the journal (at start, once its leftovers are dealt with). */
  async clearJournal(): Promise<void> {
    await this.close();
    await writeAtomically(this.journalFile, '');
    await syncDir(this.dir);
    this.journalLines = 0;
    this.liveDeletions.clear();
    this.portLines.clear();
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

  /** Resolves once every object marked before this call is on disk (or, `durable: false`, written). */
  save(opts: SaveOptions = {}): Promise<void> {
    if (opts.durable === false) {
      // Endpoint files at once; networks (rare) and every fsync in the next round.
      try {
        this.writeNow([...this.dirty].filter((k): k is `e:${string}` => k.startsWith('e:')), this.snapshot());
      } catch (e) {
        return Promise.reject(e);
      }
      this.save().catch((e) => this.onBackgroundError(e as Error));
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writing) this.writing = this.flush();
    });
  }

  /**
   * Writes (or removes) the endpoint files of `keys` now, each renamed into place, and queues
   * their fsyncs. A key that fails is marked again; throws the first failure once all were tried.
   */
  private writeNow(keys: `e:${string}`[], state: StateDocument): void {
    let failure: unknown;
    for (const key of keys) {
      this.dirty.delete(key);
      try {
        const id = key.slice(2);
        const file = path.join(this.endpointsDir, `${safe(id)}.json`);
        const ep = findEndpoint(state, id);
        if (ep === undefined) {
          fs.rmSync(file, { force: true });
          this.unsynced.push({ key, dir: this.endpointsDir });
        } else {
          this.unsynced.push({ key, dir: this.endpointsDir, fd: writeAndRenameSync(file, JSON.stringify(endpointFile(ep), null, 1)) });
        }
      } catch (e) {
        if (!(e instanceof UnstorableIdError)) this.dirty.add(key);
        failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
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
    let failure: unknown;
    const state = this.snapshot();
    try {
      this.writeNow(keys.filter((k): k is `e:${string}` => k.startsWith('e:')), state);
    } catch (e) {
      failure = e;
    }
    for (const key of keys) {
      if (!key.startsWith('n:')) continue;
      try {
        const id = key.slice(2);
        const file = path.join(this.networksDir, `${safe(id)}.json`);
        const rec = own(state.networks, id);
        if (rec === undefined) await fs.promises.rm(file, { force: true });
        else await writeAtomically(file, JSON.stringify(networkFile(rec), null, 1));
        this.unsynced.push({ key, dir: this.networksDir });
      } catch (e) {
        if (!(e instanceof UnstorableIdError)) this.dirty.add(key);
        failure ??= e;
      }
    }
    // Every file written so far (also by `durable: false` saves), then their directories.
    const batch = this.unsynced;
    this.unsynced = [];
    await Promise.all(
      batch.map(async (u) => {
        if (u.fd === undefined) return;
        try {
          await fdatasync(u.fd);
        } catch (e) {
          this.dirty.add(u.key);
          failure ??= e;
        } finally {
          fs.close(u.fd, () => undefined);
        }
      }),
    );
    const dirs = new Map<string, Key[]>();
    for (const u of batch) dirs.set(u.dir, [...(dirs.get(u.dir) ?? []), u.key]);
    await Promise.all(
      [...dirs].map(async ([dir, written]) => {
        try {
          await syncDir(dir);
        } catch (e) {
          for (const k of written) this.dirty.add(k);
          failure ??= e;
        }
      }),
    );
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

/**
 * The temporary file is written and renamed into place at once (no fsync yet: a kill -9 cannot
 * undo a write(2), and the caller fsyncs the returned descriptor later). Same precautions as
 * writeAtomically against a planted link.
 */
function writeAndRenameSync(file: string, text: string): number {
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return fd;
}

/** writeAtomically on the calling thread, fsync included. */
function writeAtomicallySync(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.rmSync(tmp, { force: true });
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fdatasyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (e) => (e ? reject(e) : resolve())));
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
/** The port maps of a journal line, or undefined when it is not a list of port maps. */
function parsePortLine(json: string): EndpointRecord['ports'] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  const port = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  const ok = v.every(
    (p) =>
      p &&
      typeof p === 'object' &&
      ['tcp', 'udp', 'sctp'].includes(p.proto) &&
      (p.family === 4 || p.family === 6) &&
      typeof p.hostIP === 'string' &&
      typeof p.containerIP === 'string' &&
      port(p.hostPort) &&
      port(p.containerPort) &&
      typeof p.picked === 'boolean',
  );
  return ok ? (v as EndpointRecord['ports']) : undefined;
}

function deletionLine(endpointId: string, hostVeth: string, networkId?: string): string {
  return networkId === undefined ? `-${endpointId} ${hostVeth}\n` : `-${endpointId} ${hostVeth} ${networkId}\n`;
}
