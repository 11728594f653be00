import * as assert from 'assert';
import type { LinkStats, LinkStatsReport } from '@tsnet/shared';
import { formatRate, isActive, linkRates } from '../../topology/link-rates';
import { trafficLinks } from '../../topology/traffic';
import type { NetworkGraph } from '../../docker/model-types';

const link = (name: string, n: Partial<LinkStats> = {}): LinkStats => ({ name, rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0, rxErrors: 0, txErrors: 0, ...n });
const sample = (at: number, links: LinkStats[]): LinkStatsReport => ({ at: new Date(at).toISOString(), links });

describe('live traffic rates', () => {
  it('bytes and packets per second over the interval; drops and errors as counts', () => {
    const r = linkRates(
      sample(0, [link('veth1', { rxBytes: 1000, txBytes: 0, rxPackets: 10, rxDropped: 1 })]),
      sample(2000, [link('veth1', { rxBytes: 5000, txBytes: 2000, rxPackets: 30, txPackets: 4, rxDropped: 3, txErrors: 1 })]),
    );
    assert.deepStrictEqual(r.veth1, { rxBps: 2000, txBps: 1000, rxPps: 10, txPps: 2, dropped: 2, errors: 1 });
    assert.strictEqual(isActive(r.veth1), true);
  });

  it('leaves out links that appeared, vanished or were re-created (counters went back), and idle links are not active', () => {
    const r = linkRates(
      sample(0, [link('gone'), link('again', { rxBytes: 9000 }), link('idle', { rxPackets: 100 })]),
      sample(2000, [link('new'), link('again', { rxBytes: 10 }), link('idle', { rxPackets: 102 })]),
    );
    assert.deepStrictEqual(Object.keys(r).sort(), ['idle']);
    assert.strictEqual(isActive(r.idle), false, '1 packet/s (neighbour discovery and the like) is not traffic');
    assert.strictEqual(Object.keys(linkRates(sample(5, []), sample(5, []))).length, 0, 'no interval: no rates');
  });

  it('a link named like an Object.prototype member is just a link', () => {
    const r = linkRates(sample(0, [link('constructor')]), sample(1000, [link('constructor', { rxBytes: 10 })]));
    assert.strictEqual(r['constructor' as string].rxBps, 10);
    assert.strictEqual(Object.getPrototypeOf(r), null);
  });

  it('formats rates', () => {
    assert.deepStrictEqual([0, 999, 1000, 12_345, 1_500_000, 250_000_000].map(formatRate), ['0 B/s', '999 B/s', '1.0 KB/s', '12.3 KB/s', '1.5 MB/s', '250 MB/s']);
  });

  it('samples every bridge and every host-side veth of the graph', () => {
    const g = { networks: [{ bridge: 'tsn-aaa' }, { bridge: undefined }, { bridge: 'br-1' }], endpoints: [{ hostVeth: 'vethx' }, {}, { hostVeth: 'vethy' }] } as unknown as NetworkGraph;
    assert.deepStrictEqual(trafficLinks(g), ['br-1', 'tsn-aaa', 'vethx', 'vethy']);
    assert.deepStrictEqual(trafficLinks(undefined), []);
  });
});
