/**
 * Issue 13, items 0-2, with real containers: what a running container keeps, and what it and
 * other machines can reach on the host.
 * - 0: a long-lived container keeps reaching addresses outside its subnet while neighbours join
 *   and leave (the gateway's MAC must not change under it);
 * - 1: a container that routes 127.0.0.1 to its gateway cannot reach the host's loopback-only
 *   services (CVE-2020-8558), while `-p 127.0.0.1:H:C` still works from the host;
 * - 2: a port published on 127.0.0.1 is not reachable from another machine that routes
 *   127.0.0.0/8 to the host (moby#45610), while `-p H:C` is.
 * "Another machine" and "outside the subnet" are a namespace this test makes (helpers/outside).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { DRIVER_NAME, Scenario, docker, freeSubnet, sh } from '../helpers/docker';
import { createOutside, nsRequest, type Outside } from '../helpers/outside';

let nextPort = 18500 + Math.floor(Math.random() * 400);
const port = () => nextPort++;

const pidOf = (c: string) => docker(['inspect', '-f', '{{.State.Pid}}', c]);
const bridgeOf = (s: Scenario, network: string) => `tsn-${s.networkId(network).slice(0, 11)}`;
const macOf = (link: string) => (JSON.parse(sh('ip', ['-j', 'link', 'show', 'dev', link])) as Array<{ address: string }>)[0].address;

/**
 * Inside a namespace (a test's own, or a container's): 127.0.0.0/8 stops being local and goes to
 * `gateway` over eth0, and answers from 127.0.0.1 are accepted there. Two kernel checks stand in
 * the way of those answers and both are lifted, as an attacker owning the namespace can:
 * route_localnet (else a source in 127/8 is martian) and accept_local on eth0 (else a source that
 * is one of the namespace's own addresses, and lo still holds 127.0.0.1, is martian:
 * fib_validate_source). Without accept_local the SYN-ACK dies in the attacker's own kernel and
 * the attack fails whatever the host does: the scene would prove nothing.
 */
function routeLoopbackVia(netns: string, gateway: string, dst: string): void {
  const inNs = (...args: string[]) => sh('nsenter', [`--net=${netns}`, ...args]);
  inNs('ip', 'route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local');
  inNs('ip', 'route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local');
  inNs('ip', 'route', 'add', dst, 'via', gateway, 'dev', 'eth0');
  for (const [dev, key] of [['all', 'route_localnet'], ['eth0', 'route_localnet'], ['eth0', 'accept_local']]) {
    inNs('sh', '-c', `echo 1 > /proc/sys/net/ipv4/conf/${dev}/${key}`);
  }
}

/** Echo replies received out of `count` pings sent 0.2 s apart from inside a container. */
function pingsAnswered(s: Scenario, container: string, target: string, count = 5): number {
  const out = s.exec(container, ['sh', '-c', `ping -q -c ${count} -i 0.2 -W 2 ${target} 2>&1 || true`], 30_000);
  const m = /(\d+) packets received/.exec(out);
  if (!m) throw new Error(`ping from ${container} printed no summary: ${out}`);
  return Number(m[1]);
}

/** A TCP client connecting to ip:port from inside a container; what the server said, or ''. */
function tcpFrom(s: Scenario, container: string, ip: string, p: number): string {
  return s.exec(container, ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${p} 2>/dev/null || true`], 30_000);
}

function hostGet(p: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port: p });
    let data = '';
    sock.setTimeout(3000, () => sock.destroy(new Error(`timeout connecting to 127.0.0.1:${p}`)));
    sock.on('connect', () => sock.write('GET / HTTP/1.0\r\n\r\n'));
    sock.on('data', (d) => (data += d.toString()));
    sock.on('end', () => resolve(data));
    sock.on('error', reject);
  });
}

async function hostGetRetrying(p: number): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await hostGet(p);
    } catch (e) {
      if (i >= 10) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

describe('containers and the host (issue 13: gateway stability, loopback)', function () {
  this.timeout(300_000);
  const s = new Scenario();
  let outside: Outside;
  before(() => {
    outside = createOutside();
  });
  after(() => {
    s.cleanup();
    outside?.cleanup();
  });

  it('13.0: a running container loses no packet to addresses outside its subnet while neighbours join and leave', () => {
    const sub = freeSubnet();
    const n = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const bridge = bridgeOf(s, n);
    const long = s.run(['--network', n]);
    const pid = pidOf(long);
    // Outside the subnet: a host address on another interface, and a machine behind it.
    const targets = [outside.hostIP, outside.peerIP];
    assert.equal(pingsAnswered(s, long, outside.hostIP), 5, 'scene: the long-lived container reaches the outside');
    const lost: string[] = [];
    const gatewayMacs = new Set([macOf(bridge)]);
    for (let round = 1; round <= 4; round++) {
      const neighbours = [1, 2, 3, 4, 5].map(() => s.run(['--network', n]));
      gatewayMacs.add(macOf(bridge));
      // A real container re-validates its ARP entry for the gateway every ~30 s; flushing it here
      // puts that moment (which users cannot choose) while the neighbours are up.
      sh('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'neigh', 'flush', 'dev', 'eth0']);
      for (const t of targets) {
        const got = pingsAnswered(s, long, t);
        if (got < 5) lost.push(`round ${round}, ${neighbours.length} neighbours up: ${5 - got} of 5 pings to ${t} lost`);
      }
      docker(['rm', '-f', ...neighbours], { timeoutMs: 120_000 });
      for (const c of neighbours) s.containers.splice(s.containers.indexOf(c), 1);
      gatewayMacs.add(macOf(bridge));
      for (const t of targets) {
        const got = pingsAnswered(s, long, t);
        if (got < 5) lost.push(`round ${round}, right after the neighbours left: ${5 - got} of 5 pings to ${t} lost`);
      }
    }
    assert.deepEqual(lost, [], `the gateway's MAC went through ${[...gatewayMacs].join(', ')}`);
    assert.equal(gatewayMacs.size, 1, `the gateway's MAC changed: ${[...gatewayMacs].join(' -> ')}`);
  });

  it('13.1: a container routing 127.0.0.1 via its gateway cannot reach the host\'s loopback-only service; -p 127.0.0.1 still works from the host', async () => {
    const sub = freeSubnet();
    const n = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const hostOnly = port();
    // Its own process: the checks below run `docker exec` synchronously, which would stall a server
    // in this event loop (the kernel completes the handshake, the secret never comes).
    const server = spawn(process.execPath, ['-e', `require('net').createServer((c) => c.end('host loopback secret\\n')).listen(${hostOnly}, '127.0.0.1')`], { stdio: 'ignore' });
    try {
      const published = port();
      s.run(['--network', n, '-p', `127.0.0.1:${published}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
      assert.match(await hostGetRetrying(published), /tsnet test page/, '-p 127.0.0.1:H:80 works from the host');
      assert.match(await hostGetRetrying(hostOnly), /host loopback secret/, 'scene: the host service answers on 127.0.0.1');
      const bridge = bridgeOf(s, n);
      assert.equal(sh('cat', [`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`]).trim(), '1', 'scene: the driver set route_localnet on the bridge');

      // The attacker owns its namespace: it routes 127.0.0.1 to its gateway (NET_ADMIN; CAP_NET_RAW
      // alone could craft such frames) and accepts answers from 127.0.0.1 on eth0 (route_localnet).
      const attacker = s.run(['--network', n, '--cap-add', 'NET_ADMIN', '--sysctl', 'net.ipv4.conf.all.route_localnet=1']);
      routeLoopbackVia(`/proc/${pidOf(attacker)}/ns/net`, sub.gw4, '127.0.0.1/32');
      assert.match(sh('nsenter', [`--net=/proc/${pidOf(attacker)}/ns/net`, 'ip', 'route', 'get', '127.0.0.1']), new RegExp(`via ${sub.gw4.replace(/\./g, '\\.')} dev eth0`), 'scene: 127.0.0.1 leaves through the gateway');
      assert.equal(tcpFrom(s, attacker, '127.0.0.1', hostOnly), '', 'the host\'s 127.0.0.1-only service answered a container');
      assert.doesNotMatch(tcpFrom(s, attacker, '127.0.0.1', published), /tsnet test page/, 'a port published on 127.0.0.1 answered a container');
      assert.match(await hostGet(published), /tsnet test page/, '-p 127.0.0.1:H:80 still works from the host afterwards');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('13.2: a port published on 127.0.0.1 is not reachable from another machine that routes 127.0.0.0/8 to the host; -p H:80 is', () => {
    const sub = freeSubnet();
    const n = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4]);
    const loopbackOnly = port();
    const everywhere = port();
    s.run(['--network', n, '-p', `127.0.0.1:${loopbackOnly}:80`, '-p', `${everywhere}:80`], ['httpd', '-f', '-p', '80', '-h', '/www']);
    // The LAN machine sends 127.0.0.0/8 to the host and accepts answers from it, as a neighbour
    // on a real LAN can.
    routeLoopbackVia(`/run/netns/${outside.ns}`, outside.hostIP, '127.0.0.0/8');
    assert.match(outside.exec('ip', ['route', 'get', '127.0.0.1']), new RegExp(`via ${outside.hostIP.replace(/\./g, '\\.')}`), 'scene: 127.0.0.1 goes to the host');
    let answer = '';
    for (let i = 0; i < 10 && !/tsnet test page/.test(answer); i++) answer = nsRequest(outside, outside.hostIP, everywhere);
    assert.match(answer, /tsnet test page/, '-p H:80 is reachable from the LAN');
    let leaked = '';
    try {
      leaked = nsRequest(outside, '127.0.0.1', loopbackOnly);
    } catch {
      leaked = '';
    }
    assert.doesNotMatch(leaked, /tsnet test page/, 'a port published on 127.0.0.1 answered another machine');
  });
});
