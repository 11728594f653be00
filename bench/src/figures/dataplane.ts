/**
 * Figure 6: TCP throughput with iperf3 (-t bounded), tsnet and bridge alternating:
 * container -> container on one network, host -> container through a port published on
 * 127.0.0.1, and from a namespace the bench makes (standing for an external client) to the
 * host-side address of its veth, through a port published on that address.
 * Traffic only between loopback, the bench's containers and the bench's namespace.
 */
import { cidrsOverlap, docker, hostRoutes, IPERF_IMAGE, LABEL, PREFIX } from '../docker';
import { log, rotate, run, sleep, summarize, withCleanup, type Summary } from '../util';
import type { Kind as AnyKind, Networks } from './lifecycle';

/** The data path is measured against the bridge driver only (the floor driver moves no packets). */
type Kind = Exclude<AnyKind, 'floor'>;

export const EXT_NETNS = 'tst-bench-ext';
const EXT_SUBNET = '10.231.254.0/30';
const EXT_HOST_IP = '10.231.254.1';
const EXT_NS_IP = '10.231.254.2';
const HOST_VETH = 'tst-bench-h0';
const NS_VETH = 'tst-bench-n0';

export type Path = 'c2c' | 'host' | 'ext';
export const PATHS: { path: Path; label: string }[] = [
  { path: 'c2c', label: 'container → container, one network' },
  { path: 'host', label: 'host → container via 127.0.0.1:published port' },
  { path: 'ext', label: 'external namespace → host veth address:published port' },
];

export interface DataplaneResult {
  seconds: number;
  rounds: number;
  /** Gbit/s per path and driver. */
  raw: Record<Path, Record<Kind, number[]>>;
  summary: Record<Path, Record<Kind, Summary>>;
  failures: string[];
}

function gbits(json: string): number {
  const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (j.error) throw new Error(`iperf3: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error('iperf3: no sum_received in the JSON');
  return bps / 1e9;
}

async function makeExternalNamespace(): Promise<void> {
  const routes = await hostRoutes();
  const clash = routes.find((r) => cidrsOverlap(r, EXT_SUBNET));
  if (clash) throw new Error(`${EXT_SUBNET} overlaps the host route ${clash}; the external-client namespace needs it free`);
  await removeExternalNamespace();
  await run('ip', ['netns', 'add', EXT_NETNS]);
  await run('ip', ['link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', NS_VETH, 'netns', EXT_NETNS]);
  await run('ip', ['addr', 'add', `${EXT_HOST_IP}/30`, 'dev', HOST_VETH]);
  await run('ip', ['link', 'set', HOST_VETH, 'up']);
  const inNs = (args: string[]) => run('ip', ['netns', 'exec', EXT_NETNS, 'ip', ...args]);
  await inNs(['link', 'set', 'lo', 'up']);
  await inNs(['addr', 'add', `${EXT_NS_IP}/30`, 'dev', NS_VETH]);
  await inNs(['link', 'set', NS_VETH, 'up']);
}

async function removeExternalNamespace(): Promise<void> {
  await run('ip', ['link', 'del', HOST_VETH], { allowFail: true });
  await run('ip', ['netns', 'del', EXT_NETNS], { allowFail: true });
}

interface Server {
  name: string;
  ip: string;
  loopbackPort: number;
  extPort: number;
}

async function startServer(kind: Kind, network: string, loopbackPort: number, extPort: number): Promise<Server> {
  const name = `${PREFIX}iperf-${kind}`;
  await run('docker', ['rm', '-f', name], { allowFail: true });
  await docker([
    'run', '-d', '--label', LABEL, '--name', name, '--network', network,
    '-p', `127.0.0.1:${loopbackPort}:5201`, '-p', `${EXT_HOST_IP}:${extPort}:5201`,
    IPERF_IMAGE, 'iperf3', '-s',
  ]);
  const ip = (await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
  if (!ip) throw new Error(`${name} has no address`);
  return { name, ip, loopbackPort, extPort };
}

async function client(path: Path, network: string, server: Server, seconds: number): Promise<number> {
  const iperf = (target: string, port: number) => ['iperf3', '-c', target, '-p', String(port), '-t', String(seconds), '-J'];
  const timeoutMs = (seconds + 30) * 1000;
  let r;
  if (path === 'c2c') r = await run('docker', ['run', '--rm', '--label', LABEL, '--network', network, IPERF_IMAGE, ...iperf(server.ip, 5201)], { allowFail: true, timeoutMs });
  else if (path === 'host') r = await run('iperf3', iperf('127.0.0.1', server.loopbackPort).slice(1), { allowFail: true, timeoutMs });
  else r = await run('ip', ['netns', 'exec', EXT_NETNS, ...iperf(EXT_HOST_IP, server.extPort)], { allowFail: true, timeoutMs });
  if (r.code !== 0) {
    let detail = r.stderr.trim();
    try {
      detail = (JSON.parse(r.stdout) as { error?: string }).error ?? detail;
    } catch {
      // not JSON
    }
    throw new Error(detail.slice(-300) || `exit ${r.code}`);
  }
  return gbits(r.stdout);
}

export async function dataplane(nets: Networks, rounds: number, seconds: number, ports: Record<Kind, { loopback: number; ext: number }>): Promise<DataplaneResult> {
  const raw: DataplaneResult['raw'] = { c2c: { tsnet: [], bridge: [] }, host: { tsnet: [], bridge: [] }, ext: { tsnet: [], bridge: [] } };
  const failures: string[] = [];
  const servers: Partial<Record<Kind, Server>> = {};
  const stopServers = async () => {
    for (const k of ['tsnet', 'bridge'] as const) await run('docker', ['rm', '-f', `${PREFIX}iperf-${k}`], { allowFail: true });
  };
  await withCleanup('external-client namespace', removeExternalNamespace, async () => {
    await makeExternalNamespace();
    await withCleanup('iperf3 servers', stopServers, async () => {
      await nets.check('the data-plane servers');
      for (const k of ['tsnet', 'bridge'] as const) servers[k] = await startServer(k, nets[k], ports[k].loopback, ports[k].ext);
      await sleep(500);
      for (let r = 0; r < rounds; r++) {
        for (const { path } of PATHS) {
          for (const kind of rotate(['tsnet', 'bridge'] as const, r)) {
            let attempt = 0;
            for (;;) {
              try {
                const g = await client(path, nets[kind], servers[kind]!, seconds);
                raw[path][kind].push(g);
                log(`iperf3 ${path} ${kind} round ${r + 1}: ${g.toFixed(2)} Gbit/s`);
                break;
              } catch (e) {
                // iperf3's server answers one client at a time; "busy" right after a test is retried once.
                if (++attempt < 2 && /busy|refused/i.test((e as Error).message)) {
                  await sleep(1000);
                  continue;
                }
                failures.push(`${path} ${kind} round ${r + 1}: ${(e as Error).message}`);
                log(`iperf3 ${path} ${kind} round ${r + 1} failed: ${(e as Error).message}`);
                break;
              }
            }
          }
        }
      }
    });
  });
  const sum = (p: Path) => ({ tsnet: summarize(raw[p].tsnet), bridge: summarize(raw[p].bridge) });
  return { seconds, rounds, raw, summary: { c2c: sum('c2c'), host: sum('host'), ext: sum('ext') }, failures };
}
