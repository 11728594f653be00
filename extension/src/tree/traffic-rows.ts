/**
 * Live traffic in the Networks tree: the text a link's rate adds to its row (a network's bridge,
 * an attachment's host-side veth), and after each sample the rows whose text changed, so only
 * those are re-rendered. Pure (no vscode): the rates come from the topology's TrafficSampler.
 */
import { formatPacketRate, formatRate, hasTrouble, isActive, type LinkRate } from '../topology/link-rates';
import { mdCode } from './markdown';

export interface RowTraffic {
  /** Appended to the row's description: "↓1.2 KB/s 10 pkt/s ↑800 B/s 10 pkt/s · 3 dropped". */
  description: string;
  /** Markdown appended to the row's tooltip. */
  tooltip: string;
  /** Drops or errors in the interval: the row is highlighted (its icon in the error colour). */
  trouble: boolean;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a row shows for its link's rate; undefined when the link is idle (below ACTIVE_PPS) and clean. */
export function rowTraffic(link: string, r: LinkRate | undefined): RowTraffic | undefined {
  if (!r || (!isActive(r) && !hasTrouble(r))) return undefined;
  const trouble = hasTrouble(r);
  const problems = [r.dropped ? count(r.dropped, 'dropped', 'dropped') : '', r.errors ? count(r.errors, 'error', 'errors') : ''].filter(Boolean);
  const description = `↓${formatRate(r.rxBps)} ${formatPacketRate(r.rxPps)} ↑${formatRate(r.txBps)} ${formatPacketRate(r.txPps)}${problems.map((p) => ` · ${p}`).join('')}`;
  const tooltip = [
    `**Traffic** on ${mdCode(link)} (the host's counters, last sample):`,
    `- Received: ${formatRate(r.rxBps)}, ${formatPacketRate(r.rxPps)}`,
    `- Sent: ${formatRate(r.txBps)}, ${formatPacketRate(r.txPps)}`,
    ...(trouble ? [`- **${problems.join(', ')}** in the interval`] : []),
  ].join('\n');
  return { description, tooltip, trouble };
}

const signature = (t: RowTraffic | undefined): string => (t ? `${t.trouble}\n${t.description}\n${t.tooltip}` : '');

/**
 * The traffic shown per link and the tree rows that stand for each link. `Row` is whatever the
 * tree hands VS Code: a change event must name the very object getChildren returned.
 */
export class TreeTraffic<Row> {
  private readonly rows = new Map<string, Row>();
  private shown = new Map<string, RowTraffic>();

  /** Remembers `row` as the row of `link` (call from getChildren); returns the row. */
  track(link: string | undefined, row: Row): Row {
    if (link) this.rows.set(link, row);
    return row;
  }

  /** After a full refresh: the rows are made anew by getChildren. */
  forgetRows(): void {
    this.rows.clear();
  }

  of(link: string | undefined): RowTraffic | undefined {
    return link ? this.shown.get(link) : undefined;
  }

  /** Takes a sample's rates (link → rate); returns the known rows whose traffic text changed. */
  update(rates: Record<string, LinkRate>): Row[] {
    const next = new Map<string, RowTraffic>();
    for (const link of Object.keys(rates)) {
      const t = rowTraffic(link, rates[link]);
      if (t) next.set(link, t);
    }
    const changed: Row[] = [];
    for (const link of new Set([...this.shown.keys(), ...next.keys()])) {
      if (signature(this.shown.get(link)) === signature(next.get(link))) continue;
      const row = this.rows.get(link);
      if (row !== undefined) changed.push(row);
    }
    this.shown = next;
    return changed;
  }

  /** No traffic known any more (view hidden, driver gone): the rows that showed some. */
  clear(): Row[] {
    return this.update({});
  }
}

/** Samples only while the view is visible; hiding it stops the sampling and clears the rows' rates. */
export function followVisibility(visible: boolean, sampler: { start(): void; stop(): void }, clearRows: () => void): void {
  if (visible) return sampler.start();
  sampler.stop();
  clearRows();
}
