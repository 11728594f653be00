/**
 * Multi-host settings from flags and environment: --etcd / TSNET_ETCD (comma-separated URLs),
 * --host-address / TSNET_HOST_ADDRESS, TLS client certificates (--etcd-ca, --etcd-cert,
 * --etcd-key / TSNET_ETCD_CA, TSNET_ETCD_CERT, TSNET_ETCD_KEY). No etcd: no cluster at all.
 */
import * as fs from 'node:fs';
import { rootCertificates } from 'node:tls';
import { isIPv4 } from '@tsnet/shared';

export interface ClusterConfig {
  endpoints: string[];
  hostAddress?: string;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  vni: number;
  port: number;
  /** Host lease TTL in seconds: a dead host vanishes from the others' kernels within this time. */
  leaseTtl: number;
  /** How long an operation that needs consensus (new block, new pool) waits for etcd. */
  consensusTimeoutMs: number;
  /**
   * How often the kernel is compared with the view while the driver runs, so a VXLAN link,
   * FDB entry, neighbour or route deleted by hand comes back.
   */
  checkIntervalMs: number;
  /** The netdev fast path for in-network cross-host traffic (fast-path-rules.ts); TSNET_FAST_PATH=0 turns it off. */
  fastPath: boolean;
}

export interface ClusterFlags {
  etcd?: string;
  hostAddress?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export const VXLAN_PORT = 8472;
export const VXLAN_VNI = 7476;
export const VXLAN_OVERHEAD = 50;

function readPem(what: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
}

export function parseClusterConfig(flags: ClusterFlags, env: NodeJS.ProcessEnv = process.env): ClusterConfig | undefined {
  const raw = flags.etcd ?? env.TSNET_ETCD ?? '';
  if (raw.trim() === '') return undefined;
  const endpoints = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of endpoints) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new Error(`--etcd: "${e}" is not a URL; use http://HOST:2379 or https://HOST:2379, comma-separated for several`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--etcd: "${e}" must start with http:// or https://`);
  }
  const hostAddress = flags.hostAddress ?? env.TSNET_HOST_ADDRESS;
  if (hostAddress !== undefined && hostAddress !== '' && !isIPv4(hostAddress)) {
    throw new Error(`--host-address: "${hostAddress}" is not an IPv4 address; use this host's underlay address, e.g. 192.168.1.10`);
  }
  const ca = flags.etcdCa ?? env.TSNET_ETCD_CA;
  const cert = flags.etcdCert ?? env.TSNET_ETCD_CERT;
  const key = flags.etcdKey ?? env.TSNET_ETCD_KEY;
  if ((cert && !key) || (key && !cert)) throw new Error('--etcd-cert and --etcd-key go together: give both for a TLS client certificate, or neither');
  const https = endpoints.some((e) => e.startsWith('https:'));
  if ((ca || cert) && !https) throw new Error('--etcd-ca / --etcd-cert are for https:// etcd URLs; the --etcd URLs are http://');
  let tls: ClusterConfig['tls'];
  if (https) {
    tls = {
      ca: ca ? readPem('--etcd-ca', ca) : Buffer.from(rootCertificates.join('\n')),
      ...(cert ? { cert: readPem('--etcd-cert', cert), key: readPem('--etcd-key', key!) } : {}),
    };
  }
  const num = (name: string, def: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}: "${v}" is not a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    endpoints,
    hostAddress: hostAddress || undefined,
    tls,
    vni: num('TSNET_VXLAN_VNI', VXLAN_VNI, 1, 16777215),
    port: num('TSNET_VXLAN_PORT', VXLAN_PORT, 1, 65535),
    leaseTtl: num('TSNET_LEASE_TTL', 10, 2, 15),
    consensusTimeoutMs: num('TSNET_ETCD_TIMEOUT_MS', 5000, 100, 60000),
    checkIntervalMs: num('TSNET_CLUSTER_CHECK_MS', 2000, 100, 600000),
    fastPath: num('TSNET_FAST_PATH', 1, 0, 1) === 1,
  };
}

/** The VXLAN link's MAC, derived from the underlay address so it survives re-creation. */
export function vtepMac(address: string): string {
  const b = address.split('.').map((x) => Number(x).toString(16).padStart(2, '0'));
  return `02:74:${b.join(':')}`;
}
