/**
 * The store's file formats: what networks/<id>.json and endpoints/<id>.json hold, versioned by a
 * `format` field, and the conversions to and from the core's records (types.ts). Only the fields
 * listed here reach the disk; a file of an older format is read through `upgrade`.
 *
 *   format 1 (no `format` field): the records as they were in memory (tsnet until this change)
 *   format 2: the same fields, with `format`
 */
import type { NetworkConfig } from '@tsnet/shared';
import type { EndpointRecord, NetworkRecord, PortMapRecord } from './types';
import { records } from './types';

export const STORE_FORMAT = 2;

export interface NetworkFile {
  format: number;
  config: NetworkConfig;
  bridgeAdopted: boolean;
  createdAt: string;
  addedAddresses?: string[];
  recovered?: boolean;
}

export interface EndpointFile {
  format: number;
  id: string;
  networkId: string;
  hostVeth: string;
  containerVeth: string;
  mac: string;
  ipv4?: string;
  ipv6?: string;
  sandboxKey?: string;
  joined: boolean;
  ports: PortMapRecord[];
  createdAt: string;
  recovered?: boolean;
}

export function networkFile(n: NetworkRecord): NetworkFile {
  return { format: STORE_FORMAT, config: n.config, bridgeAdopted: n.bridgeAdopted, createdAt: n.createdAt, addedAddresses: n.addedAddresses, recovered: n.recovered };
}

export function endpointFile(e: EndpointRecord): EndpointFile {
  return {
    format: STORE_FORMAT,
    id: e.id,
    networkId: e.networkId,
    hostVeth: e.hostVeth,
    containerVeth: e.containerVeth,
    mac: e.mac,
    ipv4: e.ipv4,
    ipv6: e.ipv6,
    sandboxKey: e.sandboxKey,
    joined: e.joined,
    ports: e.ports,
    createdAt: e.createdAt,
    recovered: e.recovered,
  };
}

/** The file's format, or why it cannot be read by this version. */
function formatOf(raw: Record<string, unknown>): number | string {
  const f = raw.format ?? 1;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 1) return `has format ${JSON.stringify(f)}, not a store format`;
  if (f > STORE_FORMAT) return `was written in store format ${f} by a newer tsnet; this one reads formats 1 to ${STORE_FORMAT}`;
  return f;
}

/** A network record from a file of any format this version reads, or why not. */
export function readNetworkFile(raw: unknown): NetworkRecord | string {
  const r = raw as Record<string, unknown> & Partial<NetworkFile>;
  if (!r || typeof r !== 'object' || !r.config || typeof r.config !== 'object') return 'not a network record';
  const format = formatOf(r);
  if (typeof format === 'string') return format;
  const c = r.config;
  if (typeof c.id !== 'string' || typeof c.bridge !== 'string' || !Array.isArray(c.ipv4) || !Array.isArray(c.ipv6Subnets)) {
    return 'the network record is incomplete (id, bridge or subnets missing)';
  }
  // Formats 1 and 2 hold the same fields.
  return withoutUndefined({ config: c, bridgeAdopted: !!r.bridgeAdopted, createdAt: String(r.createdAt ?? ''), endpoints: records<EndpointRecord>(), addedAddresses: r.addedAddresses, recovered: r.recovered });
}

/** An endpoint record from a file of any format this version reads, or why not. */
export function readEndpointFile(raw: unknown): EndpointRecord | string {
  const e = raw as Record<string, unknown> & Partial<EndpointFile>;
  if (!e || typeof e !== 'object') return 'not an endpoint record';
  const format = formatOf(e);
  if (typeof format === 'string') return format;
  if (typeof e.id !== 'string' || typeof e.networkId !== 'string' || typeof e.hostVeth !== 'string' || !Array.isArray(e.ports)) {
    return 'the endpoint record is incomplete (id, network, veth or ports missing)';
  }
  return withoutUndefined({
    id: e.id,
    networkId: e.networkId,
    hostVeth: e.hostVeth,
    containerVeth: String(e.containerVeth ?? ''),
    mac: String(e.mac ?? ''),
    ipv4: e.ipv4,
    ipv6: e.ipv6,
    sandboxKey: e.sandboxKey,
    joined: !!e.joined,
    ports: e.ports,
    createdAt: String(e.createdAt ?? ''),
    recovered: e.recovered,
  });
}

function withoutUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
