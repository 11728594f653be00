/**
 * Issue 13 items 3, 4 and 13 with the real driver core, real kernel objects in a throw-away
 * namespace and a real store:
 * - a store write that fails (a real ENOSPC: the state directory is on a small tmpfs the test
 *   fills at the chosen write) at each store step of set-up leaves memory, disk and kernel as
 *   they were before the failed call; no ghost keeps an address;
 * - endpoint and network IDs named after Object.prototype members work end to end;
 * - multicast and all-zero MACs are refused before anything is made;
 * - the journal is compacted while the driver runs.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Driver } from '@tsnet/driver/dist/core/driver';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import type { Firewall } from '@tsnet/driver/dist/firewall/types';
import { JOURNAL_COMPACT_AFTER, Store } from '@tsnet/driver/dist/state/store';
import type { StateDocument } from '@tsnet/driver/dist/state/types';
import type { TestNetns } from '../helpers/netns';
import { CoreNamespace } from '../helpers/core-netns';

const NET = 'b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EP = 'f0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const EP2 = 'f1e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff';
const PROTOTYPE_IDS = ['toString', 'valueOf', 'hasOwnProperty', '__proto__', 'constructor'];
const SUBNET = '10.231.241';

/** A tmpfs the test can fill at will: a write then fails with the kernel's own ENOSPC. */
class SmallDisk {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-enospc-'));
  private readonly filler = path.join(this.dir, 'filler');
  constructor() {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tsnet-test', this.dir]);
  }
  fill(): void {
    const fd = fs.openSync(this.filler, 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    }
    // Fill the last partial page too.
    try {
      for (;;) fs.writeSync(fd, Buffer.alloc(512, 1));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    } finally {
      fs.closeSync(fd);
    }
  }
  free(): void {
    fs.rmSync(this.filler, { force: true });
  }
  destroy(): void {
    try {
      execFileSync('umount', [this.dir], { stdio: 'ignore' });
    } catch {
      // Still busy (a failed test left a file open): detach it now, the kernel frees it when closed.
      execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Counts the store's writes (saves and journal appends); the chosen one runs on a full disk (a port-map line fails as it would). */
class StoreFaults {
  calls = 0;
  failAt = Infinity;
  failed: string[] = [];
  constructor(private readonly disk: SmallDisk) {}
  wrap(store: Store): Store {
    const save = store.save.bind(store);
    const journal = store.journal.bind(store);
    const around = <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      this.calls++;
      if (this.calls !== this.failAt) return fn();
      this.disk.fill();
      this.failed.push(what);
      const p = fn();
      return p.finally(() => this.disk.free());
    };
    const journalPorts = store.journalPorts.bind(store);
    store.save = () => around('save', save);
    store.journalPorts = (...args: Parameters<Store['journalPorts']>) => {
      this.calls++;
      if (this.calls !== this.failAt) return journalPorts(...args);
      this.failed.push(`journal ports of ${args[0]}`);
      this.disk.fill();
      try {
        // The journal's last page may still hold a line on tmpfs: a full disk refuses the append for sure.
        const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        throw e;
      } finally {
        this.disk.free();
      }
    };
    store.journal = (name: string) => around(`journal ${name}`, () => journal(name));
    return store;
  }
}

/** Networks as JSON with sorted keys, for comparing memory, disk and snapshots. */
function canonical(state: Pick<StateDocument, 'networks'>): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]).filter(([, x]) => x !== undefined));
    return v;
  };
  return JSON.stringify(sort(JSON.parse(JSON.stringify(state.networks))));
}

describe('core and store: failed writes, prototype-named IDs, MACs, journal (issue 13, real kernel and disk)', function () {
  this.timeout(300_000);
  let place: CoreNamespace;
  let ns: TestNetns;
  let netlink: NetlinkHandle;
  let firewall: Firewall;
  let disk: SmallDisk;
  let stateDir: string;

  before(async () => {
    place = await CoreNamespace.open('state');
    ({ ns, netlink, firewall } = place);
    disk = new SmallDisk();
  });
  after(async () => {
    await place?.close();
    disk?.destroy();
  });

  function makeDriver(faults?: StoreFaults): { driver: Driver; store: Store } {
    stateDir = fs.mkdtempSync(path.join(disk.dir, 'state-'));
    const store = new Store(stateDir);
    const deps = place.deps({ store });
    if (faults) faults.wrap(store);
    return { driver: new Driver(deps), store };
  }

  async function assertKernelMatches(driver: Driver, when: string): Promise<void> {
    const links = (await netlink.listLinks()).map((l) => l.name).filter((n) => /^(tsn-|tsv|tsc)/.test(n)).sort();
    const nets = Object.values(driver.state.networks);
    const expected = nets.flatMap((n) => [n.config.bridge, ...Object.values(n.endpoints).flatMap((e) => [e.hostVeth, e.containerVeth])]).sort();
    assert.deepEqual(links, expected, `links ${when}`);
    const ports = (await firewall.listPortMaps()).map((p) => `${p.hostIP}:${p.hostPort}`).sort();
    const recorded = nets.flatMap((n) => Object.values(n.endpoints).flatMap((e) => e.ports.map((p) => `${p.hostIP}:${p.hostPort}`))).sort();
    assert.deepEqual(ports, recorded, `port maps ${when}`);
    assert.deepEqual((await firewall.listProgrammedBridges()).sort(), nets.map((n) => n.config.bridge).sort(), `firewall networks ${when}`);
  }

  function assertDiskMatches(driver: Driver, when: string): void {
    const loaded = new Store(stateDir).load();
    assert.deepEqual(loaded.problems, [], `disk ${when}`);
    assert.equal(canonical(loaded.state), canonical(driver.state), `disk equals memory ${when}`);
  }

  const ops = (d: Driver, ep = EP, address = `${SUBNET}.2/24`, port = 18556) => [
    () => d.createNetwork({ NetworkID: NET, Options: { 'com.docker.network.generic': {} }, IPv4Data: [{ Pool: `${SUBNET}.0/24`, Gateway: `${SUBNET}.1/24` }] }),
    () => d.createEndpoint({ NetworkID: NET, EndpointID: ep, Interface: { Address: address } }),
    () => d.join({ NetworkID: NET, EndpointID: ep, SandboxKey: ns.path }),
    () => d.programExternalConnectivity({ NetworkID: NET, EndpointID: ep, Options: { 'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: port, HostPortEnd: port }] } }),
  ];

  async function removeAll(d: Driver): Promise<void> {
    for (const n of Object.values(d.state.networks)) {
      for (const e of Object.values(n.endpoints)) {
        await d.revokeExternalConnectivity({ NetworkID: n.config.id, EndpointID: e.id });
        await d.leave({ NetworkID: n.config.id, EndpointID: e.id });
        await d.deleteEndpoint({ NetworkID: n.config.id, EndpointID: e.id });
      }
      await d.deleteNetwork(n.config.id);
    }
  }

  it('a store write failing (ENOSPC) at any step of set-up leaves memory, disk and kernel as before that call', async () => {
    const counting = new StoreFaults(disk);
    const c = makeDriver(counting);
    // Each call is followed by a turn of the event loop, in which the writes made after an answer run.
    const afterReply = () => new Promise((resolve) => setImmediate(resolve));
    for (const op of ops(c.driver)) {
      await op();
      await afterReply();
    }
    const total = counting.calls;
    await removeAll(c.driver);
    await c.store.close();
    assert.ok(total >= 4, `only ${total} store writes were counted`);

    for (let failAt = 1; failAt <= total; failAt++) {
      const faults = new StoreFaults(disk);
      faults.failAt = failAt;
      const { driver: d, store } = makeDriver(faults);
      let failedOp = -1;
      let before = '';
      const list = ops(d);
      for (let i = 0; i < list.length; i++) {
        before = canonical(d.state);
        try {
          await list[i]();
          await afterReply();
        } catch (e) {
          assert.match(String(e), /ENOSPC|no space/i, `step ${failAt}: ${String(e)}`);
          failedOp = i;
          break;
        }
      }
      const where = `after ENOSPC at store write ${failAt} of ${total} (${faults.failed.join(', ')})`;
      if (failedOp >= 0) {
        assert.equal(canonical(d.state), before, `memory ${where}`);
      } else {
        // A write nobody waits for (Join's) failed: the next save wrote it.
        assert.equal(faults.failed.length, 1, where);
      }
      await assertKernelMatches(d, where);
      assertDiskMatches(d, where);
      // The driver goes on: the same calls now succeed, then everything is removed.
      for (const op of ops(d).slice(failedOp >= 0 ? failedOp : ops(d).length)) await op();
      assertDiskMatches(d, `${where}, then retried`);
      await removeAll(d);
      await assertKernelMatches(d, `${where}, then removed`);
      await store.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('ENOSPC during CreateEndpoint leaves no ghost: the next endpoint gets the same address, and only it reaches the disk', async () => {
    const faults = new StoreFaults(disk);
    const { driver: d, store } = makeDriver(faults);
    await ops(d)[0]();
    faults.failAt = faults.calls + 2; // the journal append succeeds; the record's save fails
    await assert.rejects(d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: `${SUBNET}.2/24` } }), /ENOSPC|no space/i);
    assert.deepEqual(faults.failed, ['save']);
    assert.deepEqual(Object.keys(d.state.networks[NET].endpoints), []);
    await assertKernelMatches(d, 'after the failed CreateEndpoint');
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP2, Interface: { Address: `${SUBNET}.2/24` } });
    const loaded = new Store(stateDir).load();
    assert.deepEqual(Object.keys(loaded.state.networks[NET].endpoints), [EP2]);
    await removeAll(d);
    await store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('endpoint and network IDs named toString, valueOf, hasOwnProperty, __proto__, constructor work end to end', async () => {
    const { driver: d, store } = makeDriver();
    await d.createNetwork({ NetworkID: '__proto__', Options: {}, IPv4Data: [{ Pool: `${SUBNET}.0/24`, Gateway: `${SUBNET}.1/24` }] });
    await d.createNetwork({ NetworkID: 'constructor', Options: {}, IPv4Data: [{ Pool: '10.231.242.0/24', Gateway: '10.231.242.1/24' }] });
    let n = 2;
    for (const id of PROTOTYPE_IDS) {
      await d.createEndpoint({ NetworkID: '__proto__', EndpointID: id, Interface: { Address: `${SUBNET}.${n++}/24` } });
      await d.join({ NetworkID: '__proto__', EndpointID: id, SandboxKey: ns.path });
    }
    // The same ID on another network is refused cleanly (an endpoint ID is unique on the host).
    await assert.rejects(d.createEndpoint({ NetworkID: 'constructor', EndpointID: 'toString', Interface: { Address: '10.231.242.2/24' } }), /endpoint toString already exists/);
    await d.programExternalConnectivity({ NetworkID: '__proto__', EndpointID: 'valueOf', Options: { 'com.docker.network.portmap': [{ Proto: 6, IP: '', Port: 80, HostIP: '', HostPort: 18557, HostPortEnd: 18557 }] } });
    await assertKernelMatches(d, 'with prototype-named IDs');
    assertDiskMatches(d, 'with prototype-named IDs');
    assert.deepEqual(Object.keys(d.state.networks).sort(), ['__proto__', 'constructor']);
    assert.deepEqual(Object.keys(d.state.networks['__proto__'].endpoints).sort(), [...PROTOTYPE_IDS].sort());
    const status = await d.describe();
    assert.deepEqual(status.find((s) => s.id === '__proto__')?.endpoints.map((e) => e.id).sort(), [...PROTOTYPE_IDS].sort());
    // Unknown IDs that are prototype member names are "not found", never an inherited function.
    await assert.rejects(d.leave({ NetworkID: 'constructor', EndpointID: 'valueOf' }), /not found|no such|unknown/i);
    await assert.rejects(d.deleteNetwork('toString'), /not found|no such|unknown/i);
    // Create and delete, then every later save still works.
    await d.revokeExternalConnectivity({ NetworkID: '__proto__', EndpointID: 'valueOf' });
    for (const id of PROTOTYPE_IDS) await d.deleteEndpoint({ NetworkID: '__proto__', EndpointID: id });
    await d.createEndpoint({ NetworkID: 'constructor', EndpointID: EP, Interface: { Address: '10.231.242.2/24' } });
    assertDiskMatches(d, 'after deleting them and creating another');
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'endpoints')), [`${EP}.json`]);
    await removeAll(d);
    await assertKernelMatches(d, 'after removal');
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'networks')), []);
    await store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses multicast, broadcast and all-zero MACs before making anything', async () => {
    const { driver: d, store } = makeDriver();
    await ops(d)[0]();
    for (const [mac, why] of [
      ['01:00:5e:00:00:01', /"01:00:5e:00:00:01" is a multicast address/],
      ['ff:ff:ff:ff:ff:ff', /is the broadcast address/],
      ['00:00:00:00:00:00', /is all zeros; use a unicast address/],
    ] as const) {
      await assert.rejects(d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: `${SUBNET}.2/24`, MacAddress: mac } }), why);
      await assertKernelMatches(d, `after refusing ${mac}`);
    }
    await d.createEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: `${SUBNET}.2/24`, MacAddress: '02:42:0a:e7:f1:02' } });
    await removeAll(d);
    await store.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('compacts the journal while the driver runs (create/delete endpoints past the threshold)', async () => {
    const { driver: d, store } = makeDriver();
    await ops(d)[0]();
    const cycles = JOURNAL_COMPACT_AFTER + 20;
    for (let i = 0; i < cycles; i++) {
      const id = `${i.toString(16).padStart(6, '0')}${'ab'.repeat(29)}`;
      await d.createEndpoint({ NetworkID: NET, EndpointID: id, Interface: { Address: `${SUBNET}.${2 + (i % 200)}/24` } });
      await d.deleteEndpoint({ NetworkID: NET, EndpointID: id });
    }
    await store.close();
    const lines = fs.readFileSync(path.join(stateDir, 'journal.log'), 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.length < JOURNAL_COMPACT_AFTER, `${lines.length} journal lines after ${cycles + 1} link creations`);
    assert.deepEqual(d.state.pending ?? [], [], 'every created link was settled');
    await removeAll(d);
    await assertKernelMatches(d, 'after the cycles');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });
});
