/** Writes bench/results.md: the summary table (medians, min–max, tsnet/bridge, target, met) and the details. */
import type { MethodStats } from '@tsnet/shared';
import type { DataplaneResult } from './figures/dataplane';
import { PATHS } from './figures/dataplane';
import type { ExtensionResult } from './figures/extension';
import type { Kind, LifecycleResult, ParallelRound } from './figures/lifecycle';
import type { ScaleResult } from './figures/scale';
import type { MultihostSection } from './report-multihost';
import { median, summarize, type Summary } from './util';

export interface Machine {
  date: string;
  nproc: number;
  cpu: string;
  memGB: number;
  kernel: string;
  dockerServer: string;
  dockerClient: string;
  node: string;
  iperf3: string;
  loadStart: string;
  loadEnd: string;
  foreignContainers: number;
  /** Median ms of write + fsync + rename + fsync(dir) in /tmp (the driver store's pattern), 2 KB and 512 KB. */
  durableWriteMs: { small: number; large: number };
  durableWriteMsEnd: { small: number; large: number };
}

export interface Results {
  machine: Machine;
  durationS: number;
  benchDurationS: number;
  config: { lifecycleRounds: number; parallelRounds: number; parallelCount: number; iperfRounds: number; iperfSeconds: number; scaleEndpoints: number };
  subnets: Record<Kind, string>;
  lifecycle?: LifecycleResult;
  published?: LifecycleResult;
  parallel?: ParallelRound[];
  /** The driver's timings after figures 1-2 only (one container at a time: no queueing behind other calls). */
  callsSequential?: Record<string, MethodStats>;
  /** After figures 1-3 (figure 3 queues 50 calls at once on one network). */
  calls?: Record<string, MethodStats>;
  scale?: ScaleResult;
  dataplane?: DataplaneResult;
  extension?: ExtensionResult;
  /** Figures 8-9: multi-host against overlay, scale by simulation. */
  multihost?: MultihostSection;
  /** Joins the floor driver could not serve (no prepared veth): its figures are then wrong. */
  floorStarved?: number;
  errors: string[];
  /** Things done to the bench's objects from outside during the run (shared machine). */
  incidents: string[];
}

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const span = (s: Summary, f: (x: number) => string) => (s.n === 0 ? 'failed' : `**${f(s.median)}** (${f(s.min)}–${f(s.max)})`);
const NO_TARGET = 'none (kernel veth deletion)';
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**');

/** Per-round cost: the run on the network minus the --network none run of the same round. */
export function pairedCost(l: LifecycleResult, k: Kind): Summary {
  const n = Math.min(l.raw[k].length, l.raw.none.length);
  return summarize(Array.from({ length: n }, (_, i) => l.raw[k][i] - l.raw.none[i]));
}

interface Row {
  id: string;
  figure: string;
  tsnet: string;
  /** The null driver (dockerd's own cost for a remote driver). */
  floor?: string;
  bridge: string;
  /** tsnet / floor. */
  floorRatio?: string;
  ratio: string;
  target: string;
  met?: boolean;
}

const noTarget = (x: Row) => x.target === 'none set yet' || x.target === 'see the extension' || x.target === NO_TARGET;

function rows(r: Results): Row[] {
  const out: Row[] = [];
  for (const [id, l, what, maxBridge] of [
    ['1', r.lifecycle, 'Network cost per container, ms (`docker run --rm … true` minus `--network none`)', 0.9],
    ['2', r.published, 'Same with one published port (`-p PORT:80`), ms', 0.66],
  ] as const) {
    const target = `tsnet ≤ 1.10× floor and ≤ ${maxBridge}× bridge`;
    if (!l) {
      out.push({ id, figure: what, tsnet: 'failed', bridge: 'failed', ratio: '–', target });
      continue;
    }
    const t = pairedCost(l, 'tsnet');
    const b = pairedCost(l, 'bridge');
    const fl = pairedCost(l, 'floor');
    const ratio = t.median / b.median;
    const floorRatio = t.median / fl.median;
    out.push({
      id,
      figure: what,
      tsnet: span(t, f0),
      floor: span(fl, f0),
      bridge: span(b, f0),
      floorRatio: f3(floorRatio),
      ratio: f3(ratio),
      target,
      met: t.n && b.n && fl.n ? ratio <= maxBridge && floorRatio <= 1.1 : undefined,
    });
  }
  if (r.parallel && r.parallel.length > 0) {
    const of = (k: Kind) => r.parallel!.filter((p) => p.kind === k);
    const wall = (k: Kind) => summarize(of(k).map((p) => p.wallMs / 1000));
    const removal = (k: Kind) => summarize(of(k).map((p) => p.removeMs / 1000));
    const allGood = (k: Kind) => of(k).length > 0 && of(k).every((p) => p.failed === 0 && p.distinctIPs === p.ok);
    const desc = (k: Kind) => (of(k).length === 0 ? 'not run' : `${span(wall(k), f2)}; ${allGood(k) ? 'all up, distinct IPs' : `${of(k).map((p) => `${p.ok} up/${p.distinctIPs} IPs`).join(', ')}`}`);
    const t = wall('tsnet');
    const b = wall('bridge');
    out.push({
      id: '3',
      figure: `${r.config.parallelCount} containers \`docker run -d\` in parallel, wall time, s`,
      tsnet: desc('tsnet'),
      floor: desc('floor'),
      bridge: desc('bridge'),
      floorRatio: f3(t.median / wall('floor').median),
      ratio: f3(t.median / b.median),
      target: 'all succeed, distinct IPs, tsnet ≤ 0.90× bridge',
      met: allGood('tsnet') && t.median <= 0.9 * b.median,
    });
    const tr = removal('tsnet');
    const br = removal('bridge');
    out.push({
      id: '3',
      figure: `The same ${r.config.parallelCount} removed in parallel (\`docker rm -f\`), wall time, s`,
      tsnet: span(tr, f2),
      floor: of('floor').length ? span(removal('floor'), f2) : 'not run',
      bridge: span(br, f2),
      floorRatio: f3(tr.median / removal('floor').median),
      ratio: f3(tr.median / br.median),
      target: 'tsnet ≤ 0.80× bridge',
      met: tr.n && br.n ? tr.median <= 0.8 * br.median : undefined,
    });
  } else out.push({ id: '3', figure: 'Containers in parallel', tsnet: 'failed', bridge: 'failed', ratio: '–', target: 'all succeed, distinct IPs, tsnet ≤ 0.90× bridge' });
  for (const m of ['CreateEndpoint', 'Join', 'ProgramExternalConnectivity', 'Leave', 'DeleteEndpoint', 'RevokeExternalConnectivity']) {
    const s = r.calls?.[m];
    const seq = r.callsSequential?.[m];
    const seqOk = seq ? seq.p50Ms < 1 && seq.p99Ms < 5 : undefined;
    const parOk = s ? s.p50Ms < 2 && s.p99Ms < 50 : undefined;
    out.push({
      id: '4',
      figure: `Driver-side \`${m}\` p50 / p99, ms: one at a time (figs 1–2); including ${r.config.parallelCount} in parallel (figs 1–3${s ? `, ${s.count} calls${s.errors ? `, ${s.errors} errors` : ''}` : ''})`,
      tsnet: `${seq ? `**${f2(seq.p50Ms)}** / ${f2(seq.p99Ms)}` : 'no calls'}; ${s ? `**${f2(s.p50Ms)}** / ${f2(s.p99Ms)}` : 'no calls'}`,
      floor: '0 (answers at once)',
      bridge: 'n/a (in-daemon)',
      ratio: '–',
      target: 'p50 < 1, p99 < 5 one at a time; p50 < 2, p99 < 50 in parallel',
      met: seqOk === undefined && parOk === undefined ? undefined : seqOk !== false && parOk !== false,
    });
  }
  const sc = r.scale;
  out.push({
    id: '5',
    figure: `Scale: set-up (CreateEndpoint + Join) of endpoint ~10 vs ~${r.config.scaleEndpoints}, ms (median of endpoints 1–20 vs the last 20)`,
    tsnet: sc && !sc.error ? `**${f2(sc.early)}** → **${f2(sc.late)}** (×${f2(sc.late / sc.early)})` : `failed${sc?.error ? `: ${sc.error}` : ''}`,
    bridge: 'n/a (no containers)',
    ratio: '–',
    target: `${r.config.scaleEndpoints}th ≤ 1.2× 10th`,
    met: sc && !sc.error ? sc.late <= 1.2 * sc.early : undefined,
  });
  out.push({
    id: '5',
    figure: `Scale: driver RSS at ${r.config.scaleEndpoints} endpoints, MB`,
    tsnet: sc && Number.isFinite(sc.rssFullMB) ? `**${f1(sc.rssFullMB)}** (at start ${f1(sc.rssStartMB)})` : 'failed',
    bridge: 'n/a',
    ratio: '–',
    target: '< 120 MB',
    met: sc && Number.isFinite(sc.rssFullMB) ? sc.rssFullMB < 120 : undefined,
  });
  const targets: Record<string, number> = { c2c: 0.95, host: 2, ext: 0.95 };
  for (const { path, label } of PATHS) {
    const d = r.dataplane?.summary[path];
    if (!d) {
      out.push({ id: '6', figure: `TCP ${label}, Gbit/s`, tsnet: 'failed', bridge: 'failed', ratio: '–', target: `tsnet ≥ ${targets[path]}× bridge` });
      continue;
    }
    const ratio = d.tsnet.median / d.bridge.median;
    out.push({
      id: '6',
      figure: `TCP ${label}, Gbit/s (iperf3 -t ${r.dataplane!.seconds})`,
      tsnet: span(d.tsnet, f2),
      bridge: span(d.bridge, f2),
      ratio: f3(ratio),
      target: `tsnet ≥ ${targets[path]}× bridge`,
      met: d.tsnet.n && d.bridge.n ? ratio >= targets[path] : undefined,
    });
  }
  const ext = r.extension;
  const none = 'not measured yet: no extension bench script (bench/topology-render.* or extension/scripts/*bench*)';
  out.push({
    id: '7',
    figure: 'Extension: activation → fully rendered tree, 50 networks / 500 containers',
    tsnet: ext?.activation?.runs
      ? `${span(ext.activation.ms, f0)} ms from activation (the extension's first Docker request) to the rendered Networks tree; code-server + headless Chromium, fake dockerd with captured-shape data (${ext.activation.script}, ${ext.activation.runs} runs${ext.activation.reloadToTreeMs !== undefined ? `; page reload → tree ${f0(ext.activation.reloadToTreeMs)} ms` : ''})${ext.activation.error ? `; ${ext.activation.error}` : ''}`
      : ext?.activation ? `not measured: ${ext.activation.script} failed (${ext.activation.error})`
      : ext?.script ? `not measured yet: ${ext.script} measures the topology picture only; nothing times activation to a rendered tree` : none,
    bridge: 'n/a',
    ratio: '–',
    target: 'none set yet',
  });
  if (ext?.topology) {
    const t = ext.topology;
    out.push({
      id: '7',
      figure: `Extension: topology render, ${t.networks} networks / ${t.containers} containers, ms (${ext.script}, ${t.runs} runs, headless Chromium)`,
      tsnet: `open (cold page) ${span(t.cold, f0)} = layout ${f0(t.layoutMs)} + draw ${f0(t.drawMs)}; live update (+1 container) ${span(t.warm, f0)}${ext.error ? `; ${ext.error}` : ''}`,
      bridge: 'n/a',
      ratio: '–',
      target: 'none set yet',
    });
  } else if (ext?.script && ext.figures.length > 0) {
    for (const line of ext.figures) out.push({ id: '7', figure: `Extension (${ext.script})`, tsnet: line.replace(/\|/g, '\\|'), bridge: 'n/a', ratio: '–', target: 'see the extension' });
  } else {
    const why = ext?.script ? `not measured: ${ext.script} printed no figure${ext.error ? ` (${ext.error})` : ''}` : none;
    out.push({ id: '7', figure: 'Extension: topology render time, 50 networks / 500 containers', tsnet: why, bridge: 'n/a', ratio: '–', target: 'none set yet' });
  }
  return out;
}

function lifecycleDetail(title: string, l: LifecycleResult | undefined): string[] {
  if (!l) return [];
  const s = (k: Kind | 'none') => `${f0(l.runs[k].median)} (${f0(l.runs[k].min)}–${f0(l.runs[k].max)}, n=${l.runs[k].n})`;
  return [
    `**${title}** — wall time of one \`docker run --rm\`, ms, median (min–max): tsnet ${s('tsnet')}, floor ${s('floor')}, bridge ${s('bridge')}, none ${s('none')}.`,
    `Difference of medians: tsnet ${f0(l.cost.tsnet)} ms, floor ${f0(l.cost.floor)} ms, bridge ${f0(l.cost.bridge)} ms (the table uses the median of per-round differences).`,
    ...(l.failures.length ? [`Failed runs (not counted): ${summarizeFailures(l.failures)}`] : []),
    '',
  ];
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const all = rows(r);
  const lines: string[] = [
    '# Benchmark: tsnet against Docker\'s built-in `bridge` driver',
    '',
    `Generated by \`npm run bench\` (scripts/bench.sh → bench/src/main.ts) on **${m.date}**; the whole run took **${Math.floor(r.durationS / 60)} min ${Math.round(r.durationS % 60)} s** (build included; the measurements ${Math.floor(r.benchDurationS / 60)} min ${Math.round(r.benchDurationS % 60)} s).`,
    '',
    `Machine: ${m.nproc} CPUs (${m.cpu}), ${f1(m.memGB)} GB RAM, kernel ${m.kernel}, Docker Engine ${m.dockerServer} (CLI ${m.dockerClient}), Node ${m.node}, ${m.iperf3}.`,
    `Load average at start ${m.loadStart}, at end ${m.loadEnd}; one crash-safe write (write + fsync + rename + fsync of the directory, the driver store's pattern) took ${f2(m.durableWriteMs.small)} ms for 2 KB and ${f2(m.durableWriteMs.large)} ms for 512 KB in /tmp at start (${f2(m.durableWriteMsEnd.small)} / ${f2(m.durableWriteMsEnd.large)} ms at the end); ${m.foreignContainers} containers not the bench's were running at start. The machine is shared with other work, so figures are noisy: compare the tsnet/bridge ratio (both measured alternately in the same run) more than absolute values.`,
    '',
    `Schedule: tsnet, bridge (and \`--network none\`) alternate within every round, rotating which goes first. Figures 1–2: ${r.config.lifecycleRounds} rounds after one warm-up run each; figure 3: ${r.config.parallelRounds} rounds of ${r.config.parallelCount}; figure 6: ${r.config.iperfRounds} rounds of \`iperf3 -t ${r.config.iperfSeconds}\` per path; figure 5: ${r.config.scaleEndpoints} endpoints on a separate driver instance (tsnetscale) through the remote API. Networks: tsnet ${r.subnets.tsnet}, bridge ${r.subnets.bridge}. Cells: **median** (min–max).`,
    '',
    'The floor column is a remote driver that does no work (bench/src/floor.ts: every call answers at once, Join hands out a veth made beforehand): what dockerd alone costs for a remote driver. tsnet/floor is what tsnet adds to it.',
    '',
    '| # | Figure | tsnet | floor (null driver) | bridge | tsnet/floor | tsnet/bridge | Target | Result |',
    '|---|--------|-------|---------------------|--------|-------------|--------------|--------|--------|',
    ...all.map((x) => `| ${x.id} | ${x.figure} | ${x.tsnet} | ${x.floor ?? 'n/a'} | ${x.bridge} | ${x.floorRatio ?? '–'} | ${x.ratio} | ${x.target} | ${noTarget(x) ? '–' : verdict(x.met)} |`),
    '',
    `Targets met: ${all.filter((x) => x.met === true).length}; missed: ${all.filter((x) => x.met === false).map((x) => `${x.id} ${x.figure.replace(/[`*]/g, '').replace(/ \(.*$/, '').split(',')[0]}`).join('; ') || 'none'}; not measured: ${all.filter((x) => x.met === undefined && !noTarget(x)).length}.`,
    '',
    '## Details',
    '',
    ...lifecycleDetail('Figure 1', r.lifecycle),
    ...lifecycleDetail('Figure 2', r.published),
  ];
  if (r.parallel) {
    lines.push('**Figure 3** — per round:', '', '| round | driver | wall s | up | failed | distinct IPs | removal s |', '|---|---|---|---|---|---|---|');
    for (const p of r.parallel) lines.push(`| ${p.round} | ${p.kind} | ${f2(p.wallMs / 1000)} | ${p.ok} | ${p.failed} | ${p.distinctIPs} | ${f2(p.removeMs / 1000)} |`);
    const errs = r.parallel.flatMap((p) => p.errors.map((e) => `${p.kind} round ${p.round}: ${e}`));
    if (errs.length) lines.push('', `Errors: ${errs.join('; ')}`);
    lines.push('');
  }
  for (const [calls, when] of [
    [r.callsSequential, 'after figures 1–2 (one container at a time)'],
    [r.calls, 'after figures 1–3 (figure 3 sends 50 containers\' calls at once; the driver serialises calls per network, so its timing includes the wait in that queue)'],
  ] as const) {
    if (!calls) continue;
    lines.push(`**Figure 4** — every method the driver timed (status API \`calls\`), ${when}:`, '', '| method | count | errors | p50 ms | p90 ms | p99 ms | max ms |', '|---|---|---|---|---|---|---|');
    for (const [k, s] of Object.entries(calls).sort()) lines.push(`| ${k} | ${s.count} | ${s.errors} | ${f2(s.p50Ms)} | ${f2(s.p90Ms)} | ${f2(s.p99Ms)} | ${f1(s.maxMs)} |`);
    lines.push('');
  }
  if (r.callsSequential) {
    const c = r.callsSequential;
    const p = (m: string) => c[m]?.p50Ms ?? 0;
    const share = p('CreateEndpoint') + p('Join') + p('ProgramExternalConnectivity') + 2 * p('EndpointOperInfo') + p('RevokeExternalConnectivity') + p('Leave') + p('DeleteEndpoint');
    lines.push(
      `The driver's own share of one container's life cycle (sum of the p50s above, one at a time: CreateEndpoint, Join, ProgramExternalConnectivity, 2× EndpointOperInfo, RevokeExternalConnectivity, Leave, DeleteEndpoint): **${f0(share)} ms**, against tsnet's measured network cost of ${r.lifecycle ? f0(pairedCost(r.lifecycle, 'tsnet').median) : '–'} ms (figure 1). The rest is dockerd's own per-endpoint work (sandbox, moving and configuring the interface, its store) and the plugin round trips.`,
      '',
    );
  }
  const sc = r.scale;
  if (sc) {
    const bucket = Math.max(1, Math.floor(sc.setupMs.length / 10));
    const q = (i: number) => f2(median(sc.setupMs.slice(i * bucket, i * bucket + bucket)));
    lines.push(
      `**Figure 5** — ${sc.endpoints} endpoints on ${sc.subnet}: all set up in ${f1(sc.createAllMs / 1000)} s, torn down (Leave + DeleteEndpoint) in ${f1(sc.teardownAllMs / 1000)} s; the driver's state directory held ${f0(sc.storeKB)} KB at full size. Set-up median per ${bucket} endpoints, ms: ${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(q).join(', ')}.`,
      ...(sc.cpuMsPerEndpoint.length ? [`Driver CPU time (user + system) per endpoint set-up, ms, per tenth: ${sc.cpuMsPerEndpoint.map(f2).join(', ')}.`] : []),
      ...(Object.keys(sc.driverCalls).length ? [`Driver-side on this instance: ${Object.entries(sc.driverCalls).map(([k, s]) => `${k} p50 ${f2(s.p50Ms)} / p99 ${f2(s.p99Ms)} / max ${f1(s.maxMs)} ms`).join('; ')}.`] : []),
      ...(sc.error ? [`Error: ${sc.error}`] : []),
      '',
    );
  }
  if (r.dataplane) {
    lines.push(`**Figure 6** — Gbit/s per round (${r.dataplane.rounds} rounds, \`iperf3 -t ${r.dataplane.seconds}\`):`, '');
    for (const { path, label } of PATHS) lines.push(`- ${label}: tsnet ${r.dataplane.raw[path].tsnet.map(f2).join(', ') || '–'}; bridge ${r.dataplane.raw[path].bridge.map(f2).join(', ') || '–'}`);
    if (r.dataplane.failures.length) lines.push(`- Failures: ${r.dataplane.failures.join('; ')}`);
    lines.push('');
  }
  if (r.extension?.script) lines.push(`**Figure 7** — ran ${r.extension.script}${r.extension.error ? ` (${r.extension.error})` : ''}.`, '');
  if (r.floorStarved) lines.push(`**Floor** — ${r.floorStarved} Joins found no prepared veth: the floor figures are not valid.`, '');
  if (r.incidents.length) lines.push('## Incidents during this run', '', ...r.incidents.map((e) => `- ${e}`), '');
  if (r.errors.length) lines.push('## Errors', '', ...r.errors.map((e) => `- ${e}`), '');
  lines.push('Raw numbers: bench/raw/results.json; the logs of the drivers the bench started: bench/raw/*-driver.log (both gitignored).', '');
  return lines.join('\n');
}

/** "tsnet round 3: msg" × n → "tsnet ×n: msg" per distinct message. */
function summarizeFailures(failures: string[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const key = f.replace(/ round \d+:/, ':').replace(/ (endpoint|container) \S+ on network/, ' $1 … on network').replace(/(create veth|peer) ts[vc][0-9a-f]+/g, '$1 …');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k.replace(/:/, ` ×${n}:`)}`).join('; ');
}
