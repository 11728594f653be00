/**
 * The multi-host fast path's nftables table against the real kernel, in a throw-away namespace:
 * sync writes only what differs, packets of the endpoint's own address to a remote block take it
 * (counter, and they leave on the VXLAN stand-in), a forged source or a local address does not,
 * and chains nobody wants go.
 */
import * as assert from 'node:assert/strict';
import { FastPath } from '@tsnet/driver/dist/cluster/fast-path';
import type { FastPathWant } from '@tsnet/driver/dist/cluster/fast-path-rules';
import { NftWorker } from '@tsnet/driver/dist/firewall/nft';
import { createNetns, type TestNetns } from '../helpers/netns';

describe('multi-host fast path (kernel, libnftables in a namespace)', function () {
  this.timeout(30_000);
  let ns: TestNetns;
  let nft: NftWorker;
  let fp: FastPath;
  const idx = (name: string) => Number(ns.exec('cat', [`/sys/class/net/${name}/ifindex`]).trim());
  const txPackets = (name: string) => Number(ns.exec('cat', [`/sys/class/net/${name}/statistics/tx_packets`]).trim());
  const table = () => ns.exec('nft', ['list', 'table', 'netdev', 'tsnet-fast']);
  const epCounter = () => Number(/ep-fpveth0 \{[^}]*counter packets (\d+)/s.exec(table())?.[1] ?? NaN);
  // From the container side (fpc0) with source ADDR to DST, through a static neighbour (no ARP).
  const send = (src: string, dst: string) => {
    ns.exec('ip', ['neigh', 'replace', dst, 'lladdr', '02:00:00:00:00:09', 'dev', 'fpc0']);
    try {
      ns.exec('busybox', ['ping', '-c', '1', '-W', '1', '-I', src, dst]);
    } catch {
      /* no reply expected */
    }
  };
  let want: FastPathWant;

  before(async () => {
    ns = createNetns('fp');
    for (const [a, b] of [['fpvx', 'fpvxp'], ['fpveth0', 'fpc0'], ['fpbr', 'fpbrp']]) {
      ns.exec('ip', ['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      ns.exec('ip', ['link', 'set', a, 'up']);
      ns.exec('ip', ['link', 'set', b, 'up']);
    }
    ns.exec('ip', ['addr', 'add', '10.77.0.5/16', 'dev', 'fpc0']);
    ns.exec('ip', ['addr', 'add', '10.78.0.5/16', 'dev', 'fpc0']);
    nft = new NftWorker(ns.path);
    fp = new FastPath(nft);
    want = {
      vxlan: 'fpvx',
      vxlanIndex: idx('fpvx'),
      remote: [{ block: '10.77.0.64/26', via: '192.168.77.2' }, { block: '10.77.1.0/26', via: '192.168.77.3' }],
      networks: [{ bridge: 'fpbr', bridgeIndex: idx('fpbr'), subnet: '10.77.0.0/16', gateway: '10.77.0.1' }],
      endpoints: [{ veth: 'fpveth0', address: '10.77.0.5', subnet: '10.77.0.0/16', gateway: '10.77.0.1' }],
    };
  });
  after(async () => {
    await nft?.close();
    ns?.cleanup();
  });

  it('writes the map, the VXLAN-ingress rule and the endpoint chain, then nothing while they are right', async () => {
    assert.ok((await fp.sync(async () => want)) > 0);
    const t = table();
    assert.match(t, /10\.77\.0\.64\/26 : 192\.168\.77\.2/);
    assert.match(t, /10\.77\.1\.0\/26 : 192\.168\.77\.3/);
    assert.match(t, /chain vx-in \{\s*type filter hook ingress device "fpvx"/);
    assert.match(t, /ip saddr 10\.77\.0\.0\/16 ip daddr 10\.77\.0\.0\/16 ip daddr != \{ 10\.77\.0\.1, 10\.77\.255\.255 \} counter packets \d+ bytes \d+ fwd ip to ip daddr device "fpbr"/);
    assert.match(t, /chain ep-fpveth0 \{\s*type filter hook ingress device "fpveth0"/);
    assert.match(t, /ip saddr 10\.77\.0\.5 ip daddr 10\.77\.0\.0\/16 ip daddr != \{ 10\.77\.0\.1, 10\.77\.255\.255 \} counter packets \d+ bytes \d+ fwd ip to ip daddr map @remote4 device "fpvx"/);
    assert.equal(await fp.sync(async () => want), 0, 'a second sync writes nothing');
  });

  it('forwards the endpoint\'s own address to a remote block onto the VXLAN link; not a forged source, a local block or the gateway', async () => {
    ns.exec('ip', ['neigh', 'replace', '192.168.77.2', 'lladdr', '02:74:00:00:00:02', 'dev', 'fpvx', 'nud', 'permanent']);
    const c0 = epCounter();
    const tx0 = txPackets('fpvx');
    send('10.77.0.5', '10.77.0.70');
    assert.equal(epCounter(), c0 + 1, 'the rule matched');
    assert.ok(txPackets('fpvx') > tx0, 'the packet left on the VXLAN link');
    send('10.78.0.5', '10.77.0.71'); // forged: another subnet's source
    send('10.77.0.5', '10.77.0.9'); // a local address: its block is not in the map
    send('10.77.0.5', '10.77.0.1'); // the gateway
    assert.equal(epCounter(), c0 + 1, 'none of these took the fast path');
  });

  it('follows changes: a removed block, a re-created VXLAN link, an endpoint gone; removing an absent endpoint is no error', async () => {
    want = { ...want, remote: want.remote.slice(0, 1), vxlanIndex: want.vxlanIndex + 1000 };
    assert.ok((await fp.sync(async () => want)) > 0);
    assert.doesNotMatch(table(), /10\.77\.1\.0\/26/);
    assert.match(table(), new RegExp(`vx=${want.vxlanIndex}`), 'the endpoint rule was written again for the new ifindex');
    want = { ...want, endpoints: [] };
    await fp.sync(async () => want);
    assert.doesNotMatch(table(), /ep-fpveth0/);
    await fp.removeEndpoint('fpveth0');
    await fp.addEndpoint({ veth: 'fpveth0', address: '10.77.0.5', subnet: '10.77.0.0/16', gateway: '10.77.0.1' }, 'fpvx', idx('fpvx'));
    assert.match(table(), /chain ep-fpveth0/);
    await fp.removeEndpoint('fpveth0');
    assert.doesNotMatch(table(), /ep-fpveth0/);
    await fp.removeAll();
    assert.throws(() => table());
  });
});
