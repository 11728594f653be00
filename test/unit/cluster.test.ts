/** Multi-host pieces that need no kernel: block arithmetic, netlink builders, IPAM logic, config, rules. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { blockAddresses, blockOf, parsePool, poolBlocks } from '@tsnet/driver/dist/cluster/blocks';
import { parseClusterConfig, vtepMac } from '@tsnet/driver/dist/cluster/config';
import { ClusterIpam, type IpamCoordinator } from '@tsnet/driver/dist/cluster/ipam';
import { EtcdUnavailable, etcdOptions, WATCH_RECONNECT_MAX_MS } from '@tsnet/driver/dist/cluster/etcd';
import { fdbRequest, neighbourRequest, newVxlanRequest, onlinkRouteRequest, RTPROT_TSNET, RTNH_F_ONLINK, RTM_NEWNEIGH } from '@tsnet/driver/dist/cluster/rtnl';
import { underlayCommands } from '@tsnet/driver/dist/cluster/underlay-filter';
import { applyNetworkCommands, emptySnapshot } from '@tsnet/driver/dist/firewall/rules';
import { parseNetworkRequest } from '@tsnet/shared';

describe('cluster: address blocks', () => {
  it('cuts a /16 into 1024 blocks of /26 and finds the block of an address', () => {
    const p = parsePool('10.60.0.0/16');
    assert.equal(poolBlocks(p).length, 1024);
    assert.equal(blockOf(p, '10.60.1.70'), '10.60.1.64/26');
    assert.equal(blockOf(p, '10.61.0.1'), undefined);
  });
  it('never hands out the pool\'s network or broadcast address, nor a reserved one', () => {
    const p = parsePool('10.60.0.0/16');
    const first = blockAddresses(p, '10.60.0.0/26', new Set(['10.60.0.1']));
    assert.equal(first[0], '10.60.0.2');
    assert.equal(first.length, 62);
    const last = blockAddresses(p, '10.60.255.192/26', new Set());
    assert.equal(last.at(-1), '10.60.255.254');
  });
  it('refuses IPv6 and tiny subnets with a clear error', () => {
    assert.throws(() => parsePool('fd00::/64'), /IPv4 subnet/);
    assert.throws(() => parsePool('10.0.0.0/31'), /too small/);
  });
});

describe('cluster: netlink messages', () => {
  it('builds a VXLAN link with its VNI, local address, big-endian port and no learning', () => {
    const r = newVxlanRequest({ name: 'tsnet-vx', vni: 7476, local: '172.30.250.11', port: 8472, mtu: 1450, mac: vtepMac('172.30.250.11') });
    const hex = r.payload.toString('hex');
    assert.ok(r.payload.includes(Buffer.from('vxlan\0')));
    assert.ok(hex.includes('08000100' + '341d0000'), 'IFLA_VXLAN_ID 7476 (LE u32)');
    assert.ok(hex.includes('06000f00' + '2118'), 'IFLA_VXLAN_PORT 8472 (BE u16)');
    assert.ok(hex.includes('08000400' + 'ac1efa0b'), 'IFLA_VXLAN_LOCAL');
    assert.ok(hex.includes('05000700' + '00'), 'IFLA_VXLAN_LEARNING 0');
  });
  it('builds an FDB entry as AF_BRIDGE RTM_NEWNEIGH, self and permanent, with NDA_DST', () => {
    const r = fdbRequest('add', 9, { mac: '02:74:ac:1e:fa:0c', dst: '172.30.250.12' });
    assert.equal(r.type, RTM_NEWNEIGH);
    assert.equal(r.payload[0], 7); // AF_BRIDGE
    assert.equal(r.payload.readInt32LE(4), 9);
    assert.equal(r.payload.readUInt16LE(8), 0x80); // NUD_PERMANENT
    assert.equal(r.payload[10], 0x02); // NTF_SELF
    assert.ok(r.payload.toString('hex').includes('08000100ac1efa0c'));
  });
  it('builds a permanent IPv4 neighbour and an onlink route marked as tsnet\'s', () => {
    const n = neighbourRequest('add', 9, { ip: '172.30.250.12', mac: '02:74:ac:1e:fa:0c' });
    assert.equal(n.payload[0], 2);
    const r = onlinkRouteRequest('add', 9, { dst: '10.60.0.64/26', gateway: '172.30.250.12' });
    assert.equal(r.payload[1], 26);
    assert.equal(r.payload[5], RTPROT_TSNET);
    assert.equal(r.payload.readUInt32LE(8), RTNH_F_ONLINK);
  });
});

class FakeCoordinator implements IpamCoordinator {
  readonly self = '172.30.250.11';
  owners = new Map<string, string>();
  gateway?: string;
  etcdUp = true;
  claims = 0;
  private need(): void {
    if (!this.etcdUp) throw new EtcdUnavailable('a new block needs etcd, which did not answer within 3 s');
  }
  async ensurePool(cidr: string) {
    this.need();
    return { cidr, gateway: this.gateway };
  }
  async settleGateway(_cidr: string, wanted: string) {
    this.need();
    this.gateway ??= wanted;
    return this.gateway;
  }
  async claimBlock(_pool: string, block: string) {
    this.need();
    this.claims++;
    if (this.owners.has(block)) return this.owners.get(block) === this.self;
    this.owners.set(block, this.self);
    return true;
  }
  blockOwner(_pool: string, block: string) {
    return this.owners.get(block);
  }
  async releaseBlocks() {}
  localPoolsChanged() {}
}

describe('cluster: IPAM (block affinity)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ipam-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('claims one block, then allocates inside it without asking etcd, and persists what it handed out', async () => {
    const c = new FakeCoordinator();
    const ipam = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    const { PoolID } = await ipam.requestPool({ Pool: '10.60.0.0/16' });
    assert.equal((await ipam.requestAddress({ PoolID, Options: { RequestAddressType: 'com.docker.network.gateway' } })).Address, '10.60.0.1/16');
    const a = await ipam.requestAddress({ PoolID });
    assert.equal(a.Address, '10.60.0.2/16');
    c.etcdUp = false;
    const b = await ipam.requestAddress({ PoolID });
    assert.equal(b.Address, '10.60.0.3/16', 'allocation inside an own block works with etcd down');
    assert.equal(c.claims, 1);
    const again = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    again.load();
    assert.deepEqual(again.state.pools['10.60.0.0/16'].allocated, ['10.60.0.2', '10.60.0.3']);
  });

  it('fails clearly when a new block is needed and etcd is down', async () => {
    const c = new FakeCoordinator();
    const ipam = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    const { PoolID } = await ipam.requestPool({ Pool: '10.60.0.0/30' });
    await ipam.requestAddress({ PoolID, Options: { RequestAddressType: 'com.docker.network.gateway' } });
    c.etcdUp = false;
    await assert.rejects(ipam.requestAddress({ PoolID, Address: '10.60.0.2' }), /needs etcd/);
  });

  it('skips blocks of other hosts, refuses --ip in them, and honours --ip in a free block', async () => {
    const c = new FakeCoordinator();
    c.owners.set('10.60.0.0/26', '172.30.250.12');
    const ipam = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    const { PoolID } = await ipam.requestPool({ Pool: '10.60.0.0/16' });
    assert.equal((await ipam.requestAddress({ PoolID })).Address, '10.60.0.64/16');
    await assert.rejects(ipam.requestAddress({ PoolID, Address: '10.60.0.5' }), /belongs to host 172\.30\.250\.12/);
    assert.equal((await ipam.requestAddress({ PoolID, Address: '10.60.9.9' })).Address, '10.60.9.9/16');
    assert.equal(c.owners.get('10.60.9.0/26'), c.self);
    await assert.rejects(ipam.requestAddress({ PoolID, Address: '10.60.9.9' }), /already in use/);
    await ipam.releaseAddress({ PoolID, Address: '10.60.9.9/16' });
    assert.equal((await ipam.requestAddress({ PoolID, Address: '10.60.9.9' })).Address, '10.60.9.9/16', 'a released address is reusable');
  });

  it('--ip-range: hands out addresses only from the range, claims only blocks overlapping it, and still honours --ip elsewhere', async () => {
    const c = new FakeCoordinator();
    c.owners.set('10.60.1.0/26', '172.30.250.12');
    const ipam = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    await assert.rejects(ipam.requestPool({ Pool: '10.60.0.0/16', SubPool: '10.61.0.0/24' }), /--ip-range 10\.61\.0\.0\/24 is not inside the subnet 10\.60\.0\.0\/16/);
    await assert.rejects(ipam.requestPool({ Pool: '10.60.0.0/16', SubPool: 'x' }), /--ip-range "x" is not an IPv4 CIDR/);
    const { PoolID } = await ipam.requestPool({ Pool: '10.60.0.0/16', SubPool: '10.60.1.32/27' });
    await ipam.requestAddress({ PoolID, Options: { RequestAddressType: 'com.docker.network.gateway' } });
    // 10.60.1.0/26 holds the whole range but is another host's: no block of this host can serve it.
    await assert.rejects(ipam.requestAddress({ PoolID }), /--ip-range 10\.60\.1\.32\/27 of subnet 10\.60\.0\.0\/16 has no free address for this host/);
    assert.equal(c.claims, 0, 'no block outside the range was claimed');
    c.owners.delete('10.60.1.0/26');
    assert.equal((await ipam.requestAddress({ PoolID })).Address, '10.60.1.32/16');
    assert.equal((await ipam.requestAddress({ PoolID })).Address, '10.60.1.33/16');
    assert.deepEqual(ipam.state.pools['10.60.0.0/16'].blocks, ['10.60.1.0/26']);
    assert.equal((await ipam.requestAddress({ PoolID, Address: '10.60.7.7' })).Address, '10.60.7.7/16', '--ip outside the range, as Docker\'s IPAM allows');
    for (let k = 2; k < 32; k++) await ipam.requestAddress({ PoolID });
    await assert.rejects(ipam.requestAddress({ PoolID }), /has no free address for this host/, 'the 32 addresses of the /27 are used up');
  });

  it('gives every host the gateway the first host set, and refuses another one', async () => {
    const c = new FakeCoordinator();
    c.gateway = '10.60.0.1';
    const ipam = new ClusterIpam(path.join(dir, 'ipam.json'), c);
    const { PoolID } = await ipam.requestPool({ Pool: '10.60.0.0/16' });
    await assert.rejects(ipam.requestAddress({ PoolID, Address: '10.60.0.9', Options: { RequestAddressType: 'com.docker.network.gateway' } }), /gateway of multi-host subnet 10\.60\.0\.0\/16 is 10\.60\.0\.1/);
    await assert.rejects(ipam.requestPool({ Pool: 'fd00::/64', V6: true }), /IPv4 only/);
    await assert.rejects(ipam.requestPool({}), /--subnet/);
  });
});

describe('cluster: configuration', () => {
  it('is off without etcd, and explains bad values', () => {
    assert.equal(parseClusterConfig({}, {}), undefined);
    assert.deepEqual(parseClusterConfig({ etcd: 'http://a:2379,http://b:2379' }, {})!.endpoints, ['http://a:2379', 'http://b:2379']);
    assert.throws(() => parseClusterConfig({ etcd: 'a:2379' }, {}), /http:\/\/ or https:\/\//);
    assert.throws(() => parseClusterConfig({ etcd: 'http://a:2379', hostAddress: 'x' }, {}), /not an IPv4 address/);
    assert.throws(() => parseClusterConfig({ etcd: 'https://a:2379', etcdCert: '/c' }, {}), /go together/);
    assert.throws(() => parseClusterConfig({ etcd: 'https://a:2379', etcdCa: '/nonexistent/ca.pem' }, {}), /cannot read \/nonexistent\/ca.pem/);
    assert.equal(parseClusterConfig({}, { TSNET_ETCD: 'http://e:2379', TSNET_HOST_ADDRESS: '10.0.0.5' })!.hostAddress, '10.0.0.5');
  });
  it('compares the kernel with the view every 2 s unless TSNET_CLUSTER_CHECK_MS says otherwise', () => {
    assert.equal(parseClusterConfig({ etcd: 'http://e:2379' }, {})!.checkIntervalMs, 2000);
    assert.equal(parseClusterConfig({ etcd: 'http://e:2379' }, { TSNET_CLUSTER_CHECK_MS: '500' })!.checkIntervalMs, 500);
    assert.throws(() => parseClusterConfig({ etcd: 'http://e:2379' }, { TSNET_CLUSTER_CHECK_MS: '0' }), /TSNET_CLUSTER_CHECK_MS: "0" is not a whole number from 100 to 600000/);
  });
});

describe('cluster: firewall', () => {
  const net = { id: 'a'.repeat(64), bridge: 'tsn-aaaaaaaaaaa', subnets: [{ family: 4 as const, cidr: '10.60.0.0/16', gateway: '10.60.0.1' }], icc: true, masquerade: true, internal: false, clusterDevice: 'tsnet-vx' };
  it('lets only the network\'s own subnet in from the VXLAN link, and does not masquerade towards it', () => {
    const text = JSON.stringify(applyNetworkCommands(net, emptySnapshot()));
    assert.match(text, /"iifname"\}\},"right":"tsnet-vx"\}\},\{"match":\{"op":"==","left":\{"payload":\{"protocol":"ip","field":"saddr"\}\},"right":\{"prefix":\{"addr":"10.60.0.0","len":16\}\}\}\},\{"return":null\}/);
    assert.match(text, /"op":"!=","left":\{"meta":\{"key":"oifname"\}\},"right":"tsnet-vx"\}\},\{"masquerade":null\}/);
    const local = JSON.stringify(applyNetworkCommands({ ...net, clusterDevice: undefined }, emptySnapshot()));
    assert.doesNotMatch(local, /tsnet-vx/);
  });
  it('drops VXLAN from addresses outside the known hosts\' set', () => {
    const cmds = JSON.stringify(underlayCommands(8472, ['172.30.250.12', '172.30.250.11']));
    assert.match(cmds, /"dport"\}\},"right":8472\}\},\{"match":\{"op":"!=","left":\{"payload":\{"protocol":"ip","field":"saddr"\}\},"right":"@vteps"\}\},\{"counter":null\},\{"drop":null\}/);
    assert.match(cmds, /"elem":\["172.30.250.11","172.30.250.12"\]/);
  });
});

describe('cluster: the tsnet.cluster option', () => {
  const req = (generic: Record<string, string>, v6 = false) => ({
    NetworkID: 'f'.repeat(64),
    Options: { 'com.docker.network.generic': generic, ...(v6 ? { 'com.docker.network.enable_ipv6': true } : {}) },
    IPv4Data: [{ Pool: '10.60.0.0/16', Gateway: '10.60.0.1/16' }],
    IPv6Data: v6 ? [{ Pool: 'fd00:60::/64', Gateway: 'fd00:60::1/64' }] : [],
  });
  it('names a multi-host network; a local network has none', () => {
    assert.equal(parseNetworkRequest(req({ 'tsnet.cluster': 'prod-a' })).cluster, 'prod-a');
    assert.equal(parseNetworkRequest(req({})).cluster, undefined);
  });
  it('refuses a bad name and IPv6, saying what is accepted', () => {
    assert.throws(() => parseNetworkRequest(req({ 'tsnet.cluster': 'bad name' })), /not a multi-host network name; use 1 to 63 letters/);
    assert.throws(() => parseNetworkRequest(req({ 'tsnet.cluster': 'x' }, true)), /IPv4 only/);
  });
});

describe('cluster: status report', () => {
  it('passes the CLI\'s schema check and is printed by tsnet status', async () => {
    const { parseStatusReport, VXLAN_LINK } = await import('@tsnet/shared');
    const { formatStatus } = await import('@tsnet/driver/dist/cli/format');
    const { VERSION } = await import('@tsnet/driver/dist/version');
    const report = {
      version: VERSION, pid: 1, startedAt: new Date().toISOString(), uptimeSeconds: 5, pluginSocket: '/p.sock', stateDir: '/s', firewallBackend: 'nftables' as const, networks: [], calls: {}, warnings: [],
      cluster: {
        etcd: { endpoints: ['http://e:2379'], healthy: true }, vxlan: { link: VXLAN_LINK, vni: 7476, port: 8472, mtu: 1450, containerMtu: 1450 }, self: '10.0.0.1',
        hosts: [{ address: '10.0.0.1', hostname: 'a', vtepMac: vtepMac('10.0.0.1'), leaseAgeSeconds: 3, blocks: ['10.60.0.0/26'], self: true }],
        pools: [{ cidr: '10.60.0.0/16', gateway: '10.60.0.1', ownBlocks: ['10.60.0.0/26'], allocated: 1 }], remoteRoutes: ['10.60.0.64/26 via 10.0.0.2'], allowedVteps: ['10.0.0.1', '10.0.0.2'],
      },
    };
    const parsed = parseStatusReport(JSON.parse(JSON.stringify(report)), '/s.sock', VERSION);
    const text = formatStatus(parsed);
    assert.match(text, /CLUSTER {2}etcd http:\/\/e:2379 healthy/);
    assert.match(text, /10\.60\.0\.64\/26 via 10\.0\.0\.2/);
  });
});

describe('cluster: tsnet inspect marks remote peers', () => {
  const net = {
    id: 'n'.repeat(64), bridge: 'tsn-x', bridgeAdopted: false, present: true, firewall: [], createdAt: '',
    subnets: [{ family: 4 as const, subnet: '10.60.0.0/16', gateway: '10.60.0.1' }],
    options: { icc: true, masquerade: true, internal: false, ipv6: false, containerIfacePrefix: 'eth', raw: { 'tsnet.cluster': 'mh' } },
    endpoints: [{ id: 'e'.repeat(64), networkId: 'n'.repeat(64), hostVeth: 'v1', containerVeth: 'c1', mac: '02:00:00:00:00:01', ipv4: '10.60.0.2/16', joined: true, ports: [], present: true }],
  };
  const status = {
    cluster: {
      vxlan: { link: 'tsnet-vx' }, self: '192.0.2.11',
      hosts: [
        { address: '192.0.2.11', hostname: 'a', vtepMac: vtepMac('192.0.2.11'), leaseAgeSeconds: 1, blocks: ['10.60.0.0/26'], self: true },
        { address: '192.0.2.12', hostname: 'b', vtepMac: vtepMac('192.0.2.12'), leaseAgeSeconds: 1, blocks: ['10.60.0.64/26', '10.61.0.0/26'], self: false },
      ],
    },
  };
  it('reads the ARP cache, and locates each neighbour: gateway, local container, remote host and block, unknown', async () => {
    const { parseArp, locatePeer, remoteHostsOf } = await import('@tsnet/driver/dist/cli/inspect');
    const arp = parseArp(`IP address       HW type     Flags       HW address            Mask     Device
10.60.0.1        0x1         0x2         02:75:aa:bb:cc:dd     *        eth0
10.60.0.2        0x1         0x2         02:00:00:00:00:01     *        eth0
10.60.0.70       0x1         0x2         02:75:aa:bb:cc:dd     *        eth0
10.60.9.9        0x1         0x0         00:00:00:00:00:00     *        eth0
`);
    assert.equal(arp.length, 4);
    assert.equal(arp[3].mac, undefined, 'an unresolved entry has no MAC');
    const remote = remoteHostsOf(net as never, 'mh', status as never);
    assert.deepEqual(remote, [{ network: 'mh', host: '192.0.2.12', hostname: 'b', vtepMac: '02:74:c0:00:02:0c', via: 'tsnet-vx', blocks: ['10.60.0.64/26'] }]);
    const where = arp.map((e) => locatePeer(e, net as never, remote, new Map([['e'.repeat(64), 'web1']])));
    assert.deepEqual(where.map((w) => w.where), ['gateway', 'local', 'remote', 'unknown']);
    assert.equal(where[1].container, 'web1');
    assert.equal(where[2].remote!.host, '192.0.2.12');
    assert.equal(where[2].remote!.block, '10.60.0.64/26');
    assert.equal(remoteHostsOf({ ...net, options: { ...net.options, raw: {} } } as never, 'local', status as never).length, 0, 'a local network has no remote hosts');
  });
});

describe('cluster: etcd client options', () => {
  it('re-opens a dropped watch stream and connection within a second, however long etcd was away (the defaults back off to 30 s and 120 s)', () => {
    const cfg = parseClusterConfig({ etcd: 'http://127.0.0.1:2379' }, {});
    assert.ok(cfg);
    const opts = etcdOptions(cfg, () => true);
    const first = opts.faultHandling?.watchBackoff;
    assert.ok(first, 'no watch back-off set');
    // As etcd3's watch manager uses it: next() for each wait after the one before.
    let b = first.next(undefined);
    const delays: number[] = [];
    for (let i = 0; i < 200 && b; i++) {
      delays.push(b.duration);
      b = b.next(undefined) ?? b;
    }
    assert.equal(delays.length, 200);
    assert.ok(Math.max(...delays) <= WATCH_RECONNECT_MAX_MS, `longest wait ${Math.max(...delays)} ms`);
    assert.ok(WATCH_RECONNECT_MAX_MS <= 1000);
    assert.ok(delays.every((d) => d > 0));
    assert.equal(opts.grpcOptions?.['grpc.max_reconnect_backoff_ms'], WATCH_RECONNECT_MAX_MS, 'gRPC reconnects back off up to 120 s by default');
  });
});
