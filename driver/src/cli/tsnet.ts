#!/usr/bin/env node
/**
 * `tsnet`: the terminal view of the tsnet driver.
 *   tsnet status             networks and endpoints (from the driver's status API)
 *   tsnet ports              every programmed port map, including host ports tsnet picked
 *   tsnet inspect <container>  interfaces, addresses, routes and sockets inside the container's
 *                            network namespace, read through the kernel; who shares it; host sides
 * Exit codes: 0 ok, 1 failure (driver not running, permission, unknown container), 2 usage.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_STATUS_SOCKET, type StatusReport } from '@tsnet/shared';
import { DockerClient, DockerError } from '../docker/client';
import { VERSION } from '../version';
import { formatInspect, formatPorts, formatStatus, NO_NAMES, printable, type Names } from './format';
import { inspectContainer } from './inspect';
import { modeHint, tsnetPlugins } from './mode';
import { CliError, StatusClient } from './status-client';

export const USAGE = `usage: tsnet <command> [options]

commands:
  status               networks and endpoints of the tsnet driver, as tables
  ports                every port map the driver programmed (including host ports it picked)
  inspect <container>  the container's network namespace as the kernel has it: interfaces,
                       addresses, routes, listening sockets, the containers sharing it, and
                       for veths the host-side veth and bridge; its peers (ARP cache),
                       those on other hosts of a multi-host network marked REMOTE

options:
  --status-socket PATH  the driver's status socket (default ${DEFAULT_STATUS_SOCKET}; env TSNET_STATUS_SOCKET)
  --json                machine-readable output
  --version, -V         print the version of this command
  --help, -h            print this text`;

interface Options {
  command?: string;
  args: string[];
  statusSocket: string;
  json: boolean;
  help: boolean;
  version: boolean;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { 'status-socket': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n(see tsnet --help)`, 2);
  }
  const [command, ...args] = parsed.positionals;
  return {
    command,
    args,
    statusSocket: parsed.values['status-socket'] ?? env.TSNET_STATUS_SOCKET ?? DEFAULT_STATUS_SOCKET,
    json: parsed.values.json ?? false,
    help: parsed.values.help ?? false,
    version: parsed.values.version ?? false,
  };
}

/** Network and container names from Docker; empty maps when Docker cannot be asked. */
async function dockerNames(docker: DockerClient, networkIds: string[]): Promise<Names> {
  const names: Names = { networks: new Map(), endpoints: new Map() };
  await Promise.all(
    networkIds.map(async (id) => {
      const n = await docker.inspectNetwork(id).catch(() => undefined);
      if (!n) return;
      names.networks.set(id, n.Name);
      for (const c of Object.values(n.Containers ?? {})) if (c.EndpointID) names.endpoints.set(c.EndpointID, c.Name);
    }),
  );
  return names;
}

/** JSON with every character a terminal could act on as a \uHHHH escape (JSON.stringify leaves DEL, C1 and bidi controls raw). */
export function json(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export async function run(argv: string[], write: (s: string) => void = (s) => process.stdout.write(s)): Promise<void> {
  const o = parseOptions(argv);
  if (o.help || o.command === 'help') {
    write(`${USAGE}\n`);
    return;
  }
  if (o.version) {
    write(`tsnet ${VERSION}\n`);
    return;
  }
  if (!o.command) throw new CliError(`missing command\n\n${USAGE}`, 2);
  const docker = new DockerClient();
  const status = new StatusClient(o.statusSocket, async (problem) => modeHint(problem, o.statusSocket, await tsnetPlugins(docker)));
  const expectArgs = (n: number, what: string) => {
    if (o.args.length !== n) throw new CliError(`tsnet ${o.command}: expected ${what}, got ${o.args.length > 0 ? `"${o.args.join(' ')}"` : 'nothing'} (see tsnet --help)`, 2);
  };
  switch (o.command) {
    case 'status': {
      expectArgs(0, 'no arguments');
      const r = await status.status();
      if (o.json) return write(`${json(r)}\n`);
      const names = await dockerNames(docker, r.networks.map((n) => n.id)).catch(() => NO_NAMES);
      return write(`${formatStatus(r, names, o.statusSocket)}\n`);
    }
    case 'ports': {
      expectArgs(0, 'no arguments');
      const rows = await status.ports();
      if (o.json) return write(`${json(rows)}\n`);
      if (rows.length === 0) return write('no port maps\n');
      const names = await dockerNames(docker, [...new Set(rows.map((p) => p.networkId))]).catch(() => NO_NAMES);
      return write(`${formatPorts(rows, names)}\n`);
    }
    case 'inspect': {
      expectArgs(1, 'one container name or ID');
      const report = await inspectContainer(
        {
          docker,
          status: (): Promise<StatusReport | undefined> => status.status(),
          networkName: async (id) => (await docker.inspectNetwork(id))?.Name,
          endpointNames: async (id) => new Map(Object.values((await docker.inspectNetwork(id))?.Containers ?? {}).filter((c) => c.EndpointID).map((c) => [c.EndpointID!, c.Name])),
        },
        o.args[0],
      );
      return write(`${o.json ? json(report) : formatInspect(report)}\n`);
    }
    default:
      throw new CliError(`unknown command "${o.command}"; the commands are status, ports and inspect (see tsnet --help)`, 2);
  }
}

/** Runs the command line of this process and exits with its code (driver/bin/tsnet.js calls it). */
export function main(): void {
  // A netlink handle unrefs its worker once no call is in flight, so while close() waits for the
  // thread to end nothing else holds the event loop: keep it alive until the command is done.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  run(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      clearInterval(keepAlive);
      if (e instanceof CliError || e instanceof DockerError) {
        process.stderr.write(`tsnet: ${e.message.split('\n').map(printable).join('\n')}\n`);
        process.exit(e instanceof CliError ? e.exitCode : 1);
      }
      process.stderr.write(`tsnet: unexpected error: ${((e as Error).stack ?? String(e)).split('\n').map(printable).join('\n')}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) main();
