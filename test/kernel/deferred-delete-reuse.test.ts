/**
 * DeleteEndpoint answers without waiting for the kernel or the disk (issue 17), against real
 * kernel objects in a throw-away namespace. The veth's deletion is held back by a gate the test
 * opens at the end, so what the kernel has between the answer and the deletion can be looked at:
 * the removed endpoint's veth is still on the bridge, and a new endpoint given the same address
 * (and so the same MAC) takes it down and off the bridge before its own veth is made, so no frame
 * for that address can go to the old port.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vethHostName } from '@tsnet/shared';
import { Driver } from '@tsnet/driver/dist/core/driver';
import { LinkReaper } from '@tsnet/driver/dist/core/link-reaper';
import type { Store } from '@tsnet/driver/dist/state/store';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import { CoreNamespace } from '../helpers/core-netns';

const NET = 'e2b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const A = 'a1e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const B = 'b1e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const C = 'c1e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const SUBNET = { Pool: '10.231.244.0/24', Gateway: '10.231.244.1/24' };

describe('DeleteEndpoint answers before the kernel and the disk; a new endpoint reusing the address takes the old veth off the bridge (real kernel, test namespace)', function () {
  this.timeout(60_000);
  let place: CoreNamespace;
  let calls: string[];
  let open: () => void;
  let driver: Driver;
  let stateDir: string;

  before(async () => {
    place = await CoreNamespace.open('defer');
    stateDir = place.stateDir('defer');
    calls = [];
    // Every netlink request the driver's core makes, by name.
    const counted = new Proxy(place.netlink, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          calls.push(String(key));
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as NetlinkHandle;
    const gate = new Promise<void>((r) => (open = r));
    const reaper = new LinkReaper({
      deleteLinks: async (names) => {
        await gate;
        return place.netlink.deleteLinks(names);
      },
    });
    const deps = { ...place.deps({ stateDir, reaper }), netlink: counted, conntrack: counted };
    // A disk that never confirms a removal's journal line: the answer must not wait for it.
    const store = deps.store as Store;
    const journalDeletion = store.journalDeletion.bind(store);
    store.journalDeletion = (...args: Parameters<Store['journalDeletion']>) => {
      void journalDeletion(...args).catch(() => undefined);
      return new Promise<void>(() => undefined);
    };
    driver = new Driver(deps);
  });

  after(async () => {
    open?.();
    await place?.close();
  });

  const link = async (name: string) => place.netlink.getLink(name);

  it('answers with no netlink request and no fdatasync; the journal line is written before the answer, the veth stays until its deletion runs', async () => {
    await driver.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [SUBNET] });
    await driver.createEndpoint({ NetworkID: NET, EndpointID: A, Interface: { Address: '10.231.244.2/24' } });
    const bridge = await link(driver.state.networks[NET].config.bridge);
    calls.length = 0;
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: A });
    assert.deepEqual(calls, [], 'DeleteEndpoint made no netlink request before answering');
    const journal = fs.readFileSync(path.join(stateDir, 'journal.log'), 'utf8');
    assert.ok(journal.includes(`-${A} ${vethHostName(A)} ${NET}\n`), `the removal's journal line was written before the answer: ${JSON.stringify(journal)}`);
    const old = await link(vethHostName(A));
    assert.ok(old && old.masterIndex === bridge?.index, 'the veth is still a port of the bridge: its deletion (held back) has not run');
    assert.equal(driver.state.networks[NET].endpoints[A], undefined, 'the endpoint is gone from the state');
  });

  it('a new endpoint with the removed one\'s address and MAC takes the old veth down and off the bridge first; others leave it alone', async () => {
    const bridge = await link(driver.state.networks[NET].config.bridge);
    calls.length = 0;
    await driver.createEndpoint({ NetworkID: NET, EndpointID: C, Interface: { Address: '10.231.244.3/24' } });
    assert.ok(!calls.includes('detachLink'), `an endpoint with another address and MAC did not touch the old veth: ${calls}`);
    assert.equal((await link(vethHostName(A)))?.masterIndex, bridge?.index, 'the old veth is still on the bridge');

    calls.length = 0;
    await driver.createEndpoint({ NetworkID: NET, EndpointID: B, Interface: { Address: '10.231.244.2/24' } });
    assert.deepEqual(calls, ['detachLink', 'createVeth'], 'the old veth was taken off the bridge (one request) before the new one was made');
    const old = await link(vethHostName(A));
    assert.ok(old, 'the old veth still exists (its deletion is held back)');
    assert.equal(old.masterIndex, undefined, 'the old veth is off the bridge');
    assert.equal(old.up, false, 'the old veth is down');
    assert.equal((await link(vethHostName(B)))?.masterIndex, bridge?.index, 'the new veth is a port of the bridge');

  });

  it('fifty endpoints joined, left and removed in parallel: every answer without a netlink request, the deletions still held back', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `d${String(i).padStart(2, '0')}${A.slice(3)}`);
    for (const [i, id] of ids.entries()) await driver.createEndpoint({ NetworkID: NET, EndpointID: id, Interface: { Address: `10.231.244.${10 + i}/24` } });
    for (const id of ids) await driver.join({ NetworkID: NET, EndpointID: id, SandboxKey: '/var/run/docker/netns/tst-defer' });
    for (const id of ids) await driver.leave({ NetworkID: NET, EndpointID: id });
    calls.length = 0;
    await Promise.all(ids.map((id) => driver.deleteEndpoint({ NetworkID: NET, EndpointID: id })));
    assert.deepEqual(calls, [], 'no DeleteEndpoint (nor Leave) made a netlink request before answering');
    const names = new Set((await place.netlink.listLinks()).map((l) => l.name));
    assert.deepEqual(ids.map(vethHostName).filter((n) => !names.has(n)), [], 'every veth still exists: its deletion is held back');
  });

  it('a network removal waits for its pending deletions', async () => {
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: B });
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: C });
    let removed = false;
    const removal = driver.deleteNetwork(NET).then(() => (removed = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(removed, false, 'DeleteNetwork answered while 53 veth deletions were held back');
    assert.ok(await link(driver.state.networks[NET]?.config.bridge ?? 'gone'), 'the bridge is still there');
    open();
    await removal;
    const left = (await place.netlink.listLinks()).map((l) => l.name).filter((n) => /^(tsn-|tsv|tsc|tsx)/.test(n));
    assert.deepEqual(left, [], 'the network removal waited for the pending deletions: nothing is left');
  });
});
