/**
 * The core against real kernel objects in a throw-away namespace, with a failure forced at every
 * kernel step in turn: after each refused call the kernel must hold exactly what the store says
 * (nothing half-made), and the driver must go on working.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { Driver } from '@tsnet/driver/dist/core/driver';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import type { Firewall } from '@tsnet/driver/dist/firewall/types';
import type { TestNetns } from '../helpers/netns';
import { CoreNamespace, namespaceParams } from '../helpers/core-netns';

const NET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EP = 'e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';

const MUTATING = new Set(['createBridge', 'pinBridge', 'createVeth', 'deleteLink', 'setLinkUp', 'setMtu', 'setMaster', 'addAddress', 'deleteAddress', 'applyNetwork', 'removeNetwork', 'addPortMaps', 'removePortMaps', 'set', 'setInterface', 'setBridgePort']);

/** Wraps an adapter so the Nth mutating call (counted across adapters) fails. */
class FaultPlan {
  calls = 0;
  failAt = Infinity;
  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (t, prop, recv) => {
        const v = Reflect.get(t, prop, recv);
        if (typeof v !== 'function' || !MUTATING.has(String(prop))) return typeof v === 'function' ? v.bind(t) : v;
        return (...args: unknown[]) => {
          this.calls++;
          if (this.calls === this.failAt) return Promise.reject(new Error(`injected failure at ${String(prop)}`));
          return v.apply(t, args);
        };
      },
    });
  }
}

describe('core: every operation rolls back at every failing step (real kernel, test namespace)', function () {
  this.timeout(120_000);
  let place: CoreNamespace;
  let ns: TestNetns;
  let netlink: NetlinkHandle;
  let firewall: Firewall;
  let stateDir: string;

  before(async () => {
    place = await CoreNamespace.open('core');
    ({ ns, netlink, firewall } = place);
  });
  after(async () => {
    await place?.close();
  });

  function makeDriver(plan: FaultPlan): Driver {
    stateDir = place.stateDir('core');
    const deps = place.deps({ stateDir, params: plan.wrap(namespaceParams((c) => place.sh(c))) });
    return new Driver({ ...deps, netlink: plan.wrap(netlink), firewall: plan.wrap(firewall) });
  }

  /** The kernel holds exactly the store's objects. */
  async function assertKernelMatchesStore(driver: Driver, when: string): Promise<void> {
    const links = (await netlink.listLinks()).map((l) => l.name).filter((n) => /^(tsn-|tsv|tsc)/.test(n)).sort();
    const nets = Object.values(driver.state.networks);
    const expected = nets.flatMap((n) => [n.config.bridge, ...Object.values(n.endpoints).map((e) => e.hostVeth), ...Object.values(n.endpoints).map((e) => e.containerVeth)]).sort();
    assert.deepEqual(links, expected, `links ${when}`);
    const ports = (await firewall.listPortMaps()).map((p) => `${p.hostIP}:${p.hostPort}`).sort();
    const recorded = nets.flatMap((n) => Object.values(n.endpoints).flatMap((e) => e.ports.map((p) => `${p.hostIP}:${p.hostPort}`))).sort();
    assert.deepEqual(ports, recorded, `port maps ${when}`);
    const bridges = (await firewall.listProgrammedBridges()).sort();
    assert.deepEqual(bridges, nets.map((n) => n.config.bridge).sort(), `firewall networks ${when}`);
  }

  const lifecycle = async (d: Driver) => {
    await d.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: '10.231.240.0/24', Gateway: '10.231.240.1/24' }] });
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.240.2/24' } });
    await d.join({ NetworkID: NET, EndpointID: EP, SandboxKey: ns.path });
    await d.programExternalConnectivity({ NetworkID: NET, EndpointID: EP, Options: { 'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 18555, HostPortEnd: 18555 }] } });
  };
  const teardown = async (d: Driver) => {
    await d.revokeExternalConnectivity({ NetworkID: NET, EndpointID: EP });
    await d.leave({ NetworkID: NET, EndpointID: EP });
    await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    await d.deleteNetwork(NET);
  };

  it('runs the whole lifecycle without faults and leaves nothing', async () => {
    const plan = new FaultPlan();
    const d = makeDriver(plan);
    await lifecycle(d);
    await assertKernelMatchesStore(d, 'after set-up');
    assert.equal((await netlink.getLink('tsn-a1b2c3d4e5f'))?.up, true);
    await teardown(d);
    await assertKernelMatchesStore(d, 'after teardown');
    assert.deepEqual(Object.keys(d.state.networks), []);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('leaves the kernel equal to the store when any single step of set-up fails', async () => {
    const counting = new FaultPlan();
    const d0 = makeDriver(counting);
    await lifecycle(d0);
    const total = counting.calls;
    await teardown(d0);
    fs.rmSync(stateDir, { recursive: true, force: true });
    assert.ok(total >= 8, `only ${total} kernel steps were counted`);

    for (let failAt = 1; failAt <= total; failAt++) {
      const plan = new FaultPlan();
      plan.failAt = failAt;
      const d = makeDriver(plan);
      await assert.rejects(lifecycle(d), /injected failure/, `step ${failAt} of ${total}`);
      await assertKernelMatchesStore(d, `after a failure at step ${failAt}`);
      // Recovery: with the fault gone the same calls succeed, then everything is removed.
      plan.failAt = Infinity;
      if (d.state.networks[NET]?.endpoints[EP]) await teardown(d);
      else if (d.state.networks[NET]) await d.deleteNetwork(NET);
      await assertKernelMatchesStore(d, `after cleaning up step ${failAt}`);
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('a multi-host endpoint whose fast-path chain fails still gets its veth and record (the chain is optional: the cluster check writes it later); a local network\'s endpoint never asks for one', async () => {
    const calls: string[] = [];
    let fail = true;
    const cluster = {
      vxlanLink: 'tsnet-vx',
      containerMtu: 1450,
      configureBridge: async () => undefined,
      endpointCreated: async (_c: unknown, ep: { hostVeth: string }) => {
        calls.push(`created ${ep.hostVeth}`);
        if (fail) throw new Error('injected fast path failure');
      },
      endpointDeleted: async (_c: unknown, veth: string) => void calls.push(`deleted ${veth}`),
      networksChanged: async () => void calls.push('networks'),
    };
    stateDir = place.stateDir('core');
    const d = new Driver({ ...place.deps({ stateDir, params: namespaceParams((c) => place.sh(c)) }), cluster });
    await d.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': { 'tsnet.cluster': 'fp' } }, IPv4Data: [{ Pool: '10.231.240.0/24', Gateway: '10.231.240.1/24' }] });
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.240.2/24' } });
    assert.ok(d.state.networks[NET].endpoints[EP], 'the endpoint is recorded although its chain failed');
    await assertKernelMatchesStore(d, 'after the failed fast path');
    await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    fail = false;
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.240.2/24' } });
    await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    await d.deleteNetwork(NET);
    await assertKernelMatchesStore(d, 'after teardown');
    const veth = 'tsve0e1e2e3e4e';
    assert.deepEqual(calls, ['networks', `created ${veth}`, `deleted ${veth}`, `created ${veth}`, `deleted ${veth}`, 'networks']);
    // A local network on the same driver: no fast-path call at all.
    calls.length = 0;
    await lifecycleLocal(d);
    assert.deepEqual(calls, []);
    await assertKernelMatchesStore(d, 'after a local network');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const lifecycleLocal = async (d: Driver) => {
    await d.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: '10.231.240.0/24', Gateway: '10.231.240.1/24' }] });
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '10.231.240.2/24' } });
    await d.deleteEndpoint({ NetworkID: NET, EndpointID: EP });
    await d.deleteNetwork(NET);
  };
});
