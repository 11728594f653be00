/**
 * Client of the tsnet driver's read-only status API: HTTP GET on its Unix socket. When the socket
 * is absent (driver not installed, not running, or Docker on another host) the driver is simply
 * "not reachable"; that is not an error for the extension.
 */
import * as http from 'http';
import { DEFAULT_STATUS_SOCKET, parseStatusReport, type StatusReport } from '@tsnet/shared';

/** This extension's version, for the message when the driver is older or newer. */
const CLIENT_VERSION: string = (() => {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** The one request path of the status API. */
export const STATUS_PATH = '/status';

export type TsnetStatusResult =
  | { reachable: true; report: StatusReport }
  | { reachable: false; reason: string };

export async function fetchTsnetStatus(socketPath: string = DEFAULT_STATUS_SOCKET, timeoutMs = 2000): Promise<TsnetStatusResult> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: STATUS_PATH, method: 'GET', timeout: timeoutMs, headers: { Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          resolve({ reachable: false, reason: `GET ${STATUS_PATH} on ${socketPath} answered HTTP ${res.statusCode}` });
          return;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          resolve({ reachable: false, reason: `GET ${STATUS_PATH} on ${socketPath} returned invalid JSON` });
          return;
        }
        try {
          resolve({ reachable: true, report: parseStatusReport(parsed, socketPath, CLIENT_VERSION) });
        } catch (e) {
          resolve({ reachable: false, reason: (e as Error).message });
        }
      });
      res.on('error', (e) => resolve({ reachable: false, reason: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const reason = e.code === 'ENOENT' ? `${socketPath} does not exist (tsnet driver not running here)`
        : e.code === 'ECONNREFUSED' ? `nothing listens on ${socketPath}`
        : e.message;
      resolve({ reachable: false, reason });
    });
    req.end();
  });
}
