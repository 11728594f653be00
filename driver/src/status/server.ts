/**
 * The read-only status API: JSON over HTTP on its own Unix socket (default /run/tsnet/status.sock,
 * mode 0660 for the group TSNET_STATUS_GID names, else the docker group when /etc/group has one;
 * 0600 otherwise). Only GET routes; nothing here changes state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import { STATUS_ROUTES, type StatusReport } from '@tsnet/shared';
import { parseLinkNames, readLinkStats } from './links';

export function createStatusApp(report: () => Promise<StatusReport>): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).set('Allow', 'GET').json({ error: 'the status API is read-only; only GET is allowed' });
      return;
    }
    next();
  });
  app.get(STATUS_ROUTES.status, async (_req: Request, res: Response) => {
    try {
      res.json(await report());
    } catch (e) {
      res.status(500).json({ error: (e as Error).message });
    }
  });
  app.get(STATUS_ROUTES.networks, async (_req, res) => res.json((await report()).networks));
  app.get(STATUS_ROUTES.ports, async (_req, res) => {
    const r = await report();
    res.json(r.networks.flatMap((n) => n.endpoints.flatMap((e) => e.ports.map((p) => ({ ...p, networkId: n.id, endpointId: e.id })))));
  });
  // Link counters (bytes/packets/drops/errors) of the host's bridges and veths, for live traffic.
  app.get(STATUS_ROUTES.links, async (req, res) => {
    let names: string[] | undefined;
    try {
      names = parseLinkNames(req.query.names);
    } catch (e) {
      res.status(400).json({ error: (e as Error).message });
      return;
    }
    try {
      res.json(await readLinkStats(names));
    } catch (e) {
      res.status(500).json({ error: (e as Error).message });
    }
  });
  app.get(STATUS_ROUTES.health, (_req, res) => res.json({ ok: true }));
  app.use((req, res) => res.status(404).json({ error: `no such status route ${req.path.slice(0, 200)}; try GET ${STATUS_ROUTES.status}` }));
  return app;
}

function dockerGid(): number | undefined {
  try {
    const line = fs.readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith('docker:'));
    return line ? Number(line.split(':')[2]) : undefined;
  } catch {
    return undefined;
  }
}

export interface StatusAccess {
  gid?: number;
  /** Why the socket is root-only, when it is, and what to do about it. */
  warning?: string;
}

/**
 * The group that may read the status socket. `configured` is TSNET_STATUS_GID (a number); in the
 * managed plugin, whose /etc/group knows no docker group, it is the only way to name the host's.
 */
export function statusAccess(configured: string | undefined, pluginMode: boolean, fromGroupFile: () => number | undefined = dockerGid): StatusAccess {
  if (configured !== undefined && configured !== '') {
    if (!/^\d{1,10}$/.test(configured) || Number(configured) > 0xfffffffe) {
      throw new Error(`TSNET_STATUS_GID: "${configured.slice(0, 40)}" is not a group ID; give the number of the host's docker group (getent group docker | cut -d: -f3)`);
    }
    return { gid: Number(configured) };
  }
  const gid = fromGroupFile();
  if (gid !== undefined) return { gid };
  return {
    warning: pluginMode
      ? 'the status socket is root-only: the plugin cannot see the host\'s groups. To let the docker group read it: docker plugin disable PLUGIN && docker plugin set PLUGIN TSNET_STATUS_GID=$(getent group docker | cut -d: -f3) && docker plugin enable PLUGIN'
      : 'the status socket is root-only: this host has no docker group (set TSNET_STATUS_GID to give a group access)',
  };
}

export async function listenStatus(app: express.Express, socketPath: string, access: StatusAccess = statusAccess(process.env.TSNET_STATUS_GID, false)): Promise<Server> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  fs.rmSync(socketPath, { force: true });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(socketPath, () => resolve(s));
    s.once('error', reject);
  });
  const { gid } = access;
  if (gid !== undefined) fs.chownSync(socketPath, 0, gid);
  fs.chmodSync(socketPath, gid !== undefined ? 0o660 : 0o600);
  return server;
}
