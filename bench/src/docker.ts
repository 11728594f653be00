/** Docker CLI helpers. Everything the bench makes is named tst-bench-* and labelled tsnet.bench=1. */
import { log, run, sleep } from './util';

export const PREFIX = 'tst-bench-';
export const LABEL = 'tsnet.bench=1';
export const TEST_IMAGE = 'tsnet-test-busybox:latest';
export const IPERF_IMAGE = 'tsnet-bench-iperf:latest';

export async function docker(args: string[], timeoutMs = 120_000) {
  return run('docker', args, { timeoutMs });
}

/**
 * Removes the bench's own containers and networks (label AND name prefix), never anything else.
 * Returns what could not be removed.
 */
export async function removeBenchObjects(attempts = 5): Promise<string[]> {
  const left: string[] = [];
  const ps = await run('docker', ['ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.ID}} {{.Names}}'], { allowFail: true });
  const ids = ps.stdout.split('\n').map((l) => l.split(' ')).filter(([id, name]) => id && name?.startsWith(PREFIX)).map(([id]) => id);
  for (let i = 0; i < ids.length; i += 50) await run('docker', ['rm', '-f', ...ids.slice(i, i + 50)], { allowFail: true, timeoutMs: 180_000 });
  const nets = await run('docker', ['network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}}'], { allowFail: true });
  for (const n of nets.stdout.split('\n').filter((x) => x.startsWith(PREFIX))) {
    // dockerd may still be releasing the last endpoint right after `docker rm -f`: retry a few times.
    for (let attempt = 1; ; attempt++) {
      const r = await run('docker', ['network', 'rm', n], { allowFail: true });
      if (r.code === 0 || /not found/i.test(r.stderr)) break;
      if (attempt >= attempts) {
        left.push(`network ${n}: ${r.stderr.trim().split('\n')[0].slice(0, 300)}`);
        break;
      }
      await sleep(1000);
    }
  }
  if (ids.length > 0) log(`removed ${ids.length} bench containers`);
  return left;
}

export async function removeContainers(ids: string[]): Promise<number> {
  const started = Date.now();
  for (let i = 0; i < ids.length; i += 50) await run('docker', ['rm', '-f', ...ids.slice(i, i + 50)], { allowFail: true, timeoutMs: 180_000 });
  return Date.now() - started;
}

/** IPv4 routes of the host, as "a.b.c.d/len" (to keep bench subnets off them). */
export async function hostRoutes(): Promise<string[]> {
  const r = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
  return r.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((d) => d && d !== 'default' && /^[\d.]+(\/\d+)?$/.test(d)).map((d) => (d.includes('/') ? d : `${d}/32`));
}

function toInt(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

export function cidrsOverlap(a: string, b: string): boolean {
  const [ai, al] = a.split('/');
  const [bi, bl] = b.split('/');
  const len = Math.min(Number(al), Number(bl));
  const mask = len === 0 ? 0 : 2 ** 32 - 2 ** (32 - len);
  const and = (x: number) => Number((BigInt(x) & BigInt(mask)).toString());
  return and(toInt(ai)) === and(toInt(bi));
}

/**
 * Creates a network on the first candidate subnet that overlaps no host route and that dockerd
 * accepts (another engineer's network may already hold one). Returns the subnet.
 */
export async function createNetwork(name: string, driver: string, candidates: string[]): Promise<string> {
  await run('docker', ['network', 'rm', name], { allowFail: true });
  const routes = await hostRoutes();
  let last = '';
  for (const subnet of candidates) {
    if (routes.some((r) => cidrsOverlap(r, subnet))) continue;
    const r = await run('docker', ['network', 'create', '-d', driver, '--subnet', subnet, '--label', LABEL, name], { allowFail: true });
    if (r.code === 0) return subnet;
    last = r.stderr.trim();
  }
  throw new Error(`cannot create network ${name} (driver ${driver}) on any of ${candidates.join(', ')}: ${last}`);
}

export async function containerIPs(ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const r = await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', ...ids], { allowFail: true });
  return r.stdout.split('\n').map((l) => l.trim().split(' ')[0]).filter(Boolean);
}
