/**
 * Issue 13 against real kernel objects in a throw-away namespace:
 * - 0: a bridge's MAC, MTU and IPv6 link-local stay put while ports come and go (the kernel
 *   otherwise gives a bridge the lowest MAC and MTU of its ports), for bridges tsnet creates,
 *   bridges it adopts, and bridges an earlier version left unpinned (pinned again at start-up);
 * - 7: a link of the derived name that tsnet did not make is never deleted;
 * - 8: a tsn- bridge whose name is not an ID prefix does not stop the driver from starting;
 * - 9: two CreateNetwork calls for one bridge name never share it.
 * Tests may use `ip` to set the scene (the driver may not).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Driver, DriverDeps } from '@tsnet/driver/dist/core/driver';
import { reconcile } from '@tsnet/driver/dist/core/reconcile';
import { bridgeMac } from '@tsnet/driver/dist/core/bridge';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import { Store } from '@tsnet/driver/dist/state/store';
import type { TestNetns } from '../helpers/netns';
import { CoreNamespace } from '../helpers/core-netns';

const hex = (c: string, n = 64) => c.repeat(n).slice(0, n);
const NET_A = hex('a1');
const NET_B = hex('b2');

/** fe80:: + the EUI-64 interface ID of a MAC, as the kernel forms a link-local address. */
function eui64LinkLocal(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const id = [b[0] ^ 0x02, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  const groups = [0, 2, 4, 6].map((i) => ((id[i] << 8) | id[i + 1]).toString(16));
  return `fe80::${groups.join(':')}`;
}

interface IpLink {
  ifname: string;
  mtu: number;
  address: string;
}

describe('bridges keep MAC and MTU; link names tsnet does not own are never taken (real kernel, test namespace)', function () {
  this.timeout(60_000);
  let place: CoreNamespace;
  let ns: TestNetns;
  let netlink: NetlinkHandle;

  before(async () => {
    place = await CoreNamespace.open('brnames');
    ({ ns, netlink } = place);
  });
  after(async () => {
    await place?.close();
  });

  const ip = (...args: string[]) => execFileSync('ip', ['-n', ns.name, ...args], { encoding: 'utf8', stdio: 'pipe' });
  const link = (name: string): IpLink => (JSON.parse(ip('-j', 'link', 'show', 'dev', name)) as IpLink[])[0];
  const linkLocal = (name: string): string =>
    (JSON.parse(ip('-j', '-6', 'addr', 'show', 'dev', name)) as Array<{ addr_info: Array<{ local: string; scope: string }> }>)[0]?.addr_info.find((a) => a.scope === 'link')?.local ?? '';
  const waitForLinkLocal = async (name: string): Promise<string> => {
    for (let i = 0; i < 50 && !linkLocal(name); i++) await new Promise((r) => setTimeout(r, 100));
    return linkLocal(name);
  };
  /** A port with a MAC lower than anything random and a smaller MTU: what the kernel would copy. */
  const addPort = (bridge: string, port: string, mtu = 1280) => {
    ip('link', 'add', port, 'address', '02:00:00:00:00:01', 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', `${port}p`);
    ip('link', 'set', port, 'master', bridge, 'up');
    ip('link', 'set', `${port}p`, 'up');
  };

  const makeDriver = (): { driver: Driver; deps: DriverDeps } => place.driver({ stateDir: place.stateDir('brnames') });

  const net = (id: string, subnet: string, opts: Record<string, string> = {}) => ({
    NetworkID: id,
    Options: { 'com.docker.network.generic': opts },
    IPv4Data: [{ Pool: `${subnet}.0/24`, Gateway: `${subnet}.1/24` }],
  });

  it('item 0: a bridge tsnet creates keeps its MAC, MTU and link-local while ports join and leave', async () => {
    const { driver } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241', { 'com.docker.network.driver.mtu': '1400' }));
    const br = `tsn-${NET_A.slice(0, 11)}`;
    try {
      const before = link(br);
      assert.equal(before.address, bridgeMac(NET_A), 'the MAC derived from the network ID');
      assert.equal(before.mtu, 1400);
      // The link-local address appears with the first carrier, derived from the MAC (EUI-64).
      const ll = eui64LinkLocal(before.address);
      for (const [i, mtu] of [[1, 1280], [2, 1300], [3, 9000]]) {
        addPort(br, `tstp${i}`, mtu);
        assert.deepEqual([link(br).address, link(br).mtu], [before.address, 1400], `after port ${i} joined`);
      }
      assert.equal(await waitForLinkLocal(br), ll, 'the IPv6 link-local address, with ports');
      // Endpoints the driver makes as well.
      await driver.createEndpoint({ NetworkID: NET_A, EndpointID: hex('e1'), Interface: { Address: '10.231.241.2/24' } });
      for (const i of [1, 2, 3]) {
        ip('link', 'del', `tstp${i}`);
        assert.deepEqual([link(br).address, link(br).mtu], [before.address, 1400], `after port ${i} left`);
      }
      await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: hex('e1') });
      assert.deepEqual([link(br).address, link(br).mtu], [before.address, 1400], 'with no port at all');
      assert.equal(linkLocal(br), ll, 'the IPv6 link-local address, after every port left');
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
  });

  it('item 0: with no MTU option the bridge stays at 1500 when a smaller port joins', async () => {
    const { driver } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    const br = `tsn-${NET_A.slice(0, 11)}`;
    try {
      addPort(br, 'tstp1', 1280);
      assert.deepEqual([link(br).mtu, link(br).address], [1500, bridgeMac(NET_A)]);
      ip('link', 'del', 'tstp1');
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
  });

  it('item 0: an adopted bridge keeps its own MAC and MTU, pinned', async () => {
    ip('link', 'add', 'tstadopt', 'type', 'bridge');
    try {
      ip('link', 'set', 'tstadopt', 'up');
      const own = link('tstadopt');
      const { driver } = makeDriver();
      await driver.createNetwork(net(NET_B, '10.231.242', { 'com.docker.network.bridge.name': 'tstadopt' }));
      addPort('tstadopt', 'tstp4', 1280);
      assert.deepEqual([link('tstadopt').address, link('tstadopt').mtu], [own.address, own.mtu], 'after a port joined');
      ip('link', 'del', 'tstp4');
      assert.deepEqual([link('tstadopt').address, link('tstadopt').mtu], [own.address, own.mtu], 'after it left');
      await driver.deleteNetwork(NET_B);
    } finally {
      ip('link', 'del', 'tstadopt');
    }
  });

  it('item 0: start-up pins a bridge an earlier version left following its ports', async () => {
    const { driver, deps } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    const br = `tsn-${NET_A.slice(0, 11)}`;
    try {
      // What an earlier tsnet made: a bridge with neither MAC nor MTU of its own.
      ip('link', 'del', br);
      ip('link', 'add', br, 'type', 'bridge');
      ip('addr', 'add', '10.231.241.1/24', 'dev', br);
      addPort(br, 'tstp5', 1500);
      assert.equal(link(br).address, '02:00:00:00:00:01', 'scene: the bridge follows its port');
      await reconcile(driver, deps, false);
      const pinned = link(br);
      addPort(br, 'tstp6', 1280);
      ip('link', 'del', 'tstp5');
      assert.deepEqual([link(br).address, link(br).mtu], [pinned.address, 1500], 'after ports came and went');
      ip('link', 'del', 'tstp6');
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
  });

  it('item 7: an endpoint whose veth name another endpoint holds is refused, and that endpoint keeps its interface', async () => {
    const { driver } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    try {
      const first = `${'c'.repeat(11)}${hex('1', 53)}`;
      const second = `${'c'.repeat(11)}${hex('2', 53)}`; // same first 11 hex: same interface names
      await driver.createEndpoint({ NetworkID: NET_A, EndpointID: first, Interface: { Address: '10.231.241.2/24' } });
      const before = (await netlink.getLink(`tsv${'c'.repeat(11)}`))!;
      await assert.rejects(
        driver.createEndpoint({ NetworkID: NET_A, EndpointID: second, Interface: { Address: '10.231.241.3/24' } }),
        new RegExp(`interface name tsv${'c'.repeat(11)} is already used by endpoint ${'c'.repeat(11)}1 `),
      );
      const after = await netlink.getLink(`tsv${'c'.repeat(11)}`);
      assert.equal(after?.index, before.index, 'the first endpoint keeps the very same interface');
      await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: first });
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
  });

  it('item 7: a link of the derived name that tsnet did not make is left alone (endpoint and network)', async () => {
    const { driver } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    try {
      const ep = hex('d4');
      ip('link', 'add', `tsv${ep.slice(0, 11)}`, 'type', 'veth', 'peer', 'name', 'tstforeign');
      const foreign = link(`tsv${ep.slice(0, 11)}`);
      await assert.rejects(
        driver.createEndpoint({ NetworkID: NET_A, EndpointID: ep, Interface: { Address: '10.231.241.4/24' } }),
        /an interface named tsvd4d4d4d4d4d already exists and tsnet did not create it, so it will not delete it; remove it \(ip link del tsvd4d4d4d4d4d\)/,
      );
      assert.equal(link(`tsv${ep.slice(0, 11)}`).address, foreign.address, 'the foreign veth is still there');
      ip('link', 'del', `tsv${ep.slice(0, 11)}`);
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
    ip('link', 'add', `tsn-${NET_B.slice(0, 11)}`, 'type', 'bridge');
    try {
      await assert.rejects(driver.createNetwork(net(NET_B, '10.231.242')), /bridge "tsn-b2b2b2b2b2b" already exists but no tsnet network records it/);
      assert.ok(link(`tsn-${NET_B.slice(0, 11)}`), 'the unrecorded bridge is still there');
      assert.deepEqual(Object.keys(driver.state.networks), []);
    } finally {
      ip('link', 'del', `tsn-${NET_B.slice(0, 11)}`);
    }
  });

  it('item 7 (issue 17): CreateEndpoint asks the kernel first; a foreign veth it runs into is voided in the journal, so a restart leaves it too', async () => {
    const { driver, deps } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    const ep = hex('d5');
    const name = `tsv${ep.slice(0, 11)}`;
    ip('link', 'add', name, 'type', 'veth', 'peer', 'name', 'tstforeign2');
    try {
      const foreign = link(name);
      await assert.rejects(
        driver.createEndpoint({ NetworkID: NET_A, EndpointID: ep, Interface: { Address: '10.231.241.5/24' } }),
        new RegExp(`an interface named ${name} already exists and tsnet did not create it`),
      );
      // The journal got "+name" before the kernel said EEXIST, then "!name".
      const lines = fs.readFileSync(path.join(deps.store.dir, 'journal.log'), 'utf8').split('\n');
      assert.deepEqual(lines.filter((l) => l.endsWith(name)), [`+${name}`, `!${name}`]);
      assert.ok(!(new Store(deps.store.dir).load().state.pending ?? []).includes(name), 'not pending for the next start');
      // A restart on the same state (as after kill -9): reconcile leaves the foreign pair alone.
      await deps.store.close();
      const restarted = place.driver({ stateDir: deps.store.dir });
      await reconcile(restarted.driver, restarted.deps, false);
      assert.equal(link(name).address, foreign.address, 'the foreign veth survived the restart');
      assert.ok(link('tstforeign2'), 'and its peer');
      await restarted.driver.deleteNetwork(NET_A);
    } finally {
      ip('link', 'del', name);
      await driver.deleteNetwork(NET_A).catch(() => undefined);
    }
  });

  it('item 7 (issue 17): an endpoint veth gets its bridge-port flags with its creation (hairpin; isolated without ICC)', async () => {
    const { driver } = makeDriver();
    await driver.createNetwork(net(NET_A, '10.231.241'));
    await driver.createNetwork(net(NET_B, '10.231.242', { 'com.docker.network.bridge.enable_icc': 'false' }));
    try {
      await driver.createEndpoint({ NetworkID: NET_A, EndpointID: hex('e1'), Interface: { Address: '10.231.241.6/24' } });
      await driver.createEndpoint({ NetworkID: NET_B, EndpointID: hex('e2'), Interface: { Address: '10.231.242.6/24' } });
      const flag = (ifname: string, key: string) => execFileSync('ip', ['netns', 'exec', ns.name, 'cat', `/sys/class/net/${ifname}/brport/${key}`], { encoding: 'utf8' }).trim();
      assert.equal(flag(`tsv${hex('e1').slice(0, 11)}`, 'hairpin_mode'), '1');
      assert.equal(flag(`tsv${hex('e1').slice(0, 11)}`, 'isolated'), '0');
      assert.equal(flag(`tsv${hex('e2').slice(0, 11)}`, 'hairpin_mode'), '1');
      assert.equal(flag(`tsv${hex('e2').slice(0, 11)}`, 'isolated'), '1');
      await driver.deleteEndpoint({ NetworkID: NET_A, EndpointID: hex('e1') });
      await driver.deleteEndpoint({ NetworkID: NET_B, EndpointID: hex('e2') });
    } finally {
      await driver.deleteNetwork(NET_A).catch(() => undefined);
      await driver.deleteNetwork(NET_B).catch(() => undefined);
    }
  });

  it('item 8: a tsn- bridge whose name is not an ID prefix does not stop the start (store lost)', async () => {
    ip('link', 'add', 'tsn-lab+1', 'type', 'bridge');
    ip('addr', 'add', '10.231.243.1/24', 'dev', 'tsn-lab+1');
    try {
      const { driver, deps } = makeDriver();
      const report = await reconcile(driver, deps, true);
      assert.ok(report.warnings.some((w) => /bridge tsn-lab\+1 was not recovered .*not the start of a network ID/.test(w)), report.warnings.join('\n'));
      assert.deepEqual(Object.keys(driver.state.networks), []);
      assert.ok(link('tsn-lab+1'), 'left as it is');
      // The store still saves afterwards.
      await driver.createNetwork(net(NET_A, '10.231.241'));
      await driver.deleteNetwork(NET_A);
    } finally {
      ip('link', 'del', 'tsn-lab+1');
    }
  });

  it('item 9: two CreateNetwork calls for one bridge name: exactly one gets it', async () => {
    const { driver } = makeDriver();
    const results = await Promise.allSettled([
      driver.createNetwork(net(NET_A, '10.231.241', { 'com.docker.network.bridge.name': 'tstshared' })),
      driver.createNetwork(net(NET_B, '10.231.242', { 'com.docker.network.bridge.name': 'tstshared' })),
    ]);
    try {
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))));
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.match(String(refused.reason), /bridge "tstshared" is (being created for another network right now|already used by tsnet network)/);
      assert.equal(Object.keys(driver.state.networks).length, 1);
      const addrs = (await netlink.listAddresses('tstshared')).map((a) => a.cidr).filter((c) => c.includes('.'));
      assert.equal(addrs.length, 1, `one network's gateway on the bridge: ${addrs.join(', ')}`);
    } finally {
      for (const id of Object.keys(driver.state.networks)) await driver.deleteNetwork(id).catch(() => undefined);
      if (await netlink.getLink('tstshared')) ip('link', 'del', 'tstshared');
    }
  });
});
