/**
 * One rule for a dead worker, the netlink one and the libnftables one alike (driver/src/worker):
 * killed mid-call, every call in flight fails at once with a WorkerDiedError naming the call and
 * saying its effect is not known, and the next call starts a fresh worker in the same namespace
 * (entered with the same inode check). Run in throw-away namespaces.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createFirewall, type TsnetFirewall } from '@tsnet/driver/dist/firewall';
import type { NftWorker } from '@tsnet/driver/dist/firewall/nft';
import { openClusterKernel } from '@tsnet/driver/dist/cluster/kernel';
import { openNetlink } from '@tsnet/driver/dist/netlink';
import type { WorkerHandle } from '@tsnet/driver/dist/netlink/handle';
import { WorkerDiedError } from '@tsnet/driver/dist/worker/client';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

/** Settles every promise; returns the values and errors in order. */
async function outcomes<T>(calls: Promise<T>[]): Promise<({ ok: true; value: T } | { ok: false; error: unknown })[]> {
  return Promise.all(calls.map((p) => p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))));
}

/** The calls that failed because the worker was killed: at least one, each a WorkerDiedError whose message matches. */
function diedInFlight(results: Awaited<ReturnType<typeof outcomes>>, message: RegExp): WorkerDiedError[] {
  const died = results.flatMap((r) => (r.ok ? [] : [r.error]));
  assert.ok(died.length > 0, 'some calls were still in flight when the worker was killed');
  for (const e of died) {
    assert.ok(e instanceof WorkerDiedError, String(e));
    assert.match(e.message, message);
  }
  return died as WorkerDiedError[];
}

describe('worker RPC: a worker killed mid-call (kernel, test namespaces)', function () {
  this.timeout(60_000);
  const made: TestNetns[] = [];
  before(() => requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root'));
  after(() => {
    for (const ns of made) ns.cleanup();
  });

  it('netlink: calls in flight fail with WorkerDiedError, the next call runs in a fresh worker in the same namespace', async () => {
    const ns = createNetns('wdn');
    made.push(ns);
    const h = (await openNetlink({ netnsPath: ns.path, netnsInode: fs.statSync(ns.path).ino })) as WorkerHandle;
    try {
      const names = Array.from({ length: 24 }, (_, i) => `tsx-wd${i}`);
      for (const n of names) await h.createVeth(n, `${n}p`);
      // Deleting a veth takes the kernel ~15 ms: the worker is inside one of these when it is killed.
      let killed: Promise<void> | undefined;
      const calls = names.map((n) => h.deleteLink(n).finally(() => (killed ??= h.rpc.terminate())));
      const results = await outcomes(calls);
      await killed;
      const died = diedInFlight(results, new RegExp(`^netlink worker \\(${ns.path}\\) exited with code \\d+ during deleteLink; whether deleteLink took effect is not known; the next call starts the worker again$`));
      for (const e of died) assert.equal(e.method, 'deleteLink');
      // The next call starts a new worker, in the test namespace (not the host's): it sees exactly what is left there.
      const left = (await h.listLinks()).map((l) => l.name).filter((n) => n.startsWith('tsx-wd'));
      const seen = ns.exec('ip', ['-o', 'link', 'show']).split('\n').map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1]).filter((n): n is string => !!n && n.startsWith('tsx-wd'));
      assert.deepEqual(left.sort(), seen.sort());
      assert.ok(left.length >= died.length - 1, `calls that failed left their veth (at most one was under way): ${left.length} left, ${died.length} failed`);
      assert.equal(h.rpc.restarts, 1);
      for (const n of left.filter((l) => !l.endsWith('p'))) await h.deleteLink(n);
      assert.deepEqual((await h.listLinks()).map((l) => l.name), ['lo']);
    } finally {
      await h.close();
    }
  });

  it('netlink: the restarted worker keeps the inode check (a namespace re-created at the path is refused)', async () => {
    const ns = createNetns('wdi');
    made.push(ns);
    const recorded = fs.statSync(ns.path).ino;
    const h = (await openNetlink({ netnsPath: ns.path, netnsInode: recorded })) as WorkerHandle;
    try {
      await h.listLinks();
      execFileSync('ip', ['netns', 'del', ns.name]);
      execFileSync('ip', ['netns', 'add', ns.name]);
      const now = fs.statSync(ns.path).ino;
      const pending = h.listLinks();
      await h.rpc.terminate();
      const [first] = await outcomes([pending]);
      if (!first.ok) assert.ok(first.error instanceof WorkerDiedError, String(first.error));
      await assert.rejects(h.listLinks(), (e: Error) => e.message.includes(`${ns.path} now holds network namespace net:[${now}], not net:[${recorded}] that was looked up`));
    } finally {
      await h.close();
    }
  });

  it('firewall: calls in flight fail with WorkerDiedError, the next call runs in a fresh worker in the same namespace', async () => {
    const ns = createNetns('wdf');
    made.push(ns);
    const fw: TsnetFirewall = createFirewall({ netnsPath: ns.path, log: () => undefined });
    const nft = (fw as unknown as { nft: NftWorker }).nft;
    try {
      await fw.init();
      let killed: Promise<void> | undefined;
      // Each list is a libnftables call reading the ruleset; the worker is inside one when it is killed.
      const calls = Array.from({ length: 40 }, () => nft.list([{ list: { table: { family: 'inet', name: 'tsnet' } } }]).finally(() => (killed ??= nft.rpc.terminate())));
      const results = await outcomes(calls);
      await killed;
      diedInFlight(results, new RegExp(`^libnftables worker \\(${ns.path}\\) exited with code \\d+ during run; whether run took effect is not known; the next call starts the worker again$`));
      // The next call starts a new worker in the test namespace: a network applied now is in its ruleset.
      await fw.applyNetwork({ id: 'wd1', bridge: 'tsn-wd1', subnets: [{ family: 4, cidr: '10.251.7.0/24', gateway: '10.251.7.1' }], icc: true, masquerade: true, internal: false });
      assert.equal(nft.rpc.restarts, 1);
      assert.match(ns.exec('nft', ['list', 'table', 'inet', 'tsnet']), /tsn-wd1/);
      assert.deepEqual(await fw.listProgrammedBridges(), ['tsn-wd1']);
      await fw.removeAll();
    } finally {
      await fw.close();
    }
  });

  it('cluster (VXLAN) worker: the same rule (calls in flight fail with WorkerDiedError, the next call runs in a fresh worker)', async () => {
    const ns = createNetns('wdc');
    made.push(ns);
    const kernel = openClusterKernel(ns.path);
    const rpc = (kernel as unknown as { rpc?: { terminate(): Promise<void>; restarts: number } }).rpc;
    assert.ok(rpc, 'the cluster kernel exposes its worker client');
    try {
      await kernel.deleteVxlan('tsx-absent0'); // the worker is up
      // Each call is short: the worker is killed right after they were sent, with most still queued or under way.
      const calls = Array.from({ length: 400 }, (_, i) => kernel.deleteVxlan(`tsx-absent${i % 10}`));
      const killed = rpc.terminate();
      const results = await outcomes(calls);
      await killed;
      diedInFlight(results, new RegExp(`^cluster kernel worker \\(${ns.path}\\) exited with code \\d+ during deleteVxlan;`));
      await kernel.deleteVxlan('tsx-absent0');
      assert.equal(rpc.restarts, 1);
    } finally {
      await kernel.close();
    }
  });
});
