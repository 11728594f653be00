/**
 * Figure 9: multi-host scale by simulation. Host records and their address blocks for 10, 100 and
 * 1,000 simulated hosts are written into etcd in exactly the format driver/src/cluster/ uses
 * (the driver's own key and record helpers; records only, no engines). Their VTEP addresses are
 * in 198.18.0.0/15 (RFC 2544's benchmarking range, on no route of this machine); the kernel gets
 * FDB entries, neighbours and routes pointing at them, and nothing is ever sent there (no
 * container talks to their blocks). On the harness's real hosts it measures, per level:
 *   - cold start: host 1's driver stopped, its VXLAN link (with every route, FDB entry and
 *     neighbour on it) and its underlay filter table deleted, the driver started again; time from
 *     the start until routes, FDB, neighbours and the filter set hold every simulated host
 *     (polled from outside with ip/bridge/nft);
 *   - the driver's RSS right after that;
 *   - one host added (its record and block in one etcd transaction): time until every real
 *     host's kernel has its route and its filter set element (`ip monitor` / `nft monitor`);
 *   - etcd's key count, and that containers add none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { Etcd3, type Lease } from 'etcd3';
import { VXLAN_LINK } from '@tsnet/shared';
import { ipToNum, numToIp, parsePool, poolBlocks } from '@tsnet/driver/dist/cluster/blocks';
import { VXLAN_PORT, VXLAN_VNI, vtepMac } from '@tsnet/driver/dist/cluster/config';
import { blockKey, hostKey, PREFIX, type BlockRecord, type HostRecord } from '@tsnet/driver/dist/cluster/etcd';
import { cidrsOverlap, hostRoutes, LABEL, TEST_IMAGE } from '../docker';
import { ETCD_URL, netns, type Harness } from '../multihost/harness';
import { log, nowMs, run, sleep, summarize, type Summary } from '../util';

export const SIM_RANGE = '198.18.0.0/15';
const SIM_BASE = ipToNum('198.18.0.1');
/** Added-one hosts live in the upper half of the range, away from the levels' hosts. */
const EXTRA_BASE = ipToNum('198.19.0.1');
const NET = 'tst-mhb-scale';

export interface ScaleLevel {
  hosts: number;
  /** Cold start → kernel holds every simulated host, ms, per round. */
  convergeMs: number[];
  /** Cold start → the driver's sockets answer (process start, included in convergeMs), ms. */
  driverUpMs: number[];
  rssMB: number[];
  /** One host added → its route and filter element on every real host, ms, per round. */
  addOneMs: number[];
  /** Per round, the slowest real host's time is addOneMs; this is each host's, in host order. */
  addOnePerHostMs: number[][];
  /** One host removed → its route gone from every real host, ms, per round. */
  removeOneMs: number[];
  keys: { total: number; hosts: number; blocks: number; pools: number };
  kernel: Counts;
  summary: { converge: Summary; rss: Summary; addOne: Summary; removeOne: Summary };
}

export interface MhScaleResult {
  levels: ScaleLevel[];
  subnet: string;
  realHosts: number;
  coldRounds: number;
  addRounds: number;
  /** etcd keys before and after `containers` containers were started on host 1. */
  containerCheck?: { containers: number; before: number; after: number; newBlocks: number };
  pollMs: number;
  errors: string[];
}

export interface MhScaleConfig {
  levels: number[];
  coldRounds: number;
  addRounds: number;
  containers: number;
}

interface Counts {
  routes: number;
  fdb: number;
  neighbours: number;
  filter: number;
}

const SIM_RE = /\b198\.1[89]\.\d+\.\d+\b/g;
const simCount = (s: string) => (s.match(SIM_RE) ?? []).length;

/** Entries pointing at simulated hosts in host i's kernel. */
async function counts(h: Harness, i: number): Promise<Counts> {
  const ns = netns(i);
  const [routes, fdb, neigh, set] = await Promise.all([
    run('ip', ['-n', ns, '-4', 'route', 'show', 'proto', '116'], { allowFail: true }),
    run('bridge', ['-n', ns, 'fdb', 'show', 'dev', VXLAN_LINK], { allowFail: true }),
    run('ip', ['-n', ns, '-4', 'neigh', 'show', 'dev', VXLAN_LINK], { allowFail: true }),
    h.inNetns(i, ['nft', 'list', 'set', 'inet', 'tsnet-underlay', 'vteps'], { allowFail: true }),
  ]);
  return { routes: simCount(routes.stdout), fdb: simCount(fdb.stdout), neighbours: simCount(neigh.stdout), filter: simCount(set.stdout) };
}

const complete = (c: Counts, n: number) => c.routes === n && c.fdb === n && c.neighbours === n && c.filter === n;

async function waitCounts(h: Harness, i: number, n: number, timeoutMs: number): Promise<{ at: number; polls: number; last: Counts }> {
  const deadline = nowMs() + timeoutMs;
  let polls = 0;
  for (;;) {
    const c = await counts(h, i);
    polls++;
    if (complete(c, n)) return { at: nowMs(), polls, last: c };
    if (nowMs() > deadline) throw new Error(`host ${i}: kernel not converged to ${n} simulated hosts within ${timeoutMs} ms (routes ${c.routes}, FDB ${c.fdb}, neighbours ${c.neighbours}, filter ${c.filter})`);
    await sleep(10);
  }
}

/** A long-running line reader (ip monitor, nft monitor) that stamps each line when it arrives. */
class Monitor {
  private readonly child: ChildProcess;
  private lines: { at: number; text: string }[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      const at = nowMs();
      this.buf += d.toString();
      const parts = this.buf.split('\n');
      this.buf = parts.pop()!;
      for (const text of parts) this.lines.push({ at, text });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Time of the first line after `since` matching re. */
  async waitFor(re: RegExp, since: number, timeoutMs: number): Promise<number> {
    const deadline = nowMs() + timeoutMs;
    for (;;) {
      const hit = this.lines.find((l) => l.at >= since && re.test(l.text));
      if (hit) return hit.at;
      const left = deadline - nowMs();
      if (left <= 0) throw new Error(`no line matching ${re} within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  clear(): void {
    this.lines = [];
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

function simHost(addressNum: number): HostRecord {
  const address = numToIp(addressNum);
  return { address, hostname: `tst-mhb-sim-${address}`, mac: vtepMac(address), vni: VXLAN_VNI, port: VXLAN_PORT, registeredAt: new Date().toISOString() };
}

const esc = (s: string) => s.replace(/[.]/g, '\\.');

export async function multihostScale(h: Harness, cfg: MhScaleConfig, subnetCandidates: string[]): Promise<MhScaleResult> {
  const routesHere = await hostRoutes();
  if (routesHere.some((r) => cidrsOverlap(r, SIM_RANGE))) throw new Error(`the simulated VTEP range ${SIM_RANGE} overlaps a route of this machine; not simulating`);
  const subnet = subnetCandidates.find((s) => !routesHere.some((r) => cidrsOverlap(r, s)) && !cidrsOverlap(s, '172.30.250.0/24'));
  if (!subnet) throw new Error(`no free subnet among ${subnetCandidates.join(', ')}`);
  const pool = parsePool(subnet);
  const blocks = poolBlocks(pool);
  const maxLevel = Math.max(...cfg.levels);
  if (blocks.length < maxLevel + cfg.addRounds + 2 * h.hosts + 2) throw new Error(`subnet ${subnet} has ${blocks.length} blocks, too few for ${maxLevel} simulated hosts`);
  const simBlock = (i: number) => blocks[blocks.length - 1 - i];
  const res: MhScaleResult = { levels: [], subnet, realHosts: h.hosts, coldRounds: cfg.coldRounds, addRounds: cfg.addRounds, pollMs: NaN, errors: [] };

  const etcd = new Etcd3({ hosts: [ETCD_URL] });
  let lease: Lease | undefined;
  const written: string[] = [];
  const monitors: Monitor[] = [];
  try {
    for (let i = 1; i <= h.hosts; i++) {
      await h.docker(i, ['network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', subnet, '-o', `tsnet.cluster=${NET}`, '--label', LABEL, NET]);
    }
    // Like real hosts, the simulated records live on a lease (one for all): if the bench dies they vanish.
    lease = etcd.lease(60, { autoKeepAlive: true });
    const keyCount = async () => {
      const keys = await etcd.getAll().prefix(PREFIX).keys();
      return { total: keys.length, hosts: keys.filter((k) => k.startsWith(`${PREFIX}hosts/`)).length, blocks: keys.filter((k) => k.startsWith(`${PREFIX}blocks/`)).length, pools: keys.filter((k) => k.startsWith(`${PREFIX}pools/`)).length };
    };
    const leaseId = await lease.grant();
    const putHosts = async (from: number, to: number) => {
      for (let s = from; s < to; s += 50) {
        const ops = [];
        for (let i = s; i < Math.min(to, s + 50); i++) {
          const rec = simHost(SIM_BASE + i);
          const bk = blockKey(subnet, simBlock(i));
          written.push(bk);
          ops.push(etcd.put(hostKey(rec.address)).value(JSON.stringify(rec)).lease(leaseId).exec(), etcd.put(bk).value(JSON.stringify({ host: rec.address } satisfies BlockRecord)).exec());
        }
        await Promise.all(ops);
      }
    };

    // Not O(containers): start some containers on host 1 and count the keys again.
    if (cfg.containers > 0) {
      const before = await keyCount();
      const names = Array.from({ length: cfg.containers }, (_, k) => `tst-mhb-keys-${k}`);
      try {
        for (const n of names) await h.docker(1, ['run', '-d', '--name', n, '--label', LABEL, '--network', NET, TEST_IMAGE, 'sleep', '600']);
        const after = await keyCount();
        res.containerCheck = { containers: cfg.containers, before: before.total, after: after.total, newBlocks: after.blocks - before.blocks };
        log(`figure 9: etcd keys ${before.total} → ${after.total} with ${cfg.containers} containers on host 1 (${after.blocks - before.blocks} new blocks)`);
      } finally {
        await h.docker(1, ['rm', '-f', ...names], { allowFail: true });
      }
    }

    let have = 0;
    for (const n of [...cfg.levels].sort((a, b) => a - b)) {
      await putHosts(have, n);
      have = n;
      for (let i = 1; i <= h.hosts; i++) await waitCounts(h, i, n, 120_000);
      log(`figure 9: ${n} simulated hosts programmed on all ${h.hosts} real hosts`);
      const level: ScaleLevel = { hosts: n, convergeMs: [], driverUpMs: [], rssMB: [], addOneMs: [], addOnePerHostMs: [], removeOneMs: [], keys: await keyCount(), kernel: await counts(h, 1), summary: undefined as unknown as ScaleLevel['summary'] };

      for (let r = 0; r < cfg.coldRounds; r++) {
        await h.stopDriver(1);
        await run('ip', ['-n', netns(1), 'link', 'del', VXLAN_LINK], { allowFail: true });
        await h.inNetns(1, ['nft', 'delete', 'table', 'inet', 'tsnet-underlay'], { allowFail: true });
        const empty = await counts(h, 1);
        if (empty.routes + empty.fdb + empty.neighbours + empty.filter !== 0) throw new Error(`host 1's kernel still holds simulated entries after the cold-start reset: ${JSON.stringify(empty)}`);
        const t0 = nowMs();
        await h.startDriver(1);
        const up = nowMs();
        const w = await waitCounts(h, 1, n, 60_000);
        level.convergeMs.push(w.at - t0);
        level.driverUpMs.push(up - t0);
        res.pollMs = (w.at - up) / Math.max(1, w.polls);
        await sleep(1000);
        const st = fs.readFileSync(`/proc/${h.driverPid(1)}/status`, 'utf8');
        level.rssMB.push(Number(/VmRSS:\s+(\d+)/.exec(st)![1]) / 1024);
        log(`figure 9: ${n} hosts, cold start round ${r + 1}: converged in ${(w.at - t0).toFixed(0)} ms (driver up after ${(up - t0).toFixed(0)} ms), RSS ${level.rssMB.at(-1)!.toFixed(1)} MB`);
      }
      // The other hosts saw host 1's lease survive; make sure host 1 is whole again before adding.
      for (let i = 1; i <= h.hosts; i++) await waitCounts(h, i, n, 60_000);

      for (let i = 1; i <= h.hosts; i++) {
        monitors.push(new Monitor('ip', ['-n', netns(i), '-4', 'monitor', 'route']));
        monitors.push(new Monitor('nsenter', [`--net=/run/netns/${netns(i)}`, 'nft', 'monitor', 'elements']));
      }
      await sleep(500);
      for (let r = 0; r < cfg.addRounds; r++) {
        const rec = simHost(EXTRA_BASE + n * 100 + r);
        const block = simBlock(maxLevel + 1 + r);
        const bk = blockKey(subnet, block);
        const routeRe = new RegExp(`^${esc(block)} via ${esc(rec.address)} `);
        const elemRe = new RegExp(`add element .*\\b${esc(rec.address)}\\b`);
        const t0 = nowMs();
        await etcd.if(hostKey(rec.address), 'Create', '==', 0).then(etcd.put(hostKey(rec.address)).value(JSON.stringify(rec)).lease(leaseId), etcd.put(bk).value(JSON.stringify({ host: rec.address }))).commit();
        const per: number[] = [];
        for (let i = 0; i < h.hosts; i++) {
          const [a, b] = await Promise.all([monitors[2 * i].waitFor(routeRe, t0, 10_000), monitors[2 * i + 1].waitFor(elemRe, t0, 10_000)]);
          per.push(Math.max(a, b) - t0);
        }
        level.addOnePerHostMs.push(per);
        level.addOneMs.push(Math.max(...per));
        const t1 = nowMs();
        await etcd.delete().key(hostKey(rec.address)).exec();
        await etcd.delete().key(bk).exec();
        const gone = new RegExp(`^Deleted ${esc(block)} via `);
        let last = t1;
        for (let i = 0; i < h.hosts; i++) last = Math.max(last, await monitors[2 * i].waitFor(gone, t1, 10_000));
        level.removeOneMs.push(last - t1);
        for (const m of monitors) m.clear();
      }
      for (const m of monitors.splice(0)) m.stop();
      level.summary = { converge: summarize(level.convergeMs), rss: summarize(level.rssMB), addOne: summarize(level.addOneMs), removeOne: summarize(level.removeOneMs) };
      log(`figure 9: ${n} hosts: converge ${level.summary.converge.median.toFixed(0)} ms, RSS ${level.summary.rss.median.toFixed(1)} MB, add-one ${level.summary.addOne.median.toFixed(0)} ms, keys ${level.keys.total}`);
      res.levels.push(level);
    }
    return res;
  } finally {
    for (const m of monitors) m.stop();
    // Leaves etcd as it was: the simulated hosts (on the lease) and their blocks.
    await lease?.revoke().catch((e: Error) => log(`figure 9: revoking the simulated hosts' lease: ${e.message}`));
    for (let s = 0; s < written.length; s += 100) await Promise.all(written.slice(s, s + 100).map((k) => etcd.delete().key(k).exec())).catch(() => undefined);
    etcd.close();
    for (let i = 1; i <= h.hosts; i++) await h.docker(i, ['network', 'rm', NET], { allowFail: true });
  }
}
