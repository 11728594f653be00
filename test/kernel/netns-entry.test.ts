/**
 * Issue 13 items 11 and 13, the netlink worker: it enters the namespace whose inode the caller
 * recorded (never whatever the path holds by the time it opens it), and closing a handle
 * releases every socket it opened, the sock_diag one included.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { openNetlink } from '@tsnet/driver/dist/netlink';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

/** Netlink sockets this process holds (all threads share the descriptor table). */
function netlinkSockets(): number {
  const inodes = new Set(
    fs
      .readFileSync('/proc/net/netlink', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[9])
      .filter(Boolean),
  );
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1])) n++;
  }
  return n;
}

describe('netlink worker: namespace entry and socket release (kernel, test namespaces)', function () {
  this.timeout(60_000);
  const made: TestNetns[] = [];
  before(() => requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root'));
  after(() => {
    for (const ns of made) ns.cleanup();
  });

  it('closing a handle releases its sock_diag socket too', async () => {
    // A handle in this process's namespace, where /proc/net/netlink (read by this thread) lists its sockets.
    // One round first: a process's first worker thread may open descriptors it keeps.
    const warm = await openNetlink();
    await warm.listSockets();
    await warm.close();
    const before = fs.readdirSync('/proc/self/fd').length;
    const baseline = netlinkSockets();
    for (let i = 0; i < 5; i++) {
      const h = await openNetlink();
      await h.listSockets();
      await h.listLinks();
      await h.close();
    }
    assert.equal(netlinkSockets(), baseline, 'netlink sockets left open after close');
    assert.equal(fs.readdirSync('/proc/self/fd').length, before, 'descriptors left open after close');
  });

  it('works in the namespace whose inode was recorded', async () => {
    const ns = createNetns('ino');
    made.push(ns);
    const ino = fs.statSync(ns.path).ino;
    const h = await openNetlink({ netnsPath: ns.path, netnsInode: ino });
    try {
      assert.deepEqual((await h.listLinks()).map((l) => l.name), ['lo']);
    } finally {
      await h.close();
    }
  });

  it('refuses a path that holds another namespace than the one recorded (re-created under the same name)', async () => {
    const ns = createNetns('swap');
    made.push(ns);
    const recorded = fs.statSync(ns.path).ino;
    // The namespace goes away and another takes its path, as a PID reused after a container exits.
    execFileSync('ip', ['netns', 'del', ns.name]);
    execFileSync('ip', ['netns', 'add', ns.name]);
    execFileSync('ip', ['-n', ns.name, 'link', 'add', 'tsx-intruder', 'type', 'veth', 'peer', 'name', 'tsx-peer']);
    const now = fs.statSync(ns.path).ino;
    assert.notEqual(now, recorded);
    await assert.rejects(
      openNetlink({ netnsPath: ns.path, netnsInode: recorded }),
      (e: Error) => e.message.includes(`${ns.path} now holds network namespace net:[${now}], not net:[${recorded}] that was looked up`),
    );
  });
});
