/** Veth deletion after DeleteEndpoint's reply: the journal line that makes it crash-safe, and the batching. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JOURNAL_COMPACT_AFTER, Store } from '@tsnet/driver/dist/state/store';
import type { EndpointRecord, NetworkRecord } from '@tsnet/driver/dist/state/types';
import { LinkReaper } from '@tsnet/driver/dist/core/link-reaper';

describe('deferred veth deletion', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-defer-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const net = (id: string) => ({ config: { id, bridge: `tsn-${id}`, ipv4: [], ipv6Subnets: [] }, bridgeAdopted: false, createdAt: 'x', endpoints: {} }) as never as NetworkRecord;
  const ep = (id: string, networkId: string) => ({ id, networkId, hostVeth: `tsv${id}`, containerVeth: `tsc${id}`, mac: '', joined: false, ports: [], createdAt: 'x' }) as EndpointRecord;

  it('a journalled deletion drops the endpoint at the next load, even if its file was never removed, and names its veth', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    state.networks.n1.endpoints.e2 = ep('e2', 'n1');
    await s.markNetworkDirty('n1').markEndpointDirty('e1').markEndpointDirty('e2').save();
    // The crash comes after the journal line and before the file's removal.
    await s.journalDeletion('e1', 'tsve1');
    await s.close();
    assert.ok(fs.existsSync(path.join(dir, 'endpoints', 'e1.json')), 'the file is still there (the crash window)');
    const back = new Store(dir).load();
    assert.deepEqual(Object.keys(back.state.networks.n1.endpoints), ['e2'], 'the deleted endpoint is gone, the other kept');
    assert.deepEqual(back.state.pending, ['tsve1', 'tsxe1'], 'its veth, under both names, is a leftover for reconcile');
    assert.deepEqual(back.state.deleting, ['tsve1', 'tsxe1']);
  });

  it('a journalled deletion names its network: the same endpoint ID created again on another network survives the next load', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n2 = net('n2');
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    await s.markNetworkDirty('n1').markNetworkDirty('n2').markEndpointDirty('e1').save();
    await s.journalDeletion('e1', 'tsve1', 'n1');
    delete state.networks.n1.endpoints.e1;
    state.networks.n2.endpoints.e1 = ep('e1', 'n2');
    await s.markEndpointDirty('e1').save();
    await s.close();
    const back = new Store(dir).load();
    assert.deepEqual(Object.keys(back.state.networks.n2.endpoints), ['e1'], 'the endpoint on the other network was dropped');
    assert.deepEqual(Object.keys(back.state.networks.n1.endpoints), []);
    assert.deepEqual(back.state.deleting, ['tsve1', 'tsxe1']);
  });

  it('parallel journal lines share one append (group commit) and all reach the disk', async () => {
    const s = new Store(dir);
    s.load();
    await Promise.all([s.journal('tsva'), s.journalDeletion('e1', 'tsvb'), s.journal('tsvc'), s.journalDeletion('e2', 'tsvd')]);
    await s.close();
    const lines = fs.readFileSync(path.join(dir, 'journal.log'), 'utf8');
    assert.equal(lines, '+tsva\n-e1 tsvb\n+tsvc\n-e2 tsvd\n');
  });

  it('compacts the journal to the lines still needed, after the files they cover are on disk', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n1.endpoints.live = ep('live', 'n1');
    await s.markNetworkDirty('n1').markEndpointDirty('live').save();
    // Creations journal their link and keep it pending until its record is on disk.
    state.pending = ['tsvcreating', 'tsvnext'];
    const ids = Array.from({ length: JOURNAL_COMPACT_AFTER + 10 }, (_, i) => String(i).padStart(64, 'e'));
    const veth = (id: string) => `tsv${id.slice(-11)}`;
    await Promise.all([...ids.map((id) => s.journalDeletion(id, veth(id))), s.journal('tsvcreating')]);
    for (const id of ids.slice(1)) s.deletionDone(id, veth(id));
    s.markEndpointDirty(ids[0]); // a removal whose file has not been written yet
    for (let i = 0; i < JOURNAL_COMPACT_AFTER; i++) await s.journal('tsvnext'); // past the limit again: compacts
    await s.close();
    const text = fs.readFileSync(path.join(dir, 'journal.log'), 'utf8');
    const lines = text.split('\n').filter(Boolean);
    assert.ok(lines.length < JOURNAL_COMPACT_AFTER, `${lines.length} lines: not compacted`);
    assert.deepEqual([...new Set(lines)].sort(), ['+tsvcreating', '+tsvnext', `-${ids[0]} ${veth(ids[0])}`], 'only lines whose work is unfinished remain');
    const back = new Store(dir).load();
    assert.deepEqual(Object.keys(back.state.networks.n1.endpoints), ['live']);
    assert.deepEqual(back.state.pending?.sort(), ['tsvcreating', veth(ids[0]), `tsx${veth(ids[0]).slice(3)}`, 'tsvnext'].sort());
  });

  it('refuses an endpoint ID that could not be read back', async () => {
    const s = new Store(dir);
    s.load();
    assert.throws(() => s.journalDeletion('../x', 'tsvx'), /cannot store an object with the ID/);
  });

  it('deletes links queued together in one kernel call, and each caller learns when its link is gone', async () => {
    const calls: string[][] = [];
    const reaper = new LinkReaper({ deleteLinks: async (names) => (calls.push(names), []) });
    await Promise.all(['tsv1', 'tsv2', 'tsv3'].map((n) => reaper.delete(n)));
    assert.deepEqual(calls, [['tsv1', 'tsv2', 'tsv3']]);
    await reaper.delete('tsv4');
    assert.deepEqual(calls[1], ['tsv4']);
  });

  it('a failed batch is retried link by link, so one bad name does not keep the others', async () => {
    const gone: string[] = [];
    const reaper = new LinkReaper({
      deleteLinks: async (names) => {
        if (names.includes('tsvbad')) throw new Error('kernel said no');
        gone.push(...names);
        return [];
      },
    });
    const results = await Promise.allSettled(['tsv1', 'tsvbad', 'tsv2'].map((n) => reaper.delete(n)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(gone, ['tsv1', 'tsv2']);
  });
});
