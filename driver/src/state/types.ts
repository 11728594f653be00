/**
 * The driver's state in memory: enough to re-create every kernel object after a restart. These
 * are the core's own types (the status API's and the files' are separate: status.ts in shared/,
 * files.ts here).
 */
import type { NetworkConfig, Proto } from '@tsnet/shared';

export const STATE_VERSION = 1;

/** A port map as programmed, and the address family it is in. */
export interface PortMapRecord {
  proto: Proto;
  family: 4 | 6;
  /** Host address; "0.0.0.0" / "::" for every address. */
  hostIP: string;
  hostPort: number;
  containerIP: string;
  containerPort: number;
  /** Docker asked for any port and tsnet picked hostPort. */
  picked: boolean;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  /** Host-side veth, attached to the bridge. */
  hostVeth: string;
  /** Container-side veth before Docker renames it. */
  containerVeth: string;
  mac: string;
  /** "addr/len" */
  ipv4?: string;
  ipv6?: string;
  /** The namespace it joined (Docker's SandboxKey), while joined. */
  sandboxKey?: string;
  joined: boolean;
  ports: PortMapRecord[];
  createdAt: string;
  /** Rebuilt from the kernel after its record was lost: only a prefix of the ID is known. */
  recovered?: boolean;
}

export interface NetworkRecord {
  config: NetworkConfig;
  /** The bridge existed before the network: left in place on removal. */
  bridgeAdopted: boolean;
  createdAt: string;
  endpoints: Record<string, EndpointRecord>;
  /** Gateway addresses tsnet put on an adopted bridge (removed again with the network). */
  addedAddresses?: string[];
  /** Recovered from the kernel after the store was lost: only a prefix of the ID is known. */
  recovered?: boolean;
}

/**
 * A container of records keyed by Docker IDs: no prototype, so an ID such as "__proto__",
 * "constructor" or "toString" is an ordinary key, never an inherited member.
 */
export function records<T>(from?: Record<string, T>): Record<string, T> {
  const r = Object.create(null) as Record<string, T>;
  if (from) for (const k of Object.keys(from)) r[k] = from[k];
  return r;
}

/** The record stored under `id`, never something inherited. */
export function own<T>(container: Record<string, T>, id: unknown): T | undefined {
  return typeof id === 'string' && Object.prototype.hasOwnProperty.call(container, id) ? container[id] : undefined;
}

export interface StateDocument {
  version: number;
  networks: Record<string, NetworkRecord>;
  /**
   * Links this driver is about to create, written before the kernel is asked. After a crash,
   * a name here that no record owns is this driver's leftover; anything else it never made.
   */
  pending?: string[];
  /**
   * Veths of endpoints removed before a crash whose deletion may not have run (journalled, also
   * in `pending`): never taken for endpoints when the store is rebuilt from the kernel.
   */
  deleting?: string[];
}
