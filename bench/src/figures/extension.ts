/**
 * Figure 7: the extension's own figures (activation to a rendered tree; topology render time
 * with 50 networks / 500 containers). The extension's engineers own the measurement: the bench
 * runs a script of theirs and includes what it reports; without one a row says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log, run, summarize, type Summary } from '../util';

/** What extension/scripts/bench-topology.js prints with --json. */
interface TopologyJson {
  networks: number;
  containers: number;
  runs: number;
  coldMedianMs: number;
  coldLayoutMedianMs: number;
  coldRenderMedianMs: number;
  warmMedianMs: number;
  coldRunsMs: number[];
  warmRunsMs: number[];
  errors?: string[];
}

/** What extension/scripts/bench-activation.js prints with --json. */
interface ActivationJson {
  networks: number;
  containers: number;
  runs: number;
  activationToTreeMs: number;
  runsMs: number[];
  reloadToTreeMedianMs?: number;
}

export interface ExtensionResult {
  script?: string;
  /** extension/scripts/bench-activation.js: activation → rendered Networks tree (fake dockerd, code-server). */
  activation?: { script: string; networks: number; containers: number; runs: number; ms: Summary; reloadToTreeMs?: number; error?: string };
  topology?: { networks: number; containers: number; runs: number; cold: Summary; warm: Summary; layoutMs: number; drawMs: number };
  /** Lines another script printed that look like figures, at most 10. */
  figures: string[];
  error?: string;
}

const ACTIVATION_SCRIPT = 'bench-activation.js';

/** Activation → rendered tree (extension/scripts/bench-activation.js), when the script is there. */
async function activationFigure(repoRoot: string): Promise<ExtensionResult['activation']> {
  const script = path.join(repoRoot, 'extension/scripts', ACTIVATION_SCRIPT);
  if (!fs.existsSync(script)) return undefined;
  const rel = path.relative(repoRoot, script);
  log(`extension: running ${rel}`);
  const r = await run(process.execPath, [script, '--networks', '50', '--containers', '500', '--json'], { allowFail: true, timeoutMs: 10 * 60_000 });
  const jsonLine = r.stdout.split('\n').reverse().find((l) => l.trim().startsWith('{'));
  const error = r.code === 0 ? undefined : `exit ${r.code}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)}`;
  try {
    const j = JSON.parse(jsonLine ?? '') as ActivationJson;
    return { script: rel, networks: j.networks, containers: j.containers, runs: j.runs, ms: summarize(j.runsMs), reloadToTreeMs: j.reloadToTreeMedianMs, error };
  } catch {
    return { script: rel, networks: 50, containers: 500, runs: 0, ms: summarize([]), error: error ?? 'printed no JSON' };
  }
}

/** Where the extension's engineers put benchmark scripts (first match wins). */
export function findExtensionBench(repoRoot: string): string | undefined {
  const candidates: string[] = [];
  const benchDir = path.join(repoRoot, 'bench');
  for (const f of fs.existsSync(benchDir) ? fs.readdirSync(benchDir) : []) if (/^topology-render\.(mjs|cjs|js|sh)$/.test(f)) candidates.push(path.join(benchDir, f));
  const scripts = path.join(repoRoot, 'extension/scripts');
  for (const f of fs.existsSync(scripts) ? fs.readdirSync(scripts) : []) if (/bench/i.test(f) && /\.(mjs|cjs|js|sh)$/.test(f) && f !== ACTIVATION_SCRIPT) candidates.push(path.join(scripts, f));
  return candidates.sort()[0];
}

export async function extensionFigures(repoRoot: string): Promise<ExtensionResult> {
  const activation = await activationFigure(repoRoot);
  return { ...(await topologyFigures(repoRoot)), activation };
}

async function topologyFigures(repoRoot: string): Promise<ExtensionResult> {
  const script = findExtensionBench(repoRoot);
  if (!script) return { figures: [] };
  const rel = path.relative(repoRoot, script);
  const isTopology = path.basename(script) === 'bench-topology.js';
  if (isTopology && !fs.existsSync(path.join(repoRoot, 'extension/media/topology/dist/webview.js'))) {
    log('extension: building the webview bundle the topology script needs (npm run -w extension bundle)');
    await run('npm', ['run', '-w', 'extension', 'bundle'], { allowFail: true, timeoutMs: 5 * 60_000 });
  }
  log(`extension: running ${rel}`);
  const cmd = script.endsWith('.sh') ? 'bash' : process.execPath;
  const args = isTopology ? [script, '--networks', '50', '--containers', '500', '--json'] : [script];
  const r = await run(cmd, args, { allowFail: true, timeoutMs: 5 * 60_000 });
  const error = r.code === 0 ? undefined : `exit ${r.code}: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)}`;
  const jsonLine = r.stdout.split('\n').reverse().find((l) => l.trim().startsWith('{'));
  if (isTopology && jsonLine) {
    try {
      const j = JSON.parse(jsonLine) as TopologyJson;
      return {
        script: rel,
        topology: { networks: j.networks, containers: j.containers, runs: j.runs, cold: summarize(j.coldRunsMs), warm: summarize(j.warmRunsMs), layoutMs: j.coldLayoutMedianMs, drawMs: j.coldRenderMedianMs },
        figures: [],
        error: error ?? (j.errors?.length ? `page errors: ${j.errors.join(' | ').slice(0, 300)}` : undefined),
      };
    } catch {
      // fall through to the generic lines
    }
  }
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /\d/.test(l) && (/^\{.*\}$/.test(l) || /\bms\b|:\s*[\d.]+/.test(l)));
  return { script: rel, figures: lines.slice(-10), error };
}
