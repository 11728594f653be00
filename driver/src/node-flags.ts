/**
 * Node/V8 options every launcher of the driver passes (`node FLAGS driver/dist/main.js`): npm start,
 * the systemd unit, the managed plugin's entrypoint, the multi-host harness, the tests and the
 * benchmarks. test/unit/launchers.test.ts checks that each of them does.
 *
 * --max-semi-space-size=1: V8 grows the young generation of a busy isolate up to 16 MB per
 * semi-space; under a burst of calls the driver's main isolate kept 30 MB of it resident for good,
 * while the live young objects at any time fit in well under 1 MB. Measured with the scale figure
 * (1000 endpoints, bench/README.md; 3 alternating runs each): RSS median 143.2 MB -> 128.3 MB
 * (121.6-133.9). The flag must be given at
 * start: a heap's limits are fixed when its isolate is created.
 */
export const DRIVER_NODE_FLAGS = ['--max-semi-space-size=1'] as const;
