/**
 * The libnetwork remote-API as an express app: one route per method, schema-checked bodies,
 * errors mapped to {"Err": "..."} (HTTP 200, as dockerd expects), 404 for what tsnet does not
 * implement. No policy here: the core decides.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { PLUGIN_CONTENT_TYPE, type CapabilitiesResponse } from '@tsnet/shared';
import type { Driver, Logger } from '../core/driver';
import type { Metrics } from '../core/metrics';
import * as schema from './schemas';

export const MAX_BODY_BYTES = 1024 * 1024;

type Handler = (body: unknown) => Promise<unknown> | unknown;

export function createApp(driver: Driver, metrics: Metrics, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ type: () => true, limit: MAX_BODY_BYTES, strict: true }));

  const route = (method: string, handler: Handler) => {
    app.post(`/${method}`, async (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      let failed = false;
      try {
        const out = await handler(req.body ?? {});
        res.type(PLUGIN_CONTENT_TYPE).json(out ?? {});
      } catch (err) {
        failed = true;
        const message = errorMessage(method, err);
        log.warn({ method, err: message }, 'request refused');
        res.type(PLUGIN_CONTENT_TYPE).json({ Err: message });
      } finally {
        metrics.record(method.replace('NetworkDriver.', ''), Number(process.hrtime.bigint() - started) / 1e6, failed);
      }
    });
  };

  const parse = <T>(method: string, s: z.ZodType<T>, body: unknown): T => {
    const r = s.safeParse(body);
    if (!r.success) throw new RequestError(schema.describeIssues(method, r.error));
    return r.data;
  };

  route('Plugin.Activate', () => ({ Implements: ['NetworkDriver'] }));
  route('NetworkDriver.GetCapabilities', (): CapabilitiesResponse => ({ Scope: 'local', ConnectivityScope: 'local' }));
  route('NetworkDriver.CreateNetwork', (b) => driver.createNetwork(parse('CreateNetwork', schema.createNetwork, b) as never));
  route('NetworkDriver.DeleteNetwork', (b) => driver.deleteNetwork(parse('DeleteNetwork', schema.networkOnly, b).NetworkID));
  route('NetworkDriver.CreateEndpoint', (b) => driver.createEndpoint(parse('CreateEndpoint', schema.createEndpoint, b) as never));
  route('NetworkDriver.DeleteEndpoint', (b) => driver.deleteEndpoint(parse('DeleteEndpoint', schema.endpointRef, b)));
  route('NetworkDriver.EndpointOperInfo', (b) => driver.endpointOperInfo(parse('EndpointOperInfo', schema.endpointRef, b)));
  route('NetworkDriver.Join', (b) => driver.join(parse('Join', schema.join, b) as never));
  route('NetworkDriver.Leave', (b) => driver.leave(parse('Leave', schema.endpointRef, b)));
  route('NetworkDriver.ProgramExternalConnectivity', (b) => driver.programExternalConnectivity(parse('ProgramExternalConnectivity', schema.programExternalConnectivity, b) as never));
  route('NetworkDriver.RevokeExternalConnectivity', (b) => driver.revokeExternalConnectivity(parse('RevokeExternalConnectivity', schema.endpointRef, b)));
  // Node discovery only matters to global-scope drivers; acknowledging it is harmless.
  route('NetworkDriver.DiscoverNew', () => ({}));
  route('NetworkDriver.DiscoverDelete', () => ({}));

  app.use((req: Request, res: Response) => {
    res.status(404).type(PLUGIN_CONTENT_TYPE).json({ Err: `${req.method} ${req.path.slice(0, 200)} is not implemented by tsnet` });
  });
  // Malformed JSON, an oversized body, a wrong content: still a well-formed error.
  app.use((err: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    const message = err.type === 'entity.too.large' ? `request body larger than ${MAX_BODY_BYTES} bytes` : err.type === 'entity.parse.failed' ? 'request body is not valid JSON' : `bad request: ${err.message}`;
    res.status(status).type(PLUGIN_CONTENT_TYPE).json({ Err: message });
  });
  return app;
}

class RequestError extends Error {}

function errorMessage(method: string, err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'NetlinkError' || err.name === 'FirewallError') return `${method.replace('NetworkDriver.', '')}: the kernel refused: ${err.message}`;
    return err.message;
  }
  return String(err);
}
