/**
 * The firewall adapter: libnftables (JSON) through koffi in a worker thread, optionally inside
 * another network namespace. The rules themselves, and why they look the way they do, are in
 * rules.ts (pure, golden-tested); this file only sequences list -> plan -> one transaction.
 */
import { NftError, NftWorker } from './nft';
import {
  addPortMapCommands,
  applyNetworkCommands,
  describeNetwork,
  parseListOutput,
  portMapKey,
  portMapsInSnapshot,
  programmedBridges,
  removeAllCommands,
  removeNetworkCommands,
  removePortMapCommands,
  skeletonCommands,
  snapshotListCommands,
  type NftCmd,
  type Snapshot,
} from './rules';
import { portMapMessages } from './set-elements';
import type { Firewall, FirewallBackend, FirewallNetwork, PortMapRule } from './types';

/** What a kernel says to a message it cannot parse: E2BIG, EINVAL, ERANGE, EPROTO, EOVERFLOW, EOPNOTSUPP. */
const ENCODING_REFUSALS = [7, 22, 34, 71, 75, 95];

export * from './types';
export { NftError } from './nft';

export interface FirewallOptions {
  /** Program the firewall of this network namespace (e.g. /run/netns/NAME) instead of the caller's. */
  netnsPath?: string;
  /** The driver runs with etcd (multi-host networks possible): adds their raw-priority chain. */
  cluster?: boolean;
  /** Receives warnings (e.g. iptables-legacy hosts). Defaults to console.warn. */
  log?: (msg: string) => void;
}

/** Extra surface beyond types.ts' Firewall (additions only). */
export interface TsnetFirewall extends Firewall {
  /** Families ('ip', 'ip6') whose Docker DOCKER-USER chain tsnet writes to, as last seen. */
  readonly dockerUserFamilies: ReadonlyArray<'ip' | 'ip6'>;
  /** Duration (ms) of the last libnftables call inside the worker. */
  readonly lastKernelMs: number;
  /** Stops the worker thread. The firewall can not be used afterwards. */
  close(): Promise<void>;
}

export function createFirewall(opts: FirewallOptions = {}): TsnetFirewall {
  return new NftFirewall(opts);
}

class NftFirewall implements TsnetFirewall {
  /** The worker client (tests reach its `rpc` to kill the thread mid-call). */
  readonly nft: NftWorker;
  private readonly log: (msg: string) => void;
  private queue: Promise<unknown> = Promise.resolve();
  private initialized = false;
  private _backend: FirewallBackend = 'nftables';
  private dockerUser: Array<'ip' | 'ip6'> = [];
  private legacyWarned = false;
  private readonly cluster: boolean;
  lastKernelMs = 0;
  /** Port-map elements are written as raw netlink messages (see writePortMaps). */
  private rawElements = true;

  constructor(opts: FirewallOptions) {
    this.nft = new NftWorker(opts.netnsPath);
    this.log = opts.log ?? ((m) => console.warn(m));
    this.cluster = opts.cluster ?? false;
  }

  get backend(): FirewallBackend {
    return this._backend;
  }
  get dockerUserFamilies(): ReadonlyArray<'ip' | 'ip6'> {
    return this.dockerUser;
  }

  /** Runs operations one at a time (each is list -> plan -> transaction). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async run(cmds: NftCmd[]) {
    const r = await this.nft.run(cmds);
    this.lastKernelMs = r.ms;
    return r.items;
  }

  init(): Promise<void> {
    return this.serial(() => this.doInit());
  }

  private async doInit(): Promise<void> {
    await this.run(skeletonCommands({ cluster: this.cluster }));
    this.initialized = true;
    const s = await this.snapshot(false);
    await this.detectBackend(s);
  }

  private async detectBackend(s: Snapshot): Promise<void> {
    if (s.dockerUser.size > 0) {
      this._backend = 'nftables';
      return;
    }
    const legacy = await this.nft.legacyTableNames();
    if (legacy.includes('filter')) {
      this._backend = 'iptables-legacy';
      if (!this.legacyWarned) {
        this.legacyWarned = true;
        this.log(
          'tsnet firewall: iptables-legacy host (no nftables DOCKER-USER chain, legacy "filter" table present): ' +
            'DOCKER-USER accepts go into the legacy table through libip4tc.',
        );
      }
    } else {
      this._backend = 'nftables';
    }
  }

  private async ensureInit(): Promise<void> {
    if (!this.initialized) await this.doInit();
  }

  /**
   * Reads what plans depend on, in one worker round trip: the verdict maps (and port maps when
   * asked), and Docker's DOCKER-USER chains (ip, ip6) with tsnet's rules in them. A missing
   * object is simply absent from the snapshot.
   */
  private async snapshot(portMaps: boolean, maps = true): Promise<Snapshot> {
    const r = await this.nft.list(snapshotListCommands({ portMaps, maps, dockerUser: ['ip', 'ip6'] }));
    this.lastKernelMs = r.ms;
    const s = parseListOutput(r.items);
    this.dockerUser = [...s.dockerUser].sort();
    return s;
  }

  private async list(cmds: NftCmd[]) {
    const r = await this.nft.list(cmds);
    this.lastKernelMs = r.ms;
    return r.items;
  }

  applyNetwork(net: FirewallNetwork): Promise<void> {
    return this.serial(async () => {
      await this.ensureInit();
      // Only DOCKER-USER is read (two small lists in one round trip); the table's own
      // objects are written so that the result does not depend on what was there.
      const s = await this.snapshot(false, false);
      // Planned and applied (the kernel validates the whole transaction) before anything goes
      // into a legacy DOCKER-USER chain: a refused network leaves no accept behind.
      const cmds = applyNetworkCommands(net, s);
      await this.runRecreatingTable(cmds);
      if (s.dockerUser.size === 0 && this._backend === 'iptables-legacy') {
        let accepted: boolean;
        try {
          accepted = await this.nft.legacy('accept', net.bridge);
        } catch (e) {
          const undo = removeNetworkCommands(net, await this.snapshot(true));
          await this.run(undo).catch((u) => this.log(`tsnet firewall: ${net.bridge}: could not undo its nftables rules: ${String(u)}`));
          throw e;
        }
        if (!accepted) this.log(`tsnet firewall: ${net.bridge}: no DOCKER-USER chain in the legacy filter table; forwarding may be dropped`);
      }
    });
  }

  /** Runs commands that need the tsnet table; when it was removed behind our back, makes it again. */
  private async runRecreatingTable(cmds: NftCmd[]): Promise<void> {
    try {
      await this.run(cmds);
    } catch (e) {
      if (!(e instanceof NftError && e.isNotFound)) throw e;
      await this.doInit();
      await this.run(cmds);
    }
  }

  removeNetwork(net: FirewallNetwork): Promise<void> {
    return this.serial(async () => {
      const s = await this.snapshot(true);
      await this.run(removeNetworkCommands(net, s));
      if (this._backend === 'iptables-legacy') await this.nft.legacy('remove', net.bridge);
    });
  }

  addPortMaps(rules: PortMapRule[]): Promise<void> {
    return this.serial(async () => {
      if (rules.length === 0) return;
      await this.ensureInit();
      try {
        await this.writePortMaps('add', rules);
      } catch (e) {
        if (!(e instanceof NftError && e.isNotFound)) throw e;
        // The table (or a map) was removed behind our back: make it again.
        await this.doInit();
        await this.writePortMaps('add', rules);
      }
    });
  }

  removePortMaps(rules: PortMapRule[]): Promise<void> {
    return this.serial(async () => {
      if (rules.length === 0) return;
      try {
        await this.writePortMaps('delete', rules);
      } catch (e) {
        if (!(e instanceof NftError && e.isNotFound)) throw e;
        // Some are absent: delete only those present (still one transaction).
        const present = new Set((await this.readPortMaps()).map(portMapKey));
        await this.writePortMaps('delete', rules.filter((r) => present.has(portMapKey(r))));
      }
    });
  }

  /**
   * One transaction of port-map elements, as raw nf_tables messages (set-elements.ts). A kernel
   * that refuses their encoding itself (ENCODING_REFUSALS; never seen) turns the raw path off
   * for good, with a warning, and libnftables writes them from then on.
   */
  private async writePortMaps(verb: 'add' | 'delete', rules: PortMapRule[]): Promise<void> {
    if (rules.length === 0) return;
    if (this.rawElements) {
      try {
        const r = await this.nft.batch(verb, portMapMessages(verb, rules));
        this.lastKernelMs = r.ms;
        return;
      } catch (e) {
        if (!(e instanceof NftError) || !ENCODING_REFUSALS.includes(e.rc)) throw e;
        this.rawElements = false;
        this.log(`tsnet firewall: the kernel refused port-map elements written directly (${e.message}); libnftables writes them from now on`);
      }
    }
    await this.run(verb === 'add' ? addPortMapCommands(rules) : removePortMapCommands(rules));
  }

  private async readPortMaps(): Promise<PortMapRule[]> {
    return portMapsInSnapshot(parseListOutput(await this.list(snapshotListCommands({ portMaps: true, dockerUser: [] }))));
  }

  listProgrammedBridges(): Promise<string[]> {
    return this.serial(async () => {
      return programmedBridges(parseListOutput(await this.list([{ list: { map: { family: 'inet', table: 'tsnet', name: 'fwd_in' } } }])));
    });
  }

  listPortMaps(): Promise<PortMapRule[]> {
    return this.serial(() => this.readPortMaps());
  }

  describe(net: FirewallNetwork): string[] {
    return describeNetwork(net, this._backend, this.dockerUser);
  }

  removeAll(): Promise<void> {
    return this.serial(async () => {
      const s = await this.snapshot(false);
      await this.run(removeAllCommands(s));
      this.initialized = false;
    });
  }

  close(): Promise<void> {
    return this.serial(() => this.nft.close());
  }
}
