/**
 * A multi-host (tsnet.cluster) network's other hosts, from the driver's status (StatusReport.cluster):
 * the remote hosts that own address blocks inside the network's subnet, with those blocks and the
 * routes this host programmed to them on its VXLAN link. Pure; model.ts calls it per network.
 */
import { cidrContains, OPT, parseCidr, type ClusterStatus, type NetworkStatus } from '@tsnet/shared';
import type { NetworkClusterModel, RemoteHostModel, SubnetModel } from './model-types';

/** "10.60.0.64/26 via 172.30.250.12" → block and gateway. */
function parseRoute(route: string): { block: string; via: string } | undefined {
  const m = /^(\S+) via (\S+)$/.exec(route.trim());
  return m ? { block: m[1], via: m[2] } : undefined;
}

/** Whether the block (a CIDR) lies inside one of the subnets. */
function inSubnets(block: string, subnets: SubnetModel[]): boolean {
  const b = parseCidr(block);
  if (!b) return false;
  return subnets.some((s) => {
    const c = parseCidr(s.subnet);
    return !!c && c.family === b.family && c.prefixLength <= b.prefixLength && cidrContains(c, b.network);
  });
}

/**
 * The network's cluster view, or undefined for a network that is not multi-host (no tsnet.cluster
 * option) or when the driver runs without etcd (no cluster in its status).
 */
export function networkCluster(
  options: Record<string, string>,
  status: NetworkStatus | undefined,
  subnets: SubnetModel[],
  cluster: ClusterStatus | undefined,
): NetworkClusterModel | undefined {
  const name = status?.options.raw[OPT.cluster] ?? options[OPT.cluster];
  if (!name || !cluster) return undefined;
  const routes = cluster.remoteRoutes.map(parseRoute).filter((r): r is { block: string; via: string } => !!r && inSubnets(r.block, subnets));
  const remoteHosts: RemoteHostModel[] = [];
  for (const h of cluster.hosts) {
    if (h.self || h.address === cluster.self) continue;
    const blocks = h.blocks.filter((b) => inSubnets(b, subnets));
    if (!blocks.length) continue;
    remoteHosts.push({
      address: h.address,
      hostname: h.hostname,
      vtepMac: h.vtepMac,
      leaseAgeSeconds: h.leaseAgeSeconds,
      blocks: [...blocks].sort(),
      routes: routes.filter((r) => r.via === h.address).map((r) => r.block).sort(),
    });
  }
  remoteHosts.sort((a, b) => a.hostname.localeCompare(b.hostname) || a.address.localeCompare(b.address));
  const self = cluster.hosts.find((h) => h.self || h.address === cluster.self);
  return {
    name,
    self: cluster.self,
    ownBlocks: (self?.blocks ?? []).filter((b) => inSubnets(b, subnets)).sort(),
    vxlan: { link: cluster.vxlan.link, vni: cluster.vxlan.vni, port: cluster.vxlan.port, mtu: cluster.vxlan.mtu },
    etcd: { healthy: cluster.etcd.healthy, endpoints: [...cluster.etcd.endpoints], ...(cluster.etcd.lastError ? { lastError: cluster.etcd.lastError } : {}) },
    remoteHosts,
  };
}

/**
 * What of the driver's cluster view the pictures show, as one string (lease ages left out: they
 * change every second). Two equal signatures draw the same remote hosts.
 */
export function clusterSignature(cluster: ClusterStatus | undefined): string {
  if (!cluster) return '';
  const hosts = cluster.hosts.map((h) => `${h.address} ${h.hostname} ${h.vtepMac} ${[...h.blocks].sort().join(',')}`).sort();
  return JSON.stringify([cluster.self, cluster.etcd.healthy, cluster.vxlan, hosts, [...cluster.remoteRoutes].sort()]);
}
