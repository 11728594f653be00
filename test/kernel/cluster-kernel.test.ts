/**
 * The multi-host data plane against the real kernel, in a throw-away namespace: the VXLAN link,
 * FDB entries, neighbours and onlink routes, and convergence that keeps what is already right.
 */
import * as assert from 'node:assert/strict';
import { openClusterKernel, type ClusterKernel } from '@tsnet/driver/dist/cluster/kernel';
import { vtepMac } from '@tsnet/driver/dist/cluster/config';
import { createNetns, type TestNetns } from '../helpers/netns';

describe('cluster data plane (kernel, in a namespace)', function () {
  this.timeout(30_000);
  let ns: TestNetns;
  let k: ClusterKernel;
  const spec = { name: 'tsnet-vx', vni: 7476, local: '192.168.77.1', port: 8472, mtu: 1450, mac: vtepMac('192.168.77.1') };
  const peerB = { mac: vtepMac('192.168.77.2'), ip: '192.168.77.2' };
  const peerC = { mac: vtepMac('192.168.77.3'), ip: '192.168.77.3' };

  before(() => {
    ns = createNetns('vx');
    ns.exec('ip', ['link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1']);
    ns.exec('ip', ['addr', 'add', '192.168.77.1/24', 'dev', 'ul0']);
    ns.exec('ip', ['link', 'set', 'ul0', 'up']);
    k = openClusterKernel(ns.path);
  });
  after(async () => {
    await k?.close();
    ns?.cleanup();
  });

  it('creates the VXLAN link with VNI, port, local address, MTU and MAC, and keeps it when asked again', async () => {
    const idx = await k.ensureVxlan(spec);
    const d = ns.exec('ip', ['-d', 'link', 'show', 'tsnet-vx']);
    assert.match(d, /mtu 1450/);
    assert.match(d, new RegExp(`link/ether ${spec.mac}`));
    assert.match(d, /vxlan id 7476 local 192\.168\.77\.1 .*dstport 8472 .*nolearning/s);
    assert.equal(await k.ensureVxlan(spec), idx, 'same link, not re-created');
    assert.notEqual(await k.ensureVxlan({ ...spec, vni: 7477 }), undefined);
    assert.match(ns.exec('ip', ['-d', 'link', 'show', 'tsnet-vx']), /vxlan id 7477/);
    await k.ensureVxlan(spec);
  });

  it('programs one FDB entry, one neighbour and onlink routes per peer, and removes a peer\'s entries only', async () => {
    const r1 = await k.converge('tsnet-vx', {
      fdb: [{ mac: peerB.mac, dst: peerB.ip }, { mac: peerC.mac, dst: peerC.ip }],
      neighbours: [{ ip: peerB.ip, mac: peerB.mac }, { ip: peerC.ip, mac: peerC.mac }],
      routes: [{ dst: '10.60.0.64/26', gateway: peerB.ip }, { dst: '10.60.0.128/26', gateway: peerC.ip }, { dst: '10.60.1.0/26', gateway: peerC.ip }],
    });
    assert.deepEqual(r1, { added: 7, removed: 0, kept: 0 });
    const fdb = ns.exec('bridge', ['fdb', 'show', 'dev', 'tsnet-vx']);
    assert.match(fdb, new RegExp(`${peerB.mac} dst ${peerB.ip} self permanent`));
    assert.match(ns.exec('ip', ['neigh', 'show', 'dev', 'tsnet-vx']), new RegExp(`${peerC.ip} lladdr ${peerC.mac} PERMANENT`));
    const routes = ns.exec('ip', ['route']);
    assert.match(routes, /10\.60\.0\.64\/26 via 192\.168\.77\.2 dev tsnet-vx proto 116 onlink/);
    assert.match(routes, /10\.60\.1\.0\/26 via 192\.168\.77\.3 dev tsnet-vx proto 116 onlink/);

    // Host C is gone: only its entries go; B's are kept as they are.
    const r2 = await k.converge('tsnet-vx', { fdb: [{ mac: peerB.mac, dst: peerB.ip }], neighbours: [{ ip: peerB.ip, mac: peerB.mac }], routes: [{ dst: '10.60.0.64/26', gateway: peerB.ip }] });
    assert.deepEqual(r2, { added: 0, removed: 4, kept: 3 });
    assert.doesNotMatch(ns.exec('ip', ['route']), /192\.168\.77\.3/);
    assert.doesNotMatch(ns.exec('bridge', ['fdb', 'show', 'dev', 'tsnet-vx']), new RegExp(peerC.mac));
    assert.deepEqual(await k.converge('tsnet-vx', { fdb: [{ mac: peerB.mac, dst: peerB.ip }], neighbours: [{ ip: peerB.ip, mac: peerB.mac }], routes: [{ dst: '10.60.0.64/26', gateway: peerB.ip }] }), { added: 0, removed: 0, kept: 3 });
  });

  it('leaves routes that are not tsnet\'s alone', async () => {
    ns.exec('ip', ['route', 'add', '10.99.0.0/24', 'via', '192.168.77.9', 'dev', 'tsnet-vx', 'onlink']);
    await k.converge('tsnet-vx', { fdb: [], neighbours: [], routes: [] });
    assert.match(ns.exec('ip', ['route']), /10\.99\.0\.0\/24 via 192\.168\.77\.9/);
  });
});
