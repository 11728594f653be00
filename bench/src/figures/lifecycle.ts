/**
 * Figures 1-3: what a network costs a container's life cycle (`docker run --rm IMAGE true`
 * on the network minus the same with --network none), with one published port, and 50
 * containers started in parallel. tsnet, bridge and none alternate in every round.
 */
import { containerIPs, LABEL, PREFIX, removeContainers, TEST_IMAGE } from '../docker';
import { log, rotate, run, summarize, type Summary } from '../util';

export type Kind = 'tsnet' | 'bridge' | 'floor';
export const KINDS: Kind[] = ['tsnet', 'floor', 'bridge'];
export interface Networks {
  tsnet: string;
  bridge: string;
  /** The floor: a remote driver that does no work (see floor.ts). */
  floor: string;
  /** Called outside any timing: makes `count` veths ready for the floor driver's Joins. */
  prepareFloor: (count: number) => Promise<void>;
  /** Called between rounds (outside any timing): makes sure the tsnet network is intact. */
  check: (where: string) => Promise<void>;
}

/** The line of a docker CLI error that says what went wrong (not its usage hint). */
export function dockerError(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => l.trim() && !l.startsWith("Run 'docker"));
  return (lines.find((l) => /error/i.test(l)) ?? lines.pop() ?? '').slice(0, 300);
}

export interface LifecycleResult {
  rounds: number;
  /** ms per round, NaN where the run failed. */
  raw: Record<Kind | 'none', number[]>;
  runs: Record<Kind | 'none', Summary>;
  /** Median run time on the network minus the median with --network none, ms. */
  cost: Record<Kind, number>;
  failures: string[];
}

async function dockerRunTrue(network: string, publish?: number) {
  const args = ['run', '--rm', '--label', LABEL, '--network', network];
  if (publish !== undefined) args.push('-p', `${publish}:80`);
  args.push(TEST_IMAGE, 'true');
  return run('docker', args, { timeoutMs: 60_000, allowFail: true });
}

/** rounds × (tsnet, bridge, none) in a rotating order; ports (if any) are published with -p PORT:80. */
export async function lifecycleCost(nets: Networks, rounds: number, ports?: Record<Kind, number>): Promise<LifecycleResult> {
  const raw: Record<Kind | 'none', number[]> = { tsnet: [], bridge: [], floor: [], none: [] };
  const failures: string[] = [];
  const netOf = (k: Kind | 'none') => (k === 'none' ? 'none' : nets[k]);
  const portOf = (k: Kind | 'none') => (k === 'none' || !ports ? undefined : ports[k]);
  await nets.prepareFloor(rounds + 1);
  for (const k of [...KINDS, 'none'] as const) await dockerRunTrue(netOf(k), portOf(k)).catch(() => undefined); // warm-up, not counted
  for (let r = 0; r < rounds; r++) {
    await nets.check(`round ${r + 1}`);
    for (const k of rotate([...KINDS, 'none'] as const, r)) {
      const res = await dockerRunTrue(netOf(k), portOf(k));
      raw[k].push(res.code === 0 ? res.ms : NaN); // index = round, so rounds pair up
      if (res.code !== 0) failures.push(`${k} round ${r + 1}: ${dockerError(res.stderr)}`);
    }
  }
  const runs = { tsnet: summarize(raw.tsnet), bridge: summarize(raw.bridge), floor: summarize(raw.floor), none: summarize(raw.none) };
  return { rounds, raw, runs, cost: { tsnet: runs.tsnet.median - runs.none.median, bridge: runs.bridge.median - runs.none.median, floor: runs.floor.median - runs.none.median }, failures };
}

export interface ParallelRound {
  kind: Kind;
  round: number;
  wallMs: number;
  ok: number;
  failed: number;
  distinctIPs: number;
  removeMs: number;
  errors: string[];
}

/** `docker run -d` × count at once on one network: wall time, successes, distinct addresses; then removed. */
export async function parallelStart(nets: Networks, rounds: number, count: number): Promise<ParallelRound[]> {
  const out: ParallelRound[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const kind of rotate(KINDS, r)) {
      await nets.check(`parallel round ${r + 1}`);
      if (kind === 'floor') await nets.prepareFloor(count);
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          run('docker', ['run', '-d', '--label', LABEL, '--name', `${PREFIX}par-${kind}-${r}-${i}`, '--network', nets[kind], TEST_IMAGE, 'sleep', '600'], {
            allowFail: true,
            timeoutMs: 240_000,
          }),
        ),
      );
      const wallMs = Date.now() - started;
      const ids = results.filter((x) => x.code === 0).map((x) => x.stdout.trim());
      const errors = results.filter((x) => x.code !== 0).map((x) => dockerError(x.stderr));
      const ips = await containerIPs(ids);
      const distinctIPs = new Set(ips.filter((ip) => ip !== '')).size;
      const names = Array.from({ length: count }, (_, i) => `${PREFIX}par-${kind}-${r}-${i}`);
      const removeMs = await removeContainers(names);
      out.push({ kind, round: r + 1, wallMs, ok: ids.length, failed: count - ids.length, distinctIPs, removeMs, errors: [...new Set(errors)].slice(0, 3) });
      log(`parallel ${kind} round ${r + 1}: ${ids.length}/${count} up in ${wallMs} ms, ${distinctIPs} distinct addresses, removed in ${removeMs} ms`);
    }
  }
  return out;
}
