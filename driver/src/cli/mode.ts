/**
 * Which way the tsnet driver runs on this host (a managed plugin, or a host process started with
 * `npm start` / the systemd service), so the CLI's errors say what to do in that mode.
 */
import * as fs from 'node:fs';
import type { DockerClient } from '../docker/client';

/** The managed plugin's entry point, as plugin-config/config.json sets it. */
export const PLUGIN_ENTRY = '/opt/tsnet/driver/dist/main.js';
export const SERVICE_UNIT = '/etc/systemd/system/tsnet.service';

export interface TsnetPlugin {
  ref: string;
  id: string;
  enabled: boolean;
  statusSocket: string;
  statusGid?: string;
}

interface PluginSummary {
  Id: string;
  Name: string;
  Enabled: boolean;
  Config?: { Entrypoint?: string[] };
  Settings?: { Env?: string[] };
}

function envOf(p: PluginSummary, name: string): string | undefined {
  const kv = p.Settings?.Env?.find((e) => e.startsWith(`${name}=`));
  return kv === undefined ? undefined : kv.slice(name.length + 1);
}

/** The tsnet managed plugins Docker has installed; undefined when Docker cannot be asked. */
export async function tsnetPlugins(docker: DockerClient): Promise<TsnetPlugin[] | undefined> {
  const list = await docker.get<PluginSummary[]>('/plugins', 5_000).catch(() => undefined);
  if (!list) return undefined;
  return list
    .filter((p) => p.Config?.Entrypoint?.includes(PLUGIN_ENTRY))
    .map((p) => ({
      ref: p.Name,
      id: p.Id,
      enabled: p.Enabled,
      statusSocket: envOf(p, 'TSNET_STATUS_SOCKET') ?? '/run/tsnet/status.sock',
      ...(envOf(p, 'TSNET_STATUS_GID') ? { statusGid: envOf(p, 'TSNET_STATUS_GID') } : {}),
    }));
}

function hostStartHint(serviceInstalled: boolean): string {
  return serviceInstalled ? 'start it with: systemctl start tsnet' : 'start it with npm start in a tsnet clone (or install the managed plugin: npm run plugin:install)';
}

/**
 * What to tell a user whose status socket `socketPath` is missing (`problem` "not-running") or
 * refused them ("denied"), given the tsnet plugins Docker has (undefined: Docker not reachable).
 */
export function modeHint(problem: 'not-running' | 'denied', socketPath: string, plugins: TsnetPlugin[] | undefined, serviceInstalled = fs.existsSync(SERVICE_UNIT)): string {
  const mine = plugins?.find((p) => p.statusSocket === socketPath);
  const others = (plugins ?? []).filter((p) => p !== mine);
  if (problem === 'denied') {
    if (mine) {
      return `the managed plugin ${mine.ref} gives its status socket to ${mine.statusGid ? `group ${mine.statusGid}` : 'root only (no TSNET_STATUS_GID set)'}: run as root, or as a member of the docker group after ` +
        `docker plugin disable ${mine.ref} && docker plugin set ${mine.ref} TSNET_STATUS_GID=$(getent group docker | cut -d: -f3) && docker plugin enable ${mine.ref}`;
    }
    return 'run as root or as a member of the docker group';
  }
  if (mine && !mine.enabled) return `the managed plugin ${mine.ref} is disabled; enable it with: docker plugin enable ${mine.ref}`;
  if (mine) return `the managed plugin ${mine.ref} is enabled but has not made its socket; see dockerd's log (lines with plugin=${mine.id.slice(0, 12)})`;
  if (others.length > 0) {
    const p = others[0];
    return `the tsnet managed plugin ${p.ref} serves its status API on ${p.statusSocket}: tsnet status --status-socket ${p.statusSocket} (or set TSNET_STATUS_SOCKET)`;
  }
  return hostStartHint(serviceInstalled);
}
