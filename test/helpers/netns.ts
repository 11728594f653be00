/**
 * Throw-away network namespaces for kernel tests. Tests may use `ip` (the driver may not).
 * Every namespace is named `tst-...` and removed in `cleanup()`, also when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface TestNetns {
  name: string;
  /** Path usable with setns / NetlinkHandle: /run/netns/NAME */
  path: string;
  /** Runs a command inside the namespace and returns stdout. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): string;
  cleanup(): void;
}

export function createNetns(label = 'k'): TestNetns {
  const name = `tst-${label}-${randomBytes(3).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return {
    name,
    path: `/run/netns/${name}`,
    exec(cmd, args, opts) {
      return execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', timeout: opts?.timeoutMs ?? 10_000 });
    },
    cleanup() {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        /* already gone */
      }
    },
  };
}

/** Fails loudly under CI=true when a prerequisite is missing; elsewhere too (never a silent skip). */
export function requirePrerequisite(ok: boolean, what: string, howToFix: string): void {
  if (!ok) throw new Error(`missing prerequisite: ${what}. ${howToFix}`);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
