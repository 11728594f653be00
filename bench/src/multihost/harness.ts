/**
 * The multi-host harness (scripts/multihost.sh) seen from the bench: three Docker engines, each in
 * its own network + mount namespace with its own tsnet driver, on the underlay bridge mh-ul, and
 * etcd at 172.30.250.1:2379. Everything here is made by the bench and removed by `down`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log, run, type RunOptions } from '../util';

export const MH_ROOT = '/tmp/tsnet-mh';
export const ETCD_URL = 'http://172.30.250.1:2379';
export const hostIp = (i: number): string => `172.30.250.${10 + i}`;
export const sock = (i: number): string => `unix://${MH_ROOT}/mh-${i}/docker.sock`;
export const netns = (i: number): string => `mh-${i}`;

export class Harness {
  constructor(
    private readonly repoRoot: string,
    readonly hosts: number,
  ) {}

  private script(args: string[], timeoutMs = 300_000) {
    return run('bash', [path.join(this.repoRoot, 'scripts/multihost.sh'), ...args], { timeoutMs });
  }

  async up(): Promise<void> {
    await this.script(['down']);
    log(`multi-host harness: bringing up ${this.hosts} engines`);
    await this.script(['up', String(this.hosts)]);
  }

  async down(): Promise<void> {
    await this.script(['down']);
    log('multi-host harness: down');
  }

  docker(i: number, args: string[], opts: RunOptions = {}) {
    return run('docker', ['-H', sock(i), ...args], { timeoutMs: 120_000, ...opts });
  }

  /** Copies an image of the machine's own engine into every host's engine (no registry here). */
  async loadImage(image: string): Promise<void> {
    const tar = path.join(MH_ROOT, `${image.replace(/[^a-z0-9]/gi, '_')}.tar`);
    await run('docker', ['save', '-o', tar, image], { timeoutMs: 180_000 });
    try {
      for (let i = 1; i <= this.hosts; i++) await this.docker(i, ['load', '-i', tar], { timeoutMs: 180_000 });
    } finally {
      fs.rmSync(tar, { force: true });
    }
  }

  /** The pid of host i's tsnet driver (node itself, see scripts/multihost.sh start_driver_inner). */
  driverPid(i: number): number {
    return Number(fs.readFileSync(`${MH_ROOT}/mh-${i}/driver.pid`, 'utf8').trim());
  }

  /** Stops host i's tsnet driver (dockerd and containers keep running). */
  async stopDriver(i: number): Promise<void> {
    const pid = this.driverPid(i);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let k = 0; k < 100; k++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, 'SIGKILL');
  }

  /** Starts host i's tsnet driver inside that host's namespaces (waits for its sockets). */
  startDriver(i: number) {
    return this.script(['restart-driver', String(i)], 60_000);
  }

  /** A command in host i's network namespace (nsenter: /sys stays as it is). */
  inNetns(i: number, cmd: string[], opts: RunOptions = {}) {
    return run('nsenter', [`--net=/run/netns/${netns(i)}`, ...cmd], opts);
  }
}
