/**
 * Serialises operations per key (a network ID): calls for one network run one after another,
 * calls for different networks run in parallel. Keys with nothing queued are forgotten.
 */
export class KeyedQueue {
  private tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}

/**
 * Work started after a reply, grouped by key (a network ID): each task runs on its own; `drain`
 * waits for every task of a key that is still running. Failures are reported, never thrown.
 */
export class BackgroundWork {
  private running = new Map<string, Set<Promise<void>>>();

  constructor(private readonly onError: (err: unknown) => void) {}

  run(key: string, fn: () => Promise<void>): void {
    const set = this.running.get(key) ?? new Set<Promise<void>>();
    this.running.set(key, set);
    const p: Promise<void> = fn()
      .catch(this.onError)
      .finally(() => {
        set.delete(p);
        if (set.size === 0 && this.running.get(key) === set) this.running.delete(key);
      });
    set.add(p);
  }

  async drain(key?: string): Promise<void> {
    const keys = key === undefined ? [...this.running.keys()] : [key];
    for (const k of keys) {
      while ((this.running.get(k)?.size ?? 0) > 0) await Promise.all([...this.running.get(k)!]);
    }
  }
}
