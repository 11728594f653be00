/**
 * Which leftovers reconcile removes after a crash, against real kernel objects in a throw-away
 * namespace: a veth whose creation was cut short on a bridge tsnet created (no journal line: the
 * bridge tells), a veth whose deletion was journalled but had not run (DeleteEndpoint answered
 * first), and what it must leave alone: live endpoints, and a tsv* port of an adopted bridge
 * that this driver never journalled (another driver's).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { vethContainerName, vethHostName, vethRetiredName } from '@tsnet/shared';
import { Driver, type DriverDeps } from '@tsnet/driver/dist/core/driver';
import { LinkReaper } from '@tsnet/driver/dist/core/link-reaper';
import { reconcile } from '@tsnet/driver/dist/core/reconcile';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import { CoreNamespace } from '../helpers/core-netns';

const NET = 'b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ADOPTING = 'c1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const LIVE = 'd0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const REMOVED = 'd1e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';

describe('reconcile: crash leftovers of endpoint creation and deferred deletion (real kernel, test namespace)', function () {
  this.timeout(60_000);
  let place: CoreNamespace;
  let netlink: NetlinkHandle;
  let stateDir: string;

  before(async () => {
    place = await CoreNamespace.open('recon');
    netlink = place.netlink;
    stateDir = place.stateDir('recon');
  });
  after(async () => {
    await place?.close();
  });

  const deps = (reaper?: LinkReaper): DriverDeps => place.deps({ stateDir, reaper });

  const links = async () => (await netlink.listLinks()).map((l) => l.name).filter((n) => /^(tsn-|tsv|tsc|tsx|tstadopt)/.test(n)).sort();

  const gone = vethHostName(REMOVED);
  const goneC = vethContainerName(REMOVED);
  const live = vethHostName(LIVE);
  const retired = vethRetiredName(gone);

  it('removes the cut-short creation and the journalled deletion, and keeps live endpoints and others\' links', async () => {
    // A reaper that never gets to run: the "crash" comes between the reply and the deletion.
    const held = new LinkReaper(netlink, 3_600_000);
    const d1deps = deps(held);
    const d1 = new Driver(d1deps);
    await d1.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: '10.231.242.0/24', Gateway: '10.231.242.1/24' }] });
    await netlink.createBridge('tstadopt0');
    await d1.createNetwork({
      NetworkID: ADOPTING,
      Options: { 'com.docker.network.generic': { 'com.docker.network.bridge.name': 'tstadopt0' } },
      IPv4Data: [{ Pool: '10.231.243.0/24', Gateway: '10.231.243.1/24' }],
    });
    await d1.createEndpoint({ NetworkID: NET, EndpointID: LIVE, Interface: { Address: '10.231.242.2/24' } });
    await d1.createEndpoint({ NetworkID: NET, EndpointID: REMOVED, Interface: { Address: '10.231.242.3/24' } });
    await d1.deleteEndpoint({ NetworkID: NET, EndpointID: REMOVED });
    const bridge = d1.state.networks[NET].config.bridge;
    // What a crash between a veth's creation and its record leaves: a port of our bridge no record owns.
    await netlink.createVeth('tsv00000000cut', 'tsc00000000cut', { master: bridge });
    // Another driver's port on the shared, adopted bridge: never journalled here.
    await netlink.createVeth('tsv0000000othr', 'tsc0000000othr', { master: 'tstadopt0' });
    await d1deps.store.close();
    const before = await links();
    assert.ok(!before.includes(gone) && before.includes(retired), `the removed endpoint's veth was retired (renamed ${retired}), not yet deleted: ${before}`);

    const d2deps = deps();
    const d2 = new Driver(d2deps);
    const report = await reconcile(d2, d2deps, false);
    const after = await links();
    assert.ok(!after.includes(gone) && !after.includes(retired) && !after.includes(goneC), `the journalled deletion ran at start: ${after}`);
    assert.ok(!after.includes('tsv00000000cut') && !after.includes('tsc00000000cut'), `the cut-short creation was removed: ${after}`);
    assert.ok(after.includes(live), 'the live endpoint keeps its veth');
    assert.ok(after.includes('tsv0000000othr'), 'a port of an adopted bridge that was never journalled is not ours: kept');
    assert.ok(after.includes(bridge) && after.includes('tstadopt0'), 'bridges kept');
    assert.deepEqual(Object.keys(d2.state.networks[NET].endpoints), [LIVE], 'the store knows only the live endpoint');
    assert.ok(report.removed.some((r) => r.includes(retired)) && report.removed.some((r) => r.includes('tsv00000000cut')), report.removed.join(', '));
    assert.ok(!fs.existsSync(path.join(stateDir, 'endpoints', `${REMOVED}.json`)), 'the removed endpoint\'s file is gone');

    await d2.deleteEndpoint({ NetworkID: NET, EndpointID: LIVE });
    await d2.deleteNetwork(NET);
    await d2.deleteNetwork(ADOPTING);
    await netlink.deleteLink('tsv0000000othr');
    await netlink.deleteLink('tstadopt0');
    assert.deepEqual(await links(), [], 'everything removed');
  });
});
