/** Per-method call counts and latency percentiles, kept in a bounded ring per method. */
import type { MethodStats } from '@tsnet/shared';

const WINDOW = 2048;

class MethodSamples {
  count = 0;
  errors = 0;
  max = 0;
  private ring = new Float64Array(WINDOW);
  private n = 0;

  add(ms: number, failed: boolean): void {
    this.count++;
    if (failed) this.errors++;
    if (ms > this.max) this.max = ms;
    this.ring[this.n++ % WINDOW] = ms;
  }

  stats(): MethodStats {
    const len = Math.min(this.n, WINDOW);
    const sorted = Array.from(this.ring.subarray(0, len)).sort((a, b) => a - b);
    const pct = (p: number) => (len === 0 ? 0 : round(sorted[Math.min(len - 1, Math.floor((p / 100) * len))]));
    return { count: this.count, errors: this.errors, p50Ms: pct(50), p90Ms: pct(90), p99Ms: pct(99), maxMs: round(this.max) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export class Metrics {
  private methods = new Map<string, MethodSamples>();

  record(method: string, ms: number, failed: boolean): void {
    let m = this.methods.get(method);
    if (!m) {
      m = new MethodSamples();
      this.methods.set(method, m);
    }
    m.add(ms, failed);
  }

  snapshot(): Record<string, MethodStats> {
    const out: Record<string, MethodStats> = {};
    for (const [k, v] of this.methods) out[k] = v.stats();
    return out;
  }
}
