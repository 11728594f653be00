/**
 * Samples the links of the current graph (every bridge; every host-side veth the tsnet driver
 * reports; the VXLAN link of multi-host networks) through the status API every 2 s while the topology is visible, and hands the rates to
 * the panel. Stops when hidden; a driver without GET /links just means no traffic shown.
 */
import type { NetworkGraph } from '../docker/model-types';
import { fetchLinkStats } from '../docker/link-stats';
import { linkRates, type LinkRate } from './link-rates';
import type { LinkStatsReport } from '@tsnet/shared';

export const TRAFFIC_INTERVAL_MS = 2000;

/** The link names the picture can show traffic on. */
export function trafficLinks(g: NetworkGraph | undefined): string[] {
  if (!g) return [];
  const names = new Set<string>();
  for (const n of g.networks) {
    if (n.bridge) names.add(n.bridge);
    if (n.cluster) names.add(n.cluster.vxlan.link);
  }
  for (const e of g.endpoints) if (e.hostVeth) names.add(e.hostVeth);
  return [...names].sort();
}

export class TrafficSampler {
  private timer: NodeJS.Timeout | undefined;
  private prev: LinkStatsReport | undefined;
  private busy = false;

  constructor(
    private readonly statusSocket: () => string,
    private readonly graph: () => NetworkGraph | undefined,
    private readonly onRates: (rates: Record<string, LinkRate>) => void,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  get running(): boolean {
    return !!this.timer;
  }

  start(): void {
    if (this.timer) return;
    this.prev = undefined;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), TRAFFIC_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.prev = undefined;
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    const names = trafficLinks(this.graph());
    if (!names.length) return;
    this.busy = true;
    try {
      const cur = await fetchLinkStats(this.statusSocket(), names);
      if (this.prev) this.onRates(linkRates(this.prev, cur));
      this.prev = cur;
    } catch (e) {
      this.prev = undefined;
      this.onError((e as Error).message);
    } finally {
      this.busy = false;
    }
  }
}
