#!/usr/bin/env node
/**
 * dockerd's own cost for a remote network driver (the floor under figure 1 of bench/results.md).
 * A remote driver that does no work while it is timed: every call answers at once, and Join hands
 * out a veth pair made before the rounds. `docker run --rm IMAGE true` on its network, minus the
 * same with `--network none`, is then what dockerd spends on a remote driver by itself. Measured
 * alternately with Docker's bridge driver, like the benchmark. Usage (root): node bench/floor/null-driver.mjs [rounds]
 * Traffic: none; objects made: a network, veth pairs named tstfl*, all removed at the end.
 */
import http from 'node:http';
import fs from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const NAME = 'tsnetfloor';
const SOCK = `/run/docker/plugins/${NAME}.sock`;
const ROUNDS = Number(process.argv[2] ?? 15);
const IMAGE = 'tsnet-test-busybox:latest';
const sh = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
// Asynchronous: dockerd calls back into this process's driver while a docker command runs.
const execFileP = promisify(execFile);
const docker = async (...args) => (await execFileP('docker', args, { encoding: 'utf8' })).stdout.trim();

const pool = [];
for (let i = 0; i < ROUNDS + 2; i++) {
  sh('ip', ['link', 'add', `tstfl${i}a`, 'type', 'veth', 'peer', 'name', `tstfl${i}b`]);
  sh('ip', ['link', 'set', `tstfl${i}a`, 'up']);
  pool.push(`tstfl${i}b`);
}

const answer = (method) => {
  if (method === 'Plugin.Activate') return { Implements: ['NetworkDriver'] };
  if (method === 'NetworkDriver.GetCapabilities') return { Scope: 'local', ConnectivityScope: 'local' };
  // A gateway, or dockerd adds a second endpoint on docker_gwbridge for outside access.
  if (method === 'NetworkDriver.Join') return { InterfaceName: { SrcName: pool.shift(), DstPrefix: 'eth' }, Gateway: '10.231.248.1' };
  return {};
};
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
    res.end(JSON.stringify(answer(req.url.slice(1))));
  });
});
fs.rmSync(SOCK, { force: true });
await new Promise((r) => server.listen(SOCK, r));

const nets = { floor: 'tst-floor-null', bridge: 'tst-floor-bridge' };
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  await docker('network', 'create', '-d', NAME, '--subnet', '10.231.248.0/24', nets.floor);
  await docker('network', 'create', '-d', 'bridge', '--subnet', '10.231.249.0/24', nets.bridge);
  const run = async (network) => {
    const t = process.hrtime.bigint();
    await docker('run', '--rm', '--network', network, IMAGE, 'true');
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  await run(nets.floor);
  await run(nets.bridge);
  await run('none');
  const t = { floor: [], bridge: [], none: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const order = [['floor', nets.floor], ['bridge', nets.bridge], ['none', 'none']];
    for (let k = 0; k < i % 3; k++) order.push(order.shift());
    for (const [key, network] of order) t[key].push(await run(network));
  }
  const floor = median(t.floor) - median(t.none);
  const bridge = median(t.bridge) - median(t.none);
  console.log(JSON.stringify({ rounds: ROUNDS, medianMs: { nullDriver: median(t.floor), bridge: median(t.bridge), none: median(t.none) }, costMs: { nullDriver: floor, bridge }, nullDriverOverBridge: +(floor / bridge).toFixed(3) }));
} finally {
  for (const n of Object.values(nets)) {
    try {
      await docker('network', 'rm', n);
    } catch {
      /* not made */
    }
  }
  server.close();
  fs.rmSync(SOCK, { force: true });
  for (const l of sh('ip', ['-o', 'link', 'show']).split('\n').map((x) => x.split(': ')[1]?.split('@')[0]).filter((x) => x?.startsWith('tstfl'))) {
    try {
      sh('ip', ['link', 'del', l]);
    } catch {
      /* its peer went first */
    }
  }
}
