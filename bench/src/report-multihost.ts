/** The multi-host section of bench/results.md (figures 8 and 9), between markers so a multi-host-only run can replace it alone. */
import type { MhScaleResult } from './figures/mhscale';
import type { MultihostResult } from './figures/multihost';
import type { Summary } from './util';

export const MH_BEGIN = '<!-- multihost:begin -->';
export const MH_END = '<!-- multihost:end -->';

const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
const span = (s: Summary, f: (x: number) => string) => (s.n === 0 ? 'failed' : `**${f(s.median)}** (${f(s.min)}–${f(s.max)})`);
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**missed**');

export interface MultihostSection {
  date: string;
  loadStart: string;
  loadEnd: string;
  durationS: number;
  anchor?: MultihostResult;
  scale?: MhScaleResult;
  errors: string[];
}

/** Verdicts, for the summary line and the README. */
export function multihostVerdicts(s: MultihostSection): { name: string; met: boolean | undefined }[] {
  const out: { name: string; met: boolean | undefined }[] = [];
  const a = s.anchor?.summary;
  out.push({ name: 'throughput tsnet/overlay ≥ 1.0', met: a && a.throughput.tsnet.n && a.throughput.overlay.n ? a.throughput.tsnet.median / a.throughput.overlay.median >= 1 : undefined });
  out.push({ name: 'RTT tsnet/overlay ≤ 1.0', met: a && a.rtt.tsnet.n && a.rtt.overlay.n ? a.rtt.tsnet.median / a.rtt.overlay.median <= 1 : undefined });
  out.push({ name: 'docker run cost tsnet/overlay ≤ 0.8', met: a && a.cost.tsnet.n && a.cost.overlay.n ? a.cost.tsnet.median / a.cost.overlay.median <= 0.8 : undefined });
  const top = s.scale?.levels.find((l) => l.hosts >= 1000);
  out.push({ name: 'converge at 1,000 hosts < 2 s', met: top ? top.summary.converge.max < 2000 : undefined });
  out.push({ name: 'RSS at 1,000 hosts < 200 MB', met: top ? top.summary.rss.max < 200 : undefined });
  out.push({ name: 'add one host at 1,000 < 1 s', met: top ? top.summary.addOne.max < 1000 : undefined });
  out.push({ name: 'etcd keys O(hosts + blocks)', met: top && s.scale ? top.keys.total <= top.keys.hosts + top.keys.blocks + top.keys.pools && (s.scale.containerCheck ? s.scale.containerCheck.after - s.scale.containerCheck.before === s.scale.containerCheck.newBlocks : true) : undefined });
  return out;
}

export function renderMultihost(s: MultihostSection): string[] {
  const lines = [MH_BEGIN, '', '## Multi-host (issue 16): tsnet against Docker\'s overlay driver, and scale by simulation', ''];
  lines.push(`Measured on **${s.date}** by \`npm run bench\` (figures 8 and 9; \`npm run bench -- multihost\` runs only these and rewrites only this section), in ${Math.floor(s.durationS / 60)} min ${Math.round(s.durationS % 60)} s, load average ${s.loadStart} at start, ${s.loadEnd} at the end. Harness: \`scripts/multihost.sh up 3\`: three Docker engines on this one 2-core machine, each in its own network + mount namespace with its own tsnet driver, joined by the underlay bridge mh-ul (MTU 1500); etcd on the underlay. All three hosts share the same two CPUs, so throughput is bounded by CPU, not by a wire.`, '');
  const a = s.anchor;
  if (a) {
    const c = a.config;
    lines.push(
      `**Figure 8** — the same three engines joined into a swarm (\`swarm init --advertise-addr 172.30.250.11\` on host 1, the others join), \`docker network create -d overlay --attachable --subnet ${a.subnets.overlay}\` against \`docker network create -d tsnet --ipam-driver tsnet --subnet ${a.subnets.tsnet} -o tsnet.cluster=…\` on every host. One iperf3 server on host 2 and one client container on host 1 per network, kept running through the figure. ${c.rounds} rounds, tsnet and overlay alternating (rotating which goes first): \`iperf3 -c SERVER -t ${c.iperfSeconds}\` (received rate) and \`ping -c ${c.pings} -i 0.2\` from the client (median of all replies); then ${c.runRounds} rounds of \`docker run --rm IMAGE true\` on host 1 on tsnet, overlay and \`--network none\` (cost = run on the network minus the none run of the same round; median of the rounds). Container MTU: tsnet ${a.mtu.tsnet}, overlay ${a.mtu.overlay}. The swarm is left on every engine afterwards. Cells: **median** (min–max).`,
      '',
      '| Figure | tsnet | overlay | tsnet/overlay | Target | Result |',
      '|---|---|---|---|---|---|',
    );
    const m = a.summary;
    const rt = m.throughput.tsnet.median / m.throughput.overlay.median;
    const rr = m.rtt.tsnet.median / m.rtt.overlay.median;
    const rc = m.cost.tsnet.median / m.cost.overlay.median;
    lines.push(`| TCP throughput, container on host 1 → container on host 2, Gbit/s | ${span(m.throughput.tsnet, f2)} | ${span(m.throughput.overlay, f2)} | ${f3(rt)} | ≥ 1.0 | ${verdict(m.throughput.tsnet.n && m.throughput.overlay.n ? rt >= 1 : undefined)} |`);
    lines.push(`| RTT host 1 → host 2 (ping), ms | ${span(m.rtt.tsnet, f3)} | ${span(m.rtt.overlay, f3)} | ${f3(rr)} | ≤ 1.0 | ${verdict(m.rtt.tsnet.n && m.rtt.overlay.n ? rr <= 1 : undefined)} |`);
    lines.push(`| Cost of a \`docker run --rm\` on the network (minus \`--network none\`), ms | ${span(m.cost.tsnet, f0)} | ${span(m.cost.overlay, f0)} | ${f3(rc)} | ≤ 0.8 | ${verdict(m.cost.tsnet.n && m.cost.overlay.n ? rc <= 0.8 : undefined)} |`);
    lines.push('', `Wall time of one \`docker run --rm\` on host 1, ms: tsnet ${span(m.runs.tsnet, f0)}, overlay ${span(m.runs.overlay, f0)}, none ${span(m.runs.none, f0)}. Per round, throughput Gbit/s tsnet ${a.throughput.tsnet.map(f2).join(', ')}; overlay ${a.throughput.overlay.map(f2).join(', ')}; RTT median ms tsnet ${a.rtt.tsnet.map(f3).join(', ')}; overlay ${a.rtt.overlay.map(f3).join(', ')}.`);
    if (a.failures.length) lines.push('', `Failures: ${a.failures.join('; ')}`);
    lines.push('');
  }
  const sc = s.scale;
  if (sc) {
    lines.push(
      `**Figure 9** — scale by simulation: host records and one /26 block each for N simulated hosts written into etcd with the driver's own key and record format (\`driver/src/cluster/etcd.ts\`; records only, no engines; VTEP addresses in 198.18.0.0/15, routed nowhere, never sent to), blocks in the pool ${sc.subnet} of a tsnet multi-host network present on all ${sc.realHosts} real hosts. **Cold start**: host 1's driver is stopped, its VXLAN link (with every route, FDB entry and neighbour on it) and its underlay filter table are deleted, and the driver is started again; the time runs from the start command until host 1's kernel has a route, an FDB entry, a neighbour and a filter set element for every simulated host (polled from outside with \`ip\`, \`bridge\` and \`nft\`, one poll every ~${f0(sc.pollMs)} ms at the last level), ${sc.coldRounds} rounds per level. **RSS**: the driver's VmRSS 1 s after converging. **Add one**: one more host's record and block in one etcd transaction; time until every real host's kernel has its route and its filter element (\`ip monitor route\`, \`nft monitor\` in each host's namespace), ${sc.addRounds} rounds (each removed again; removal time likewise). Cells: **median** (min–max).`,
      '',
      '| simulated hosts | cold-start converge, ms | of which until the driver\'s sockets answer (polling starts then), ms | driver RSS, MB | add one host, all real hosts, ms | remove one host, ms | etcd keys (hosts + blocks + pools) | host 1 kernel: routes / FDB / neighbours / filter elements |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const l of sc.levels) {
      const up = l.driverUpMs.length ? [...l.driverUpMs].sort((x, y) => x - y)[Math.floor(l.driverUpMs.length / 2)] : NaN;
      lines.push(`| ${l.hosts} | ${span(l.summary.converge, f0)} | ${f0(up)} | ${span(l.summary.rss, f1)} | ${span(l.summary.addOne, f0)} | ${span(l.summary.removeOne, f0)} | ${l.keys.total} (${l.keys.hosts} + ${l.keys.blocks} + ${l.keys.pools}) | ${l.kernel.routes} / ${l.kernel.fdb} / ${l.kernel.neighbours} / ${l.kernel.filter} |`);
    }
    const lo = sc.levels[0];
    const hi = sc.levels[sc.levels.length - 1];
    if (lo && hi && lo !== hi) {
      lines.push('', `Growth ${lo.hosts} → ${hi.hosts} hosts (×${hi.hosts / lo.hosts}): converge ×${f2(hi.summary.converge.median / lo.summary.converge.median)}, RSS ×${f2(hi.summary.rss.median / lo.summary.rss.median)}, add-one ×${f2(hi.summary.addOne.median / lo.summary.addOne.median)}, etcd keys ×${f2(hi.keys.total / lo.keys.total)}.`);
    }
    if (sc.containerCheck) {
      const k = sc.containerCheck;
      lines.push('', `Keys do not follow containers: ${k.containers} containers started on host 1 took the etcd key count from ${k.before} to ${k.after} (${k.newBlocks} new block${k.newBlocks === 1 ? '' : 's'}; addresses inside a block are allocated from the host's local file, never written to etcd).`);
    }
    if (sc.errors.length) lines.push('', `Errors: ${sc.errors.join('; ')}`);
    lines.push('');
  }
  const v = multihostVerdicts(s);
  lines.push(`Multi-host targets met: ${v.filter((x) => x.met === true).map((x) => x.name).join('; ') || 'none'}. Missed: ${v.filter((x) => x.met === false).map((x) => x.name).join('; ') || 'none'}. Not measured: ${v.filter((x) => x.met === undefined).map((x) => x.name).join('; ') || 'none'}.`);
  if (s.errors.length) lines.push('', `Errors: ${s.errors.join('; ')}`);
  lines.push('', MH_END);
  return lines;
}

/** Replaces the multi-host section of an existing results file (or appends it). */
export function spliceMultihost(existing: string, section: string[]): string {
  const body = section.join('\n');
  const b = existing.indexOf(MH_BEGIN);
  const e = existing.indexOf(MH_END);
  if (b >= 0 && e > b) return existing.slice(0, b) + body + existing.slice(e + MH_END.length);
  return `${existing.replace(/\n*$/, '\n\n')}${body}\n`;
}
