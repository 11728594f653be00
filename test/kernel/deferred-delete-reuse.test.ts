/**
 * DeleteEndpoint answers without waiting for the disk, and after a Leave without asking the
 * kernel (issue 17), against real kernel objects in a throw-away namespace: Leave takes the veth
 * out of use after its own answer. The veth's deletion is held back by a gate the test opens at
 * the end, so what the kernel has between the answer and the deletion can be looked at.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vethHostName, vethRetiredName } from '@tsnet/shared';
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
const SANDBOX = { SandboxKey: '/var/run/docker/netns/tst-defer' };

describe('DeleteEndpoint answers without the disk, and after a Leave without the kernel (real kernel, test namespace)', function () {
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

  it('after a Leave, answers with no netlink request and no fdatasync: the veth is out of use (down, off the bridge, renamed) and the journal line written; the deletion runs later', async () => {
    await driver.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [SUBNET] });
    await driver.createEndpoint({ NetworkID: NET, EndpointID: A, Interface: { Address: '10.231.244.2/24' } });
    await driver.join({ NetworkID: NET, EndpointID: A, ...SANDBOX });
    await driver.leave({ NetworkID: NET, EndpointID: A });
    calls.length = 0;
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: A });
    assert.deepEqual(calls, [], 'DeleteEndpoint made no netlink request (Leave had taken the veth out of use)');
    const journal = fs.readFileSync(path.join(stateDir, 'journal.log'), 'utf8');
    assert.ok(journal.includes(`-${A} ${vethHostName(A)} ${NET}\n`), `the removal's journal line was written before the answer: ${JSON.stringify(journal)}`);
    assert.equal(await link(vethHostName(A)), undefined, 'the veth\'s name is free');
    const old = await link(vethRetiredName(vethHostName(A)));
    assert.ok(old, 'the veth still exists, renamed (its deletion is held back)');
    assert.equal(old.masterIndex, undefined, 'off the bridge');
    assert.equal(old.up, false, 'down');
    assert.equal(driver.state.networks[NET].endpoints[A], undefined, 'the endpoint is gone from the state');
  });

  it('an endpoint nobody left is taken out of use by DeleteEndpoint itself; a Join after a Leave gets a fresh pair on the bridge', async () => {
    const bridge = await link(driver.state.networks[NET].config.bridge);
    await driver.createEndpoint({ NetworkID: NET, EndpointID: C, Interface: { Address: '10.231.244.3/24' } });
    calls.length = 0;
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: C });
    assert.deepEqual(calls, ['retireLink'], 'one retirement, no deletion before the answer');
    assert.equal(await link(vethHostName(C)), undefined, 'the veth\'s name is free');
    assert.equal((await link(vethRetiredName(vethHostName(C))))?.masterIndex, undefined, 'the veth is off the bridge');

    await driver.createEndpoint({ NetworkID: NET, EndpointID: B, Interface: { Address: '10.231.244.2/24' } });
    await driver.join({ NetworkID: NET, EndpointID: B, ...SANDBOX });
    await driver.leave({ NetworkID: NET, EndpointID: B });
    await driver.join({ NetworkID: NET, EndpointID: B, ...SANDBOX });
    const again = await link(vethHostName(B));
    assert.equal(again?.masterIndex, bridge?.index, 'a Join after a Leave puts the endpoint\'s veth back on the bridge');
    assert.equal(again?.up, true, 'and up');
    const hairpin = execFileSync('ip', ['netns', 'exec', place.ns.name, 'cat', `/sys/class/net/${vethHostName(B)}/brport/hairpin_mode`], { encoding: 'utf8' }).trim();
    assert.equal(hairpin, '1', 'with its bridge-port flags');
    assert.equal(await link(vethRetiredName(vethHostName(B))), undefined, 'the retired pair of the Leave is gone');
    await driver.leave({ NetworkID: NET, EndpointID: B });

    open();
    await driver.deleteEndpoint({ NetworkID: NET, EndpointID: B });
    await driver.deleteNetwork(NET);
    const left = (await place.netlink.listLinks()).map((l) => l.name).filter((n) => /^(tsn-|tsv|tsc|tsx)/.test(n));
    assert.deepEqual(left, [], 'the network removal waited for the pending deletions: nothing is left');
  });
});
