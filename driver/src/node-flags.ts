/**
 * Node/V8 options every launcher of the driver passes (`node FLAGS driver/dist/main.js`): npm start,
 * the systemd unit, the managed plugin's entrypoint, the multi-host harness, the tests and the
 * benchmarks. test/unit/launchers.test.ts checks that each of them does. Both must be given at
 * start: a heap's limits and growing strategy are fixed when its isolate is created, and they
 * apply to the worker threads' isolates too.
 *
 * --max-semi-space-size=1: V8 grows the young generation of a busy isolate up to 16 MB per
 * semi-space; under a burst of calls the driver's main isolate kept 30 MB of it resident for good,
 * while the live young objects at any time fit in well under 1 MB. Measured with the scale figure
 * (1000 endpoints, bench/README.md; 3 alternating runs each): RSS median 143.2 MB -> 128.3 MB
 * (121.6-133.9).
 *
 * --optimize-for-size: with a 1 MB young generation, objects of calls in flight are promoted, and
 * V8's default growing strategy let the main isolate's old space fill with them to 40 MB before
 * its first full collection, while its live objects stayed at 14-15 MB (a heap snapshot grew by
 * 1 KB per endpoint). With this flag V8 grows the old generation by a smaller factor and collects
 * it sooner: at 1000 endpoints the main isolate's heap is 25 MB instead of 44 and the scale
 * figure's RSS 103.1 MB (102.4-107.2) instead of 125.8 (124.7-129.6), CreateEndpoint p50 3.53 vs
 * 3.22 ms and Join p50 0.25 vs 0.26 ms, within the spread of runs (5 alternating BENCH_FIGURES=5
 * runs each, 2026-12-01, medians; README "Missed targets").
 */
export const DRIVER_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'] as const;
