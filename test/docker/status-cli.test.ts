/**
 * The status API and the `tsnet` CLI against the kernel: networks, containers (two of them sharing
 * one namespace with --network container:X) and port maps made through Docker with the suite's
 * driver, then GET /status and every `tsnet` sub-command compared with what this test reads itself
 * (`ip -j` on the host, `nsenter --net=/proc/PID/ns/net ip -j ...` inside, `nft` for port maps).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NetworkStatus, StatusReport } from '@tsnet/shared';
import type { InspectReport } from '@tsnet/driver/dist/cli/inspect';
import { DRIVER_NAME, EXTERNAL_DRIVER, REPO, Scenario, docker, freeSubnet, sh } from '../helpers/docker';
import { driver } from './env';

const TSNET = path.join(REPO, 'driver', 'dist', 'cli', 'tsnet.js');
const BIN = path.join(REPO, 'driver', 'bin', 'tsnet.js');

/** What the CLI must add to "not running" for a socket no driver serves, in this run's mode. */
function notRunningHint(): string {
  if (!EXTERNAL_DRIVER) return 'start it with npm start in a tsnet clone (or install the managed plugin: npm run plugin:install)';
  return `the tsnet managed plugin ${DRIVER_NAME} serves its status API on ${driver.statusSocket}: tsnet status --status-socket ${driver.statusSocket} (or set TSNET_STATUS_SOCKET)`;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tsnet(args: string[], opts: { socket?: string | null; env?: Record<string, string>; asUser?: number } = {}): Run {
  const sock = opts.socket === undefined ? driver.statusSocket : opts.socket;
  const full = [TSNET, ...args, ...(sock ? ['--status-socket', sock] : [])];
  const [cmd, argv] = opts.asUser !== undefined ? ['setpriv', [`--reuid=${opts.asUser}`, `--regid=${opts.asUser}`, '--clear-groups', process.execPath, ...full]] : [process.execPath, full];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...opts.env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function tsnetOk(args: string[]): string {
  const r = tsnet(args);
  assert.equal(r.code, 0, `tsnet ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function request(method: string, urlPath: string, socketPath = driver.statusSocket): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path: urlPath, method, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : '{}');
  });
}

async function getStatus(): Promise<StatusReport> {
  const r = await request('GET', '/status');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as StatusReport;
}

// ---- what the kernel says, read by the test itself -------------------------------------------

interface IpLink {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  master?: string;
  link_index?: number;
  linkinfo?: { info_kind?: string };
}
interface IpAddr {
  ifindex: number;
  ifname: string;
  addr_info: { family: 'inet' | 'inet6'; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

function ipj<T>(args: string[], pid?: number): T {
  const out = pid === undefined ? sh('ip', ['-j', ...args]) : sh('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', ...args]);
  return JSON.parse(out || '[]') as T;
}

function hostLink(name: string): IpLink {
  const [l] = ipj<IpLink[]>(['-d', 'link', 'show', 'dev', name]);
  return l;
}

function pidOf(container: string): number {
  return Number(docker(['inspect', '-f', '{{.State.Pid}}', container]));
}

function endpointIdOf(container: string, network: string): string {
  return docker(['inspect', '-f', `{{with index .NetworkSettings.Networks "${network}"}}{{.EndpointID}}{{end}}`, container]);
}

/** Normalised route set: "dst via gw dev". `ip` prints "default" and host routes without /32. */
function routeKey(dst: string, gateway: string | undefined, dev: string | undefined, family: 4 | 6): string {
  let d = dst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : dst;
  if (!d.includes('/')) d += family === 4 ? '/32' : '/128';
  return `${d} via ${gateway ?? '-'} dev ${dev ?? '-'}`;
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end('GET / HTTP/1.0\r\n\r\n'));
    let data = '';
    s.setTimeout(5_000, () => s.destroy(new Error(`no answer on 127.0.0.1:${port}`)));
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

function freeHostPort(): number {
  const listening = sh('ss', ['-Htanl']);
  for (let i = 0; i < 100; i++) {
    const p = 20_000 + Math.floor(Math.random() * 10_000);
    if (!listening.includes(`:${p} `)) return p;
  }
  throw new Error('no free host port');
}

describe('status API and tsnet CLI report what the kernel has', function () {
  this.timeout(120_000);
  const s = new Scenario();
  let net1: string;
  let net2: string;
  let a: string; // owner of the pod namespace, on net1, with a fixed and a picked port map
  let b: string; // --network container:a
  let c: string; // on net1 and net2
  let sub1: ReturnType<typeof freeSubnet>;
  let sub2: ReturnType<typeof freeSubnet>;
  let fixedPort: number;

  before(function () {
    sub1 = freeSubnet();
    sub2 = freeSubnet();
    net1 = s.network(['-d', DRIVER_NAME, '--subnet', sub1.v4, '--gateway', sub1.gw4], s.name('cli'));
    net2 = s.network(['-d', DRIVER_NAME, '--subnet', sub2.v4, '--gateway', sub2.gw4], s.name('cli'));
    fixedPort = freeHostPort();
    a = s.run(['--network', net1, '-p', `${fixedPort}:80`, '-p', '8080'], ['httpd', '-f', '-p', '80', '-h', '/www'], s.name('cli'));
    b = s.run(['--network', `container:${a}`], ['httpd', '-f', '-p', '8081', '-h', '/www'], s.name('cli'));
    c = s.run(['--network', net1], ['sleep', '600'], s.name('cli'));
    docker(['network', 'connect', net2, c]);
  });

  after(function () {
    this.timeout(180_000);
    s.cleanup();
  });

  function mine(r: StatusReport): NetworkStatus[] {
    const ids = [s.networkId(net1), s.networkId(net2)];
    return r.networks.filter((n) => ids.includes(n.id));
  }

  it('GET /status: bridges, veths, MACs, addresses and namespaces are the kernel\'s', async function () {
    const r = await getStatus();
    const nets = mine(r);
    assert.equal(nets.length, 2);
    for (const [name, sub] of [
      [net1, sub1],
      [net2, sub2],
    ] as const) {
      const n = nets.find((x) => x.id === s.networkId(name))!;
      assert.ok(n.present, `${n.bridge} reported missing`);
      const br = hostLink(n.bridge);
      assert.equal(br.linkinfo?.info_kind, 'bridge');
      assert.deepEqual(
        n.subnets.map((x) => [x.subnet, x.gateway]),
        [[sub.v4, sub.gw4]],
      );
      const brAddrs = ipj<IpAddr[]>(['addr', 'show', 'dev', n.bridge])[0].addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`);
      assert.deepEqual(brAddrs, [`${sub.gw4}/24`]);
    }
    const n1 = nets.find((x) => x.id === s.networkId(net1))!;
    const n2 = nets.find((x) => x.id === s.networkId(net2))!;
    assert.equal(n1.endpoints.length, 2, 'a and c on net1 (b has no endpoint of its own)');
    assert.equal(n2.endpoints.length, 1);
    for (const [container, network, n] of [
      [a, net1, n1],
      [c, net1, n1],
      [c, net2, n2],
    ] as const) {
      const ep = n.endpoints.find((e) => e.id === endpointIdOf(container, network));
      assert.ok(ep, `no endpoint of ${container} on ${network}`);
      assert.ok(ep.joined && ep.present);
      assert.equal(ep.sandboxKey, docker(['inspect', '-f', '{{.NetworkSettings.SandboxKey}}', container]));
      // Host side: the veth exists and is attached to the network's bridge.
      const hv = hostLink(ep.hostVeth);
      assert.equal(hv.linkinfo?.info_kind, 'veth');
      assert.equal(hv.master, n.bridge);
      // Container side: the interface whose peer is the host veth has the reported MAC and address.
      const pid = pidOf(container);
      const inside = ipj<IpLink[]>(['link', 'show'], pid).find((l) => l.link_index === hv.ifindex);
      assert.ok(inside, `no interface in ${container} is the peer of ${ep.hostVeth}`);
      assert.equal(hv.link_index, inside.ifindex);
      assert.equal(inside.address, ep.mac);
      const addrs = ipj<IpAddr[]>(['addr', 'show', 'dev', inside.ifname], pid)[0].addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`);
      assert.deepEqual(addrs, [ep.ipv4]);
      assert.equal(ep.ipv4?.split('/')[0], s.ip(container, network));
    }
  });

  it('GET /status and /ports: port maps as programmed (fixed and picked), reachable, and in nftables', async function () {
    const r = await getStatus();
    const n1 = mine(r).find((x) => x.id === s.networkId(net1))!;
    const epA = n1.endpoints.find((e) => e.id === endpointIdOf(a, net1))!;
    const ipA = s.ip(a, net1);
    const ports = [...epA.ports].sort((x, y) => Number(x.picked) - Number(y.picked));
    assert.equal(ports.length, 2);
    assert.deepEqual(ports[0], { proto: 'tcp', hostIP: '0.0.0.0', hostPort: fixedPort, containerIP: ipA, containerPort: 80, picked: false });
    assert.equal(ports[1].picked, true);
    assert.equal(ports[1].containerPort, 8080);
    assert.ok(ports[1].hostPort > 0 && ports[1].hostPort !== fixedPort);
    for (const e of n1.endpoints.filter((x) => x.id !== epA.id)) assert.deepEqual(e.ports, []);

    const list = JSON.parse((await request('GET', '/ports')).body) as { networkId: string; endpointId: string; hostPort: number }[];
    const minePorts = list.filter((p) => p.networkId === n1.id);
    assert.deepEqual(minePorts.map((p) => [p.endpointId, p.hostPort]).sort(), epA.ports.map((p) => [epA.id, p.hostPort]).sort());

    // The kernel has them: nftables elements map each host port to a's address ...
    const ruleset = sh('nft', ['list', 'ruleset']);
    for (const p of epA.ports) assert.match(ruleset, new RegExp(`tcp \\. ${p.hostPort} [^,}]*: ${ipA.replace(/\./g, '\\.')}`), `no nft element for ${p.hostPort}`);
    // ... and the fixed one answers (httpd on 80 in a's namespace).
    assert.match(await httpGet(fixedPort), /^HTTP\/1\.[01] /);
  });

  it('the status API is read-only: POST, PUT, DELETE answer 405 and change nothing', async function () {
    const before = mine(await getStatus());
    for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const p of ['/status', '/networks', '/ports', `/networks/${before[0].id}`]) {
        const r = await request(m, p);
        assert.equal(r.status, 405, `${m} ${p} answered ${r.status}`);
      }
    }
    assert.deepEqual(mine(await getStatus()), before);
    assert.equal((await request('GET', '/health')).status, 200);
  });

  it('the status socket is a socket with mode 0660 or 0600', function () {
    const st = fs.statSync(driver.statusSocket);
    assert.ok(st.isSocket());
    assert.ok([0o660, 0o600].includes(st.mode & 0o777), `mode ${(st.mode & 0o777).toString(8)}`);
    assert.equal(st.mode & 0o007, 0, 'no access for others');
  });

  it('tsnet status --json is GET /status; the table shows every network and endpoint', async function () {
    const fromCli = JSON.parse(tsnetOk(['status', '--json'])) as StatusReport;
    const fromApi = await getStatus();
    assert.deepEqual(mine(fromCli), mine(fromApi));
    assert.equal(fromCli.pid, fromApi.pid);

    const text = tsnetOk(['status']);
    const lines = text.split('\n');
    for (const n of mine(fromApi)) {
      const name = n.id === s.networkId(net1) ? net1 : net2;
      const row = lines.find((l) => l.startsWith(`${name} `) && l.includes(n.id.slice(0, 12)));
      assert.ok(row, `no NETWORKS row for ${name}:\n${text}`);
      assert.match(row, new RegExp(`\\b${n.bridge}\\b.*${n.subnets[0].subnet}.*${n.subnets[0].gateway}\\s+${n.endpoints.length}\\s+present`));
      for (const e of n.endpoints) {
        const container = [a, c].find((x) => endpointIdOf(x, name) === e.id);
        const erow = lines.find((l) => l.includes(e.hostVeth));
        assert.ok(erow, `no ENDPOINTS row for ${e.hostVeth}`);
        assert.match(erow, new RegExp(`^${name}\\s+${container}\\s+${e.id.slice(0, 12)}\\s+${e.hostVeth}\\s+${e.containerVeth}\\s+${e.mac}\\s+${e.ipv4}\\s`));
        for (const p of e.ports) assert.ok(erow.includes(`0.0.0.0:${p.hostPort}->${p.containerPort}/tcp`), erow);
        assert.match(erow, /\bjoined$/);
      }
    }
  });

  it('`npx tsnet status`, the README\'s command, run exactly so in the clone, shows the networks', async function () {
    this.timeout(120_000);
    const r = spawnSync('sh', ['-c', 'npx tsnet status'], { cwd: REPO, encoding: 'utf8', timeout: 100_000, env: { ...process.env, TSNET_STATUS_SOCKET: driver.statusSocket } });
    assert.equal(r.status, 0, `npx tsnet status failed (${r.status}): ${r.stderr}`);
    const report = await getStatus();
    for (const n of report.networks) assert.ok(r.stdout.includes(n.bridge), `npx tsnet status does not show bridge ${n.bridge}:\n${r.stdout}`);
    assert.ok(report.networks.length > 0);
  });

  it('tsnet ports (and --json) list every port map, the picked one marked', async function () {
    const api = JSON.parse((await request('GET', '/ports')).body) as unknown[];
    assert.deepEqual(JSON.parse(tsnetOk(['ports', '--json'])), api);
    const n1 = mine(await getStatus()).find((x) => x.id === s.networkId(net1))!;
    const epA = n1.endpoints.find((e) => e.id === endpointIdOf(a, net1))!;
    const text = tsnetOk(['ports']);
    assert.match(text.split('\n')[0], /^NETWORK\s+CONTAINER\s+PROTO\s+HOST IP\s+HOST PORT\s+CONTAINER IP\s+CONTAINER PORT\s+PICKED$/);
    for (const p of epA.ports) {
      assert.match(text, new RegExp(`^${net1}\\s+${a}\\s+tcp\\s+0\\.0\\.0\\.0\\s+${p.hostPort}\\s+${p.containerIP.replace(/\./g, '\\.')}\\s+${p.containerPort}\\s+${p.picked ? 'yes' : 'no'}$`, 'm'));
    }
  });

  it('tsnet inspect reads the namespace as the kernel has it, and finds the pod', async function () {
    const status = mine(await getStatus());
    for (const container of [a, b, c]) {
      const pid = pidOf(container);
      const r = JSON.parse(tsnetOk(['inspect', container, '--json'])) as InspectReport;
      assert.equal(r.container.name, container);
      assert.equal(r.container.pid, pid);
      assert.equal(r.namespace.inode, fs.statSync(`/proc/${pid}/ns/net`).ino);

      // Interfaces: name, MAC, MTU, up, addresses (all families), exactly as `ip` sees them.
      const links = ipj<IpLink[]>(['link', 'show'], pid);
      const addrs = ipj<IpAddr[]>(['addr', 'show'], pid);
      assert.deepEqual(
        r.interfaces.map((i) => [i.index, i.name, i.mac, i.mtu, i.state, [...i.addresses].sort()]),
        links.map((l) => [
          l.ifindex,
          l.ifname,
          l.address,
          l.mtu,
          l.flags.includes('UP') ? 'up' : 'down',
          (addrs.find((x) => x.ifindex === l.ifindex)?.addr_info ?? []).map((x) => `${x.local}/${x.prefixlen}`).sort(),
        ]),
      );
      // Routes (main table, both families).
      const ipRoutes = [
        ...ipj<IpRoute[]>(['route', 'show'], pid).map((x) => routeKey(x.dst, x.gateway, x.dev, 4)),
        ...ipj<IpRoute[]>(['-6', 'route', 'show'], pid).map((x) => routeKey(x.dst, x.gateway, x.dev, 6)),
      ].sort();
      assert.deepEqual(r.routes.map((x) => routeKey(x.dst, x.gateway, x.dev, x.family)).sort(), ipRoutes);
      // Listening sockets: the same TCP listener ports `ss` sees in that namespace.
      const ss = sh('nsenter', [`--net=/proc/${pid}/ns/net`, 'ss', '-Hltn']);
      const ssPorts = [...new Set(ss.split('\n').filter(Boolean).map((l) => Number(l.trim().split(/\s+/)[3].split(':').pop())))].sort((x, y) => x - y);
      const ours = [...new Set(r.sockets.filter((x) => x.proto.startsWith('tcp')).map((x) => x.localPort))].sort((x, y) => x - y);
      assert.deepEqual(ours, ssPorts);

      // Host sides: each veth's peer on the host, its bridge and its tsnet network.
      for (const i of r.interfaces.filter((x) => x.kind === 'veth')) {
        const link = links.find((l) => l.ifindex === i.index)!;
        const hv = ipj<IpLink[]>(['-d', 'link', 'show']).find((l) => l.ifindex === link.link_index)!;
        assert.equal(i.host?.veth, hv.ifname);
        assert.equal(i.host?.bridge, hv.master);
        const n = status.find((x) => x.endpoints.some((e) => e.hostVeth === hv.ifname))!;
        assert.equal(i.host?.tsnet?.networkId, n.id);
        assert.equal(i.host?.tsnet?.networkName, n.id === s.networkId(net1) ? net1 : net2);
      }
      // Pod membership: a and b share one namespace, c is alone.
      const members = r.sharedWith.map((m) => [m.name, m.relation]);
      if (container === c) assert.deepEqual(members, [[c, 'owner']]);
      else
        assert.deepEqual(members, [
          [a, 'owner'],
          [b, 'joined'],
        ]);
      assert.deepEqual(
        r.sharedWith.filter((m) => m.self).map((m) => m.name),
        [container],
      );
    }
    // The shared namespace has both httpd listeners (a's 80 and b's 8081), seen from either.
    const fromB = JSON.parse(tsnetOk(['inspect', b, '--json'])) as { sockets: { localPort: number }[]; interfaces: { name: string }[] };
    const portsB = fromB.sockets.map((x) => x.localPort);
    assert.ok(portsB.includes(80) && portsB.includes(8081), String(portsB));
    assert.equal(fromB.interfaces.filter((x) => x.name.startsWith('eth')).length, 1);

    const cInfo = JSON.parse(tsnetOk(['inspect', c, '--json'])) as { interfaces: { name: string; host?: { bridge?: string } }[] };
    const bridges = cInfo.interfaces.filter((x) => x.host).map((x) => x.host!.bridge).sort();
    assert.deepEqual(bridges, status.map((n) => n.bridge).sort(), 'c has one veth on each network bridge');
  });

  it('tsnet inspect (table) shows interfaces, host sides, routes, sockets and the pod', function () {
    const text = tsnetOk(['inspect', b]);
    const ipB = s.ip(a, net1);
    assert.match(text, new RegExp(`^container\\s+${b} \\([0-9a-f]{12}\\)\\s+pid ${pidOf(b)}\\s+network mode container:[0-9a-f]{12}$`, 'm'));
    assert.match(text, new RegExp(`^\\s+- ${a} \\(owner\\)$`, 'm'));
    assert.match(text, new RegExp(`^\\s+- ${b} \\(joined with --network container:${a}\\) <- this container$`, 'm'));
    assert.match(text, new RegExp(`^eth0\\s+up\\s+\\d+\\s+([0-9a-f]{2}:){5}[0-9a-f]{2}\\s+${ipB.replace(/\./g, '\\.')}/24\\s+tsv[0-9a-f]{11}\\s+tsn-[0-9a-f]{11}\\s+${net1}$`, 'm'));
    assert.match(text, new RegExp(`^default \\(0\\.0\\.0\\.0/0\\)\\s+${sub1.gw4.replace(/\./g, '\\.')}\\s+eth0$`, 'm'));
    assert.match(text, /^tcp6?\s+\S+\s+8081\s+LISTEN$/m);
    assert.match(text, /^tcp6?\s+\S+\s+80\s+LISTEN$/m);
  });

  describe('errors', function () {
    let tmp: string;
    before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tst-cli-'))));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it('no status socket: "the tsnet driver is not running", exit 1, for status and ports', function () {
      const sock = path.join(tmp, 'none.sock');
      for (const cmd of ['status', 'ports']) {
        const r = tsnet([cmd], { socket: sock });
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim(), `tsnet: the tsnet driver is not running (no status socket at ${sock}); ${notRunningHint()}`);
      }
    });

    it('a socket path nobody listens on (ECONNREFUSED) is "not running" too; the env var is honoured', function () {
      const sock = path.join(tmp, 'stale.sock');
      fs.writeFileSync(sock, '');
      const r = tsnet(['status'], { socket: null, env: { TSNET_STATUS_SOCKET: sock } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`the tsnet driver is not running \\(no status socket at ${sock.replace(/[.]/g, '\\.')}\\)`));
    });

    it('permission denied on the socket names the fix', function () {
      const r = tsnet(['status'], { asUser: 65534 });
      assert.equal(r.code, 1, r.stderr);
      // Without access to Docker either, the CLI cannot tell the mode: the host-process advice.
      assert.equal(r.stderr.trim(), `tsnet: permission denied on ${driver.statusSocket}; run as root or as a member of the docker group`);
    });

    it('unknown container, stopped container, usage errors', function () {
      let r = tsnet(['inspect', 'tst-cli-no-such-container']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), 'tsnet: no such container: tst-cli-no-such-container');
      r = tsnet(['inspect']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /expected one container name or ID/);
      r = tsnet(['frobnicate']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown command "frobnicate"/);
      r = tsnet(['status', '--no-such-flag']);
      assert.equal(r.code, 2);
      r = tsnet(['--help'], { socket: null });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^usage: tsnet <command>/);
      const stopped = s.run(['--network', 'none'], ['sleep', '600'], s.name('cli'));
      docker(['stop', '-t', '0', stopped]);
      r = tsnet(['inspect', stopped]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`container ${stopped} is not running`));
    });

    it('inspect still reads the namespace without the driver, and says so', function () {
      const r = tsnet(['inspect', c], { socket: path.join(tmp, 'none.sock') });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^eth0\s+up/m);
      assert.match(r.stdout, /note: tsnet status not available \(the tsnet driver is not running/);
    });

    it('the committed bin has a shebang, is executable, and is what npm links as tsnet', function () {
      assert.ok(fs.readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
      assert.ok((fs.statSync(BIN).mode & 0o111) !== 0, `${BIN} is not executable`);
      const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'driver', 'package.json'), 'utf8')) as { bin: Record<string, string> };
      assert.equal(pkg.bin.tsnet, 'bin/tsnet.js');
      assert.equal(fs.realpathSync(path.join(REPO, 'node_modules', '.bin', 'tsnet')), fs.realpathSync(BIN));
    });

    it('the bin says how to build when dist/ is missing (as right after npm install)', function () {
      const copy = path.join(tmp, 'clone', 'driver', 'bin');
      fs.mkdirSync(copy, { recursive: true });
      fs.copyFileSync(BIN, path.join(copy, 'tsnet.js'));
      const r = spawnSync(process.execPath, [path.join(copy, 'tsnet.js'), 'status'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^tsnet: the command is not built yet \(.*clone\/driver\/dist\/cli\/tsnet\.js is missing\): run npm run build in .*clone/);
    });

    it('tsnet --version prints the package version', function () {
      const version = (JSON.parse(fs.readFileSync(path.join(REPO, 'driver', 'package.json'), 'utf8')) as { version: string }).version;
      for (const flag of ['--version', '-V']) {
        const r = tsnet([flag], { socket: null });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, `tsnet ${version}\n`);
      }
    });
  });
});
