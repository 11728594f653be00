/**
 * The event watcher against the real dockerd: a burst of changes gives one debounced refresh, and
 * a lost stream reconnects and refreshes. Makes only `tstx-ev-*` networks and removes them.
 */
import * as assert from 'assert';
import Docker from 'dockerode';
import { DockerEventWatcher, isRelevantEvent } from '../../docker/events';

const PREFIX = 'tstx-ev-';
const docker = new Docker();

async function removeOurNetworks(): Promise<void> {
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
});
