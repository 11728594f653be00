/**
 * Figure 8: a tsnet multi-host network against Docker's own overlay driver on the same three
 * engines (swarm across them, `docker network create -d overlay --attachable`). Rounds alternate
 * tsnet and overlay (rotating which goes first):
 *   - TCP throughput from a container on host 1 to one on host 2 (iperf3 -t S, received rate);
 *   - RTT host 1 → host 2 (busybox ping, every reply's time; median);
 *   - cost of a `docker run --rm IMAGE true` on host 1 on the network minus with --network none.
 * Both networks keep one long-lived container on hosts 1 and 2 (the iperf3 pair), so neither
 * driver pays for setting the network up on a host inside the timed runs.
 * Traffic only between the bench's own containers. The swarm is left on every engine afterwards.
 */
import { IPERF_IMAGE, LABEL, TEST_IMAGE } from '../docker';
import { dockerError } from './lifecycle';
import { hostIp, type Harness } from '../multihost/harness';
import { log, rotate, sleep, summarize, type Summary } from '../util';

export type MhKind = 'tsnet' | 'overlay';
export const MH_KINDS: MhKind[] = ['tsnet', 'overlay'];

export interface MultihostConfig {
  rounds: number;
  iperfSeconds: number;
  pings: number;
  runRounds: number;
}

export interface MultihostResult {
  config: MultihostConfig;
  subnets: Record<MhKind, string>;
  /** Gbit/s per round, NaN where it failed. */
  throughput: Record<MhKind, number[]>;
  /** Median RTT of each round's pings, ms. */
  rtt: Record<MhKind, number[]>;
  /** Every reply's RTT, ms. */
  rttAll: Record<MhKind, number[]>;
  /** `docker run --rm` wall time per round, ms (index = round). */
  runs: Record<MhKind | 'none', number[]>;
  summary: {
    throughput: Record<MhKind, Summary>;
    rtt: Record<MhKind, Summary>;
    /** Per-round cost (run on the network minus the --network none run of the same round). */
    cost: Record<MhKind, Summary>;
    runs: Record<MhKind | 'none', Summary>;
  };
  mtu: Record<MhKind, number>;
  failures: string[];
}

const NAME = { tsnet: 'tst-mhb-tsnet', overlay: 'tst-mhb-overlay' } as const;

/** Joins the engines into one swarm, host 1 the manager (a join that times out is retried once, as seen here). */
async function swarmUp(h: Harness): Promise<void> {
  await h.docker(1, ['swarm', 'init', '--advertise-addr', hostIp(1), '--listen-addr', `${hostIp(1)}:2377`]);
  const token = (await h.docker(1, ['swarm', 'join-token', '-q', 'worker'])).stdout.trim();
  for (let i = 2; i <= h.hosts; i++) {
    for (let attempt = 1; ; attempt++) {
      const r = await h.docker(i, ['swarm', 'join', '--advertise-addr', hostIp(i), '--listen-addr', `${hostIp(i)}:2377`, '--token', token, `${hostIp(1)}:2377`], { allowFail: true, timeoutMs: 60_000 });
      if (r.code === 0) break;
      if (attempt >= 3) throw new Error(`host ${i} could not join the swarm: ${r.stderr.trim()}`);
      log(`host ${i}: swarm join failed (${r.stderr.trim().slice(0, 200)}); retrying`);
      await h.docker(i, ['swarm', 'leave', '-f'], { allowFail: true });
      await sleep(1000);
    }
  }
}

/** Leaves the swarm on every engine (workers first). */
export async function swarmDown(h: Harness): Promise<void> {
  for (let i = h.hosts; i >= 1; i--) await h.docker(i, ['swarm', 'leave', '-f'], { allowFail: true, timeoutMs: 60_000 });
}

async function ipOf(h: Harness, i: number, container: string, network: string): Promise<string> {
  const r = await h.docker(i, ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, container]);
  return r.stdout.trim();
}

async function iperf(h: Harness, client: string, ip: string, seconds: number): Promise<number> {
  const r = await h.docker(1, ['exec', client, 'iperf3', '-c', ip, '-t', String(seconds), '-J'], { allowFail: true, timeoutMs: (seconds + 30) * 1000 });
  if (r.code !== 0) throw new Error(`iperf3 to ${ip}: ${(r.stdout + r.stderr).trim().slice(-300)}`);
  const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second / 1e9;
}

async function ping(h: Harness, client: string, ip: string, count: number): Promise<number[]> {
  const r = await h.docker(1, ['exec', client, 'ping', '-c', String(count), '-i', '0.2', '-W', '2', ip], { allowFail: true, timeoutMs: (count + 30) * 1000 });
  const times = [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (times.length === 0) throw new Error(`ping ${ip}: no reply (${r.stderr.trim().slice(-200)})`);
  return times;
}

async function runTrue(h: Harness, network: string): Promise<{ ms: number; err?: string }> {
  const r = await h.docker(1, ['run', '--rm', '--label', LABEL, '--network', network, TEST_IMAGE, 'true'], { allowFail: true, timeoutMs: 60_000 });
  return r.code === 0 ? { ms: r.ms } : { ms: NaN, err: dockerError(r.stderr) };
}

export async function multihostAnchor(h: Harness, cfg: MultihostConfig, subnets: Record<MhKind, string>): Promise<MultihostResult> {
  const failures: string[] = [];
  const res: MultihostResult = {
    config: cfg,
    subnets,
    throughput: { tsnet: [], overlay: [] },
    rtt: { tsnet: [], overlay: [] },
    rttAll: { tsnet: [], overlay: [] },
    runs: { tsnet: [], overlay: [], none: [] },
    summary: undefined as unknown as MultihostResult['summary'],
    mtu: { tsnet: NaN, overlay: NaN },
    failures,
  };
  await h.loadImage(IPERF_IMAGE);
  await swarmUp(h);
  try {
    // tsnet: the same command on every host (the network is created on each, one pool in etcd).
    for (let i = 1; i <= h.hosts; i++) {
      await h.docker(i, ['network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', subnets.tsnet, '-o', `tsnet.cluster=${NAME.tsnet}`, '--label', LABEL, NAME.tsnet]);
    }
    await h.docker(1, ['network', 'create', '-d', 'overlay', '--attachable', '--subnet', subnets.overlay, '--label', LABEL, NAME.overlay]);
    const server: Record<MhKind, string> = { tsnet: '', overlay: '' };
    for (const k of MH_KINDS) {
      await h.docker(2, ['run', '-d', '--name', `tst-mhb-srv-${k}`, '--label', LABEL, '--network', NAME[k], IPERF_IMAGE, 'iperf3', '-s']);
      await h.docker(1, ['run', '-d', '--name', `tst-mhb-cli-${k}`, '--label', LABEL, '--network', NAME[k], IPERF_IMAGE, 'sleep', '3600']);
      server[k] = await ipOf(h, 2, `tst-mhb-srv-${k}`, NAME[k]);
      res.mtu[k] = Number((await h.docker(1, ['exec', `tst-mhb-cli-${k}`, 'cat', '/sys/class/net/eth0/mtu'])).stdout.trim());
      // First contact (ARP, overlay's peer discovery) outside any timing.
      await ping(h, `tst-mhb-cli-${k}`, server[k], 3).catch((e: Error) => failures.push(`${k} warm-up: ${e.message}`));
      log(`figure 8: ${k} network ${NAME[k]} ${subnets[k]}, server ${server[k]} on host 2, MTU ${res.mtu[k]}`);
    }
    for (const k of [...MH_KINDS, 'none'] as const) await runTrue(h, k === 'none' ? 'none' : NAME[k]); // warm-up, not counted

    for (let r = 0; r < cfg.rounds; r++) {
      for (const k of rotate(MH_KINDS, r)) {
        try {
          res.throughput[k].push(await iperf(h, `tst-mhb-cli-${k}`, server[k], cfg.iperfSeconds));
        } catch (e) {
          res.throughput[k].push(NaN);
          failures.push(`${k} throughput round ${r + 1}: ${(e as Error).message}`);
        }
        try {
          const t = await ping(h, `tst-mhb-cli-${k}`, server[k], cfg.pings);
          res.rttAll[k].push(...t);
          res.rtt[k].push(summarize(t).median);
        } catch (e) {
          res.rtt[k].push(NaN);
          failures.push(`${k} RTT round ${r + 1}: ${(e as Error).message}`);
        }
      }
      log(`figure 8 round ${r + 1}/${cfg.rounds}: throughput tsnet ${res.throughput.tsnet[r]?.toFixed(2)} overlay ${res.throughput.overlay[r]?.toFixed(2)} Gbit/s; RTT tsnet ${res.rtt.tsnet[r]?.toFixed(3)} overlay ${res.rtt.overlay[r]?.toFixed(3)} ms`);
    }
    for (let r = 0; r < cfg.runRounds; r++) {
      for (const k of rotate([...MH_KINDS, 'none'] as const, r)) {
        const x = await runTrue(h, k === 'none' ? 'none' : NAME[k]);
        res.runs[k].push(x.ms);
        if (x.err) failures.push(`docker run ${k} round ${r + 1}: ${x.err}`);
      }
    }
    const cost = (k: MhKind) => summarize(res.runs[k].map((ms, i) => ms - res.runs.none[i]));
    res.summary = {
      throughput: { tsnet: summarize(res.throughput.tsnet), overlay: summarize(res.throughput.overlay) },
      rtt: { tsnet: summarize(res.rttAll.tsnet), overlay: summarize(res.rttAll.overlay) },
      cost: { tsnet: cost('tsnet'), overlay: cost('overlay') },
      runs: { tsnet: summarize(res.runs.tsnet), overlay: summarize(res.runs.overlay), none: summarize(res.runs.none) },
    };
    log(`figure 8: docker run cost tsnet ${res.summary.cost.tsnet.median.toFixed(0)} ms, overlay ${res.summary.cost.overlay.median.toFixed(0)} ms`);
    return res;
  } finally {
    for (let i = 1; i <= h.hosts; i++) {
      const ids = (await h.docker(i, ['ps', '-aq', '--filter', `label=${LABEL}`], { allowFail: true })).stdout.split('\n').filter(Boolean);
      if (ids.length) await h.docker(i, ['rm', '-f', ...ids], { allowFail: true });
    }
    for (let i = 1; i <= h.hosts; i++) await h.docker(i, ['network', 'rm', NAME.tsnet], { allowFail: true });
    await h.docker(1, ['network', 'rm', NAME.overlay], { allowFail: true });
    await swarmDown(h);
  }
}
