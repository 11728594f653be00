#!/usr/bin/env node
// Benchmark of the topology picture: a synthetic graph (default 50 networks, 500 containers) laid
// out and drawn by the real webview bundle in headless Chromium, in a plain local page with the
// webview's own CSP. Prints the median of N cold runs (fresh page: what opening the view costs)
// and of N warm runs (same page, a new graph: what a live update costs).
// With --latency it also measures input latency during the cold layout: wheel events are sent over
// the picture while it is laid out, and each event's delay (handler time - the event's timestamp)
// is recorded: what a user scrolling while the picture opens feels.
//   node scripts/bench-topology.js [--networks 50] [--containers 500] [--runs 5] [--latency] [--bundle webview.js] [--screenshot FILE] [--json]
// Needs: npm run bundle:webview (media/topology/dist/webview.js), Chromium at /usr/bin/chromium.
const fs = require('fs');
const os = require('os');
const path = require('path');
const esbuild = require('esbuild');
const { chromium } = require('playwright-core');

const root = path.resolve(__dirname, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const networks = Number(arg('networks', 50));
const containers = Number(arg('containers', 500));
const runs = Number(arg('runs', 5));
const screenshot = arg('screenshot', '');
const latency = process.argv.includes('--latency');
const bundleFile = path.resolve(arg('bundle', path.join(root, 'media/topology/dist/webview.js')));
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function loadSynthetic() {
  const out = esbuild.buildSync({ entryPoints: [path.join(root, 'src/topology/synthetic-graph.ts')], bundle: true, format: 'cjs', platform: 'node', write: false });
  const m = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(m, m.exports, require);
  return m.exports.syntheticGraph;
}

function page(dir) {
  const bundle = bundleFile;
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run bundle:webview`);
  const nonce = 'bench' + Date.now();
  const csp = `default-src 'none'; img-src file: data:; style-src file: 'nonce-${nonce}'; script-src 'nonce-${nonce}'; worker-src blob:`;
  const html = `<!DOCTYPE html><html><head><meta charset="UTF-8"><meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="file://${path.join(root, 'media/topology/topology.css')}"></head>
<body><div id="app"></div><script nonce="${nonce}" src="file://${bundle}"></script></body></html>`;
  const file = path.join(dir, 'topology-bench.html');
  fs.writeFileSync(file, html);
  return 'file://' + file;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const graph = loadSynthetic()(networks, containers);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-topology-bench-'));
  const url = page(dir);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const errors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const cold = [];
    const warm = [];
    const latencies = [];
    let last;
    for (let i = 0; i < runs; i++) {
      const p = await context.newPage();
      p.on('pageerror', (e) => errors.push(String(e)));
      p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await p.goto(url);
      await p.waitForFunction(() => !!window.tsnetTopology);
      const t0 = Date.now();
      let r;
      if (latency) {
        await p.evaluate((g) => {
          window.__lat = [];
          window.addEventListener('wheel', (e) => window.__lat.push(performance.now() - e.timeStamp), { capture: true, passive: true });
          window.tsnetTopology.render(g).then((x) => (window.__r = x));
        }, graph);
        await p.mouse.move(800, 500);
        while (!(await p.evaluate(() => !!window.__r)) && Date.now() - t0 < 120_000) {
          await p.mouse.wheel(0, 5);
          await p.waitForTimeout(20);
        }
        r = await p.evaluate(() => window.__r);
        const lat = await p.evaluate(() => window.__lat);
        latencies.push(...lat);
      } else {
        r = await p.evaluate((g) => window.tsnetTopology.render(g), graph);
      }
      const wall = Date.now() - t0;
      cold.push({ ...r, total: r.layoutMs + r.renderMs, wall });
      // A live update: the same graph with one more container (what a `docker run` causes).
      const g2 = JSON.parse(JSON.stringify(graph));
      const c = JSON.parse(JSON.stringify(g2.containers[0]));
      c.id = 'f'.repeat(64);
      c.name = 'zz-new';
      c.namespaceId = c.id;
      c.endpointIds = [];
      c.ports = [];
      g2.containers.push(c);
      const w = await p.evaluate((g) => window.tsnetTopology.render(g), g2);
      warm.push({ ...w, total: w.layoutMs + w.renderMs });
      last = await p.evaluate(() => ({ nodes: document.querySelectorAll('#viewport .node').length, edges: document.querySelectorAll('#viewport .edge').length }));
      if (i === runs - 1 && screenshot) {
        fs.mkdirSync(path.dirname(path.resolve(screenshot)), { recursive: true });
        await p.screenshot({ path: screenshot });
      }
      await p.close();
    }
    const result = {
      networks,
      containers,
      runs,
      drawn: last,
      coldMedianMs: Math.round(median(cold.map((r) => r.total))),
      coldLayoutMedianMs: Math.round(median(cold.map((r) => r.layoutMs))),
      coldRenderMedianMs: Math.round(median(cold.map((r) => r.renderMs))),
      warmMedianMs: Math.round(median(warm.map((r) => r.total))),
      coldRunsMs: cold.map((r) => Math.round(r.total)),
      warmRunsMs: warm.map((r) => Math.round(r.total)),
      ...(latency ? { inputLatency: { events: latencies.length, medianMs: Math.round(median(latencies)), p95Ms: Math.round([...latencies].sort((a, b) => a - b)[Math.floor(latencies.length * 0.95)] ?? 0), maxMs: Math.round(Math.max(0, ...latencies)) } } : {}),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      cpus: os.cpus().length,
      errors,
    };
    if (process.argv.includes('--json')) console.log(JSON.stringify(result));
    else {
      console.log(`topology render, ${networks} networks / ${containers} containers (${last.nodes} nodes, ${last.edges} edges drawn), median of ${runs}:`);
      console.log(`  open (cold page): ${result.coldMedianMs} ms  (layout ${result.coldLayoutMedianMs} ms + draw ${result.coldRenderMedianMs} ms)  runs ${result.coldRunsMs.join(' ')}`);
      console.log(`  live update (+1 container): ${result.warmMedianMs} ms  runs ${result.warmRunsMs.join(' ')}`);
      if (result.inputLatency) console.log(`  input latency during the layout: median ${result.inputLatency.medianMs} ms, p95 ${result.inputLatency.p95Ms} ms, max ${result.inputLatency.maxMs} ms over ${result.inputLatency.events} wheel events`);
      console.log(`  load average ${result.loadavg.join(' ')} on ${result.cpus} CPUs${errors.length ? `; page errors: ${errors.join(' | ')}` : ''}`);
    }
    if (errors.length) process.exitCode = 1;
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
