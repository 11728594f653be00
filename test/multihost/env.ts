/**
 * The multi-host suite's world: `scripts/multihost.sh up 3` before, `down` after (also on
 * failure), and helpers to talk to each host's own dockerd and namespaces. Needs root.
 */
import { execFile, spawn } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const REPO = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(REPO, 'scripts/multihost.sh');
export const HOSTS = 3;
export const IMAGE = 'tsnet-test-busybox:latest';
export const MH_ROOT = '/tmp/tsnet-mh';

export const hostIp = (i: number) => `172.30.250.${10 + i}`;
export const sock = (i: number) => `unix://${MH_ROOT}/mh-${i}/docker.sock`;
export const statusSock = (i: number) => `${MH_ROOT}/mh-${i}/status.sock`;

export async function sh(cmd: string, args: string[], opts: { timeout?: number; input?: string } = {}): Promise<string> {
  if (opts.input !== undefined) {
    return new Promise((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      const t = setTimeout(() => p.kill('SIGKILL'), opts.timeout ?? 60_000);
      p.on('close', (code) => {
        clearTimeout(t);
        if (code === 0) resolve(out);
        else reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.trim()}`));
      });
      p.stdin.end(opts.input);
    });
  }
  try {
    const r = await run(cmd, args, { timeout: opts.timeout ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const x = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(x.stderr ?? '').trim() || x.message}`);
  }
}

export const docker = (i: number, ...args: string[]) => sh('docker', ['-H', sock(i), ...args]);
export const harness = (...args: string[]) => sh('bash', [SCRIPT, ...args], { timeout: 240_000 });
/** The harness with a longer bound (building the managed plugin's image). */
export const harnessSlow = (...args: string[]) => sh('bash', [SCRIPT, ...args], { timeout: 540_000 });

export async function ipOf(i: number, container: string, network: string): Promise<string> {
  return (await docker(i, 'inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container)).trim();
}

export async function pidOf(i: number, container: string): Promise<number> {
  return Number((await docker(i, 'inspect', '-f', '{{.State.Pid}}', container)).trim());
}

/** Routes of host i's namespace, as `ip route` prints them. */
export async function routes(i: number): Promise<string[]> {
  return (await sh('ip', ['-n', `mh-${i}`, 'route'])).split('\n').filter(Boolean);
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, stepMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Runs a node script inside a container's network namespace (for UDP, which busybox nc lacks). */
export function nodeIn(pid: number, script: string, timeout = 20_000): Promise<string> {
  return sh('nsenter', [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', script], { timeout });
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(300_000);
    if (process.getuid?.() !== 0) throw new Error('the multi-host suite needs root (namespaces, dockerd)');
    await harness('down');
    // Bounded, but with room for a loaded 2-core CI machine (one etcd call took > 3 s there once).
    process.env.TSNET_ETCD_TIMEOUT_MS = '8000';
    await harness('up', String(HOSTS));
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(300_000);
    if (!process.env.TSNET_MH_KEEP) await harness('down');
  },
};
