/**
 * Issue 13 items 1 and 2 at the kernel level, with no Docker rules anywhere: the driver core and
 * the real firewall program a "host" namespace; other namespaces this file makes stand for a
 * container on the tsnet network, a web container with published ports, and a machine on the LAN.
 * - 1 (CVE-2020-8558 class): the core sets route_localnet on the bridge (needed for
 *   `-p 127.0.0.1:H:C`), which makes the host's kernel accept packets for 127.0.0.0/8 arriving on
 *   the bridge. A container that routes 127.0.0.1 to its gateway must still not reach a host
 *   service bound to 127.0.0.1, nor a port published on 127.0.0.1.
 * - 2 (moby#45610): a LAN machine that routes 127.0.0.0/8 to the host must not reach a port
 *   published on 127.0.0.1 (a DNAT in prerouting would rewrite the address before the kernel's
 *   martian check), while a port published on every address stays reachable.
 * The attacker's namespace lifts its own kernel's checks so that answers from 127.0.0.1 are
 * accepted (route_localnet, and accept_local, since its lo also holds 127.0.0.1): without that the
 * attack fails in the attacker's kernel whatever the host does, and the test would prove nothing.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Driver } from '@tsnet/driver/dist/core/driver';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';
import { CoreNamespace } from '../helpers/core-netns';

const NET = '13a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f';
const EP_ATTACKER = '13e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfe';
const EP_WEB = '13d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedee';
const SUBNET = '10.231.244';
const LAN = '10.231.245'; // host .1, LAN machine .2 (a /30)
const HOST_ONLY = 18631; // a host service bound to 127.0.0.1 only
const PUBLISHED_LOOPBACK = 18632; // -p 127.0.0.1:18632:80
const PUBLISHED_ANY = 18633; // -p 18633:80
const SECRET = 'host loopback secret';
const PAGE = 'tsnet web page';

describe('loopback exposure (issue 13 items 1, 2; kernel, driver core + firewall, no Docker rules)', function () {
  this.timeout(120_000);
  let host: TestNetns;
  let attacker: TestNetns;
  let web: TestNetns;
  let lan: TestNetns;
  let place: CoreNamespace | undefined;
  let driver: Driver | undefined;
  let wwwDir = '';
  const children: ChildProcess[] = [];
  const made: TestNetns[] = [];

  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe', encoding: 'utf8' });
  const sysctlIn = (n: TestNetns, key: string) => n.exec('cat', [`/proc/sys/${key.replace(/\./g, '/')}`]).trim();

  /** What a TCP server said to a client in `from` (busybox nc, 2 s), or '' when nothing came. */
  function tcp(from: TestNetns, ipAddr: string, port: number): string {
    try {
      return from.exec('sh', ['-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 2 ${ipAddr} ${port} 2>/dev/null`], { timeoutMs: 8000 });
    } catch {
      return '';
    }
  }

  /** A process in a namespace that must be listening before the test goes on. */
  async function serve(n: TestNetns, args: string[], port: number): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', n.name, ...args], { stdio: 'ignore' });
    children.push(child);
    for (let i = 0; i < 50; i++) {
      if (n.exec('ss', ['-Hltn', `sport = :${port}`]).includes(`:${port}`)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${args.join(' ')} did not start listening on port ${port} in ${n.name}`);
  }

  /**
   * The attacker owns `n`: 127.0.0.0/8 is no longer local and goes to `gateway` over eth0, and
   * eth0 accepts answers from 127.0.0.1 (route_localnet; accept_local, as lo holds 127.0.0.1).
   */
  function routeLoopbackVia(n: TestNetns, gateway: string, dst: string): void {
    ip('-n', n.name, 'route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local');
    ip('-n', n.name, 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
    ip('-n', n.name, 'route', 'add', dst, 'via', gateway, 'dev', 'eth0');
    for (const key of ['all.route_localnet', 'eth0.route_localnet', 'eth0.accept_local']) n.exec('sysctl', ['-q', '-w', `net.ipv4.conf.${key}=1`]);
    assert.match(ip('-n', n.name, 'route', 'get', '127.0.0.1'), new RegExp(`via ${gateway.replace(/\./g, '\\.')} dev eth0`), 'scene: 127.0.0.1 leaves through eth0');
  }

  /** Docker's part of a join: the container end moves into the sandbox as eth0 with its address. */
  async function attach(endpointId: string, sandbox: TestNetns, address: string): Promise<void> {
    await driver!.createEndpoint({ NetworkID: NET, EndpointID: endpointId, Interface: { Address: `${address}/24` } });
    const res = await driver!.join({ NetworkID: NET, EndpointID: endpointId, SandboxKey: sandbox.path });
    const src = res.InterfaceName!.SrcName;
    ip('-n', host.name, 'link', 'set', src, 'netns', sandbox.name);
    ip('-n', sandbox.name, 'link', 'set', src, 'name', 'eth0');
    ip('-n', sandbox.name, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', sandbox.name, 'link', 'set', 'eth0', 'up');
    ip('-n', sandbox.name, 'route', 'add', 'default', 'via', res.Gateway!);
  }

  /** Packets the input chain's loopback drop has counted so far (-1: no such rule). */
  function loopbackDrops(): number {
    const items = JSON.parse(host.exec('nft', ['-j', 'list', 'table', 'inet', 'tsnet'])).nftables as Array<{ rule?: { chain: string; expr: Array<Record<string, { packets?: number }>> } }>;
    for (const i of items) {
      const expr = i.rule?.chain === 'input' ? i.rule.expr : [];
      if (expr.some((e) => 'drop' in e)) return expr.find((e) => 'counter' in e)?.counter?.packets ?? -1;
    }
    return -1;
  }

  before(async () => {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    requirePrerequisite(fs.existsSync('/bin/busybox'), '/bin/busybox', 'apt-get install -y busybox-static');
    place = await CoreNamespace.open('lbh');
    host = place.ns;
    attacker = createNetns('lba');
    made.push(attacker);
    web = createNetns('lbw');
    made.push(web);
    lan = createNetns('lbl');
    made.push(lan);

    driver = place.driver().driver;
    await driver.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: `${SUBNET}.0/24`, Gateway: `${SUBNET}.1/24` }] });
    await attach(EP_ATTACKER, attacker, `${SUBNET}.2`);
    await attach(EP_WEB, web, `${SUBNET}.3`);
    await driver.programExternalConnectivity({
      NetworkID: NET,
      EndpointID: EP_WEB,
      Options: {
        'com.docker.network.portmap': [
          { Proto: 6, IP: '', Port: 80, HostIP: '127.0.0.1', HostPort: PUBLISHED_LOOPBACK, HostPortEnd: PUBLISHED_LOOPBACK },
          { Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: PUBLISHED_ANY, HostPortEnd: PUBLISHED_ANY },
        ],
      },
    });

    // The LAN machine: a veth to the host's "uplink" (no tsnet bridge involved).
    ip('-n', host.name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan.name);
    ip('-n', host.name, 'addr', 'add', `${LAN}.1/30`, 'dev', 'uplink');
    ip('-n', host.name, 'link', 'set', 'uplink', 'up');
    ip('-n', lan.name, 'addr', 'add', `${LAN}.2/30`, 'dev', 'eth0');
    ip('-n', lan.name, 'link', 'set', 'eth0', 'up');

    wwwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-lb-www-'));
    fs.writeFileSync(path.join(wwwDir, 'index.html'), `${PAGE}\n`);
    await serve(web, ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', wwwDir], 80);
    await serve(host, [process.execPath, '-e', `require('net').createServer((s) => s.end('${SECRET}\\n')).listen(${HOST_ONLY}, '127.0.0.1')`], HOST_ONLY);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    try {
      if (driver?.state.networks[NET]) {
        for (const ep of [EP_WEB, EP_ATTACKER]) {
          if (!driver.state.networks[NET].endpoints[ep]) continue;
          await driver.revokeExternalConnectivity({ NetworkID: NET, EndpointID: ep }).catch(() => undefined);
          await driver.leave({ NetworkID: NET, EndpointID: ep }).catch(() => undefined);
          await driver.deleteEndpoint({ NetworkID: NET, EndpointID: ep }).catch(() => undefined);
        }
        await driver.deleteNetwork(NET).catch(() => undefined);
      }
    } finally {
      // Deleting the namespaces deletes every link in them (bridge, veths, uplink) and their rules.
      await place?.close();
      for (const n of made) n.cleanup();
      if (wwwDir) fs.rmSync(wwwDir, { recursive: true, force: true });
    }
  });

  it('13.1: a container routing 127.0.0.1 via its gateway reaches neither the host\'s 127.0.0.1-only service nor a port published on 127.0.0.1; the host still reaches both', () => {
    const bridge = driver!.state.networks[NET].config.bridge;
    assert.equal(sysctlIn(host, `net.ipv4.conf.${bridge}.route_localnet`), '1', 'scene: the core set route_localnet on the bridge');
    assert.match(tcp(host, '127.0.0.1', HOST_ONLY), new RegExp(SECRET), 'scene: the host reaches its own service');
    assert.match(tcp(host, '127.0.0.1', PUBLISHED_LOOPBACK), new RegExp(PAGE), '-p 127.0.0.1:H:80 works from the host');
    assert.match(tcp(attacker, `${SUBNET}.3`, 80), new RegExp(PAGE), 'scene: the attacker talks on the bridge');

    routeLoopbackVia(attacker, `${SUBNET}.1`, '127.0.0.1/32');
    const dropsBefore = loopbackDrops();
    assert.doesNotMatch(tcp(attacker, '127.0.0.1', HOST_ONLY), new RegExp(SECRET), 'the host\'s 127.0.0.1-only service answered a container (CVE-2020-8558)');
    assert.doesNotMatch(tcp(attacker, '127.0.0.1', PUBLISHED_LOOPBACK), new RegExp(PAGE), 'a port published on 127.0.0.1 answered a container');
    // The packets did reach the host and were dropped there by tsnet's rule, not lost elsewhere.
    assert.ok(loopbackDrops() > dropsBefore, `tsnet's input rule dropped nothing (counter ${dropsBefore} -> ${loopbackDrops()})`);
    assert.match(tcp(host, '127.0.0.1', PUBLISHED_LOOPBACK), new RegExp(PAGE), '-p 127.0.0.1:H:80 still works from the host');
    assert.match(tcp(host, '127.0.0.1', HOST_ONLY), new RegExp(SECRET), 'the host still reaches its own service');
  });

  it('13.2: a LAN machine routing 127.0.0.0/8 to the host cannot reach a port published on 127.0.0.1; -p H:80 stays reachable', () => {
    assert.equal(sysctlIn(host, 'net.ipv4.conf.uplink.route_localnet'), '0', 'scene: the uplink is an ordinary interface');
    routeLoopbackVia(lan, `${LAN}.1`, '127.0.0.0/8');
    assert.match(tcp(lan, `${LAN}.1`, PUBLISHED_ANY), new RegExp(PAGE), '-p H:80 is reachable from the LAN');
    assert.doesNotMatch(tcp(lan, '127.0.0.1', PUBLISHED_LOOPBACK), new RegExp(PAGE), 'a port published on 127.0.0.1 answered another machine (moby#45610)');
    assert.doesNotMatch(tcp(lan, '127.0.0.1', HOST_ONLY), new RegExp(SECRET), 'the host\'s 127.0.0.1-only service answered another machine');
    assert.match(tcp(host, '127.0.0.1', PUBLISHED_LOOPBACK), new RegExp(PAGE), '-p 127.0.0.1:H:80 still works from the host');
  });
});
