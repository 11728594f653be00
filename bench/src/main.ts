/**
 * `npm run bench`: every figure of issue 10 for tsnet and Docker's built-in bridge driver,
 * alternately in one run, then bench/results.md. Run through scripts/bench.sh (builds first).
 * Environment: BENCH_QUICK=1 for a short smoke run (fewer rounds, 100 scale endpoints; does
 * not write bench/results.md), BENCH_STARTED_AT (epoch seconds) to include the build time.
 * `npm run bench -- multihost` runs only the multi-host figures (8: against Docker's overlay on
 * three engines; 9: scale by simulation) and rewrites only their section of bench/results.md.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createNetwork, removeBenchObjects } from './docker';
import { DriverProcess } from './driver';
import { FLOOR_DRIVER, NullDriver } from './floor';
import { dataplane } from './figures/dataplane';
import { extensionFigures } from './figures/extension';
import { lifecycleCost, parallelStart, type Networks } from './figures/lifecycle';
import { scale } from './figures/scale';
import { multihostAnchor, type MultihostConfig } from './figures/multihost';
import { multihostScale, type MhScaleConfig } from './figures/mhscale';
import { Harness } from './multihost/harness';
import { renderMultihost, spliceMultihost, type MultihostSection } from './report-multihost';
import { cidrsOverlap, hostRoutes } from './docker';
import { durableWriteMs } from './probe';
import { renderMarkdown, type Machine, type Results } from './report';
import { log, run, runCleanups, setLogFile, withCleanup } from './util';


const repoRoot = path.resolve(__dirname, '../..');
const rawDir = path.join(repoRoot, 'bench/raw');
const quick = process.env.BENCH_QUICK === '1';
const config = quick
  ? { lifecycleRounds: 3, parallelRounds: 1, parallelCount: 10, iperfRounds: 1, iperfSeconds: 2, scaleEndpoints: 100 }
  : { lifecycleRounds: 15, parallelRounds: 3, parallelCount: 50, iperfRounds: 3, iperfSeconds: 3, scaleEndpoints: 1000 };
// Knobs for iterating (a partial run writes bench/raw/results-partial.md, never bench/results.md):
// BENCH_FIGURES=1,3,5 runs only those figures; BENCH_ROUNDS / BENCH_PARALLEL_ROUNDS override the rounds.
const multihostOnly = process.argv[2] === 'multihost';
const figures = new Set((multihostOnly ? '8,9' : (process.env.BENCH_FIGURES ?? '1,2,3,4,5,6,7,8,9')).split(',').map((x) => x.trim()));
const partial = !multihostOnly && process.env.BENCH_FIGURES !== undefined;
const envInt = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
// Multi-host figures (8, 9): BENCH_MH_ROUNDS (throughput + RTT rounds), BENCH_MH_RUN_ROUNDS
// (docker run rounds), BENCH_MH_LEVELS (simulated hosts, e.g. 10,100,1000), BENCH_MH_COLD_ROUNDS,
// BENCH_MH_ADD_ROUNDS.
const mhConfig: MultihostConfig = { rounds: envInt('BENCH_MH_ROUNDS', quick ? 2 : 9), iperfSeconds: quick ? 2 : 3, pings: quick ? 10 : 20, runRounds: envInt('BENCH_MH_RUN_ROUNDS', quick ? 3 : 11) };
const mhScaleConfig: MhScaleConfig = {
  levels: (process.env.BENCH_MH_LEVELS ?? (quick ? '10,100' : '10,100,1000')).split(',').map(Number),
  coldRounds: envInt('BENCH_MH_COLD_ROUNDS', quick ? 1 : 3),
  addRounds: envInt('BENCH_MH_ADD_ROUNDS', quick ? 2 : 5),
  containers: quick ? 5 : 20,
};
if (process.env.BENCH_ROUNDS) config.lifecycleRounds = Number(process.env.BENCH_ROUNDS);
if (process.env.BENCH_PARALLEL_ROUNDS) config.parallelRounds = Number(process.env.BENCH_PARALLEL_ROUNDS);

/** Docker subnets the bench tries, in order, skipping any on a host route or taken by another network. */
const DOCKER_SUBNETS = Array.from({ length: 14 }, (_, i) => `10.231.${i + 1}.0/24`);
const SCALE_SUBNETS = ['10.231.16.0/20', '10.231.32.0/20', '10.231.48.0/20', '10.231.64.0/20'];

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

async function freePorts(count: number, from: number): Promise<number[]> {
  const out: number[] = [];
  for (let p = from; out.length < count && p < from + 500; p++) if ((await portFree(p, '0.0.0.0')) && (await portFree(p, '127.0.0.1'))) out.push(p);
  if (out.length < count) throw new Error(`no ${count} free TCP ports from ${from}`);
  return out;
}

async function machine(): Promise<Machine> {
  const dockerVersion = (await run('docker', ['version', '--format', '{{.Server.Version}}|{{.Client.Version}}'], { allowFail: true })).stdout.trim().split('|');
  const ours = new Set((await run('docker', ['ps', '-q', '--filter', 'label=tsnet.bench=1'], { allowFail: true })).stdout.split('\n').filter(Boolean));
  const runningAll = (await run('docker', ['ps', '-q'], { allowFail: true })).stdout.split('\n').filter(Boolean);
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    memGB: os.totalmem() / 2 ** 30,
    kernel: os.release(),
    dockerServer: dockerVersion[0] ?? 'unknown',
    dockerClient: dockerVersion[1] ?? 'unknown',
    node: process.version,
    iperf3: (await run('iperf3', ['--version'], { allowFail: true })).stdout.split('\n')[0].trim(),
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    loadEnd: '',
    foreignContainers: runningAll.filter((id) => !ours.has(id)).length,
    durableWriteMsEnd: { small: NaN, large: NaN },
    durableWriteMs: { small: await durableWriteMs('/tmp/tst-bench-probe', 2048), large: await durableWriteMs('/tmp/tst-bench-probe', 512 * 1024, 10) },
  };
}

function driverFor(name: string): DriverProcess {
  return new DriverProcess({
    name,
    stateDir: `/tmp/tst-bench-state-${name}`,
    statusSocket: `/run/tsnet/${name}-status.sock`,
    logFile: path.join(rawDir, `${name}-driver.log`),
    repoRoot,
  });
}

async function withDriver<T>(driver: DriverProcess, body: () => Promise<T>): Promise<T> {
  fs.rmSync(driver.opts.logFile, { force: true });
  await driver.start();
  return withCleanup(`driver ${driver.opts.name}`, async () => {
    await driver.stop();
    fs.rmSync(driver.opts.stateDir, { recursive: true, force: true });
  }, body);
}

async function main(): Promise<void> {
  fs.mkdirSync(rawDir, { recursive: true });
  setLogFile(path.join(rawDir, 'bench.log'));
  fs.writeFileSync(path.join(rawDir, 'bench.log'), '');
  const benchStarted = Date.now();
  const runStarted = process.env.BENCH_STARTED_AT ? Number(process.env.BENCH_STARTED_AT) * 1000 : benchStarted;
  const results: Results = {
    machine: await machine(),
    durationS: 0,
    benchDurationS: 0,
    config,
    subnets: { tsnet: '', bridge: '', floor: '' },
    errors: [],
    incidents: [],
  };
  log(`config ${JSON.stringify(config)}`);
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      results.errors.push(`${what}: ${(e as Error).message}`);
      log(`${what} failed: ${(e as Error).message}`);
    }
  };

  // Figures 1-4 and 6: one tsnet driver registered with dockerd as "tsnetbench".
  const bench = driverFor('tsnetbench');
  const floor = new NullDriver();
  if (['1', '2', '3', '4', '6'].some((f) => figures.has(f))) await attempt('figures 1-4, 6', () =>
    withDriver(bench, async () => {
      await floor.start();
      await withCleanup('floor driver', () => floor.stop(), async () => {
      for (const l of await removeBenchObjects(1)) log(`left by an earlier run, cannot be removed: ${l}`);
      const suffix = Date.now().toString(36).slice(-5);
      const removeOurs = async () => {
        for (const l of await removeBenchObjects()) {
          const when = l.includes(`-${suffix}:`) ? 'this run' : 'an earlier run';
          const what = `dockerd refused to remove ${l} — made by ${when}; no container is attached (dockerd's endpoint count leaked; only a dockerd restart clears it). Each run uses fresh network names, so this does not block the next run`;
          results.incidents.push(what);
          log(what);
        }
      };
      // Fresh names each run: a network dockerd refuses to remove (seen: a leaked endpoint count
      // on the built-in bridge after 50 parallel removals) must not block the next run.
      await withCleanup('bench containers and networks', removeOurs, async () => {
        const nets: Networks = {
          tsnet: `tst-bench-tsnet-${suffix}`,
          bridge: `tst-bench-bridge-${suffix}`,
          floor: `tst-bench-floor-${suffix}`,
          prepareFloor: (n) => floor.prepare(n),
          // On this shared machine another process may remove tsnet-named links (seen: the
          // bench's bridge vanished mid-run). Say so in the results and re-create the network.
          check: async (where) => {
            const id = (await run('docker', ['network', 'inspect', '-f', '{{.Id}}', nets.tsnet], { allowFail: true })).stdout.trim();
            const n = (await bench.status()).networks.find((x) => x.id === id);
            if (id && n?.present) return;
            const what = `before ${figure} ${where}: the tsnet network ${nets.tsnet} ${n ? `was in the driver but its bridge ${n.bridge} was gone from the kernel` : 'was gone'} (removed from outside the bench); re-created it`;
            results.incidents.push(what);
            log(what);
            await run('docker', ['network', 'rm', nets.tsnet], { allowFail: true });
            results.subnets.tsnet = await createNetwork(nets.tsnet, 'tsnetbench', DOCKER_SUBNETS);
          },
        };
        let figure = 'figure 1';
        results.subnets.tsnet = await createNetwork(nets.tsnet, 'tsnetbench', DOCKER_SUBNETS);
        results.subnets.bridge = await createNetwork(nets.bridge, 'bridge', DOCKER_SUBNETS);
        results.subnets.floor = await createNetwork(nets.floor, FLOOR_DRIVER, DOCKER_SUBNETS);
        log(`networks: ${nets.tsnet} ${results.subnets.tsnet} (tsnet), ${nets.bridge} ${results.subnets.bridge} (bridge), ${nets.floor} ${results.subnets.floor} (floor)`);
        const ports = await freePorts(7, 29180);
        if (figures.has('1')) await attempt('figure 1', async () => {
          results.lifecycle = await lifecycleCost(nets, config.lifecycleRounds);
          log(`figure 1: cost tsnet ${results.lifecycle.cost.tsnet.toFixed(0)} ms, bridge ${results.lifecycle.cost.bridge.toFixed(0)} ms`);
        });
        figure = 'figure 2';
        if (figures.has('2')) await attempt('figure 2', async () => {
          results.published = await lifecycleCost(nets, config.lifecycleRounds, { tsnet: ports[0], bridge: ports[1], floor: ports[6] });
          log(`figure 2: cost tsnet ${results.published.cost.tsnet.toFixed(0)} ms, bridge ${results.published.cost.bridge.toFixed(0)} ms`);
        });
        await attempt('figure 4 (sequential)', async () => {
          results.callsSequential = (await bench.status()).calls;
        });
        figure = 'figure 3';
        if (figures.has('3')) await attempt('figure 3', async () => {
          results.parallel = await parallelStart(nets, config.parallelRounds, config.parallelCount);
        });
        await attempt('figure 4', async () => {
          results.calls = (await bench.status()).calls;
        });
        figure = 'figure 6';
        if (figures.has('6')) await attempt('figure 6', async () => {
          results.dataplane = await dataplane(nets, config.iperfRounds, config.iperfSeconds, {
            tsnet: { loopback: ports[2], ext: ports[3] },
            bridge: { loopback: ports[4], ext: ports[5] },
          });
        });
      });
      });
    }),
  );

  // Figure 5: a separate instance, driven over its socket (dockerd never uses it).
  const scaleDriver = driverFor('tsnetscale');
  if (figures.has('5')) await attempt('figure 5', () =>
    withDriver(scaleDriver, async () => {
      results.scale = await scale(scaleDriver, config.scaleEndpoints, SCALE_SUBNETS);
      if (results.scale.error) results.errors.push(`figure 5: ${results.scale.error}`);
      log(`figure 5: set-up ${results.scale.early.toFixed(2)} ms → ${results.scale.late.toFixed(2)} ms, RSS ${results.scale.rssFullMB.toFixed(1)} MB`);
    }),
  );

  if (figures.has('7')) await attempt('figure 7', async () => {
    results.extension = await extensionFigures(repoRoot);
  });

  if (figures.has('8') || figures.has('9')) await attempt('figures 8-9', async () => {
    const started = Date.now();
    const mh: MultihostSection = { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' '), loadEnd: '', durationS: 0, errors: [] };
    results.multihost = mh;
    const h = new Harness(repoRoot, 3);
    const routes = await hostRoutes();
    const free = (cands: string[]) => cands.find((c) => !routes.some((r) => cidrsOverlap(r, c))) ?? cands[0];
    await withCleanup('multi-host harness', () => h.down(), async () => {
      await h.up();
      if (figures.has('8')) {
        try {
          mh.anchor = await multihostAnchor(h, mhConfig, { tsnet: free(['10.232.0.0/16', '10.234.0.0/16']), overlay: free(['10.233.0.0/24', '10.235.0.0/24']) });
        } catch (e) {
          mh.errors.push(`figure 8: ${(e as Error).message}`);
          log(`figure 8 failed: ${(e as Error).message}`);
        }
      }
      if (figures.has('9')) {
        try {
          mh.scale = await multihostScale(h, mhScaleConfig, ['10.236.0.0/14', '10.240.0.0/14']);
        } catch (e) {
          mh.errors.push(`figure 9: ${(e as Error).message}`);
          log(`figure 9 failed: ${(e as Error).message}`);
        }
      }
    });
    mh.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
    mh.durationS = (Date.now() - started) / 1000;
    results.errors.push(...mh.errors);
  });

  results.machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  results.machine.durableWriteMsEnd = { small: await durableWriteMs('/tmp/tst-bench-probe', 2048), large: await durableWriteMs('/tmp/tst-bench-probe', 512 * 1024, 10) };
  results.benchDurationS = (Date.now() - benchStarted) / 1000;
  results.durationS = (Date.now() - runStarted) / 1000;
  fs.writeFileSync(path.join(rawDir, 'results.json'), JSON.stringify(results, null, 2));
  const mhLines = results.multihost ? renderMultihost(results.multihost) : [];
  const resultsMd = path.join(repoRoot, 'bench/results.md');
  const md = multihostOnly ? spliceMultihost(fs.existsSync(resultsMd) && !quick ? fs.readFileSync(resultsMd, 'utf8') : '', mhLines) : [renderMarkdown(results), ...mhLines].join('\n');
  results.floorStarved = floor.starved;
  const out = quick ? path.join(rawDir, 'results-quick.md') : partial ? path.join(rawDir, 'results-partial.md') : resultsMd;
  fs.writeFileSync(out, md);
  process.stdout.write(`\n${md}\n`);
  log(`wrote ${path.relative(repoRoot, out)} in ${results.durationS.toFixed(0)} s`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  });
}

process.once('uncaughtException', (e) => {
  log(`uncaught: ${e.stack ?? e}; cleaning up`);
  void runCleanups().finally(() => process.exit(1));
});

main()
  .catch((e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await runCleanups();
  });

