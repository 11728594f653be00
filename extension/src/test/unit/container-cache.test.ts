import * as assert from 'assert';
import { ContainerCache, type ContainerListEntry } from '../../docker/container-cache';
import type { DockerContainer } from '../../docker/docker-types';

const entry = (id: string, extra: Partial<ContainerListEntry> = {}): ContainerListEntry => ({ Id: id, Names: [`/${id}`], State: 'running', NetworkSettings: { Networks: { n: { IPAddress: '10.0.0.2' } } }, ...extra });

describe('ContainerCache: inspect only what changed', () => {
  let calls: string[];
  let version: number;
  const inspect = async (id: string): Promise<DockerContainer | undefined> => {
    calls.push(id);
    return id.startsWith('gone') ? undefined : ({ Id: id, Name: `/${id}`, Config: { Labels: { v: String(version) } } } as DockerContainer);
  };
  beforeEach(() => {
    calls = [];
    version = 1;
  });

  it('inspects everything the first time and on a full refresh, nothing when nothing changed', async () => {
    const cache = new ContainerCache();
    const list = Array.from({ length: 50 }, (_, i) => entry(`c${i}`));
    const first = await cache.update(list, new Set(), inspect);
    assert.strictEqual(first.inspected, 50);
    assert.strictEqual(first.containers.length, 50);
    calls = [];
    const again = await cache.update(list, new Set(), inspect);
    assert.strictEqual(again.inspected, 0);
    assert.deepStrictEqual(calls, []);
    assert.strictEqual(again.containers.length, 50);
    assert.strictEqual((await cache.update(list, 'all', inspect)).inspected, 50);
  });

  it('re-inspects touched containers, new ones and those whose list entry changed; drops removed ones', async () => {
    const cache = new ContainerCache();
    await cache.update([entry('a'), entry('b'), entry('c'), entry('d')], new Set(), inspect);
    calls = [];
    version = 2;
    const list = [entry('a'), entry('b', { State: 'exited' }), entry('c'), entry('e'), entry('gone1')];
    const r = await cache.update(list, new Set(['a']), inspect);
    assert.deepStrictEqual(calls.sort(), ['a', 'b', 'e', 'gone1']);
    assert.deepStrictEqual(r.containers.map((c) => c.Id), ['a', 'b', 'c', 'e']);
    assert.strictEqual(r.containers.find((c) => c.Id === 'a')!.Config!.Labels!.v, '2');
    assert.strictEqual(r.containers.find((c) => c.Id === 'c')!.Config!.Labels!.v, '1', 'c untouched: the cached inspect');
    assert.strictEqual(cache.size, 4, 'd (removed) and gone1 (removed before its inspect) are not kept');
  });

  it('a changed network attachment in the list is a change', async () => {
    const cache = new ContainerCache();
    await cache.update([entry('a')], new Set(), inspect);
    calls = [];
    await cache.update([entry('a', { NetworkSettings: { Networks: { n: { IPAddress: '10.0.0.2' }, m: { IPAddress: '10.1.0.2' } } } })], new Set(), inspect);
    assert.deepStrictEqual(calls, ['a']);
  });
});
