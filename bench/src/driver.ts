/**
 * A tsnet driver process the bench starts for itself, and clients for its two sockets:
 * the libnetwork remote API (as dockerd calls it) and the read-only status API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { StatusReport } from '@tsnet/shared';
import { log, sleep } from './util';
import { DRIVER_NODE_FLAGS } from '@tsnet/driver/dist/node-flags';

export interface DriverOptions {
  /** The name dockerd knows the driver by (the socket is /run/docker/plugins/NAME.sock). */
  name: string;
  stateDir: string;
  statusSocket: string;
  logFile: string;
  repoRoot: string;
}

export class DriverProcess {
  readonly socket: string;
  private child?: ChildProcess;
  private exited = false;
  private readonly pidFile: string;

  constructor(readonly opts: DriverOptions) {
    this.socket = `/run/docker/plugins/${opts.name}.sock`;
    this.pidFile = path.join(path.dirname(opts.statusSocket), `${opts.name}.pid`);
  }

  get pid(): number {
    if (!this.child?.pid) throw new Error(`driver ${this.opts.name} is not running`);
    return this.child.pid;
  }

  /** Stops a driver an earlier, interrupted bench run left behind (by its recorded pid only). */
  private stopLeftover(): void {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('driver/dist/main.js') && cmdline.includes(this.socket)) {
        log(`stopping the ${this.opts.name} driver an earlier run left (pid ${pid})`);
        process.kill(pid, 'SIGTERM');
      }
    } catch {
      // not running any more
    }
    fs.rmSync(this.pidFile, { force: true });
  }

  async start(): Promise<void> {
    this.stopLeftover();
    fs.mkdirSync(path.dirname(this.opts.statusSocket), { recursive: true });
    fs.mkdirSync(this.opts.stateDir, { recursive: true });
    fs.mkdirSync(path.dirname(this.opts.logFile), { recursive: true });
    const out = fs.openSync(this.opts.logFile, 'a');
    const main = path.join(this.opts.repoRoot, 'driver/dist/main.js');
    this.child = spawn(
      process.execPath,
      [...DRIVER_NODE_FLAGS, main, '--socket', this.socket, '--state-dir', this.opts.stateDir, '--status-socket', this.opts.statusSocket, '--log-level', 'warn'],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    this.exited = false;
    this.child.on('exit', () => (this.exited = true));
    fs.writeFileSync(this.pidFile, `${this.child.pid}\n`);
    for (let i = 0; i < 200; i++) {
      if (this.exited) throw new Error(`driver ${this.opts.name} stopped at start; see ${this.opts.logFile}`);
      try {
        await this.status();
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`driver ${this.opts.name} did not answer on ${this.opts.statusSocket} within 10 s; see ${this.opts.logFile}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    child.kill('SIGTERM');
    for (let i = 0; i < 50 && !this.exited; i++) await sleep(100);
    if (!this.exited) child.kill('SIGKILL');
    fs.rmSync(this.pidFile, { force: true });
  }

  /** Resident memory of the driver process in MB (VmRSS). */
  rssMB(): number {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (!m) throw new Error('no VmRSS in /proc/PID/status');
    return Number(m[1]) / 1024;
  }

  status(): Promise<StatusReport> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.opts.statusSocket, path: '/status', timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`status API answered ${res.statusCode}: ${body.slice(0, 200)}`));
          try {
            resolve(JSON.parse(body) as StatusReport);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('status API timed out')));
      req.on('error', reject);
    });
  }
}

/** Calls the remote API the way dockerd does: POST /NetworkDriver.X with a JSON body over one kept-alive connection. */
export class RemoteApi {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly socket: string) {}

  call<T = Record<string, unknown>>(method: string, body: unknown): Promise<T> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socket,
          agent: this.agent,
          method: 'POST',
          path: `/NetworkDriver.${method}`,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
          timeout: 60_000,
        },
        (res) => {
          let out = '';
          res.on('data', (d: Buffer) => (out += d.toString()));
          res.on('end', () => {
            let parsed: Record<string, unknown>;
            try {
              parsed = JSON.parse(out || '{}');
            } catch {
              return reject(new Error(`${method}: answer is not JSON: ${out.slice(0, 200)}`));
            }
            if (res.statusCode !== 200 || parsed.Err) return reject(new Error(`${method}: ${String(parsed.Err ?? res.statusCode)}`));
            resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
