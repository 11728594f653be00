/**
 * Live traffic arithmetic: two samples of the status API's link counters → rates per link, and
 * how they read. Pure (runs in the webview and in mocha); src/docker/link-stats.ts fetches.
 */
import type { LinkStats, LinkStatsReport } from '@tsnet/shared';

/** What the picture shows for one link over the last sampling interval. */
export interface LinkRate {
  /** Bytes and packets per second received / sent by the link (host side). */
  rxBps: number;
  txBps: number;
  rxPps: number;
  txPps: number;
  /** Packets dropped / errors counted in the interval (either direction). */
  dropped: number;
  errors: number;
}

/** At or above this many packets per second (either way) a link counts as carrying traffic. */
export const ACTIVE_PPS = 2;

export function isActive(r: LinkRate | undefined): boolean {
  return !!r && (r.rxPps >= ACTIVE_PPS || r.txPps >= ACTIVE_PPS);
}

/** Rates between two samples; links missing from either, or whose counters went back (re-created), are left out. */
export function linkRates(prev: LinkStatsReport, cur: LinkStatsReport): Record<string, LinkRate> {
  const dt = (Date.parse(cur.at) - Date.parse(prev.at)) / 1000;
  const out: Record<string, LinkRate> = Object.create(null) as Record<string, LinkRate>;
  if (!(dt > 0)) return out;
  const before = new Map<string, LinkStats>(prev.links.map((l) => [l.name, l]));
  for (const c of cur.links) {
    const p = before.get(c.name);
    if (!p || c.rxBytes < p.rxBytes || c.txBytes < p.txBytes) continue;
    out[c.name] = {
      rxBps: (c.rxBytes - p.rxBytes) / dt,
      txBps: (c.txBytes - p.txBytes) / dt,
      rxPps: (c.rxPackets - p.rxPackets) / dt,
      txPps: (c.txPackets - p.txPackets) / dt,
      dropped: Math.max(0, c.rxDropped - p.rxDropped) + Math.max(0, c.txDropped - p.txDropped),
      errors: Math.max(0, c.rxErrors - p.rxErrors) + Math.max(0, c.txErrors - p.txErrors),
    };
  }
  return out;
}

/** "↓1.2 KB/s ↑800 B/s · 3 dropped · 1 errors": what a link carried, as the picture and the tree say it. */
export function rateSummary(r: LinkRate): string {
  return `↓${formatRate(r.rxBps)} ↑${formatRate(r.txBps)}${r.dropped ? ` · ${r.dropped} dropped` : ''}${r.errors ? ` · ${r.errors} errors` : ''}`;
}

/** Drops or errors in the interval: the item is highlighted. */
export function hasTrouble(r: LinkRate | undefined): boolean {
  return !!r && (r.dropped > 0 || r.errors > 0);
}

/** "12 pkt/s" (one decimal below 10). */
export function formatPacketRate(packetsPerSecond: number): string {
  const v = packetsPerSecond;
  return `${v >= 10 || v === 0 ? Math.round(v) : v.toFixed(1)} pkt/s`;
}

/** "1.2 MB/s" */
export function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

