/** Issue 3: the bridge driver's semantics on tsnet networks, each against the real dockerd. */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { bridgeName } from '@tsnet/shared';
import { DRIVER_NAME, EXTERNAL_DRIVER, Scenario, getStatus, hostLinks, docker, dockerAsync, dockerFails, freeSubnet, linkExists, sh, startHttpd, httpFrom, uid } from '../helpers/docker';
import { createOutside, type Outside } from '../helpers/outside';
import { driver } from './env';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('network semantics (drop-in for -d bridge)', function () {
  this.timeout(180_000);
  const s = new Scenario();
  let outside: Outside | undefined;
  afterEach(() => {
    s.cleanup();
    outside?.cleanup();
    outside = undefined;
  });

  const pingOk = (c: string, ip: string) => s.execOk(c, ['ping', '-c', '1', '-W', '2', ip]);

  describe('connectivity and isolation', () => {
    it('isolates two tsnet networks from each other and from a Docker bridge network, in both directions', () => {
      const a = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const b = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const d = s.network(['-d', 'bridge', '--subnet', freeSubnet().v4]);
      const ca = s.run(['--network', a]);
      const cb = s.run(['--network', b]);
      const cd = s.run(['--network', d]);
      const ipa = s.ip(ca, a);
      const ipb = s.ip(cb, b);
      const ipd = s.ip(cd, d);
      startHttpd(s, ca, 8080);
      startHttpd(s, cb, 8080);
      startHttpd(s, cd, 8080);
      assert.equal(pingOk(ca, ipb), false, 'tsnet A reached tsnet B');
      assert.equal(pingOk(cb, ipa), false, 'tsnet B reached tsnet A');
      assert.equal(pingOk(ca, ipd), false, 'tsnet reached a Docker bridge network');
      assert.equal(pingOk(cd, ipa), false, 'a Docker bridge network reached tsnet');
      assert.throws(() => httpFrom(s, cd, ipa, 8080));
      assert.throws(() => httpFrom(s, ca, ipd, 8080));
      // A container attached to both reaches both.
      const both = s.run(['--network', a]);
      docker(['network', 'connect', b, both]);
      assert.ok(pingOk(both, ipa));
      assert.ok(pingOk(both, ipb));
      assert.match(httpFrom(s, both, ipb, 8080), /tsnet test page/);
    });

    it('with enable_icc=false containers of the network cannot reach each other but reach the gateway', () => {
      const sub = freeSubnet();
      const net = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4, '-o', 'com.docker.network.bridge.enable_icc=false']);
      const a = s.run(['--network', net]);
      const b = s.run(['--network', net]);
      startHttpd(s, b, 8080);
      assert.equal(pingOk(a, s.ip(b, net)), false);
      assert.throws(() => httpFrom(s, a, s.ip(b, net), 8080));
      assert.ok(pingOk(a, sub.gw4));
    });

    it('masquerades traffic leaving the network behind the host address (default), and not when disabled', async () => {
      outside = createOutside();
      const server = await outside.echoPeerServer(9000);
      void server;
      const masq = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const plain = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4, '-o', 'com.docker.network.bridge.enable_ip_masquerade=false']);
      const cm = s.run(['--network', masq]);
      const cp = s.run(['--network', plain]);
      const seenMasq = s.exec(cm, ['sh', '-c', `nc -w 3 ${outside.peerIP} 9000 </dev/null`]);
      assert.equal(seenMasq.trim(), outside.hostIP, 'the outside saw the host address');
      const seenPlain = s.exec(cp, ['sh', '-c', `nc -w 3 ${outside.peerIP} 9000 </dev/null`]);
      assert.equal(seenPlain.trim(), s.ip(cp, plain), 'without masquerade the outside sees the container address');
    });

    it('--internal: nothing leaves the network, containers inside still talk, no default route', async () => {
      outside = createOutside();
      await outside.echoPeerServer(9000);
      const sub = freeSubnet();
      const net = s.network(['-d', DRIVER_NAME, '--internal', '--subnet', sub.v4]);
      const a = s.run(['--network', net]);
      const b = s.run(['--network', net]);
      assert.ok(pingOk(a, s.ip(b, net)));
      assert.doesNotMatch(s.exec(a, ['ip', 'route']), /default/);
      assert.equal(s.execOk(a, ['sh', '-c', `nc -w 2 ${outside.peerIP} 9000 </dev/null | grep .`]), false);
      // The host's gateway address on the bridge stays reachable, as with Docker's internal networks.
      assert.ok(pingOk(a, sub.gw4));
      assert.equal(outside.exec('sh', ['-c', `busybox ping -c 1 -W 1 ${s.ip(a, net)} >/dev/null 2>&1 && echo reached || echo blocked`]), 'blocked');
    });

    it('dual stack with --ipv6: IPv6 addresses, gateway route, and IPv6 traffic between containers', () => {
      const sub = freeSubnet();
      const net = s.network(['-d', DRIVER_NAME, '--ipv6', '--subnet', sub.v4, '--subnet', sub.v6]);
      const a = s.run(['--network', net]);
      const b = s.run(['--network', net]);
      const a6 = s.ip6(a, net);
      const b6 = s.ip6(b, net);
      assert.ok(a6.startsWith(sub.v6.split('::')[0]), `a has ${a6}`);
      assert.match(s.exec(a, ['ip', '-6', 'addr', 'show', 'eth0']), new RegExp(esc(a6)));
      assert.match(s.exec(a, ['ip', '-6', 'route']), new RegExp(`default via ${esc(sub.gw6)}`));
      assert.match(s.exec(a, ['ping', '-6', '-c', '2', '-W', '2', b6]), /2 packets received/);
      assert.match(s.exec(b, ['ping', '-6', '-c', '1', '-W', '2', sub.gw6]), /1 packets received/);
      assert.match(sh('ip', ['-6', 'addr', 'show', 'dev', bridgeName(s.networkId(net))]), new RegExp(`${esc(sub.gw6)}/64`));
    });

    it('static --ip, --ip6 and --mac-address are what the container gets', () => {
      const sub = freeSubnet();
      const net = s.network(['-d', DRIVER_NAME, '--ipv6', '--subnet', sub.v4, '--subnet', sub.v6]);
      const ip = `10.231.${sub.n}.77`;
      const ip6 = `${sub.v6.split('::')[0]}::77`;
      // The 28.x client on PATH refuses --mac-address against API 1.41; Debian's 20.10 client speaks it.
      const c = s.name('c');
      s.containers.push(c);
      execFileSync('/usr/bin/docker', ['run', '-d', '--label', 'tsnet.test=1', '--name', c, '--network', net, '--ip', ip, '--ip6', ip6, '--mac-address', '02:42:de:ad:be:ef', 'tsnet-test-busybox:latest', 'sleep', '600'], { stdio: 'pipe' });
      const addr = s.exec(c, ['ip', 'addr', 'show', 'eth0']);
      assert.match(addr, new RegExp(`inet ${esc(ip)}/24`));
      assert.match(addr, new RegExp(`inet6 ${esc(ip6)}/64`));
      assert.match(addr, /link\/ether 02:42:de:ad:be:ef/);
    });

    it('docker network connect / disconnect of a running container', () => {
      const a = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const peerNet = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const peer = s.run(['--network', peerNet]);
      const c = s.run(['--network', a]);
      const peerIP = s.ip(peer, peerNet);
      assert.equal(pingOk(c, peerIP), false);
      const sub = docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Subnet}}', peerNet]);
      const staticIP = sub.replace(/0\/24$/, '99');
      docker(['network', 'connect', '--ip', staticIP, '--alias', 'web', peerNet, c]);
      assert.equal(s.ip(c, peerNet), staticIP);
      assert.match(s.exec(c, ['ip', 'addr']), new RegExp(`inet ${esc(staticIP)}/24`));
      assert.ok(pingOk(c, peerIP));
      assert.ok(pingOk(peer, staticIP));
      const vethsBefore = sh('ip', ['-o', 'link', 'show', 'master', bridgeName(s.networkId(peerNet))]).split('\n').filter(Boolean).length;
      docker(['network', 'disconnect', peerNet, c]);
      assert.doesNotMatch(s.exec(c, ['ip', 'addr']), new RegExp(esc(staticIP)));
      assert.equal(pingOk(c, peerIP), false);
      const vethsAfter = sh('ip', ['-o', 'link', 'show', 'master', bridgeName(s.networkId(peerNet))]).split('\n').filter(Boolean).length;
      assert.equal(vethsAfter, vethsBefore - 1, 'the disconnected endpoint\'s veth is gone');
    });

    it('shared namespaces (--network container:X): the sidecar sees X\'s interfaces, serves on X\'s address, and leaves X untouched when removed', () => {
      const net = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const x = s.run(['--network', net]);
      const xIP = s.ip(x, net);
      const sidecar = s.run(['--network', `container:${x}`]);
      const client = s.run(['--network', net]);
      assert.match(s.exec(sidecar, ['ip', 'addr', 'show', 'eth0']), new RegExp(`inet ${esc(xIP)}/`));
      // A listener in the sidecar answers other containers on X's address.
      startHttpd(s, sidecar, 9090);
      assert.match(httpFrom(s, client, xIP, 9090), /tsnet test page/);
      // The sidecar reaches the network as X does.
      assert.ok(pingOk(sidecar, s.ip(client, net)));
      docker(['rm', '-f', sidecar]);
      assert.ok(pingOk(client, xIP));
      assert.ok(pingOk(x, s.ip(client, net)));
    });

    it('runs 50 containers started at once on one network, all with distinct addresses', async () => {
      const net = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4]);
      const names = Array.from({ length: 50 }, (_, i) => `tst-par-${s.id}-${i}`);
      s.containers.push(...names);
      const results = await Promise.allSettled(names.map((n) => dockerAsync(['run', '-d', '--label', 'tsnet.test=1', '--name', n, '--network', net, 'tsnet-test-busybox:latest', 'sleep', '600'], 120_000)));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, `failed: ${failed.map((f) => String((f as PromiseRejectedResult).reason).slice(0, 300)).join('\n')}`);
      const ips = names.map((n) => s.ip(n, net));
      assert.equal(new Set(ips).size, 50);
      assert.ok(pingOk(names[0], ips[49]));
      assert.equal(sh('ip', ['-o', 'link', 'show', 'master', bridgeName(s.networkId(net))]).split('\n').filter(Boolean).length, 50);
    });
  });

  describe('options', () => {
    it('MTU applies to the bridge and to the container interface', () => {
      const net = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4, '-o', 'com.docker.network.driver.mtu=1400']);
      const c = s.run(['--network', net]);
      assert.match(s.exec(c, ['ip', 'link', 'show', 'eth0']), /mtu 1400/);
      assert.match(sh('ip', ['link', 'show', 'dev', bridgeName(s.networkId(net))]), /mtu 1400/);
    });

    it('names the bridge as asked, adopts an existing bridge and leaves it in place on removal', () => {
      const named = `tstbr${uid()}`;
      const net = s.network(['-d', DRIVER_NAME, '--subnet', freeSubnet().v4, '-o', `com.docker.network.bridge.name=${named}`]);
      assert.ok(linkExists(named));
      docker(['network', 'rm', net]);
      assert.equal(linkExists(named), false, 'a bridge tsnet made goes with its network');

      const existing = `tstbr${uid()}`;
      execFileSync('ip', ['link', 'add', existing, 'type', 'bridge']);
      try {
        const sub = freeSubnet();
        const adopted = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4, '-o', `com.docker.network.bridge.name=${existing}`]);
        const c = s.run(['--network', adopted]);
        assert.ok(pingOk(c, sub.gw4));
        s.cleanup();
        assert.ok(linkExists(existing), 'the adopted bridge was left in place');
        assert.doesNotMatch(sh('ip', ['addr', 'show', 'dev', existing]), new RegExp(esc(sub.gw4)), 'the gateway address tsnet added is removed');
      } finally {
        execFileSync('ip', ['link', 'del', existing]);
      }
    });

    it('refuses invalid combinations before anything is created, naming what is wrong', async () => {
      const sub = freeSubnet();
      const first = s.network(['-d', DRIVER_NAME, '--subnet', sub.v4, '-o', `com.docker.network.bridge.name=tstbr${s.id}`]);
      void first;
      const name = s.name('bad');
      // A route on the host that Docker's IPAM does not know about: only tsnet can catch the overlap.
      const hostRouted = freeSubnet();
      while (hostRouted.n % 2 === 1) Object.assign(hostRouted, freeSubnet());
      const dummy = `tstdm${s.id}`;
      execFileSync('ip', ['link', 'add', dummy, 'type', 'bridge']);
      execFileSync('ip', ['addr', 'add', `${hostRouted.gw4}/24`, 'dev', dummy]);
      execFileSync('ip', ['link', 'set', dummy, 'up']);
      try {
      const known = async () => (EXTERNAL_DRIVER ? [] : (await getStatus(driver.statusSocket)).networks.map((n) => n.bridge).sort());
      const tsnLinks = () => hostLinks('tsn-').sort();
      const before = { known: await known(), links: tsnLinks() };
      const cases: [string[], RegExp][] = [
        [['--subnet', sub.v4.replace('0/24', '128/25')], /overlaps/],
        [['--subnet', hostRouted.v4.replace('0/24', '0/23')], new RegExp(`overlaps the host route ${esc(hostRouted.v4)} on ${dummy}`)],
        [['--subnet', freeSubnet().v4, '-o', 'com.docker.network.driver.mtu=abc'], /mtu.*"abc".*68 to 65535/i],
        [['--subnet', freeSubnet().v4, '-o', 'com.docker.network.bridge.name=this-name-is-too-long'], /not a valid interface name.*15 bytes/],
        [['--subnet', freeSubnet().v4, '-o', `com.docker.network.bridge.name=tstbr${s.id}`], /already used by tsnet network/],
        [['--subnet', freeSubnet().v4, '-o', 'tsnet.unknown=1'], /unknown option "tsnet\.unknown"/],
        [['--subnet', freeSubnet().v4, '-o', 'com.docker.network.bridge.enable_icc=maybe'], /enable_icc.*"maybe" is not a boolean/],
        [['--subnet', freeSubnet().v4, '-o', 'com.docker.network.bridge.host_binding_ipv4=300.1.1.1'], /host_binding_ipv4.*not an IPv4 address/],
        [['--subnet', '10.231.0.0/24', '--gateway', '10.231.1.1'], /gateway|subnet/i],
      ];
      for (const [args, re] of cases) {
        const err = dockerFails(['network', 'create', '-d', DRIVER_NAME, ...args, name]);
        assert.match(err, re, `docker network create ${args.join(' ')}`);
        assert.equal(docker(['network', 'ls', '-q', '--filter', `name=^${name}$`]), '');
      }
      assert.deepEqual(await known(), before.known, 'the driver recorded no refused network');
      // Under CI nothing else makes tsnet bridges while this runs: no new one may appear.
      if (process.env.CI === 'true') assert.deepEqual(tsnLinks(), before.links, 'no bridge was created by a refused network');
      } finally {
        execFileSync('ip', ['link', 'del', dummy]);
      }
    });
  });
});
