/**
 * The core against real kernel objects in a throw-away namespace, with a failure forced at every
 * kernel step in turn: after each refused call the kernel must hold exactly what the store says
 * (nothing half-made), and the driver must go on working.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Driver, type DriverDeps } from '@tsnet/driver/dist/core/driver';
import { openNetlink } from '@tsnet/driver/dist/netlink';
import { createFirewall } from '@tsnet/driver/dist/firewall';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import type { Firewall } from '@tsnet/driver/dist/firewall/types';
import { Store } from '@tsnet/driver/dist/state/store';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from '../helpers/netns';

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
  let ns: TestNetns;
  let netlink: NetlinkHandle;
  let firewall: Firewall;
  let stateDir: string;

  before(async () => {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    ns = createNetns('core');
    netlink = await openNetlink({ netnsPath: ns.path });
    firewall = await createFirewall({ netnsPath: ns.path });
    await firewall.init();
  });
  after(async () => {
    await netlink?.close();
    const fw = firewall as Firewall & { close?: () => Promise<void> };
    await fw?.removeAll().catch(() => undefined);
    await fw?.close?.();
    ns?.cleanup();
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const inNs = (cmd: string) => execFileSync('ip', ['netns', 'exec', ns.name, 'sh', '-c', cmd], { stdio: 'pipe' });

  function makeDriver(plan: FaultPlan): Driver {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-core-'));
    const store = new Store(stateDir);
    const deps: DriverDeps = {
      netlink: plan.wrap(netlink),
      conntrack: netlink,
      firewall: plan.wrap(firewall),
      store,
      log: { debug() {}, info() {}, warn() {}, error() {} },
      params: plan.wrap({
        set: async (k: string, v: string) => void inNs(`echo ${v} > /proc/sys/${k.replace(/\./g, '/')}`),
        setInterface: async (f: string, i: string, k: string, v: string) => void inNs(`echo ${v} > /proc/sys/net/${f}/conf/${i}/${k}`),
        setBridgePort: async (i: string, k: string, v: string) => void inNs(`echo ${v} > /sys/class/net/${i}/brport/${k}`),
      }),
      boundSockets: async () => [],
      state: store.load().state,
    };
    return new Driver(deps);
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
});
