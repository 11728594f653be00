/**
 * The floor: a remote network driver that does no work while it is timed, served by the bench
 * process itself (as bench/floor/null-driver.mjs does on its own). Every call answers at once;
 * Join hands out a veth pair made before the round, plus a gateway (without one dockerd adds a
 * docker_gwbridge endpoint). What a container costs on its network is what dockerd spends on a
 * remote driver by itself, so tsnet's figures are read against it. Veths are named tstbfl*.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { log, run } from './util';

export const FLOOR_DRIVER = 'tsnetbenchfloor';
const SOCK = `/run/docker/plugins/${FLOOR_DRIVER}.sock`;
const PREFIX = 'tstbfl';

export class NullDriver {
  private server?: http.Server;
  private pool: string[] = [];
  private made = 0;
  private gateways = new Map<string, string>();
  /** Joins that found the pool empty (the figure is then not a floor): reported. */
  starved = 0;

  async start(): Promise<void> {
    await this.removeLinks();
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json');
        res.end(JSON.stringify(this.answer(String(req.url).slice(1), body)));
      });
    });
    fs.mkdirSync('/run/docker/plugins', { recursive: true });
    fs.rmSync(SOCK, { force: true });
    await new Promise<void>((r) => this.server!.listen(SOCK, r));
  }

  private answer(method: string, body: string): unknown {
    let req: Record<string, unknown> = {};
    try {
      req = JSON.parse(body || '{}') as Record<string, unknown>;
    } catch {
      /* Activate has no body */
    }
    switch (method) {
      case 'Plugin.Activate':
        return { Implements: ['NetworkDriver'] };
      case 'NetworkDriver.GetCapabilities':
        return { Scope: 'local', ConnectivityScope: 'local' };
      case 'NetworkDriver.CreateNetwork': {
        const gw = (req.IPv4Data as { Gateway?: string }[] | undefined)?.[0]?.Gateway ?? '';
        this.gateways.set(String(req.NetworkID), gw.split('/')[0]);
        return {};
      }
      case 'NetworkDriver.Join': {
        const src = this.pool.shift();
        if (!src) {
          this.starved++;
          return { Err: 'the bench floor driver ran out of prepared veths' };
        }
        return { InterfaceName: { SrcName: src, DstPrefix: 'eth' }, Gateway: this.gateways.get(String(req.NetworkID)) ?? '' };
      }
      default:
        return {};
    }
  }

  /** Makes veth pairs until `count` are ready for Joins (outside any timing). */
  async prepare(count: number): Promise<void> {
    const lines: string[] = [];
    const add: string[] = [];
    while (this.pool.length + add.length < count) {
      const i = this.made++;
      lines.push(`link add ${PREFIX}${i}a type veth peer name ${PREFIX}${i}b`, `link set ${PREFIX}${i}a up`);
      add.push(`${PREFIX}${i}b`);
    }
    if (lines.length === 0) return;
    const r = await run('ip', ['-batch', '-'], { input: `${lines.join('\n')}\n`, allowFail: true });
    if (r.code !== 0) throw new Error(`floor driver: cannot make veths: ${r.stderr.trim()}`);
    this.pool.push(...add);
  }

  private async removeLinks(): Promise<void> {
    const out = (await run('ip', ['-o', 'link', 'show'], { allowFail: true })).stdout;
    const names = out
      .split('\n')
      .map((l) => l.split(': ')[1]?.split('@')[0])
      .filter((n): n is string => !!n && n.startsWith(PREFIX) && n.endsWith('a'));
    if (names.length === 0) return;
    await run('ip', ['-batch', '-', '-force'], { input: `${names.map((n) => `link del ${n}`).join('\n')}\n`, allowFail: true });
    log(`floor driver: removed ${names.length} veth pairs`);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    fs.rmSync(SOCK, { force: true });
    this.pool = [];
    await this.removeLinks();
  }
}
