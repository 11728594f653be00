/**
 * docs/namespaces.md is executable: every ```console block in it is a list of `$ command` lines,
 * each followed by the output it printed. This test runs every command in order (with bash, from
 * the repo root, stderr folded into stdout) in the scenario the guide sets up itself (guide-net,
 * guide-a, guide-b, guide-c), and checks that each output still has the shape shown: same number of
 * lines, each matching the sample with IDs, MACs, interface indexes, PIDs, inode numbers and
 * kernel-picked (ephemeral) ports generalised and runs of blanks allowed to change width.
 *
 * Substitutions, so the guide reads as a user types it: `-d tsnet` becomes the suite's driver,
 * the `tsnet` command is the built CLI reading the suite driver's status socket, and the guide's
 * subnet 10.231.77.0/24 becomes a free one when 77 is taken on this host.
 *
 * UPDATE_GUIDE=1 rewrites the output samples in the guide with what this run printed (with the
 * substitutions undone), to refresh the guide after an intended change.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DRIVER_NAME, IMAGE, REPO, freeSubnet, sh } from '../helpers/docker';
import { driver } from './env';

export const GUIDE = path.join(REPO, 'docs', 'namespaces.md');
const GUIDE_SUBNET_PREFIX = '10.231.77.';
const GUIDE_IMAGE = 'tsnet-test-busybox';
const GUIDE_CONTAINERS = ['guide-b', 'guide-a', 'guide-c', 'guide-d'];
const GUIDE_NETWORKS = ['guide-net'];

/** Commands that change something (never repeated). */
const MUTATING = /^docker (run|create|start|stop|rm|network (create|rm|connect|disconnect))\b/;

export interface Step {
  command: string;
  expected: string[];
  /** Index of the block in the guide, and line of the command (1-based), for messages. */
  block: number;
  line: number;
}

/** The ```console blocks of a Markdown text, as commands with their sample output. */
export function parseGuide(text: string): Step[][] {
  const blocks: Step[][] = [];
  const lines = text.split('\n');
  let current: Step[] | undefined;
  lines.forEach((l, i) => {
    if (current === undefined) {
      if (/^```console\s*$/.test(l)) current = [];
      return;
    }
    if (/^```\s*$/.test(l)) {
      blocks.push(current);
      current = undefined;
      return;
    }
    if (l.startsWith('$ ')) current.push({ command: l.slice(2), expected: [], block: blocks.length, line: i + 1 });
    else if (current.length > 0) current[current.length - 1].expected.push(l);
    else throw new Error(`${GUIDE}:${i + 1}: output before any "$ " command in a console block`);
  });
  if (current !== undefined) throw new Error(`${GUIDE}: unterminated console block`);
  return blocks;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Tokens that differ from run to run, each with the pattern that stands for it. */
const VOLATILE: [RegExp, (m: string) => string][] = [
  [/\b[0-9a-f]{64}\b/, () => '[0-9a-f]{64}'],
  [/\b(tsn-|tsv|tsc)[0-9a-f]{11}\b/, (m) => `${m.slice(0, m.length - 11)}[0-9a-f]{11}`],
  [/\b[0-9a-f]{12}\b/, () => '[0-9a-f]{12}'],
  [/\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/, () => '[0-9a-f]{2}(?::[0-9a-f]{2}){5}'],
  // IPv6 link-local addresses derive from MACs the kernel made up.
  [/\bfe80::[0-9a-f:]+/, () => 'fe80::[0-9a-f:]+'],
  [/^\d+(?=: )/, () => '\\d+'],
  [/@if\d+/, () => '@if\\d+'],
  [/\bpid \d+/, () => 'pid \\d+'],
  [/net:\[\d+\]/, () => 'net:\\[\\d+\\]'],
  [/\/proc\/\d+\//, () => '/proc/\\d+/'],
  // Ports the kernel or tsnet picked (Linux's ephemeral range starts at 32768).
  [/\b(?:3[2-9]\d{3}|[4-6]\d{4})\b/, () => '\\d{5}'],
];

/** A regex for one sample line. */
export function lineRegex(sample: string): RegExp {
  let out = '';
  let rest = sample;
  let atStart = true;
  while (rest.length > 0) {
    let best: { index: number; text: string; repl: string } | undefined;
    for (const [re, repl] of VOLATILE) {
      if (re.source.startsWith('^') && !atStart) continue;
      const m = re.exec(rest);
      if (m && (best === undefined || m.index < best.index)) best = { index: m.index, text: m[0], repl: repl(m[0]) };
    }
    const literal = best ? rest.slice(0, best.index) : rest;
    out += literal
      .split(/( +)/)
      .map((part) => (/^ +$/.test(part) ? ' +' : escapeRe(part)))
      .join('');
    if (!best) break;
    out += best.repl;
    rest = rest.slice(best.index + best.text.length);
    atStart = false;
  }
  return new RegExp(`^${out}$`);
}

/** Undefined when the output has the sample's shape, else a readable difference. */
export function shapeMismatch(expected: string[], actual: string[]): string | undefined {
  if (expected.length !== actual.length) return `expected ${expected.length} lines, got ${actual.length}`;
  for (let i = 0; i < expected.length; i++) {
    // Trailing blanks (`ip -br`, netstat pad their columns) are not part of the shape.
    const re = lineRegex(expected[i].trimEnd());
    if (!re.test(actual[i].trimEnd())) return `line ${i + 1}:\n  sample: ${expected[i]}\n  actual: ${actual[i]}\n  regex:  ${re.source}`;
  }
  return undefined;
}

function removeGuideObjects(): void {
  for (const c of GUIDE_CONTAINERS) spawnSync('docker', ['rm', '-f', c], { stdio: 'ignore', timeout: 60_000 });
  for (const n of GUIDE_NETWORKS) spawnSync('docker', ['network', 'rm', n], { stdio: 'ignore', timeout: 60_000 });
}

describe('docs/namespaces.md runs as written', function () {
  this.timeout(300_000);
  let bin: string;
  let prefix: string;
  const steps = parseGuide(fs.readFileSync(GUIDE, 'utf8'));

  before(function () {
    removeGuideObjects();
    const routes = sh('ip', ['route', 'show']);
    prefix = routes.includes(GUIDE_SUBNET_PREFIX) ? freeSubnet().v4.replace(/0\/24$/, '') : GUIDE_SUBNET_PREFIX;
    if (process.env.UPDATE_GUIDE === '1' && prefix !== GUIDE_SUBNET_PREFIX) throw new Error(`UPDATE_GUIDE needs ${GUIDE_SUBNET_PREFIX}0/24 free on this host`);
    const tsnetJs = path.join(REPO, 'driver', 'dist', 'cli', 'tsnet.js');
    if (!fs.existsSync(tsnetJs)) throw new Error(`missing prerequisite: ${tsnetJs}; build first`);
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'guide-bin-'));
    fs.writeFileSync(path.join(bin, 'tsnet'), `#!/bin/sh\nexec "${process.execPath}" "${tsnetJs}" "$@"\n`, { mode: 0o755 });
    // The guide publishes fixed host ports; fail clearly when something else holds them.
    for (const p of ['18231']) assert.ok(!sh('ss', ['-Htanl']).includes(`:${p} `), `host port ${p} the guide publishes is in use`);
  });

  after(function () {
    removeGuideObjects();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
  });

  it('has console blocks with commands', function () {
    assert.ok(steps.length >= 5, `found ${steps.length} console blocks in ${GUIDE}`);
    assert.ok(steps.flat().some((s) => s.command.startsWith('tsnet inspect')));
  });

  it('every command prints output of the shape shown', function () {
    const substitute = (s: string) => {
      let out = s.split(GUIDE_SUBNET_PREFIX).join(prefix);
      out = out.replace(/(-d|--driver) tsnet\b/g, `$1 ${DRIVER_NAME}`);
      if (IMAGE !== `${GUIDE_IMAGE}:latest`) out = out.replace(new RegExp(`\\b${GUIDE_IMAGE}\\b(?!:)`, 'g'), IMAGE);
      return out;
    };
    const unsubstitute = (s: string) => s.split(prefix).join(GUIDE_SUBNET_PREFIX);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TSNET_STATUS_SOCKET: driver.statusSocket };
    const failures: string[] = [];
    const recorded = new Map<number, string[]>();
    for (const step of steps.flat()) {
      const command = substitute(step.command);
      const expected = step.expected.map(substitute);
      // A command that only looks may run again a moment later: a server the previous command
      // started may not have bound its port yet. Commands that change something run once.
      const attempts = MUTATING.test(command) ? 1 : 4;
      let actual: string[] = [];
      let why: string | undefined;
      for (let i = 0; i < attempts; i++) {
        if (i > 0) spawnSync('sleep', ['0.5']);
        const r = spawnSync('bash', ['-c', `${command} 2>&1`], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
        actual = (r.stdout ?? '').replace(/\n$/, '').split('\n');
        if (actual.length === 1 && actual[0] === '') actual.length = 0;
        why = shapeMismatch(expected, actual);
        if (!why) break;
      }
      recorded.set(step.line, actual.map((l) => unsubstitute(l).trimEnd()));
      if (why) failures.push(`${GUIDE}:${step.line}: $ ${step.command}\n${why}\n--- actual output ---\n${actual.join('\n')}`);
    }
    if (process.env.UPDATE_GUIDE === '1') {
      const lines = fs.readFileSync(GUIDE, 'utf8').split('\n');
      const out: string[] = [];
      let skipping = false;
      lines.forEach((l, i) => {
        if (skipping && (l.startsWith('$ ') || /^```\s*$/.test(l))) skipping = false;
        if (skipping) return;
        out.push(l);
        const rec = recorded.get(i + 1);
        if (rec) {
          out.push(...rec);
          skipping = true;
        }
      });
      fs.writeFileSync(GUIDE, out.join('\n'));
      return;
    }
    assert.deepEqual(failures, [], failures.join('\n\n'));
  });
});
