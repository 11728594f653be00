/**
 * Names of the kernel objects tsnet makes, derived from Docker's IDs so any tool can find them.
 * Every name fits IFNAMSIZ (15 bytes plus the NUL).
 */

export const IFNAMSIZ_MAX = 15;
export const BRIDGE_PREFIX = 'tsn-';
export const VETH_HOST_PREFIX = 'tsv';
export const VETH_CONTAINER_PREFIX = 'tsc';
/** A removed endpoint's host veth, detached and renamed while the kernel deletes it. */
export const VETH_RETIRED_PREFIX = 'tsx';
/** The nftables table (family inet) holding tsnet's NAT and filtering. */
export const NFT_TABLE = 'tsnet';
/** Comment put on every rule tsnet writes outside its own table (DOCKER-USER). */
export const RULE_COMMENT = 'tsnet';
/** The one VXLAN link per host that carries every multi-host network (routed, flannel style). */
export const VXLAN_LINK = 'tsnet-vx';

/** Default bridge name of a network: `tsn-` + first 11 hex of the network ID (15 bytes). */
export function bridgeName(networkId: string): string {
  return BRIDGE_PREFIX + networkId.slice(0, 11);
}

/** Host-side veth of an endpoint: `tsv` + first 11 hex of the endpoint ID. */
export function vethHostName(endpointId: string): string {
  return VETH_HOST_PREFIX + endpointId.slice(0, 11);
}

/** Container-side veth (before Docker moves it and renames it to eth<N>). */
export function vethContainerName(endpointId: string): string {
  return VETH_CONTAINER_PREFIX + endpointId.slice(0, 11);
}

/** The name a host veth takes when its endpoint is removed, until the kernel has deleted it. */
export function vethRetiredName(hostVeth: string): string {
  return VETH_RETIRED_PREFIX + hostVeth.slice(VETH_HOST_PREFIX.length);
}

export function isValidInterfaceName(name: string): boolean {
  return (
    Buffer.byteLength(name) >= 1 &&
    Buffer.byteLength(name) <= IFNAMSIZ_MAX &&
    !/[\s/:]/.test(name) &&
    name !== '.' &&
    name !== '..'
  );
}

export function isTsnetLinkName(name: string): boolean {
  return name.startsWith(BRIDGE_PREFIX) || name.startsWith(VETH_HOST_PREFIX) || name.startsWith(VETH_CONTAINER_PREFIX) || name.startsWith(VETH_RETIRED_PREFIX);
}
