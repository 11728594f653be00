/**
 * tsnet's keys in etcd (through the etcd3 client), O(hosts + blocks), never per container:
 *   /tsnet/v1/hosts/<underlay address>          {address, hostname, mac, vni, port, registeredAt}, on the host's lease
 *   /tsnet/v1/pools/<cidr>                       {cidr, gateway?}
 *   /tsnet/v1/blocks/<pool cidr>/<block cidr>    {host}   (no lease: a host that comes back keeps its blocks)
 * Every call is bounded in time: a caller that needs consensus gets a clear error, never a hang.
 */
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import type { Etcd3, IOptions } from 'etcd3';
import type { ClusterConfig } from './config';
import { cidrKey } from './blocks';

export const PREFIX = '/tsnet/v1/';
export const hostKey = (address: string) => `${PREFIX}hosts/${address}`;
export const poolKey = (cidr: string) => `${PREFIX}pools/${cidrKey(cidr)}`;
export const blockKey = (pool: string, block: string) => `${PREFIX}blocks/${cidrKey(pool)}/${cidrKey(block)}`;

export interface HostRecord {
  address: string;
  hostname: string;
  mac: string;
  vni: number;
  port: number;
  registeredAt: string;
}
export interface PoolRecord {
  cidr: string;
  gateway?: string;
}
export interface BlockRecord {
  host: string;
}

export class EtcdUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EtcdUnavailable';
  }
}

/** Longest wait between two attempts to reconnect to etcd (the gRPC connection and the watch stream) while it is away. */
export const WATCH_RECONNECT_MAX_MS = 1000;

export function connectEtcd(cfg: ClusterConfig): Etcd3 {
  // Loaded only when a cluster is configured: etcd3 with gRPC and protobuf costs ~24 MB of RSS,
  // which a single-host driver would otherwise carry for nothing.
  const { Etcd3, isRecoverableError } = require('etcd3') as typeof import('etcd3');
  return new Etcd3(etcdOptions(cfg, isRecoverableError));
}

export function etcdOptions(cfg: ClusterConfig, isRecoverableError: (e: Error) => boolean): IOptions {
  const opts: IOptions = {
    hosts: cfg.endpoints,
    dialTimeout: cfg.consensusTimeoutMs,
    // Unary calls end at the deadline; watch and keepalive streams live on.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + cfg.consensusTimeoutMs }),
    // gRPC's own reconnect back-off grows to 120 s; the first call after etcd returns should not wait for it.
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': WATCH_RECONNECT_MAX_MS },
    // The watch stream's default back-off grows to 30 s: after etcd was away a few seconds, a
    // host could hear of other hosts' deaths and new blocks only that much later (the multi-host
    // suite once saw a dead host stay past the lease time right after its etcd-down test).
    // Re-trying every second at most costs one connection attempt per second while etcd is down.
    faultHandling: {
      // etcd3's default breaker stays open 5 s after etcd returns; converge sooner than that.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      // etcd3 types this as a back-off (it calls next() on it for the first delay).
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: WATCH_RECONNECT_MAX_MS }).next(),
    },
  };
  if (cfg.tls) opts.credentials = { rootCertificate: cfg.tls.ca, ...(cfg.tls.cert ? { certChain: cfg.tls.cert, privateKey: cfg.tls.key } : {}) };
  return opts;
}

/** Runs an etcd call; after `ms` (or an etcd error) it fails with a message saying what waited for etcd. */
export async function bounded<T>(what: string, endpoints: string[], ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => undefined);
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new EtcdUnavailable(`${what} needs etcd (${endpoints.join(', ')}), which did not answer within ${ms / 1000} s; running containers are not affected; retry when etcd is back`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (e) {
    if (e instanceof EtcdUnavailable) throw e;
    throw new EtcdUnavailable(`${what} needs etcd (${endpoints.join(', ')}), which failed: ${(e as Error).message}; running containers are not affected`);
  } finally {
    clearTimeout(timer);
  }
}
