/**
 * GET a JSON document over a Unix socket (node:http with socketPath): the one small client the
 * driver's Docker client, the tsnet command and the extension's status client share. It only
 * transports; each caller turns the answer or the socket's error into its own words.
 */
import * as http from 'node:http';

export interface UnixJsonAnswer {
  status: number;
  text: string;
  /** The parsed body; undefined when the body is not JSON (see `isJson`). */
  json: unknown;
  isJson: boolean;
}

export interface UnixJsonOptions {
  /** Default 10 s; past it the request fails with code ETIMEDOUT. */
  timeoutMs?: number;
  /** The Host header (some servers want one); default "localhost". */
  host?: string;
}

/**
 * Resolves with any HTTP answer (also 4xx/5xx); rejects with the socket's error (its `code`:
 * ENOENT, ECONNREFUSED, EACCES, ENOTSOCK, ...) or ETIMEDOUT when no answer came in time.
 */
export function getUnixJson(socketPath: string, urlPath: string, opts: UnixJsonOptions = {}): Promise<UnixJsonAnswer> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'GET', headers: { Accept: 'application/json', Host: opts.host ?? 'localhost' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        let isJson = true;
        try {
          json = JSON.parse(text);
        } catch {
          isJson = false;
        }
        resolve({ status: res.statusCode ?? 0, text, json, isJson });
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}
