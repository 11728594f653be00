import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Store } from '@tsnet/driver/dist/state/store';
import { runSteps } from '@tsnet/driver/dist/core/steps';
import { KeyedQueue } from '@tsnet/driver/dist/core/queue';

describe('store (driver/state/store)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-unit-store-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts empty, saves atomically and loads what it saved', async () => {
    const a = new Store(dir);
    const { state, problems } = a.load();
    assert.deepEqual(problems, []);
    state.pending = ['tsvabc'];
    a.bind(() => state);
    await a.save();
    assert.deepEqual(new Store(dir).load().state.pending, ['tsvabc']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['state.json'], 'no temporary file is left');
  });

  it('coalesces concurrent saves into few writes', async () => {
    const s = new Store(dir);
    const { state } = s.load();
    let snapshots = 0;
    s.bind(() => {
      snapshots++;
      return state;
    });
    await Promise.all(Array.from({ length: 50 }, () => s.save()));
    assert.ok(snapshots <= 3, `${snapshots} writes for 50 saves`);
  });

  it('keeps a truncated file aside, says what it could not read, and starts empty', () => {
    fs.writeFileSync(path.join(dir, 'state.json'), '{"version":1,"networks":{"abc":{"con');
    const r = new Store(dir).load();
    assert.match(r.problems[0], /not valid JSON/);
    assert.ok(r.quarantinedTo && fs.existsSync(r.quarantinedTo));
    assert.deepEqual(r.state.networks, {});
    assert.equal(fs.existsSync(path.join(dir, 'state.json')), false);
  });

  it('drops only the records that are incomplete', () => {
    const good = { config: { bridge: 'tsn-a', ipv4: [] }, endpoints: { e1: { hostVeth: 'tsv1', ports: [] }, e2: { nope: 1 } } };
    fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ version: 1, networks: { a: good, b: { config: null } } }));
    const r = new Store(dir).load();
    assert.deepEqual(Object.keys(r.state.networks), ['a']);
    assert.deepEqual(Object.keys(r.state.networks.a.endpoints), ['e1']);
    assert.equal(r.problems.length, 2);
    assert.ok(r.problems.some((p) => /network b is incomplete/.test(p)));
    assert.ok(r.problems.some((p) => /endpoint e2 of network a/.test(p)));
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
