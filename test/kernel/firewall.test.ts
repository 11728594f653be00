/**
 * The real firewall (libnftables through koffi, in a worker thread that setns()'d) inside a
 * throw-away network namespace. Docker's chains are simulated in that namespace: `ip filter`
 * and `ip6 filter` with DOCKER-USER (ending in RETURN) and a FORWARD base chain with policy
 * drop. Tests may spawn nft / iptables / ip; the driver never does. Traffic only flows between
 * namespaces this file made.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createFirewall, NftError, type TsnetFirewall } from '@tsnet/driver/dist/firewall';
import type { NftWorker } from '@tsnet/driver/dist/firewall/nft';
import { addPortMapCommands, ALL_PORT_MAPS, portMapNames } from '@tsnet/driver/dist/firewall/rules';
import type { FirewallNetwork, PortMapRule } from '@tsnet/driver/dist/firewall/types';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

const ID = 'c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
const BR = 'tsn-c0ffee01234';

function net(over: Partial<FirewallNetwork> = {}): FirewallNetwork {
  return {
    id: ID,
    bridge: BR,
    subnets: [{ family: 4, cidr: '10.231.0.0/24', gateway: '10.231.0.1' }],
    icc: true,
    masquerade: true,
    internal: false,
    ...over,
  };
}

function pm(over: Partial<PortMapRule> = {}): PortMapRule {
  return { networkId: ID, bridge: BR, proto: 'tcp', family: 4, hostIP: '0.0.0.0', hostPort: 8080, containerIP: '10.231.0.2', containerPort: 80, ...over };
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'handle' && k !== 'packets' && k !== 'bytes') out[k] = strip(x);
    return out;
  }
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('firewall (kernel, libnftables in a test netns)', function () {
  this.timeout(120_000);
  const ORIGINAL_DU = '-N DOCKER-USER\n-A DOCKER-USER -i eth9 -m comment --comment mine -j ACCEPT\n-A DOCKER-USER -j RETURN\n';
  let skeleton = '';
  let ns: TestNetns;
  let fw: TsnetFirewall;
  const extraNs: TestNetns[] = [];

  const nftItems = (): Array<Record<string, unknown>> =>
    (JSON.parse(ns.exec('nft', ['-j', 'list', 'ruleset'])).nftables as Array<Record<string, unknown>>).filter((i) => !('metainfo' in i));
  /** Our table, handles and counters stripped, as a comparable string. */
  const tsnetTable = (): string =>
    JSON.stringify(strip(nftItems().filter((i) => JSON.stringify(i).includes('"family":"inet","table":"tsnet"') || JSON.stringify(i).includes('"family":"inet","name":"tsnet"'))));
  const tsnetRuleCount = (): number => nftItems().filter((i) => 'rule' in i && (i.rule as { table: string }).table === 'tsnet').length;
  const iptS = (bin = 'iptables'): string => ns.exec(bin, ['-S', 'DOCKER-USER']);

  before(async () => {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    requirePrerequisite(fs.existsSync('/usr/sbin/nft') || fs.existsSync('/sbin/nft'), 'nft', 'apt-get install -y nftables');
    ns = createNetns('fw');
    for (const fam of ['ip', 'ip6']) {
      ns.exec('nft', ['add', 'table', fam, 'filter']);
      ns.exec('nft', ['add', 'chain', fam, 'filter', 'DOCKER-USER']);
      ns.exec('nft', ['add', 'chain', fam, 'filter', 'FORWARD', '{ type filter hook forward priority 0; policy drop; }']);
      ns.exec('nft', ['add', 'rule', fam, 'filter', 'FORWARD', 'counter', 'jump', 'DOCKER-USER']);
      ns.exec('nft', ['add', 'rule', fam, 'filter', 'DOCKER-USER', 'counter', 'return']);
    }
    // A rule of the user's own, which tsnet must never touch.
    ns.exec('iptables', ['-I', 'DOCKER-USER', '-i', 'eth9', '-m', 'comment', '--comment', 'mine', '-j', 'ACCEPT']);
    fw = createFirewall({ netnsPath: ns.path, log: () => undefined });
    await fw.init();
    skeleton = tsnetTable();
  });

  after(async () => {
    try {
      await fw?.close();
    } finally {
      for (const n of extraNs) n.cleanup();
      ns?.cleanup();
    }
  });


  it('init creates the table, is idempotent, and sees the DOCKER-USER chains', async () => {
    assert.match(skeleton, /"name":"prerouting"/);
    await fw.init();
    assert.equal(tsnetTable(), skeleton);
    assert.equal(fw.backend, 'nftables');
    assert.deepEqual([...fw.dockerUserFamilies], ['ip', 'ip6']);
    assert.equal(iptS(), ORIGINAL_DU);
  });

  const combos: Array<[string, Partial<FirewallNetwork>]> = [
    ['icc on, masquerade on', {}],
    ['icc off', { icc: false }],
    ['masquerade off', { masquerade: false }],
    ['internal', { internal: true }],
    ['internal, icc off', { internal: true, icc: false }],
    ['dual stack', { subnets: [{ family: 4, cidr: '10.231.0.0/24', gateway: '10.231.0.1' }, { family: 6, cidr: 'fd00:231::/64', gateway: 'fd00:231::1' }] }],
    ['multi-host (VXLAN link)', { clusterDevice: 'tsnet-vx' }],
  ];
  for (const [name, over] of combos) {
    it(`applyNetwork / removeNetwork leave nothing behind: ${name}`, async () => {
      const n = net(over);
      await fw.applyNetwork(n);
      await fw.applyNetwork(n); // replace with the same: no duplicates
      const du = iptS();
      assert.match(du, new RegExp(`^-N DOCKER-USER\\n-A DOCKER-USER -i ${BR} -m comment --comment tsnet -j ACCEPT\\n-A DOCKER-USER -o ${BR} -m comment --comment tsnet -j ACCEPT\\n-A DOCKER-USER -i eth9`));
      assert.equal(du.split('\n').filter((l) => l.includes('tsnet')).length, 2);
      assert.match(iptS('ip6tables'), new RegExp(`-i ${BR} -m comment --comment tsnet -j ACCEPT`));
      assert.deepEqual(await fw.listProgrammedBridges(), [BR]);
      assert.notEqual(tsnetTable(), skeleton);
      await fw.removeNetwork(n);
      assert.equal(tsnetTable(), skeleton);
      assert.equal(iptS(), ORIGINAL_DU);
      await fw.removeNetwork(n); // absent: not an error
    });
  }

  it('with etcd (cluster) init adds the raw-priority chain that notracks a multi-host network\'s own traffic; without, it is removed again', async () => {
    const other = createNetns('fwcl');
    extraNs.push(other);
    const list = (chain: string) => other.exec('nft', ['list', 'chain', 'inet', 'tsnet', chain]);
    const clusterFw = createFirewall({ netnsPath: other.path, cluster: true, log: () => undefined });
    try {
      await clusterFw.init();
      await clusterFw.init(); // idempotent
      assert.match(list('prerouting_raw'), /type filter hook prerouting priority raw; policy accept;\n\s+ip saddr vmap @notrack4\n\s+}/);
      await clusterFw.applyNetwork(net({ clusterDevice: 'tsnet-vx' }));
      // nft prints the anonymous set in its own order.
      assert.match(list(`notrack-${BR}`), new RegExp(`iifname \\{ ("${BR}", "tsnet-vx"|"tsnet-vx", "${BR}") \\} ip daddr 10\\.231\\.0\\.0/24 ip daddr != 10\\.231\\.0\\.1 notrack`));
      assert.match(other.exec('nft', ['list', 'map', 'inet', 'tsnet', 'notrack4']), new RegExp(`10\\.231\\.0\\.0/24 : jump notrack-${BR}`));
    } finally {
      await clusterFw.close();
    }
    const plainFw = createFirewall({ netnsPath: other.path, log: () => undefined });
    try {
      await plainFw.init();
      assert.doesNotMatch(other.exec('nft', ['list', 'table', 'inet', 'tsnet']), /prerouting_raw/);
      await plainFw.removeNetwork(net({ clusterDevice: 'tsnet-vx' }));
      assert.doesNotMatch(other.exec('nft', ['list', 'table', 'inet', 'tsnet']), /notrack-|jump/);
    } finally {
      await plainFw.close();
    }
  });

  it('applyNetwork replaces a network whose options changed (no stale masquerade, no duplicates)', async () => {
    await fw.applyNetwork(net({ subnets: [{ family: 4, cidr: '10.231.0.0/24', gateway: '10.231.0.1' }, { family: 6, cidr: 'fd00:231::/64', gateway: 'fd00:231::1' }] }));
    await fw.applyNetwork(net({ internal: true }));
    const internalOnly = tsnetTable();
    assert.ok(!internalOnly.includes('masquerade') || !internalOnly.includes('"masq4","table":"tsnet","type":"ipv4_addr","map":"verdict","flags":["interval"],"elem"'));
    await fw.removeNetwork(net());
    await fw.applyNetwork(net({ internal: true }));
    assert.equal(tsnetTable(), internalOnly);
    await fw.removeNetwork(net());
    assert.equal(tsnetTable(), skeleton);
  });

  it('port maps are element operations (no rule per port), all or none, absent removal is fine', async () => {
    await fw.applyNetwork(net());
    const rules = tsnetRuleCount();
    const maps = [
      pm(),
      pm({ proto: 'udp', hostPort: 5353, containerPort: 53 }),
      pm({ hostIP: '10.232.0.1', hostPort: 8081 }),
      pm({ family: 6, hostIP: '::', hostPort: 8080, containerIP: 'fd00:231::2' }),
      pm({ family: 6, hostIP: 'fd00::1', proto: 'sctp', hostPort: 9000, containerIP: 'fd00:231::2', containerPort: 9001 }),
    ];
    await fw.addPortMaps(maps);
    await fw.addPortMaps([maps[0]]); // same again: no-op
    assert.equal(tsnetRuleCount(), rules);
    const listed = await fw.listPortMaps();
    const key = (r: PortMapRule) => `${r.family} ${r.hostIP} ${r.proto} ${r.hostPort} ${r.containerIP} ${r.containerPort} ${r.bridge} ${r.networkId}`;
    assert.deepEqual(listed.map(key).sort(), maps.map(key).sort());
    // A second firewall instance (driver restart) reads the same state back.
    const fw2 = createFirewall({ netnsPath: ns.path, log: () => undefined });
    try {
      assert.deepEqual((await fw2.listPortMaps()).map(key).sort(), maps.map(key).sort());
      assert.deepEqual(await fw2.listProgrammedBridges(), [BR]);
    } finally {
      await fw2.close();
    }
    // All or none: a batch with a conflicting host port adds nothing.
    await assert.rejects(fw.addPortMaps([pm({ hostPort: 7000 }), pm({ containerIP: '10.231.0.3' })]));
    assert.equal((await fw.listPortMaps()).length, maps.length);
    await fw.removePortMaps([maps[1], pm({ hostPort: 12345 })]); // one absent
    assert.equal((await fw.listPortMaps()).length, maps.length - 1);
    await fw.removePortMaps(maps);
    assert.deepEqual(await fw.listPortMaps(), []);
    // removeNetwork also removes the network's port maps, and only those.
    await fw.addPortMaps([pm(), pm({ bridge: 'tsn-other', networkId: 'f'.repeat(64), hostPort: 9999, containerIP: '10.9.0.2' })]);
    await fw.removeNetwork(net());
    assert.deepEqual((await fw.listPortMaps()).map((r) => r.bridge), ['tsn-other']);
    await fw.removePortMaps(await fw.listPortMaps());
    assert.equal(tsnetTable(), skeleton);
  });

  it('port-map elements written as raw netlink messages are exactly those libnftables writes (both families, both key kinds, every protocol)', async () => {
    const maps = [
      pm(),
      pm({ proto: 'udp', hostIP: '127.0.0.1', hostPort: 53, containerPort: 5353 }),
      pm({ proto: 'sctp', hostIP: '10.232.0.1', hostPort: 65535, containerPort: 1 }),
      pm({ family: 6, hostIP: '::', proto: 'udp', hostPort: 1, containerIP: 'fd00:231::2', containerPort: 65535 }),
      pm({ family: 6, hostIP: 'fd00::1', hostPort: 443, containerIP: 'fd00:231::3', containerPort: 8443, bridge: 'tsn-other', networkId: 'f'.repeat(64) }),
    ];
    const mapNames = ALL_PORT_MAPS.flatMap(({ family, kind }) => Object.values(portMapNames(family, kind)));
    const listing = () => mapNames.map((m) => JSON.stringify(strip(JSON.parse(ns.exec('nft', ['-j', 'list', 'map', 'inet', 'tsnet', m])).nftables))).join('\n');
    const empty = listing();
    await fw.addPortMaps(maps); // the raw path
    const raw = listing();
    assert.notEqual(raw, empty);
    await fw.removePortMaps(maps);
    assert.equal(listing(), empty);
    const nft = (fw as unknown as { nft: NftWorker }).nft;
    await nft.run(addPortMapCommands(maps)); // libnftables
    assert.equal(raw, listing());
    // A clash names the map and the kernel's reason; nothing of the batch is applied.
    await assert.rejects(fw.addPortMaps([pm({ hostPort: 7001 }), pm({ containerIP: '10.231.0.9' })]), /could not add elements of map pm4any_addr: File exists/);
    assert.equal(raw, listing());
    await fw.removePortMaps(maps);
    assert.equal(listing(), empty);
    // The table removed behind the driver's back: the next port map makes it again.
    ns.exec('nft', ['delete', 'table', 'inet', 'tsnet']);
    await fw.addPortMaps([maps[0]]);
    assert.deepEqual((await fw.listPortMaps()).map((r) => r.hostPort), [8080]);
    await fw.removePortMaps([maps[0]]);
    await fw.init();
    assert.equal(tsnetTable(), skeleton);
  });

  it('a kernel refusing the raw messages\' encoding turns them off with one warning; libnftables writes the port maps from then on', async () => {
    const warnings: string[] = [];
    const fw3 = createFirewall({ netnsPath: ns.path, log: (m) => warnings.push(m) });
    try {
      const nft = (fw3 as unknown as { nft: NftWorker }).nft;
      let rawCalls = 0;
      nft.batch = async () => {
        rawCalls++;
        throw new NftError('nftables: could not add elements of map pm4any_addr: Invalid argument (EINVAL)', 22, 'Invalid argument (EINVAL)');
      };
      await fw3.addPortMaps([pm({ hostPort: 7100 })]);
      assert.deepEqual((await fw3.listPortMaps()).map((r) => r.hostPort), [7100]);
      await fw3.removePortMaps([pm({ hostPort: 7100 })]);
      assert.deepEqual(await fw3.listPortMaps(), []);
      assert.equal(rawCalls, 1);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /refused port-map elements written directly .*Invalid argument.*libnftables writes them from now on/);
      // Any other refusal is the answer itself (a clash), not a reason to switch.
      await fw.addPortMaps([pm({ hostPort: 7101 })]);
      await assert.rejects(fw.addPortMaps([pm({ hostPort: 7101, containerIP: '10.231.0.9' })]), /File exists/);
      await fw.removePortMaps([pm({ hostPort: 7101 })]);
    } finally {
      await fw3.close();
    }
    assert.equal(tsnetTable(), skeleton);
  });

  it('describe() lines', () => {
    const lines = fw.describe(net({ icc: false }));
    assert.ok(lines.some((l) => l.startsWith('DOCKER-USER (ip, ip6)')), lines.join('\n'));
  });

  it('timing: median of 100 applyNetwork and 100 addPortMaps calls', async () => {
    // The event loop must stay responsive while the kernel works (the worker does the calls).
    let maxGap = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
    }, 1);
    const apply: number[] = [];
    const nets: FirewallNetwork[] = [];
    for (let i = 0; i < 100; i++) {
      const n = net({ id: `${i.toString(16).padStart(4, '0')}${'e'.repeat(60)}`, bridge: `tsn-t${i}`, subnets: [{ family: 4, cidr: `10.240.${i}.0/24`, gateway: `10.240.${i}.1` }] });
      nets.push(n);
      const t0 = performance.now();
      await fw.applyNetwork(n);
      apply.push(performance.now() - t0);
    }
    const add: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await fw.addPortMaps([pm({ bridge: 'tsn-t0', networkId: nets[0].id, hostPort: 20000 + i, containerIP: '10.240.0.2' })]);
      add.push(performance.now() - t0);
    }
    const remove: number[] = [];
    for (const n of nets) {
      const t0 = performance.now();
      await fw.removeNetwork(n);
      remove.push(performance.now() - t0);
    }
    // Steady state: a new network applied (and removed again) with no other network present.
    const single: number[] = [];
    const singleAdd: number[] = [];
    for (let i = 0; i < 100; i++) {
      const n = nets[i];
      const t0 = performance.now();
      await fw.applyNetwork(n);
      single.push(performance.now() - t0);
      const t1 = performance.now();
      await fw.addPortMaps([pm({ bridge: n.bridge, networkId: n.id, hostPort: 30000 + i, containerIP: `10.240.${i}.2` })]);
      singleAdd.push(performance.now() - t1);
      await fw.removeNetwork(n);
    }
    clearInterval(tick);
    console.log(`      1 network present: applyNetwork median ${median(single).toFixed(2)} ms, addPortMaps median ${median(singleAdd).toFixed(2)} ms`);
    console.log(
      `      applyNetwork median ${median(apply).toFixed(2)} ms (first 10: ${median(apply.slice(0, 10)).toFixed(2)}, last 10: ${median(apply.slice(90)).toFixed(2)}), ` +
        `addPortMaps median ${median(add).toFixed(2)} ms, removeNetwork median ${median(remove).toFixed(2)} ms; 0..100 networks present; longest event-loop gap ${maxGap.toFixed(1)} ms`,
    );
    // Loose bound: the machine may be shared and loaded; a blocking implementation stalls far longer.
    assert.ok(maxGap < 1000, `event loop blocked for ${maxGap} ms`);
    assert.equal(tsnetTable(), skeleton);
    assert.equal(iptS(), ORIGINAL_DU);
  });

  describe('packets: client netns -> published port on the test host netns -> server netns', () => {
    let client: TestNetns;
    let server: TestNetns;
    let server2: TestNetns;
    let httpd: ChildProcess | undefined;
    let clientHttpd: ChildProcess | undefined;
    let dir = '';
    const PBR = 'tsn-pkt';
    const pnet = (): FirewallNetwork => net({ bridge: PBR, id: 'a'.repeat(64) });
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    const get = (n: TestNetns | undefined, host: string, port: number): string => {
      const script = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 2 ${host} ${port}`;
      try {
        return n ? n.exec('sh', ['-c', script], { timeoutMs: 8000 }) : ns.exec('sh', ['-c', script], { timeoutMs: 8000 });
      } catch (e) {
        const err = e as Error & { stderr?: string };
        return `failed: ${String(err.stderr ?? '').trim() || err.message.split('\n')[0]}`;
      }
    };

    before(async () => {
      requirePrerequisite(fs.existsSync('/bin/busybox'), '/bin/busybox', 'apt-get install -y busybox-static');
      client = createNetns('fwc');
      server = createNetns('fws');
      server2 = createNetns('fws2');
      extraNs.push(client, server, server2);
      ip('-n', ns.name, 'link', 'add', PBR, 'type', 'bridge', 'mcast_snooping', '0');
      ip('-n', ns.name, 'addr', 'add', '10.231.0.1/24', 'dev', PBR);
      ip('-n', ns.name, 'link', 'set', PBR, 'up');
      ip('-n', ns.name, 'link', 'add', 'vsrv', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', server.name);
      ip('-n', ns.name, 'link', 'set', 'vsrv', 'master', PBR, 'up');
      ip('-n', server.name, 'addr', 'add', '10.231.0.2/24', 'dev', 'eth0');
      ip('-n', server.name, 'link', 'set', 'eth0', 'up');
      ip('-n', server.name, 'route', 'add', 'default', 'via', '10.231.0.1');
      ip('-n', ns.name, 'link', 'add', 'vsrv2', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', server2.name);
      ip('-n', ns.name, 'link', 'set', 'vsrv2', 'master', PBR, 'up');
      ip('-n', server2.name, 'addr', 'add', '10.231.0.3/24', 'dev', 'eth0');
      ip('-n', server2.name, 'link', 'set', 'eth0', 'up');
      ip('-n', server2.name, 'route', 'add', 'default', 'via', '10.231.0.1');
      ip('-n', ns.name, 'link', 'add', 'vcli', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client.name);
      ip('-n', ns.name, 'addr', 'add', '10.232.0.1/30', 'dev', 'vcli');
      ip('-n', ns.name, 'link', 'set', 'vcli', 'up');
      ip('-n', client.name, 'addr', 'add', '10.232.0.2/30', 'dev', 'eth0');
      ip('-n', client.name, 'link', 'set', 'eth0', 'up');
      // No route back to 10.231.0.0/24 in the client: replies reach it only when masqueraded.
      ip('-n', ns.name, '-6', 'addr', 'add', 'fd00:231::1/64', 'dev', PBR, 'nodad');
      ip('-n', server.name, '-6', 'addr', 'add', 'fd00:231::2/64', 'dev', 'eth0', 'nodad');
      ip('-n', server.name, '-6', 'route', 'add', 'default', 'via', 'fd00:231::1');
      ip('-n', ns.name, '-6', 'addr', 'add', 'fd00:232::1/64', 'dev', 'vcli', 'nodad');
      ip('-n', client.name, '-6', 'addr', 'add', 'fd00:232::2/64', 'dev', 'eth0', 'nodad');
      ns.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.forwarding=1']);
      ns.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
      ns.exec('sysctl', ['-q', '-w', `net.ipv4.conf.${PBR}.route_localnet=1`]); // the core's job on the host
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-fw-'));
      fs.writeFileSync(path.join(dir, 'index.html'), 'tsnet-ok\n');
      // Warm up neighbour discovery (the first IPv6 SYN otherwise races ND inside `nc -w 2`).
      for (const [n, gw] of [[server, 'fd00:231::1'], [client, 'fd00:232::1'], [server, '10.231.0.1'], [client, '10.232.0.1']] as const) {
        try {
          n.exec('/bin/busybox', ['ping', '-c', '1', '-W', '2', gw], { timeoutMs: 5000 });
        } catch {
          /* only a warm-up */
        }
      }
      clientHttpd = spawn('ip', ['netns', 'exec', client.name, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
      httpd = spawn('ip', ['netns', 'exec', server.name, '/bin/busybox', 'httpd', '-f', '-p', '80', '-h', dir], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 300));
    });

    after(async () => {
      if (httpd?.pid) httpd.kill('SIGKILL');
      if (clientHttpd?.pid) clientHttpd.kill('SIGKILL');
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
      await fw.removeNetwork(pnet()).catch(() => undefined);
    });

    it('without tsnet rules nothing is published', async () => {
      assert.doesNotMatch(get(client, '10.232.0.1', 8080), /tsnet-ok/);
    });

    it('a published port reaches the server (every address, specific address, localhost)', async () => {
      await fw.applyNetwork(pnet());
      await fw.addPortMaps([
        pm({ bridge: PBR, networkId: pnet().id }),
        pm({ bridge: PBR, networkId: pnet().id, hostIP: '10.232.0.1', hostPort: 8081 }),
      ]);
      assert.match(get(client, '10.232.0.1', 8080), /tsnet-ok/);
      assert.match(get(client, '10.232.0.1', 8081), /tsnet-ok/);
      assert.match(get(undefined, '127.0.0.1', 8080), /tsnet-ok/, 'localhost DNAT (output chain + 127/8 masquerade)');
    });

    it('IPv6: a published port (every address and a specific address) reaches the server', async () => {
      const dual = { ...pnet(), subnets: [...pnet().subnets, { family: 6 as const, cidr: 'fd00:231::/64', gateway: 'fd00:231::1' }] };
      await fw.applyNetwork(dual);
      const v6maps = [
        pm({ bridge: PBR, networkId: pnet().id, family: 6, hostIP: '::', hostPort: 8080, containerIP: 'fd00:231::2' }),
        pm({ bridge: PBR, networkId: pnet().id, family: 6, hostIP: 'fd00:232::1', hostPort: 8082, containerIP: 'fd00:231::2' }),
      ];
      assert.doesNotMatch(get(client, 'fd00:232::1', 8080), /tsnet-ok/);
      await fw.addPortMaps(v6maps);
      assert.match(get(client, 'fd00:232::1', 8080), /tsnet-ok/);
      assert.match(get(client, 'fd00:232::1', 8082), /tsnet-ok/);
      assert.match(iptS('ip6tables'), new RegExp(`-A DOCKER-USER -i ${PBR} -m comment --comment tsnet -j ACCEPT`));
      await fw.removePortMaps(v6maps);
      await fw.applyNetwork(pnet());
    });

    it('without the DOCKER-USER accepts the FORWARD DROP wins; applyNetwork again repairs them', async () => {
      const handles = (JSON.parse(ns.exec('nft', ['-j', 'list', 'chain', 'ip', 'filter', 'DOCKER-USER'])).nftables as Array<{ rule?: { handle: number; comment?: string } }>)
        .filter((i) => i.rule?.comment === 'tsnet')
        .map((i) => String(i.rule!.handle));
      assert.equal(handles.length, 2);
      for (const h of handles) ns.exec('nft', ['delete', 'rule', 'ip', 'filter', 'DOCKER-USER', 'handle', h]);
      assert.doesNotMatch(get(client, '10.232.0.1', 8080), /tsnet-ok/);
      await fw.applyNetwork(pnet());
      assert.match(get(client, '10.232.0.1', 8080), /tsnet-ok/);
    });

    it('icc on/off between two containers of the bridge (br_netfilter), published port hairpin either way', async () => {
      assert.equal(ns.exec('sysctl', ['-n', 'net.bridge.bridge-nf-call-iptables']).trim(), '1');
      assert.match(get(server2, '10.231.0.2', 80), /tsnet-ok/, 'icc on: direct');
      assert.match(get(server2, '10.232.0.1', 8081), /tsnet-ok/, 'icc on: hairpin through the published port');
      await fw.applyNetwork({ ...pnet(), icc: false });
      assert.doesNotMatch(get(server2, '10.231.0.2', 80), /tsnet-ok/, 'icc off: direct is dropped');
      assert.match(get(server2, '10.232.0.1', 8081), /tsnet-ok/, 'icc off: the published port still works');
      assert.match(get(client, '10.232.0.1', 8080), /tsnet-ok/);
      await fw.applyNetwork(pnet());
      assert.match(get(server2, '10.231.0.2', 80), /tsnet-ok/, 'icc back on');
    });

    it('outbound: masquerade on reaches the outside, masquerade off and internal do not', async () => {
      assert.match(get(server, '10.232.0.2', 80), /tsnet-ok/, 'masquerade on');
      await fw.applyNetwork({ ...pnet(), masquerade: false });
      assert.doesNotMatch(get(server, '10.232.0.2', 80), /tsnet-ok/, 'masquerade off: the client has no route back');
      await fw.applyNetwork({ ...pnet(), internal: true });
      assert.doesNotMatch(get(server, '10.232.0.2', 80), /tsnet-ok/, 'internal');
      assert.doesNotMatch(get(client, '10.232.0.1', 8081), /tsnet-ok/, 'internal: published port does not come in');
      assert.match(get(server2, '10.231.0.2', 80), /tsnet-ok/, 'internal: same bridge still talks');
      await fw.applyNetwork(pnet());
      assert.match(get(server, '10.232.0.2', 80), /tsnet-ok/, 'back to normal');
    });

    it('the container is not reachable directly (isolation), and not after the port map is removed', async () => {
      ip('-n', client.name, 'route', 'add', '10.231.0.0/24', 'via', '10.232.0.1');
      try {
        const direct = get(client, '10.231.0.2', 80);
        assert.doesNotMatch(direct, /tsnet-ok/);
        assert.match(direct, /timed out/, 'dropped in forward, not refused / unreachable');
      } finally {
        ip('-n', client.name, 'route', 'del', '10.231.0.0/24', 'via', '10.232.0.1');
      }
      await fw.removePortMaps([pm({ bridge: PBR, networkId: pnet().id })]);
      assert.doesNotMatch(get(client, '10.232.0.1', 8080), /tsnet-ok/);
      assert.match(get(client, '10.232.0.1', 8081), /tsnet-ok/);
    });
  });

  it('on an iptables-legacy host writes the DOCKER-USER accepts into the legacy table, and removes exactly them', async () => {
    requirePrerequisite(fs.existsSync('/usr/sbin/iptables-legacy'), 'iptables-legacy', 'apt-get install -y iptables');
    const legacy = createNetns('fwl');
    extraNs.push(legacy);
    legacy.exec('iptables-legacy', ['-N', 'DOCKER-USER']);
    legacy.exec('iptables-legacy', ['-A', 'DOCKER-USER', '-s', '192.0.2.99/32', '-j', 'DROP']);
    legacy.exec('iptables-legacy', ['-A', 'DOCKER-USER', '-j', 'RETURN']);
    const logs: string[] = [];
    const fwl = createFirewall({ netnsPath: legacy.path, log: (m) => logs.push(m) });
    try {
      await fwl.init();
      assert.equal(fwl.backend, 'iptables-legacy');
      assert.ok(logs.some((l) => /iptables-legacy/.test(l)), logs.join('\n'));
      const n = net();
      await fwl.applyNetwork(n);
      await fwl.applyNetwork(n); // idempotent
      assert.equal(
        legacy.exec('iptables-legacy', ['-S', 'DOCKER-USER']),
        `-N DOCKER-USER\n-A DOCKER-USER -i ${n.bridge} -j ACCEPT\n-A DOCKER-USER -o ${n.bridge} -j ACCEPT\n-A DOCKER-USER -s 192.0.2.99/32 -j DROP\n-A DOCKER-USER -j RETURN\n`,
      );
      assert.match(fwl.describe(n).join('\n'), /iptables-legacy, through libip4tc/);
      await fwl.removeNetwork(n);
      assert.equal(legacy.exec('iptables-legacy', ['-S', 'DOCKER-USER']), '-N DOCKER-USER\n-A DOCKER-USER -s 192.0.2.99/32 -j DROP\n-A DOCKER-USER -j RETURN\n', 'only the user\'s rules remain');
      await fwl.removeAll();
    } finally {
      await fwl.close();
    }
  });

  it('a namespace without any Docker chains gets only the tsnet table', async () => {
    const bare = createNetns('fwb');
    extraNs.push(bare);
    const fwb = createFirewall({ netnsPath: bare.path, log: () => undefined });
    try {
      await fwb.applyNetwork(net());
      assert.equal(fwb.backend, 'nftables');
      assert.deepEqual([...fwb.dockerUserFamilies], []);
      const tables = bare.exec('nft', ['list', 'tables']).trim();
      assert.equal(tables, 'table inet tsnet');
      await fwb.removeAll();
      assert.equal(bare.exec('nft', ['list', 'tables']).trim(), '');
    } finally {
      await fwb.close();
    }
  });

  it('removeAll removes the table and only tsnet DOCKER-USER rules', async () => {
    await fw.applyNetwork(net());
    await fw.removeAll();
    assert.ok(!nftItems().some((i) => JSON.stringify(i).includes('"name":"tsnet"')));
    assert.equal(iptS(), ORIGINAL_DU);
    await fw.removeAll(); // twice: fine
    assert.deepEqual(await fw.listProgrammedBridges(), []);
    assert.deepEqual(await fw.listPortMaps(), []);
  });
});
