/** GET /links of the tsnet driver's status API (the kernel's counters of the host's links). */
import { getUnixJson, LINKS_PATH, type LinkStatsReport } from '@tsnet/shared';

export async function fetchLinkStats(socketPath: string, names: string[], timeoutMs = 1500): Promise<LinkStatsReport> {
  const q = names.length ? `?names=${encodeURIComponent(names.join(','))}` : '';
  const r = await getUnixJson(socketPath, `${LINKS_PATH}${q}`, { timeoutMs });
  if (!r.isJson) throw new Error(`GET ${LINKS_PATH} on ${socketPath} returned invalid JSON (a driver without live traffic support?)`);
  const body = r.json as (LinkStatsReport & { error?: string }) | null;
  if (r.status !== 200 || !Array.isArray(body?.links)) throw new Error(body?.error ?? `GET ${LINKS_PATH} answered HTTP ${r.status}`);
  return body;
}
