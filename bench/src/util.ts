/** Process running, timing, statistics and clean-up shared by every figure. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** Kill the process after this long (default 120 s): every loop of the bench is bounded. */
  timeoutMs?: number;
  /** Resolve with the non-zero code instead of throwing. */
  allowFail?: boolean;
  input?: string;
}

/** Runs a command without a shell; the time measured is spawn to exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const r = { code: code ?? (signal ? 128 : 1), stdout, stderr, ms };
      if (r.code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}): ${stderr.trim().slice(-400)}`));
      } else resolve(r);
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the process may exit before reading it
      child.stdin.end(opts.input);
    }
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min, max of the finite values (a failed sample is recorded as NaN and left out). */
export function summarize(all: number[]): Summary {
  const xs = all.filter(Number.isFinite);
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** Rotates a list by r places: round r of an alternating schedule. */
export function rotate<T>(xs: T[], r: number): T[] {
  const k = r % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

let logFile: string | undefined;
const startedAt = nowMs();

export function setLogFile(path: string): void {
  logFile = path;
}

export function log(msg: string): void {
  const line = `[bench +${((nowMs() - startedAt) / 1000).toFixed(1)}s] ${msg}`;
  process.stdout.write(`${line}\n`);
  if (logFile) fs.appendFileSync(logFile, `${line}\n`);
}

/**
 * Clean-up actions, run newest first, once, whatever happens (normal end, error, SIGINT/SIGTERM).
 * Each action removes only objects the bench made.
 */
const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];

export function onCleanup(name: string, fn: () => Promise<void> | void): () => boolean {
  const entry = { name, fn };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return false;
    cleanups.splice(i, 1);
    return true;
  };
}

export async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    try {
      await c.fn();
    } catch (e) {
      log(`clean-up "${c.name}" failed: ${(e as Error).message}`);
    }
  }
}

/** Runs body, then the clean-up fn (also run by runCleanups if the bench is interrupted first). */
export async function withCleanup<T>(name: string, fn: () => Promise<void> | void, body: () => Promise<T>): Promise<T> {
  const unregister = onCleanup(name, fn);
  try {
    return await body();
  } finally {
    if (unregister()) {
      try {
        await fn();
      } catch (e) {
        log(`clean-up "${name}" failed: ${(e as Error).message}`);
      }
    }
  }
}
