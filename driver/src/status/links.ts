/**
 * Link statistics for the status API's GET /links: the kernel's per-interface counters from
 * /sys/class/net/NAME/statistics (bridges, veths, any link of the host namespace), read
 * asynchronously so a poll never blocks the event loop that serves dockerd. Read-only.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { LinkStats, LinkStatsReport } from '@tsnet/shared';

const COUNTERS: readonly [keyof Omit<LinkStats, 'name'>, string][] = [
  ['rxBytes', 'rx_bytes'],
  ['txBytes', 'tx_bytes'],
  ['rxPackets', 'rx_packets'],
  ['txPackets', 'tx_packets'],
  ['rxDropped', 'rx_dropped'],
  ['txDropped', 'tx_dropped'],
  ['rxErrors', 'rx_errors'],
  ['txErrors', 'tx_errors'],
];

/** Interface names the kernel accepts (IFNAMSIZ 16 with the NUL; no '/', no whitespace, not . or ..). */
export function validLinkName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && name !== '.' && name !== '..' && !/[/\s:]/.test(name);
}

export const MAX_LINK_NAMES = 4096;

/** Parses `names=a,b,c` (undefined: every link). Throws with what is accepted. */
export function parseLinkNames(q: unknown): string[] | undefined {
  if (q === undefined || q === '') return undefined;
  if (typeof q !== 'string') throw new Error('names must be one comma-separated list of interface names, e.g. ?names=tsn-0123456789,vethabc');
  const names = q.split(',').filter(Boolean);
  if (names.length > MAX_LINK_NAMES) throw new Error(`at most ${MAX_LINK_NAMES} names per request, got ${names.length}`);
  const bad = names.find((n) => !validLinkName(n));
  if (bad !== undefined) throw new Error(`"${bad.slice(0, 40)}" is not an interface name (1-15 characters, no '/', ':' or whitespace)`);
  return names;
}

async function readLink(root: string, name: string): Promise<LinkStats | undefined> {
  const dir = path.join(root, name, 'statistics');
  try {
    const values = await Promise.all(COUNTERS.map(([, file]) => fsp.readFile(path.join(dir, file), 'utf8')));
    const s = { name } as LinkStats;
    COUNTERS.forEach(([key], i) => (s[key] = Number(values[i].trim())));
    return s;
  } catch {
    return undefined; // gone between the listing and the read, or not a link
  }
}

export async function readLinkStats(names?: string[], root = '/sys/class/net'): Promise<LinkStatsReport> {
  const at = new Date().toISOString();
  const list = names ?? (await fsp.readdir(root));
  const links = (await Promise.all(list.map((n) => readLink(root, n)))).filter((l): l is LinkStats => !!l);
  return { at, links };
}
