/**
 * The libnetwork remote-API as an express app: one route per method, schema-checked bodies,
 * errors mapped to {"Err": "..."} (HTTP 200, as dockerd expects), 404 for what tsnet does not
 * implement. No policy here: the core decides.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  createEndpointRequestSchema,
  createNetworkRequestSchema,
  endpointRequestSchema,
  joinRequestSchema,
  networkRequestSchema,
  PLUGIN_CONTENT_TYPE,
  programExternalConnectivityRequestSchema,
  type CapabilitiesResponse,
  type ErrorResponse,
} from '@tsnet/shared';
import type { Driver, Logger } from '../core/driver';
import type { Metrics } from '../core/metrics';
import type { ClusterIpam } from '../cluster/ipam';
import { NftError } from '../firewall/nft';
import { NetlinkError } from '../netlink/types';
import * as schema from './schemas';

export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * dockerd's legacy plugin client waits forever for an answer: a request that has not finished
 * after this long is answered with an error so a slow or stuck kernel call cannot hang dockerd.
 * The work itself goes on (it cannot be cancelled half-way safely), and the core's network lock
 * and endpoint queue keep later requests for the same network or endpoint behind it. TSNET_REQUEST_TIMEOUT_MS overrides it.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

type Handler = (body: unknown) => Promise<unknown> | unknown;

export interface AppOptions {
  requestTimeoutMs?: number;
  /** Docker's remote IPAM API for multi-host networks (only with --etcd). */
  ipam?: ClusterIpam;
}

export function createApp(driver: Driver, metrics: Metrics, log: Logger, opts: AppOptions = {}): express.Express {
  const timeoutMs = opts.requestTimeoutMs ?? requestTimeoutFromEnv();
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ type: () => true, limit: MAX_BODY_BYTES, strict: true }));

  const route = (method: string, handler: Handler, needsBody = true, errorKey: 'Err' | 'Error' = 'Err') => {
    app.post(`/${method}`, async (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      let failed = false;
      try {
        if (needsBody && req.headers['content-length'] === '0') {
          // dockerd's plugin client re-sends a call with an empty body when it retries after the
          // driver was unreachable (its request body was already consumed by the first attempt).
          throw new RequestError(
            `${method.replace('NetworkDriver.', '')}: the request body is empty; dockerd sends an empty body when it retries a call after the driver restarted. Retry the operation`,
          );
        }
        const out = await withTimeout(method, Promise.resolve().then(() => handler(req.body ?? {})), timeoutMs);
        reply(res, out ?? {});
      } catch (err) {
        failed = true;
        const message = errorMessage(method, err);
        log.warn({ method, err: message }, 'request refused');
        // libnetwork's remote IPAM client reads "Error"; the network driver client reads "Err".
        reply(res, errorKey === 'Error' ? { Error: message, Err: message } : ({ Err: message } satisfies ErrorResponse));
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

  const ipam = opts.ipam;
  route('Plugin.Activate', () => ({ Implements: ipam ? ['NetworkDriver', 'IpamDriver'] : ['NetworkDriver'] }), false);
  {
    const ipamRoute = (method: string, handler: Handler, needsBody = true) =>
      route(
        `IpamDriver.${method}`,
        (b) => {
          log.debug({ method: `IpamDriver.${method}`, body: b }, 'IPAM request');
          return handler(b);
        },
        needsBody,
        'Error',
      );
    // The managed plugin always declares docker.ipamdriver/1.0; without etcd the answer says why not.
    const cluster = (): ClusterIpam => {
      if (!ipam) throw new RequestError('--ipam-driver tsnet serves multi-host networks, which need etcd: start tsnet with --etcd URL (TSNET_ETCD; for the managed plugin `docker plugin set tsnet TSNET_ETCD=...`)');
      return ipam;
    };
    ipamRoute('GetCapabilities', () => cluster().capabilities(), false);
    ipamRoute('GetDefaultAddressSpaces', () => cluster().addressSpaces(), false);
    ipamRoute('RequestPool', (b) => cluster().requestPool(parse('RequestPool', schema.requestPool, b)));
    ipamRoute('ReleasePool', (b) => cluster().releasePool(parse('ReleasePool', schema.releasePool, b)));
    ipamRoute('RequestAddress', (b) => cluster().requestAddress(parse('RequestAddress', schema.requestAddress, b)));
    ipamRoute('ReleaseAddress', (b) => cluster().releaseAddress(parse('ReleaseAddress', schema.releaseAddress, b)));
  }
  route('NetworkDriver.GetCapabilities', (): CapabilitiesResponse => ({ Scope: 'local', ConnectivityScope: 'local' }), false);
  route('NetworkDriver.CreateNetwork', (b) => driver.createNetwork(parse('CreateNetwork', createNetworkRequestSchema, b)));
  route('NetworkDriver.DeleteNetwork', (b) => driver.deleteNetwork(parse('DeleteNetwork', networkRequestSchema, b).NetworkID));
  route('NetworkDriver.CreateEndpoint', (b) => driver.createEndpoint(parse('CreateEndpoint', createEndpointRequestSchema, b)));
  route('NetworkDriver.DeleteEndpoint', (b) => driver.deleteEndpoint(parse('DeleteEndpoint', endpointRequestSchema, b)));
  route('NetworkDriver.EndpointOperInfo', (b) => driver.endpointOperInfo(parse('EndpointOperInfo', endpointRequestSchema, b)));
  route('NetworkDriver.Join', (b) => driver.join(parse('Join', joinRequestSchema, b)));
  route('NetworkDriver.Leave', (b) => driver.leave(parse('Leave', endpointRequestSchema, b)));
  route('NetworkDriver.ProgramExternalConnectivity', (b) => driver.programExternalConnectivity(parse('ProgramExternalConnectivity', programExternalConnectivityRequestSchema, b)));
  route('NetworkDriver.RevokeExternalConnectivity', (b) => driver.revokeExternalConnectivity(parse('RevokeExternalConnectivity', endpointRequestSchema, b)));
  // Node discovery only matters to global-scope drivers; acknowledging it is harmless.
  route('NetworkDriver.DiscoverNew', () => ({}), false);
  route('NetworkDriver.DiscoverDelete', () => ({}), false);

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

/**
 * Sends a JSON answer with the headers express's res.type().json() would set, without what
 * res.json adds on top (an ETag hashed over the body, a freshness check, a MIME lookup): dockerd
 * uses none of it, and it was 0.3-0.5 ms of every answer's time on a busy 2-core host.
 */
function reply(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': REPLY_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const REPLY_CONTENT_TYPE = `${PLUGIN_CONTENT_TYPE}; charset=utf-8`;

/** A body that does not fit its schema, or none at all. */
export class RequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

/** The core did not answer in time; the work goes on. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

function requestTimeoutFromEnv(): number {
  const v = Number(process.env.TSNET_REQUEST_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_REQUEST_TIMEOUT_MS;
}

function withTimeout<T>(method: string, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(
        new TimeoutError(
          `${method.replace('NetworkDriver.', '')}: timed out after ${ms / 1000} s waiting for the kernel or the store; ` +
            'the operation may still complete in the background; see the tsnet log and GET /status',
        ),
      );
    }, ms);
  });
  // A late failure of the abandoned work must not become an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Err text dockerd shows for a failure, chosen by the error's class: the kernel's refusals
 * (rtnetlink, nftables) name the call and say the kernel refused; every other error (the core's
 * DriverError family, OptionError, RequestError, TimeoutError, a store failure) is already a
 * sentence for the user.
 */
export function errorMessage(method: string, err: unknown): string {
  if (err instanceof NetlinkError || err instanceof NftError) return `${method.replace('NetworkDriver.', '')}: the kernel refused: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
