/** GET /links of the tsnet driver's status API (the kernel's counters of the host's links). */
import * as http from 'http';
import { LINKS_PATH, type LinkStatsReport } from '@tsnet/shared';

export function fetchLinkStats(socketPath: string, names: string[], timeoutMs = 1500): Promise<LinkStatsReport> {
  return new Promise((resolve, reject) => {
    const q = names.length ? `?names=${encodeURIComponent(names.join(','))}` : '';
    const req = http.request({ socketPath, path: `${LINKS_PATH}${q}`, method: 'GET', timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LinkStatsReport & { error?: string };
          if (res.statusCode !== 200 || !Array.isArray(body.links)) reject(new Error(body.error ?? `GET ${LINKS_PATH} answered HTTP ${res.statusCode}`));
          else resolve(body);
        } catch {
          reject(new Error(`GET ${LINKS_PATH} on ${socketPath} returned invalid JSON (a driver without live traffic support?)`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
