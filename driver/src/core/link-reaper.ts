/**
 * Deletes links after the reply that asked for it. Deleting a veth holds the kernel's rtnl lock
 * for ~15-30 ms (RCU grace periods), and nothing needs the link gone before DeleteEndpoint
 * answers. Names queued while a deletion is under way are deleted together in the next kernel
 * transaction (one set of grace periods for the whole batch), so 50 containers removed at once
 * cost a few deletions, not 50. The caller journals each name first, so a crash before the
 * deletion leaks nothing: reconcile removes journalled links that no record owns.
 */
import type { NetlinkHandle } from '../netlink/types';

interface Waiting {
  name: string;
  resolve(): void;
  reject(e: Error): void;
}

export class LinkReaper {
  private queue: Waiting[] = [];
  private running = false;

  /**
   * @param delayMs wait before each batch; 0 in production. Tests set it (TSNET_TEST_HOOKS=1 and
   * TSNET_TEST_VETH_DELETE_DELAY_MS) to kill the driver between the reply and the deletion.
   */
  constructor(
    private readonly netlink: Pick<NetlinkHandle, 'deleteLinks'>,
    private readonly delayMs = 0,
  ) {}

  /** Resolves once the link is gone (or was already). */
  delete(name: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ name, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Links queued or being deleted right now. */
  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs).unref());
        // Calls answered in the same turn of the event loop join this batch.
        await new Promise((r) => setImmediate(r));
        const batch = this.queue.splice(0, BATCH_MAX);
        const names = [...new Set(batch.map((w) => w.name))];
        try {
          await this.netlink.deleteLinks(names);
          for (const w of batch) w.resolve();
        } catch (e) {
          if (batch.length === 1) batch[0].reject(e as Error);
          // One bad name must not keep the others: each on its own.
          else for (const w of batch) await this.netlink.deleteLinks([w.name]).then(w.resolve, w.reject);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

/** Bounds one kernel transaction (and the time a Join waits behind it in the netlink worker). */
const BATCH_MAX = 64;
