/**
 * The driver core against real kernel objects in a throw-away namespace: the namespace, a netlink
 * handle and the libnftables firewall opened inside it, and DriverDeps whose sysctl and bridge-port
 * writes land in that namespace (the production ones write the driver's own /proc/sys and /sys).
 * `close()` removes everything it made, also after a failed test.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Driver, type DriverDeps } from '@tsnet/driver/dist/core/driver';
import { createFirewall, type TsnetFirewall } from '@tsnet/driver/dist/firewall';
import { openNetlink } from '@tsnet/driver/dist/netlink';
import type { NetlinkHandle } from '@tsnet/driver/dist/netlink/types';
import { Store } from '@tsnet/driver/dist/state/store';
import { createNetns, isRoot, requirePrerequisite, type TestNetns } from './netns';

export const QUIET_LOG: DriverDeps['log'] = { debug() {}, info() {}, warn() {}, error() {} };

/** Kernel parameters written inside a namespace through `sh` (a shell run in that namespace). */
export function namespaceParams(sh: (cmd: string) => unknown): DriverDeps['params'] {
  return {
    set: async (k: string, v: string) => void sh(`echo ${v} > /proc/sys/${k.replace(/\./g, '/')}`),
    setInterface: async (f: string, i: string, k: string, v: string) => void sh(`echo ${v} > /proc/sys/net/${f}/conf/${i}/${k}`),
    setBridgePort: async (i: string, k: string, v: string) => void sh(`echo ${v} > /sys/class/net/${i}/brport/${k}`),
  };
}

export class CoreNamespace {
  netlink!: NetlinkHandle;
  firewall!: TsnetFirewall;
  private readonly stateDirs: string[] = [];

  private constructor(readonly ns: TestNetns) {}

  /**
   * A fresh namespace `tst-LABEL-…` with netlink and firewall open in it (root required).
   * `prepare` runs in the empty namespace first (e.g. to add Docker's chains); `initFirewall: false`
   * leaves the firewall's tables to the driver.
   */
  static async open(label: string, opts: { prepare?: (place: CoreNamespace) => void; initFirewall?: boolean } = {}): Promise<CoreNamespace> {
    requirePrerequisite(isRoot(), 'root', 'run the kernel tests as root');
    const place = new CoreNamespace(createNetns(label));
    try {
      opts.prepare?.(place);
      place.netlink = await openNetlink({ netnsPath: place.ns.path });
      place.firewall = createFirewall({ netnsPath: place.ns.path, log: () => undefined });
      if (opts.initFirewall !== false) await place.firewall.init();
    } catch (e) {
      await place.close();
      throw e;
    }
    return place;
  }

  /** Runs a shell command in the namespace; returns its stdout. */
  sh(cmd: string): string {
    return execFileSync('ip', ['netns', 'exec', this.ns.name, 'sh', '-c', cmd], { encoding: 'utf8', stdio: 'pipe' });
  }

  /** A state directory removed by close(). */
  stateDir(label = 'core'): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `tsnet-${label}-`));
    this.stateDirs.push(d);
    return d;
  }

  /** Driver dependencies on this namespace with a store in `stateDir` (a new one if not given). */
  deps(opts: { stateDir?: string; store?: Store; params?: DriverDeps['params'] } & Partial<Pick<DriverDeps, 'reaper'>> = {}): DriverDeps {
    const store = opts.store ?? new Store(opts.stateDir ?? this.stateDir());
    return {
      netlink: this.netlink,
      conntrack: this.netlink,
      firewall: this.firewall,
      store,
      log: QUIET_LOG,
      params: opts.params ?? namespaceParams((c) => this.sh(c)),
      boundSockets: async () => [],
      state: store.load().state,
      reaper: opts.reaper,
    };
  }

  /** A driver core on this namespace (see deps()). */
  driver(opts: Parameters<CoreNamespace['deps']>[0] = {}): { driver: Driver; deps: DriverDeps } {
    const deps = this.deps(opts);
    return { driver: new Driver(deps), deps };
  }

  async close(): Promise<void> {
    await this.netlink?.close().catch(() => undefined);
    await this.firewall?.removeAll().catch(() => undefined);
    await this.firewall?.close().catch(() => undefined);
    this.ns.cleanup();
    for (const d of this.stateDirs) fs.rmSync(d, { recursive: true, force: true });
  }
}
