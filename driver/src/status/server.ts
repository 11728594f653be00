/**
 * The read-only status API: JSON over HTTP on its own Unix socket (default /run/tsnet/status.sock,
 * mode 0660, group docker when that group exists). Only GET routes; nothing here changes state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { StatusReport } from '@tsnet/shared';

export const STATUS_PATH = '/status';

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
  app.get(STATUS_PATH, async (_req: Request, res: Response) => {
    try {
      res.json(await report());
    } catch (e) {
      res.status(500).json({ error: (e as Error).message });
    }
  });
  app.get('/networks', async (_req, res) => res.json((await report()).networks));
  app.get('/ports', async (_req, res) => {
    const r = await report();
    res.json(r.networks.flatMap((n) => n.endpoints.flatMap((e) => e.ports.map((p) => ({ ...p, networkId: n.id, endpointId: e.id })))));
  });
  app.get('/health', (_req, res) => res.json({ ok: true }));
  app.use((req, res) => res.status(404).json({ error: `no such status route ${req.path.slice(0, 200)}; try GET ${STATUS_PATH}` }));
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

export async function listenStatus(app: express.Express, socketPath: string): Promise<Server> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o755 });
  fs.rmSync(socketPath, { force: true });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(socketPath, () => resolve(s));
    s.once('error', reject);
  });
  const gid = dockerGid();
  if (gid !== undefined) fs.chownSync(socketPath, 0, gid);
  fs.chmodSync(socketPath, gid !== undefined ? 0o660 : 0o600);
  return server;
}
