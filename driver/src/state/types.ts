/** What the driver persists: enough to re-create every kernel object after a restart. */
import type { EndpointStatus, NetworkConfig, PortMapStatus } from '@tsnet/shared';

export const STATE_VERSION = 1;

/** A port map as programmed (the status API's shape) and the address family it is in. */
export interface PortMapRecord extends PortMapStatus {
  family: 4 | 6;
}

/** An endpoint as the status API shows it, less what is read from the kernel at that moment. */
export interface EndpointRecord extends Omit<EndpointStatus, 'present' | 'ports'> {
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
