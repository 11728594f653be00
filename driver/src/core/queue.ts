/**
 * Serialises operations per key: calls with one key run one after another, calls with different
 * keys run in parallel. Keys with nothing queued are forgotten. The driver keys one queue by
 * endpoint ID and one by "host" (host ports are planned for every network at once).
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

/**
 * A reader/writer lock per key (a network ID), first come first served: calls for different
 * endpoints of one network hold it shared and run side by side; creating or deleting the network
 * holds it alone.
 */
export class SharedExclusiveLock {
  private locks = new Map<string, { readers: number; writer: boolean; waiting: { exclusive: boolean; grant: () => void }[] }>();

  shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.with(key, false, fn);
  }

  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.with(key, true, fn);
  }

  private async with<T>(key: string, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    await this.acquire(key, exclusive);
    try {
      return await fn();
    } finally {
      this.release(key, exclusive);
    }
  }

  private acquire(key: string, exclusive: boolean): Promise<void> {
    let l = this.locks.get(key);
    if (!l) {
      l = { readers: 0, writer: false, waiting: [] };
      this.locks.set(key, l);
    }
    const free = exclusive ? !l.writer && l.readers === 0 : !l.writer;
    if (free && l.waiting.length === 0) {
      if (exclusive) l.writer = true;
      else l.readers++;
      return Promise.resolve();
    }
    return new Promise((grant) => l!.waiting.push({ exclusive, grant }));
  }

  private release(key: string, exclusive: boolean): void {
    const l = this.locks.get(key)!;
    if (exclusive) l.writer = false;
    else l.readers--;
    while (l.waiting.length > 0 && !l.writer) {
      const next = l.waiting[0];
      if (next.exclusive) {
        if (l.readers > 0) break;
        l.waiting.shift();
        l.writer = true;
        next.grant();
        break;
      }
      l.waiting.shift();
      l.readers++;
      next.grant();
    }
    if (!l.writer && l.readers === 0 && l.waiting.length === 0) this.locks.delete(key);
  }
}
