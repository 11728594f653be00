/**
 * Keeps the fast path's table (fast-path-rules.ts) equal to what the cluster view and the driver's
 * records say, on the cluster's libnftables worker. Every change is one transaction; calls run one
 * at a time, so an endpoint's chain written by CreateEndpoint and a periodic sync never interleave.
 */
import type { NftWorker } from '../firewall/nft';
import { addEndpointCommands, deleteTableCommands, listTableCommand, parseFastTable, removeEndpointCommands, syncCommands, type FastEndpoint, type FastPathWant } from './fast-path-rules';

export class FastPath {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly nft: NftWorker) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Lists the table and writes what differs; `want` is asked for inside the turn, so it is current. Returns the number of commands run. */
  sync(want: () => Promise<FastPathWant>): Promise<number> {
    return this.serial(async () => {
      const w = await want();
      const listed = await this.nft.list([listTableCommand]);
      const cmds = syncCommands(w, parseFastTable(listed.items));
      if (cmds.length > 0) await this.nft.run(cmds);
      return cmds.length;
    });
  }

  addEndpoint(e: FastEndpoint, vxlan: string, vxlanIndex: number): Promise<void> {
    return this.serial(async () => {
      await this.nft.run(addEndpointCommands(e, vxlan, vxlanIndex));
    });
  }

  removeEndpoint(veth: string): Promise<void> {
    return this.serial(async () => {
      await this.nft.run(removeEndpointCommands(veth));
    });
  }

  /** The whole table (the fast path turned off). */
  removeAll(): Promise<void> {
    return this.serial(async () => {
      await this.nft.run(deleteTableCommands);
    });
  }
}
