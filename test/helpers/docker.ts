/**
 * Docker-level test helpers: run docker commands, start the built driver as a host process
 * (unless TSNET_EXTERNAL_DRIVER=1, when a managed plugin serves TSNET_DRIVER_NAME), and track
 * every container and network a test makes so `cleanup()` removes them, also on failure.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DRIVER_NODE_FLAGS } from '@tsnet/driver/dist/node-flags';

const execFileP = promisify(execFile);

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const IMAGE = process.env.TSNET_TEST_IMAGE ?? 'tsnet-test-busybox:latest';
export const EXTERNAL_DRIVER = process.env.TSNET_EXTERNAL_DRIVER === '1';
/** The name tests pass to `docker network create -d`. */
export const DRIVER_NAME = process.env.TSNET_DRIVER_NAME ?? 'tsnettest';
/** Label put on every object the Docker tests make (cleanup finds strays by it). */
export const TEST_LABEL = 'tsnet.test=1';

export function docker(args: string[], opts: { timeoutMs?: number; input?: string } = {}): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, input: opts.input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

export async function dockerAsync(args: string[], timeoutMs = 60_000): Promise<string> {
  const { stdout } = await execFileP('docker', args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** Runs docker and returns its stderr when it fails (the error a user would read); throws if it succeeds. */
export function dockerFails(args: string[], timeoutMs = 60_000): string {
  try {
    execFileSync('docker', args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return `${err.stderr ?? ''}${err.stdout ?? ''}`.trim();
  }
  throw new Error(`expected "docker ${args.join(' ')}" to fail, but it succeeded`);
}

export function sh(cmd: string, args: string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
}

export function shOk(cmd: string, args: string[], timeoutMs = 30_000): boolean {
  try {
    execFileSync(cmd, args, { timeout: timeoutMs, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function uid(): string {
  return randomBytes(3).toString('hex');
}

/** Links on the host whose name starts with a prefix. */
export function hostLinks(prefix: string): string[] {
  return sh('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0])
    .filter((n): n is string => !!n && n.startsWith(prefix));
}

export function linkExists(name: string): boolean {
  return shOk('ip', ['link', 'show', 'dev', name]);
}

/** Subnets for tests: 10.231.N.0/24 and fd00:231:N::/64, checked against the host's routes. */
let subnetCounter = Math.floor(Math.random() * 200);
export function freeSubnet(): { v4: string; gw4: string; v6: string; gw6: string; n: number } {
  const routes = sh('ip', ['route', 'show']);
  for (let i = 0; i < 250; i++) {
    const n = (subnetCounter++ % 250) + 1;
    if (routes.includes(`10.231.${n}.`)) continue;
    return { v4: `10.231.${n}.0/24`, gw4: `10.231.${n}.1`, v6: `fd00:231:${n.toString(16)}::/64`, gw6: `fd00:231:${n.toString(16)}::1`, n };
  }
  throw new Error('no free 10.231.N.0/24 test subnet');
}

export class DriverProcess {
  proc?: ChildProcess;
  readonly stateDir: string;
  readonly socket: string;
  readonly statusSocket: string;
  log = '';

  constructor(readonly name = DRIVER_NAME) {
    this.stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-test-state-'));
    this.socket = `/run/docker/plugins/${name}.sock`;
    this.statusSocket = `/run/tsnet/${name}-status.sock`;
  }

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    const from = this.log.length; // a restart must see its own ready line, not the last start's
    const main = path.join(REPO, 'driver', 'dist', 'main.js');
    if (!fs.existsSync(main)) throw new Error(`missing prerequisite: ${main}; run npm run build first`);
    this.proc = spawn(process.execPath, [...DRIVER_NODE_FLAGS, main, '--socket', this.socket, '--state-dir', this.stateDir, '--status-socket', this.statusSocket, '--log-level', 'debug'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...extraEnv },
    });
    const collect = (b: Buffer) => {
      this.log += b.toString();
      if (this.log.length > 2_000_000) this.log = this.log.slice(-1_000_000);
    };
    this.proc.stdout!.on('data', collect);
    this.proc.stderr!.on('data', collect);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.log.indexOf('tsnet driver ready', from) >= 0) return;
      if (this.proc.exitCode !== null) throw new Error(`driver exited with ${this.proc.exitCode}:\n${this.log.slice(-4000)}`);
      await sleep(50);
    }
    throw new Error(`driver did not become ready in 20 s:\n${this.log.slice(-4000)}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await Promise.race([exited, sleep(10_000)]);
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGKILL');
      await exited;
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  removeState(): void {
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Tracks what a test makes; cleanup removes containers first, then networks. */
export class Scenario {
  readonly containers: string[] = [];
  readonly networks: string[] = [];
  readonly id = uid();

  private made = 0;

  name(kind: string): string {
    return `tst-${kind}-${this.id}-${(this.made++).toString(36)}`;
  }

  network(args: string[], name = this.name('net')): string {
    docker(['network', 'create', '--label', TEST_LABEL, ...args, name]);
    this.networks.push(name);
    return name;
  }

  /** `docker run -d` with the test image; returns the container name. */
  run(args: string[], cmd: string[] = ['sleep', '600'], name = this.name('c')): string {
    this.containers.push(name);
    docker(['run', '-d', '--label', TEST_LABEL, '--name', name, ...args, IMAGE, ...cmd], { timeoutMs: 60_000 });
    return name;
  }

  exec(container: string, cmd: string[], timeoutMs = 20_000): string {
    return docker(['exec', container, ...cmd], { timeoutMs });
  }

  execOk(container: string, cmd: string[], timeoutMs = 20_000): boolean {
    try {
      docker(['exec', container, ...cmd], { timeoutMs });
      return true;
    } catch {
      return false;
    }
  }

  ip(container: string, network: string): string {
    return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container]);
  }

  ip6(container: string, network: string): string {
    return docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").GlobalIPv6Address}}`, container]);
  }

  networkId(network: string): string {
    return docker(['network', 'inspect', '-f', '{{.Id}}', network]);
  }

  cleanup(): void {
    if (this.containers.length > 0) {
      try {
        docker(['rm', '-f', ...this.containers], { timeoutMs: 120_000 });
      } catch {
        /* some never started */
      }
    }
    for (const n of this.networks.reverse()) removeNetworkForCleanup(n);
    this.containers.length = 0;
    this.networks.length = 0;
  }
}

/**
 * `docker network rm` for a test's cleanup. A network the test already removed is fine; one that
 * dockerd still holds is retried for up to 30 s: after `docker rm -f` of many running containers
 * returns, dockerd releases their endpoints in its exit handlers, and its count of the network's
 * endpoints can lag by seconds ("has active endpoints" with none listed; seen after 50 at once).
 * One that cannot be removed is named on stderr so the leftover check's finding has a cause.
 */
function removeNetworkForCleanup(name: string): void {
  let last = '';
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; attempt < 5 || (/active endpoints/.test(last) && Date.now() < deadline); attempt++) {
    try {
      docker(['network', 'rm', name], { timeoutMs: 60_000 });
      return;
    } catch (e) {
      last = (e as Error).message;
      if (/not found|No such network/i.test(last)) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  if (/active endpoints/.test(last) && attachedContainers(name) === 0 && restartDockerdToRecount(name)) {
    try {
      docker(['network', 'rm', name], { timeoutMs: 60_000 });
      return;
    } catch (e) {
      last = (e as Error).message;
    }
  }
  process.stderr.write(`cleanup: could not remove network ${name}: ${last}\n`);
}

function attachedContainers(name: string): number {
  try {
    return Number(docker(['network', 'inspect', '-f', '{{len .Containers}}', name]).trim());
  } catch {
    return NaN;
  }
}

/**
 * Docker 20.10 keeps a count of each network's endpoints in its store, and concurrent endpoint
 * removals can lose a decrement of it (moby/moby#42119): `docker network rm` then says "has active
 * endpoints" with none attached, for good, until dockerd restarts and recounts ("Fixing
 * inconsistent endpoint_cnt" in its log). A test's cleanup that meets exactly that restarts the
 * test engine (SIGTERM, then scripts/ensure-docker.sh), says so on stderr, and removes the network.
 */
export function restartDockerdToRecount(name: string): boolean {
  process.stderr.write(`cleanup: network ${name} has no container attached but dockerd counts active endpoints (Docker's lost endpoint_cnt decrement, moby/moby#42119); restarting dockerd so it recounts\n`);
  try {
    const pid = Number(fs.readFileSync('/var/run/docker.pid', 'utf8').trim());
    if (!(pid > 0)) return false;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 90_000;
    while (fs.existsSync(`/proc/${pid}`) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    if (fs.existsSync(`/proc/${pid}`)) return false;
    fs.rmSync('/var/run/docker.pid', { force: true });
    execFileSync('bash', [path.join(REPO, 'scripts', 'ensure-docker.sh')], { timeout: 90_000, stdio: ['ignore', 'ignore', 'inherit'] });
    return true;
  } catch (e) {
    process.stderr.write(`cleanup: restarting dockerd failed: ${(e as Error).message}\n`);
    return false;
  }
}

/** A TCP request from inside a container to ip:port, answered by a busybox httpd. */
export function httpFrom(s: Scenario, container: string, ip: string, port: number): string {
  const target = ip.includes(':') ? `[${ip}]` : ip;
  void target;
  return s.exec(container, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} ${port}`]);
}

/** Starts a busybox httpd serving the image's /www on a port inside a container. */
export function startHttpd(s: Scenario, container: string, port: number): void {
  s.exec(container, ['httpd', '-p', String(port), '-h', '/www']);
}

/** GET a path on a driver's status socket and parse the JSON. */
export function getStatus<T = import('@tsnet/shared').StatusReport>(socketPath: string, urlPath = '/status'): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = require('node:http').request({ socketPath, path: urlPath, method: 'GET', timeout: 10_000 }, (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
