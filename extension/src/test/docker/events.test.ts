/**
 * The event watcher against the real dockerd: a burst of changes gives one debounced refresh, and
 * a lost stream reconnects and refreshes. Makes only `tstx-ev-*` networks and removes them.
 */
import * as assert from 'assert';
import Docker from 'dockerode';
import { DockerEventWatcher, isRelevantEvent } from '../../docker/events';
import type { Touched } from '../../docker/container-cache';
import { DockerClient } from '../../docker/client';

const PREFIX = 'tstx-ev-';
const docker = new Docker();

const IMAGE = 'tsnet-test-busybox:latest';

async function removeOurContainers(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: JSON.stringify({ name: [PREFIX] }) })) {
    if (c.Names.some((n) => n.startsWith(`/${PREFIX}`))) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  }
}

async function removeOurNetworks(): Promise<void> {
  await removeOurContainers();
  for (const n of await docker.listNetworks({ filters: JSON.stringify({ name: [PREFIX] }) })) {
    if (n.Name.startsWith(PREFIX)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
}

function waitFor(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

describe('docker events watcher (real dockerd)', function () {
  this.timeout(30_000);
  let watcher: DockerEventWatcher | undefined;
  const changes: string[] = [];
  const states: boolean[] = [];

  before(async () => {
    await docker.ping();
    await removeOurNetworks();
  });
  afterEach(() => watcher?.dispose());
  after(removeOurNetworks);

  it('picks the events that change the graph', () => {
    assert.ok(isRelevantEvent({ Type: 'network', Action: 'connect' }));
    assert.ok(isRelevantEvent({ Type: 'container', Action: 'die' }));
    assert.ok(!isRelevantEvent({ Type: 'container', Action: 'exec_start: sh' }));
    assert.ok(!isRelevantEvent({ Type: 'image', Action: 'pull' }));
  });

  it('debounces a burst into one refresh, and reconnects a lost stream', async () => {
    watcher = new DockerEventWatcher(docker, {
      debounceMs: 400,
      minReconnectMs: 200,
      onChange: (why) => changes.push(why),
      onState: (connected) => states.push(connected),
    });
    watcher.start();
    await waitFor('the stream', () => states.includes(true));

    await Promise.all([1, 2, 3].map((i) => docker.createNetwork({ Name: `${PREFIX}${i}`, CheckDuplicate: true })));
    await waitFor('a refresh', () => changes.length > 0);
    await new Promise((r) => setTimeout(r, 600));
    assert.strictEqual(changes.length, 1, `one refresh for the burst, got ${JSON.stringify(changes)}`);
    assert.match(changes[0], /network create/);

    // Lose the stream as a dockerd restart would.
    const stream = (watcher as unknown as { stream: { destroy(): void } }).stream;
    stream.destroy();
    await waitFor('the loss to be seen', () => states.includes(false));
    await waitFor('the refresh after reconnecting', () => changes.some((c) => c.includes('reconnected')));
    await waitFor('the stream again', () => states.lastIndexOf(true) > states.indexOf(false));
    const before = changes.length;
    await docker.getNetwork(`${PREFIX}1`).remove();
    await waitFor('events after the reconnect', () => changes.slice(before).some((c) => /network destroy/.test(c)));
  });

  it('names the containers a burst touched (container events and network connects); a reconnect touches all', async () => {
    await docker.getImage(IMAGE).inspect();
    const bursts: Touched[] = [];
    const seen: boolean[] = [];
    watcher = new DockerEventWatcher(docker, { debounceMs: 300, minReconnectMs: 200, onChange: (_why, touched) => bursts.push(touched), onState: (c) => seen.push(c) });
    watcher.start();
    await waitFor('the stream', () => seen.includes(true));
    await docker.createNetwork({ Name: `${PREFIX}touch`, CheckDuplicate: true });
    const c = await docker.createContainer({ Image: IMAGE, name: `${PREFIX}touch`, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: `${PREFIX}touch` } });
    await waitFor('the create burst', () => bursts.some((b) => b !== 'all' && b.has(c.id)));
    const other = await docker.createContainer({ Image: IMAGE, name: `${PREFIX}other`, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none' } });
    await waitFor('the other create', () => bursts.some((b) => b !== 'all' && b.has(other.id)));
    // A running container: Docker sends `network connect` for it at once (for a created one, only at start).
    const beforeStart = bursts.length;
    await c.start();
    await waitFor('the start burst', () => bursts.slice(beforeStart).some((b) => b !== 'all' && b.has(c.id)));
    await new Promise((r) => setTimeout(r, 500));
    const from = bursts.length;
    await docker.createNetwork({ Name: `${PREFIX}touch2`, CheckDuplicate: true }).then((n) => n.connect({ Container: c.id }));
    await waitFor('the connect burst', () => bursts.slice(from).some((b) => b !== 'all' && b.has(c.id)));
    assert.ok(bursts.slice(from).every((b) => b !== 'all' && !b.has(other.id)), 'the untouched container is not named');
    (watcher as unknown as { stream: { destroy(): void } }).stream.destroy();
    await waitFor('the full refresh after a reconnect', () => bursts.includes('all'));
  });

  it('a snapshot after a burst inspects only the touched containers (real dockerd)', async () => {
    await docker.getImage(IMAGE).inspect();
    const client = new DockerClient(docker);
    const full = await client.snapshot('all');
    assert.strictEqual(full.inspected, full.containers.length);
    const quiet = await client.snapshot(new Set());
    assert.strictEqual(quiet.inspected, 0, 'nothing changed: no inspect');
    const c = await docker.createContainer({ Image: IMAGE, name: `${PREFIX}snap`, Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none' } });
    const afterCreate = await client.snapshot(new Set([c.id]));
    assert.strictEqual(afterCreate.inspected, 1);
    assert.strictEqual(afterCreate.containers.find((x) => x.Id === c.id)?.State?.Status, 'created');
    await c.start();
    const afterStart = await client.snapshot(new Set([c.id]));
    assert.strictEqual(afterStart.inspected, 1);
    assert.strictEqual(afterStart.containers.find((x) => x.Id === c.id)?.State?.Running, true);
    await c.remove({ force: true });
    const afterRemove = await client.snapshot(new Set([c.id]));
    assert.strictEqual(afterRemove.inspected, 0);
    assert.ok(!afterRemove.containers.some((x) => x.Id === c.id));
  });
});
