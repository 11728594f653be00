/**
 * The tsnet command's client of the driver's read-only status API (shared/unix-json over its Unix
 * socket), turning socket errors into sentences a user can act on.
 */
import { getUnixJson, parsePortRows, parseStatusReport, STATUS_ROUTES, StatusSkewError, type PortMapStatus, type StatusReport, type UnixJsonAnswer } from '@tsnet/shared';
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

export async function getJson<T>(socketPath: string, urlPath: string, timeoutMs = 10_000): Promise<T> {
  let r: UnixJsonAnswer;
  try {
    r = await getUnixJson(socketPath, urlPath, { timeoutMs, host: 'tsnet' });
  } catch (e) {
    throw statusSocketError(e as NodeJS.ErrnoException, socketPath);
  }
  if (!r.isJson) throw new CliError(`the status API at ${socketPath} answered ${r.status} with something that is not JSON: ${r.text.slice(0, 200)}`);
  if (r.status >= 400) {
    const msg = (r.json as { error?: string } | null)?.error ?? r.text.slice(0, 200);
    throw new CliError(`the status API at ${socketPath} answered ${r.status}: ${msg}`);
  }
  return r.json as T;
}

export class StatusClient {
  /** `hint` turns a socket failure into what to do about it in the driver's mode (cli/mode.ts). */
  constructor(
    readonly socketPath: string,
    private readonly hint?: (problem: 'not-running' | 'denied') => Promise<string>,
  ) {}

  status(): Promise<StatusReport> {
    return this.explained(getJson<unknown>(this.socketPath, STATUS_ROUTES.status).then((b) => this.checked(() => parseStatusReport(b, this.socketPath, VERSION))));
  }

  ports(): Promise<PortRow[]> {
    return this.explained(getJson<unknown>(this.socketPath, STATUS_ROUTES.ports).then((b) => this.checked(() => parsePortRows(b, this.socketPath, VERSION))));
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
