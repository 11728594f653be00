import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { JOURNAL_COMPACT_AFTER, Store } from '@tsnet/driver/dist/state/store';
import type { EndpointRecord, NetworkRecord } from '@tsnet/driver/dist/state/types';
import { runSteps } from '@tsnet/driver/dist/core/steps';
import { KeyedQueue, SharedExclusiveLock } from '@tsnet/driver/dist/core/queue';

describe('store (driver/state/store)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-store-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const net = (id: string) => ({ config: { id, bridge: `tsn-${id}`, ipv4: [], ipv6Subnets: [] }, bridgeAdopted: false, createdAt: 'x', endpoints: {} }) as never as NetworkRecord;
  const ep = (id: string, networkId: string) => ({ id, networkId, hostVeth: `tsv${id}`, containerVeth: `tsc${id}`, mac: '', joined: false, ports: [], createdAt: 'x' }) as EndpointRecord;

  it('starts empty, writes one file per object, and loads what it wrote', async () => {
    const a = new Store(dir);
    const { state, problems } = a.load();
    assert.deepEqual(problems, []);
    a.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    await a.journal('tsvabc');
    await a.close();
    await a.markNetworkDirty('n1').markEndpointDirty('e1').save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'networks')), ['n1.json']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')), ['e1.json']);
    const back = new Store(dir).load();
    assert.deepEqual(back.state.pending, ['tsvabc']);
    assert.deepEqual(Object.keys(back.state.networks.n1.endpoints), ['e1']);
    delete state.networks.n1.endpoints.e1;
    await a.markEndpointDirty('e1').save();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')), [], 'a removed object loses its file');
  });

  it('writes only what was marked, so a save does not grow with the number of endpoints', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    for (let i = 0; i < 200; i++) state.networks.n1.endpoints[`e${i}`] = ep(`e${i}`, 'n1');
    await s.markAllDirty().save();
    const before = fs.statSync(path.join(dir, 'endpoints', 'e5.json')).mtimeMs;
    state.networks.n1.endpoints.e7.joined = true;
    await new Promise((r) => setTimeout(r, 20));
    await s.markEndpointDirty('e7').save();
    assert.equal(fs.statSync(path.join(dir, 'endpoints', 'e5.json')).mtimeMs, before, 'an unmarked endpoint was rewritten');
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', 'e7.json'), 'utf8')).joined, true);
  });

  it('coalesces concurrent saves into few writes', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    let snapshots = 0;
    s.bind(() => {
      snapshots++;
      return state;
    });
    await Promise.all(Array.from({ length: 50 }, () => s.markNetworkDirty('n').save()));
    assert.ok(snapshots <= 3, `${snapshots} writes for 50 saves`);
  });

  it('journals link names with appends, ignores a torn last line, and is emptied at start', async () => {
    const s = new Store(dir);
    s.load();
    await Promise.all([s.journal('tsva'), s.journal('tsn-b')]);
    fs.appendFileSync(path.join(dir, 'journal.log'), '+tsvtor'.slice(0, 3));
    assert.deepEqual(new Store(dir).load().state.pending?.sort(), ['tsn-b', 'tsva']);
    await s.clearJournal();
    assert.deepEqual(new Store(dir).load().state.pending, []);
  });

  it('a "!name" line voids the "+name" before it (a foreign link the kernel refused); a later "+name" counts again', async () => {
    const s = new Store(dir);
    s.load();
    await s.journal('tsva');
    await s.journal('tsvb');
    await s.journalNotOurs('tsva');
    assert.deepEqual(new Store(dir).load().state.pending?.sort(), ['tsvb']);
    await s.journal('tsva');
    assert.deepEqual(new Store(dir).load().state.pending?.sort(), ['tsva', 'tsvb']);
    await s.close();
  });

  it('save({ durable: false }) has the endpoint file in place when it resolves, with no thread-pool trip; the fsyncs follow', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    await s.markNetworkDirty('n1').save();
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    let turned = false;
    setImmediate(() => (turned = true));
    const saving = s.markEndpointDirty('e1').save({ durable: false });
    // Written before the call returned: a kill -9 of the driver from here on cannot lose it.
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', 'e1.json'), 'utf8')).id, 'e1');
    await saving;
    assert.equal(turned, false, 'resolved without waiting for the event loop to turn');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'endpoints')), ['e1.json'], 'no temporary file left');
    // A later durable save waits for the background fsyncs too (group commit), then all is closed.
    await s.save();
    await s.close();
    assert.deepEqual(Object.keys(new Store(dir).load().state.networks.n1.endpoints), ['e1']);
    // A failure is the caller's at once (the record's ID cannot name a file).
    state.networks.n1.endpoints['../x'] = ep('../x', 'n1');
    await assert.rejects(s.markEndpointDirty('../x').save({ durable: false }), /cannot store an object with the ID/);
  });

  /** A store holding network n1 with endpoint e1 on disk, and a port map to give it. */
  async function storeWithEndpoint() {
    const s = new Store(dir);
    const { state } = s.load();
    s.bind(() => state);
    state.networks.n1 = net('n1');
    state.networks.n1.endpoints.e1 = ep('e1', 'n1');
    await s.markNetworkDirty('n1').markEndpointDirty('e1').save();
    const map = { proto: 'tcp', family: 4, hostIP: '0.0.0.0', hostPort: 8080, containerIP: '10.1.0.2', containerPort: 80, picked: false } as const;
    return { s, state, map };
  }

  it('a port-map line records new port maps before the endpoint file: the last one wins at load, a bad one is reported', async () => {
    const { s, state, map } = await storeWithEndpoint();
    const ports = [map, { ...map, proto: 'udp', hostPort: 5353 }] as EndpointRecord['ports'];
    state.networks.n1.endpoints.e1.ports = ports;
    s.journalPorts('e1', 'n1', ports);
    s.journalPorts('e9', 'n1', ports); // an endpoint no file holds: ignored at load
    // The file is not written yet (a kill -9 here): the line carries the port maps.
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', 'e1.json'), 'utf8')).ports, []);
    let back = new Store(dir).load();
    assert.deepEqual(back.problems, []);
    assert.deepEqual(back.state.networks.n1.endpoints.e1.ports, ports);
    assert.equal(Object.keys(back.state.networks.n1.endpoints).length, 1);
    // A later line (the ports revoked) wins over the earlier one.
    state.networks.n1.endpoints.e1.ports = [];
    s.journalPorts('e1', 'n1', []);
    assert.deepEqual(new Store(dir).load().state.networks.n1.endpoints.e1.ports, []);
    // A damaged line is reported; the file's port maps are used.
    fs.appendFileSync(path.join(dir, 'journal.log'), '=e1 n1 [{"proto":"icmp"}]\n');
    back = new Store(dir).load();
    assert.match(back.problems.join('\n'), /port-map line of endpoint e1 is not valid/);
    assert.deepEqual(back.state.networks.n1.endpoints.e1.ports, []);
    // An ID that cannot name a file is refused before anything is written.
    assert.throws(() => s.journalPorts('../x', 'n1', []), /cannot store an object/);
    await s.close();
  });

  it('compacting the journal drops port-map lines whose endpoint file is on disk', async () => {
    const { s, state, map } = await storeWithEndpoint();
    for (let i = 0; i < JOURNAL_COMPACT_AFTER; i++) {
      const ports = [{ ...map, hostPort: 10000 + i }];
      state.networks.n1.endpoints.e1.ports = ports;
      s.journalPorts('e1', 'n1', ports);
    }
    await s.close(); // waits for the compaction the threshold started
    const journal = fs.readFileSync(path.join(dir, 'journal.log'), 'utf8');
    assert.ok(!journal.includes('=e1'), journal);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'endpoints', 'e1.json'), 'utf8')).ports[0].hostPort, 10000 + JOURNAL_COMPACT_AFTER - 1);
    assert.equal(new Store(dir).load().state.networks.n1.endpoints.e1.ports[0].hostPort, 10000 + JOURNAL_COMPACT_AFTER - 1);
  });

  it('keeps a truncated file aside, says what it could not read, and loads the rest', () => {
    fs.mkdirSync(path.join(dir, 'networks'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'endpoints'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'networks', 'n1.json'), '{"config":{"id":"n1","bri');
    fs.writeFileSync(path.join(dir, 'networks', 'n2.json'), JSON.stringify(net('n2')));
    fs.writeFileSync(path.join(dir, 'endpoints', 'e1.json'), JSON.stringify(ep('e1', 'n1')));
    fs.writeFileSync(path.join(dir, 'endpoints', 'e2.json'), JSON.stringify({ id: 'e2' }));
    const r = new Store(dir).load();
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0], /networks\/n1\.json: not valid JSON/);
    assert.match(r.problems[1], /endpoints\/e2\.json: the endpoint record is incomplete/);
    assert.equal(r.quarantined.length, 2);
    for (const q of r.quarantined) assert.ok(fs.existsSync(q), q);
    assert.deepEqual(Object.keys(r.state.networks), ['n2']);
    assert.deepEqual(r.orphanEndpoints.map((e) => e.id), ['e1'], 'the endpoint of the damaged network waits for recovery');
  });
});

describe('steps with undo (driver/core/steps)', () => {
  it('undoes done steps in reverse order and rethrows the original error', async () => {
    const log: string[] = [];
    const step = (n: string, fail = false) => ({
      name: n,
      do: () => {
        if (fail) throw new Error(`${n} failed`);
        log.push(`do ${n}`);
      },
      undo: () => {
        log.push(`undo ${n}`);
      },
    });
    await assert.rejects(runSteps([step('a'), step('b'), step('c', true), step('d')]), /c failed/);
    assert.deepEqual(log, ['do a', 'do b', 'undo b', 'undo a']);
  });

  it('reports an undo that fails without hiding the original error', async () => {
    const undoErrors: string[] = [];
    await assert.rejects(
      runSteps(
        [
          { name: 'a', do: () => undefined, undo: () => { throw new Error('undo broke'); } },
          { name: 'b', do: () => { throw new Error('b failed'); } },
        ],
        (s, e) => undoErrors.push(`${s}: ${(e as Error).message}`),
      ),
      /b failed/,
    );
    assert.deepEqual(undoErrors, ['a: undo broke']);
  });
});

describe('keyed queue (driver/core/queue)', () => {
  it('serialises one key and runs different keys in parallel', async () => {
    const q = new KeyedQueue();
    const events: string[] = [];
    const job = (k: string, i: number, ms: number) => q.run(k, async () => {
      events.push(`start ${k}${i}`);
      await new Promise((r) => setTimeout(r, ms));
      events.push(`end ${k}${i}`);
    });
    await Promise.all([job('a', 1, 30), job('a', 2, 1), job('b', 1, 1)]);
    assert.ok(events.indexOf('end a1') < events.indexOf('start a2'), events.join(','));
    assert.ok(events.indexOf('end b1') < events.indexOf('end a1'), 'b ran while a1 waited');
  });

  it('goes on after a failed job', async () => {
    const q = new KeyedQueue();
    await assert.rejects(q.run('k', async () => { throw new Error('x'); }));
    assert.equal(await q.run('k', async () => 42), 42);
  });
});

describe('shared/exclusive lock (driver/core/queue)', () => {
  const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('runs shared holders together and an exclusive one alone, in arrival order', async () => {
    const lock = new SharedExclusiveLock();
    const events: string[] = [];
    const job = (name: string, exclusive: boolean, ms: number) =>
      (exclusive ? lock.exclusive.bind(lock) : lock.shared.bind(lock))('net', async () => {
        events.push(`start ${name}`);
        await tick(ms);
        events.push(`end ${name}`);
      });
    await Promise.all([job('create', true, 20), job('a', false, 20), job('b', false, 5), job('delete', true, 5), job('c', false, 1)]);
    const at = (e: string) => events.indexOf(e);
    assert.ok(at('end create') < at('start a') && at('end create') < at('start b'), events.join(','));
    assert.ok(at('start b') < at('end a'), 'a and b overlapped');
    assert.ok(at('end a') < at('start delete') && at('end b') < at('start delete'), 'delete waited for both');
    assert.ok(at('end delete') < at('start c'), 'c came after delete');
  });

  it('releases on failure', async () => {
    const lock = new SharedExclusiveLock();
    await assert.rejects(lock.exclusive('k', async () => { throw new Error('x'); }));
    assert.equal(await lock.exclusive('k', async () => 7), 7);
  });
});
