/**
 * Figure 7: the extension's own figures (activation to a rendered tree; topology render time
 * with 50 networks / 500 containers). The extension's engineers own the measurement: the bench
 * looks for a script of theirs and includes what it prints; without one the row says so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log, run } from '../util';

export interface ExtensionResult {
  script?: string;
  /** Lines the script printed, kept as figures ("name: value" or JSON), at most 10. */
  figures: string[];
  error?: string;
}

/** Where the extension's engineers may put a benchmark script (first match wins). */
export function findExtensionBench(repoRoot: string): string | undefined {
  const candidates: string[] = [];
  const benchDir = path.join(repoRoot, 'bench');
  for (const f of fs.existsSync(benchDir) ? fs.readdirSync(benchDir) : []) if (/^topology-render\.(mjs|cjs|js|sh)$/.test(f)) candidates.push(path.join(benchDir, f));
  const scripts = path.join(repoRoot, 'extension/scripts');
  for (const f of fs.existsSync(scripts) ? fs.readdirSync(scripts) : []) if (/bench/i.test(f) && /\.(mjs|cjs|js|sh)$/.test(f)) candidates.push(path.join(scripts, f));
  return candidates.sort()[0];
}

export async function extensionFigures(repoRoot: string): Promise<ExtensionResult> {
  const script = findExtensionBench(repoRoot);
  if (!script) return { figures: [] };
  const rel = path.relative(repoRoot, script);
  log(`extension: running ${rel}`);
  const cmd = script.endsWith('.sh') ? 'bash' : process.execPath;
  const r = await run(cmd, [script], { allowFail: true, timeoutMs: 5 * 60_000 });
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter((l) => /\d/.test(l) && (/^\{.*\}$/.test(l) || /\bms\b|:\s*[\d.]+/.test(l)));
  return { script: rel, figures: lines.slice(-10), error: r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}` };
}
