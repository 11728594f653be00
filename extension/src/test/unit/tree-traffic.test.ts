import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { LinkStatsReport } from '@tsnet/shared';
import type { NetworkGraph } from '../../docker/model-types';
import { TrafficSampler, TRAFFIC_INTERVAL_MS } from '../../topology/traffic';
import type { LinkRate } from '../../topology/link-rates';
import { formatPacketRate, hasTrouble, rateSummary } from '../../topology/link-rates';
import { followVisibility, rowTraffic, TreeTraffic } from '../../tree/traffic-rows';

const rate = (n: Partial<LinkRate> = {}): LinkRate => ({ rxBps: 0, txBps: 0, rxPps: 0, txPps: 0, dropped: 0, errors: 0, ...n });
const busy = rate({ rxBps: 12_345, txBps: 800, rxPps: 10, txPps: 9.5 });

describe('live traffic in the Networks tree', () => {
  it('a busy link: rx/tx bytes/s and packets/s in the description, the same in the tooltip, no highlight', () => {
    const t = rowTraffic('veth1', busy);
    assert.ok(t);
    assert.strictEqual(t.description, '↓12.3 KB/s 10 pkt/s ↑800 B/s 9.5 pkt/s');
    assert.strictEqual(t.trouble, false);
    assert.strictEqual(t.tooltip, ['**Traffic** on `veth1` (the host\'s counters, last sample):', '- Received: 12.3 KB/s, 10 pkt/s', '- Sent: 800 B/s, 9.5 pkt/s'].join('\n'));
  });

  it('an idle clean link shows nothing; drops or errors show (and highlight) even when idle', () => {
    assert.strictEqual(rowTraffic('veth1', undefined), undefined);
    assert.strictEqual(rowTraffic('veth1', rate({ rxPps: 1, rxBps: 90 })), undefined, 'below 2 packets/s is not traffic');
    const t = rowTraffic('tsn-a', rate({ rxPps: 1, dropped: 3, errors: 1 }));
    assert.ok(t);
    assert.strictEqual(t.trouble, true);
    assert.strictEqual(t.description, '↓0 B/s 1.0 pkt/s ↑0 B/s 0 pkt/s · 3 dropped · 1 error');
    assert.match(t.tooltip, /\*\*3 dropped, 1 error\*\* in the interval/);
  });

  it('escapes the link name in the Markdown tooltip', () => {
    assert.match(rowTraffic('a`b', busy)?.tooltip ?? '', /on ``a`b`` \(/);
  });

  it('formats packet rates and shares drop/error and summary wording with the picture', () => {
    assert.deepStrictEqual([0, 0.5, 9.94, 10, 1234.4].map(formatPacketRate), ['0 pkt/s', '0.5 pkt/s', '9.9 pkt/s', '10 pkt/s', '1234 pkt/s']);
    assert.strictEqual(hasTrouble(rate({ errors: 1 })), true);
    assert.strictEqual(hasTrouble(rate()), false);
    assert.strictEqual(rateSummary(rate({ rxBps: 2000, txBps: 5, dropped: 2 })), '↓2.0 KB/s ↑5 B/s · 2 dropped');
  });

  it('after a sample, returns only the rows whose text changed (not the whole tree)', () => {
    const tt = new TreeTraffic<{ row: string }>();
    const bridge = tt.track('tsn-a', { row: 'network a' });
    const web = tt.track('veth-web', { row: 'web on a' });
    const db = tt.track('veth-db', { row: 'db on a' });
    tt.track(undefined, { row: 'no link name known' });
    assert.deepStrictEqual(tt.update({ 'veth-web': rate({ rxPps: 0.5 }), 'veth-db': rate() }), [], 'idle links: nothing to re-render');
    const first = tt.update({ 'tsn-a': busy, 'veth-web': busy, 'veth-db': rate(), 'veth-untracked': busy });
    assert.deepStrictEqual(first, [bridge, web], 'the busy rows only; a link without a row is not a row');
    assert.strictEqual(first[0], bridge, 'the very objects getChildren returned (VS Code matches change events by identity)');
    assert.strictEqual(tt.of('veth-web')?.description, rowTraffic('veth-web', busy)?.description);
    assert.strictEqual(tt.of('veth-db'), undefined);
    assert.strictEqual(tt.of(undefined), undefined);
    // Same text after rounding: no event. A changed rate on one row: that row alone.
    assert.deepStrictEqual(tt.update({ 'tsn-a': busy, 'veth-web': { ...busy, rxBps: 12_349 } }), []);
    assert.deepStrictEqual(tt.update({ 'tsn-a': busy, 'veth-web': { ...busy, rxBps: 50_000 } }), [web]);
    // Drops on db while idle: db highlighted; traffic stops on the bridge: its rate goes.
    assert.deepStrictEqual(tt.update({ 'veth-web': { ...busy, rxBps: 50_000 }, 'veth-db': rate({ dropped: 1 }) }), [bridge, db]);
    assert.strictEqual(tt.of('veth-db')?.trouble, true);
    assert.strictEqual(tt.of('tsn-a'), undefined);
    // Hidden view / driver gone: every row that showed something, then nothing.
    assert.deepStrictEqual(tt.clear(), [web, db]);
    assert.deepStrictEqual(tt.clear(), []);
  });

  it('after a full refresh, change events name the new row objects, and old rows are not kept', () => {
    const tt = new TreeTraffic<{ row: string }>();
    tt.track('veth-web', { row: 'old' });
    tt.forgetRows();
    assert.deepStrictEqual(tt.update({ 'veth-web': busy }), [], 'rows not yet made again: the text is kept for them');
    assert.ok(tt.of('veth-web'), 'getTreeItem of the new row reads it');
    const fresh = tt.track('veth-web', { row: 'new' });
    assert.deepStrictEqual(tt.update({}), [fresh]);
  });
});

describe('Networks view traffic follows the view\'s visibility (real sampler, a status socket serving GET /links)', () => {
  let dir: string;
  let server: http.Server;
  const requests: string[] = [];
  let bytes = 0;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-tree-traffic-'));
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      bytes += 20_000; // 10 KB/s at one request per 2 s
      const report: LinkStatsReport = { at: new Date().toISOString(), links: [{ name: 'veth-web', rxBytes: bytes, txBytes: bytes, rxPackets: bytes / 1000, txPackets: bytes / 1000, rxDropped: 0, txDropped: 0, rxErrors: 0, txErrors: 0 }] };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(report));
    });
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'status.sock'), resolve));
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('visible: samples every 2 s and the row gets its rate; hidden: no more requests and the rate is cleared', async function () {
    this.timeout(15_000);
    const tt = new TreeTraffic<{ row: string }>();
    const web = tt.track('veth-web', { row: 'web' });
    const fired: { row: string }[][] = [];
    const graph = { networks: [], endpoints: [{ hostVeth: 'veth-web' }] } as unknown as NetworkGraph;
    const sampler = new TrafficSampler(() => path.join(dir, 'status.sock'), () => graph, (rates) => fired.push(tt.update(rates)));
    const clear = () => fired.push(tt.clear());
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      followVisibility(true, sampler, clear);
      const deadline = Date.now() + 3 * TRAFFIC_INTERVAL_MS;
      while (!fired.length && Date.now() < deadline) await sleep(50);
      assert.strictEqual(requests.length, 2, 'one sample at once, the next one interval later gives the first rate');
      assert.strictEqual(requests[0], '/links?names=veth-web');
      assert.deepStrictEqual(fired, [[web]], 'the second sample gives a rate: the web row changes');
      assert.match(tt.of('veth-web')?.description ?? '', /^↓[\d.]+ KB\/s [\d.]+ pkt\/s ↑[\d.]+ KB\/s [\d.]+ pkt\/s$/);
      followVisibility(false, sampler, clear);
      assert.deepStrictEqual(fired[1], [web], 'hidden: the row loses its rate');
      assert.strictEqual(tt.of('veth-web'), undefined);
      const before = requests.length;
      await sleep(TRAFFIC_INTERVAL_MS + 500);
      assert.strictEqual(requests.length, before, 'no sampling while hidden');
      followVisibility(true, sampler, clear);
      while (requests.length === before && Date.now() < deadline + 2 * TRAFFIC_INTERVAL_MS) await sleep(50);
      assert.strictEqual(requests.length, before + 1, 'visible again: sampling resumes');
    } finally {
      sampler.stop();
    }
  });
});
