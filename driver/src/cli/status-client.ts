/**
 * A tiny client of the driver's read-only status API (GET over its Unix socket), turning socket
 * errors into sentences a user can act on.
 */
import * as http from 'node:http';
import { parsePortRows, parseStatusReport, StatusSkewError, type PortMapStatus, type StatusReport } from '@tsnet/shared';
import { VERSION } from '../version';

/** A failure the CLI prints as is and exits non-zero on. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Set for socket failures a hint about the driver's mode can explain. */
    readonly problem?: 'not-running' | 'denied',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface PortRow extends PortMapStatus {
  networkId: string;
  endpointId: string;
}

/** Maps a socket error (ENOENT, ECONNREFUSED, EACCES...) on `socketPath` to a CliError. */
export function statusSocketError(e: NodeJS.ErrnoException, socketPath: string): CliError {
  switch (e.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTSOCK':
      return new CliError(`the tsnet driver is not running (no status socket at ${socketPath})`, 1, 'not-running');
    case 'EACCES':
    case 'EPERM':
      return new CliError(`permission denied on ${socketPath}`, 1, 'denied');
    default:
      return new CliError(`cannot reach the tsnet status API at ${socketPath}: ${e.message}`);
  }
}

export function getJson<T>(socketPath: string, urlPath: string, timeoutMs = 10_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method: 'GET', headers: { Accept: 'application/json', Host: 'tsnet' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(statusSocketError(e as NodeJS.ErrnoException, socketPath)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          reject(new CliError(`the status API at ${socketPath} answered ${res.statusCode} with something that is not JSON: ${text.slice(0, 200)}`));
          return;
        }
        if ((res.statusCode ?? 500) >= 400) {
          const msg = (body as { error?: string }).error ?? text.slice(0, 200);
          reject(new CliError(`the status API at ${socketPath} answered ${res.statusCode}: ${msg}`));
          return;
        }
        resolve(body as T);
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => reject(statusSocketError(e as NodeJS.ErrnoException, socketPath)));
    req.end();
  });
}

export class StatusClient {
  /** `hint` turns a socket failure into what to do about it in the driver's mode (cli/mode.ts). */
  constructor(
    readonly socketPath: string,
    private readonly hint?: (problem: 'not-running' | 'denied') => Promise<string>,
  ) {}

  status(): Promise<StatusReport> {
    return this.explained(getJson<unknown>(this.socketPath, '/status').then((b) => this.checked(() => parseStatusReport(b, this.socketPath, VERSION))));
  }

  ports(): Promise<PortRow[]> {
    return this.explained(getJson<unknown>(this.socketPath, '/ports').then((b) => this.checked(() => parsePortRows(b, this.socketPath, VERSION))));
  }

  /** A driver of another version: its answer does not fit the schema (shared/status-schema). */
  private checked<T>(parse: () => T): T {
    try {
      return parse();
    } catch (e) {
      if (e instanceof StatusSkewError) throw new CliError(e.message);
      throw e;
    }
  }

  private async explained<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (e instanceof CliError && e.problem && this.hint) throw new CliError(`${e.message}; ${await this.hint(e.problem)}`, e.exitCode, e.problem);
      throw e;
    }
  }
}
