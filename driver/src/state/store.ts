/**
 * Crash-safe store of networks, endpoints and port maps: one JSON document replaced atomically
 * (write to a temporary file, fsync, rename over the old one, fsync the directory). A kill -9 at
 * any instant leaves either the old or the new document. Saves requested while one is being
 * written are coalesced into the next write (group commit), so parallel Joins share an fsync.
 *
 * Chosen over an embedded database because the state is small (kilobytes per hundred endpoints),
 * is read once at start, and a JSON file can be read and repaired by an operator with any tool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NetworkRecord, StateDocument } from './types';
import { STATE_VERSION } from './types';

export interface LoadResult {
  state: StateDocument;
  /** What could not be read, in words, when the file was damaged. */
  problems: string[];
  /** Where the damaged file was kept, if it was. */
  quarantinedTo?: string;
}

export class Store {
  readonly file: string;
  private writing: Promise<void> | null = null;
  private pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private snapshot: () => StateDocument = () => ({ version: STATE_VERSION, networks: {} });

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'state.json');
  }

  /** Loads the store; a damaged file is moved aside (never overwritten) and reported. */
  load(): LoadResult {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: emptyState(), problems: [] };
      throw e;
    }
    const problems: string[] = [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      problems.push(`${this.file}: not valid JSON (${(e as Error).message}); ${text.length} bytes`);
    }
    let state: StateDocument | undefined;
    if (parsed !== undefined) {
      const checked = validateState(parsed);
      state = checked.state;
      problems.push(...checked.problems.map((p) => `${this.file}: ${p}`));
    }
    if (problems.length === 0 && state) return { state, problems };
    const quarantinedTo = `${this.file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(this.file, quarantinedTo);
    return { state: state ?? emptyState(), problems, quarantinedTo };
  }

  /** The function that yields the current state; called at each write. */
  bind(snapshot: () => StateDocument): void {
    this.snapshot = snapshot;
  }

  /** Resolves once a write that started after this call has reached the disk. */
  save(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (!this.writing) this.writing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const waiters = this.pending;
      this.pending = [];
      try {
        await this.writeAtomically(JSON.stringify(this.snapshot(), null, 1));
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e as Error);
      }
    }
    this.writing = null;
  }

  private async writeAtomically(text: string): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, this.file);
    const dh = await fs.promises.open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

export function emptyState(): StateDocument {
  return { version: STATE_VERSION, networks: {} };
}

/** Keeps every network and endpoint that reads correctly; names each one that does not. */
function validateState(doc: unknown): { state: StateDocument; problems: string[] } {
  const problems: string[] = [];
  const state = emptyState();
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    return { state, problems: ['the document is not an object'] };
  }
  const d = doc as Record<string, unknown>;
  if (d.version !== STATE_VERSION) problems.push(`version ${JSON.stringify(d.version)} is not ${STATE_VERSION}`);
  const networks = d.networks;
  if (!networks || typeof networks !== 'object') {
    problems.push('"networks" is missing');
    return { state, problems };
  }
  for (const [id, n] of Object.entries(networks as Record<string, unknown>)) {
    const rec = n as NetworkRecord;
    if (!rec || typeof rec !== 'object' || !rec.config || typeof rec.config.bridge !== 'string' || !Array.isArray(rec.config.ipv4) || typeof rec.endpoints !== 'object' || rec.endpoints === null) {
      problems.push(`network ${id} is incomplete and was dropped`);
      continue;
    }
    for (const [eid, ep] of Object.entries(rec.endpoints)) {
      if (!ep || typeof ep !== 'object' || typeof ep.hostVeth !== 'string' || !Array.isArray(ep.ports)) {
        problems.push(`endpoint ${eid} of network ${id} is incomplete and was dropped`);
        delete rec.endpoints[eid];
      }
    }
    state.networks[id] = rec;
  }
  if (Array.isArray(d.pending)) state.pending = d.pending.filter((n): n is string => typeof n === 'string');
  return { state, problems };
}
