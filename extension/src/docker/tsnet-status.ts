/**
 * Client of the tsnet driver's read-only status API: HTTP GET on its Unix socket (shared/unix-json). When the socket
 * is absent (driver not installed, not running, or Docker on another host) the driver is simply
 * "not reachable"; that is not an error for the extension.
 */
import { DEFAULT_STATUS_SOCKET, getUnixJson, parseStatusReport, STATUS_ROUTES, type StatusReport, type UnixJsonAnswer } from '@tsnet/shared';

/** This extension's version, for the message when the driver is older or newer. */
const CLIENT_VERSION: string = (() => {
  try {
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** The route the views read (shared: the driver serves the same constant). */
export const STATUS_PATH = STATUS_ROUTES.status;

export type TsnetStatusResult =
  | { reachable: true; report: StatusReport }
  | { reachable: false; reason: string };

export async function fetchTsnetStatus(socketPath: string = DEFAULT_STATUS_SOCKET, timeoutMs = 2000): Promise<TsnetStatusResult> {
  let r: UnixJsonAnswer;
  try {
    r = await getUnixJson(socketPath, STATUS_PATH, { timeoutMs });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? `${socketPath} does not exist (tsnet driver not running here)`
      : e.code === 'ECONNREFUSED' ? `nothing listens on ${socketPath}`
      : e.message;
    return { reachable: false, reason };
  }
  if (r.status !== 200) return { reachable: false, reason: `GET ${STATUS_PATH} on ${socketPath} answered HTTP ${r.status}` };
  if (!r.isJson) return { reachable: false, reason: `GET ${STATUS_PATH} on ${socketPath} returned invalid JSON` };
  try {
    return { reachable: true, report: parseStatusReport(r.json, socketPath, CLIENT_VERSION) };
  } catch (e) {
    return { reachable: false, reason: (e as Error).message };
  }
}
