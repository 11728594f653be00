/**
 * Other tsnet driver processes running on this host (a test suite's second driver, a host-process
 * driver next to the managed plugin, ...) and what their stores say they own. The start-up
 * reconcile sweeps tsnet-named kernel objects that no record owns; without this, one driver's
 * start would delete the bridges, veths and port maps of another one that is alive.
 *
 * A peer is a live process whose command line runs a tsnet `main.js` with `--state-dir DIR` (or
 * TSNET_STATE_DIR in its environment, or the default). Read only: nothing here writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_STATE_DIR } from '@tsnet/shared';
import type { StateDocument } from './types';

export interface Peer {
  pid: number;
  stateDir: string;
  /** The peer's store as it is on disk right now; undefined when it cannot be read. */
  state?: StateDocument;
}

/** Live tsnet drivers other than this process, whose state dir is not `ownStateDir`. */
export function findPeers(ownStateDir: string, procRoot = '/proc'): Peer[] {
  const own = path.resolve(ownStateDir);
  const peers: Peer[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(procRoot);
  } catch {
    return peers;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let args: string[];
    try {
      args = fs.readFileSync(path.join(procRoot, e, 'cmdline'), 'utf8').split('\0').filter((a) => a.length > 0);
    } catch {
      continue;
    }
    if (!isTsnetDriver(args)) continue;
    const stateDir = path.resolve(argValue(args, '--state-dir') ?? envValue(path.join(procRoot, e, 'environ'), 'TSNET_STATE_DIR') ?? DEFAULT_STATE_DIR);
    if (stateDir === own) continue;
    // Through the process's own root: a managed plugin sees its state dir inside its container.
    peers.push({ pid, stateDir, state: readState(path.join(procRoot, e, 'root', stateDir)) });
  }
  return peers;
}

/** `node .../driver/dist/main.js ...` (or any `main.js` next to a tsnet store flag). */
function isTsnetDriver(args: string[]): boolean {
  const script = args.find((a, i) => i > 0 && a.endsWith('.js'));
  if (!script) return false;
  if (/driver[\\/]dist[\\/]main\.js$/.test(script)) return true;
  return script.endsWith('main.js') && args.includes('--state-dir') && args.includes('--socket');
}

function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${flag}=`));
  return eq?.slice(flag.length + 1);
}

function envValue(file: string, key: string): string | undefined {
  try {
    const line = fs
      .readFileSync(file, 'utf8')
      .split('\0')
      .find((l) => l.startsWith(`${key}=`));
    return line?.slice(key.length + 1);
  } catch {
    return undefined;
  }
}

function readState(dir: string): StateDocument | undefined {
  try {
    if (!fs.existsSync(path.join(dir, 'state.json'))) return { version: 1, networks: {} }; // started, nothing saved yet
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as StateDocument;
    if (!doc || typeof doc !== 'object' || !doc.networks || typeof doc.networks !== 'object') return undefined;
    return doc;
  } catch {
    return undefined;
  }
}

/** Links, bridges and port-map keys the peers' stores own. */
export interface PeerOwnership {
  bridges: Set<string>;
  links: Set<string>;
  /** Container IPs of the peers' endpoints (their port maps point there). */
  containerIPs: Set<string>;
  /** Peers whose store could not be read: their bridges are unknown, so sweeping is unsafe. */
  unreadable: Peer[];
}

export function peerOwnership(peers: Peer[]): PeerOwnership {
  const o: PeerOwnership = { bridges: new Set(), links: new Set(), containerIPs: new Set(), unreadable: [] };
  for (const p of peers) {
    if (!p.state) {
      o.unreadable.push(p);
      continue;
    }
    for (const n of Object.values(p.state.networks ?? {})) {
      if (!n || typeof n !== 'object' || !n.config || typeof n.config.bridge !== 'string') continue;
      o.bridges.add(n.config.bridge);
      o.links.add(n.config.bridge);
      for (const ep of Object.values(n.endpoints ?? {})) {
        if (!ep || typeof ep !== 'object') continue;
        if (typeof ep.hostVeth === 'string') o.links.add(ep.hostVeth);
        if (typeof ep.containerVeth === 'string') o.links.add(ep.containerVeth);
        for (const a of [ep.ipv4, ep.ipv6]) if (typeof a === 'string') o.containerIPs.add(a.split('/')[0]);
      }
    }
  }
  return o;
}
