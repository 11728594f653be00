/**
 * A made-up NetworkGraph of any size, deterministic, for the topology benchmark and tests:
 * `networks` bridge networks (every third one tsnet, with host-side veth names), `containers`
 * containers spread over them (every 7th on a second network too), every 10th joined by a
 * second container in its namespace (a pod), every 5th publishing a port.
 */
import type { ContainerModel, EndpointModel, NetworkGraph, NetworkModel, NamespaceGroupModel } from '../docker/model-types';

const hex = (prefix: number, i: number) => (prefix.toString(16) + i.toString(16).padStart(8, '0')).padEnd(64, 'a');

export function syntheticGraph(networkCount: number, containerCount: number): NetworkGraph {
  const networks: NetworkModel[] = [];
  for (let n = 0; n < networkCount; n++) {
    const id = hex(1, n);
    const tsnet = n % 3 === 0;
    networks.push({
      id,
      name: `net-${String(n).padStart(3, '0')}`,
      driver: tsnet ? 'tsnet' : 'bridge',
      scope: 'local',
      internal: false,
      ipv6: false,
      builtin: false,
      tsnet,
      bridge: tsnet ? `tsn-${id.slice(0, 12)}` : `br-${id.slice(0, 12)}`,
      subnets: [{ family: 4, subnet: `10.${100 + (n >> 8)}.${n & 255}.0/24`, gateway: `10.${100 + (n >> 8)}.${n & 255}.1` }],
      options: {},
      labels: {},
      endpointIds: [],
    });
  }
  const containers: ContainerModel[] = [];
  const endpoints: EndpointModel[] = [];
  const namespaces: NamespaceGroupModel[] = [];
  const hostCount = new Map<number, number>();
  const attach = (c: ContainerModel, netIndex: number, ifname: string) => {
    const net = networks[netIndex];
    const host = (hostCount.get(netIndex) ?? 1) + 1;
    hostCount.set(netIndex, host);
    const id = hex(3, endpoints.length);
    const ep: EndpointModel = {
      id,
      networkId: net.id,
      containerId: c.id,
      ipv4: `${net.subnets[0].subnet.split('.').slice(0, 3).join('.')}.${host}/24`,
      mac: `02:42:ac:11:${(host >> 8).toString(16).padStart(2, '0')}:${(host & 255).toString(16).padStart(2, '0')}`,
      aliases: [],
      hostVeth: net.tsnet ? `tsv${id.slice(0, 11)}` : undefined,
      ifname,
    };
    endpoints.push(ep);
    net.endpointIds.push(id);
    c.endpointIds.push(id);
  };
  let made = 0;
  for (let i = 0; made < containerCount; i++) {
    const id = hex(2, made++);
    const c: ContainerModel = {
      id,
      name: `ctr-${String(i).padStart(4, '0')}`,
      image: 'tsnet-test-busybox:latest',
      state: 'running',
      status: 'Up 2 minutes',
      networkMode: networks.length ? networks[i % networks.length].name : 'none',
      namespaceId: id,
      endpointIds: [],
      ports: i % 5 === 0 ? [{ proto: 'tcp', hostIP: '0.0.0.0', hostPort: 20000 + i, containerPort: 80 }] : [],
      labels: {},
    };
    containers.push(c);
    const members = [id];
    if (networks.length) {
      attach(c, i % networks.length, 'eth0');
      if (i % 7 === 0 && networks.length > 1) attach(c, (i + 1) % networks.length, 'eth1');
    }
    if (i % 10 === 0 && made < containerCount) {
      const sideId = hex(2, made++);
      containers.push({
        id: sideId,
        name: `ctr-${String(i).padStart(4, '0')}-side`,
        image: 'tsnet-test-busybox:latest',
        state: 'running',
        status: 'Up 2 minutes',
        networkMode: `container:${id}`,
        sharesNamespaceWith: id,
        namespaceId: id,
        endpointIds: [],
        ports: [],
        labels: {},
      });
      members.push(sideId);
    }
    namespaces.push({ id, ownerId: id, memberIds: members });
  }
  return { host: { engineVersion: '20.10.24', tsnetStatus: true, tsnetVersion: '0.1.0', tsnetDriverName: 'tsnet' }, networks, containers, endpoints, namespaces };
}
