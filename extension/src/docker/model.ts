/**
 * The pure model builder: Docker's objects (network inspect + container inspect) and, when the
 * tsnet driver answers, its StatusReport -> one NetworkGraph. No I/O here; tested on data
 * captured from a real engine (src/test/fixtures).
 */
import { bridgeName, parseCidr, type ClusterStatus, type Proto, type StatusReport, type NetworkStatus, type EndpointStatus } from '@tsnet/shared';
import { networkCluster } from './cluster-model';
import type { DockerContainer, DockerEndpointSettings, DockerNetwork } from './docker-types';
import type {
  ContainerModel,
  EndpointModel,
  HostModel,
  NamespaceGroupModel,
  NetworkGraph,
  NetworkModel,
  PortModel,
  SubnetModel,
} from './model-types';

/** Docker's predefined networks; their names are reserved by the engine. */
export const BUILTIN_NETWORK_NAMES: readonly string[] = ['bridge', 'host', 'none'];

const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';

/** Driver names that mean tsnet besides `tsnet` and `tsnet:*` (the `tsnet.driverNames` setting). */
let configuredDriverNames: readonly string[] = ['tsnet'];

/** Sets the driver names the setting `tsnet.driverNames` lists (a driver started under another name). */
export function setTsnetDriverNames(names: readonly string[] | undefined): void {
  configuredDriverNames = (names ?? []).map((n) => n.trim()).filter(Boolean);
}

export function tsnetDriverNames(): readonly string[] {
  return configuredDriverNames;
}

/**
 * tsnet, tsnet:latest, someone/tsnet:1.2 (managed plugins carry a tag and maybe a repository), or
 * one of `names` (default: the configured `tsnet.driverNames`), with or without a tag.
 */
export function isTsnetDriver(driver: string | undefined, names: readonly string[] = configuredDriverNames): boolean {
  if (!driver) return false;
  if (names.includes(driver)) return true;
  const name = driver.split('/').pop() ?? driver;
  if (name === 'tsnet' || name.startsWith('tsnet:')) return true;
  const untagged = name.includes(':') ? name.slice(0, name.indexOf(':')) : name;
  return names.includes(name) || names.includes(untagged);
}

function stripPrefixLength(addr: string | undefined): { address?: string; prefixLength?: number } {
  if (!addr) return {};
  const slash = addr.indexOf('/');
  if (slash < 0) return { address: addr };
  return { address: addr.slice(0, slash), prefixLength: Number(addr.slice(slash + 1)) };
}

function nonEmpty(s: string | undefined | null): string | undefined {
  return s ? s : undefined;
}

function buildSubnets(n: DockerNetwork): SubnetModel[] {
  const out: SubnetModel[] = [];
  for (const c of n.IPAM?.Config ?? []) {
    if (!c.Subnet) continue;
    const family = parseCidr(c.Subnet)?.family ?? (c.Subnet.includes(':') ? 6 : 4);
    out.push({ family, subnet: c.Subnet, gateway: nonEmpty(c.Gateway), ipRange: nonEmpty(c.IPRange) });
  }
  return out;
}

function networkBridge(n: DockerNetwork, status: NetworkStatus | undefined, tsnet: boolean): string | undefined {
  if (status) return status.bridge;
  const named = n.Options?.[BRIDGE_NAME_OPTION];
  if (named) return named;
  if (tsnet) return bridgeName(n.Id);
  if (n.Driver === 'bridge') return 'br-' + n.Id.slice(0, 12);
  return undefined;
}

function buildNetwork(n: DockerNetwork, status: NetworkStatus | undefined, cluster: ClusterStatus | undefined): NetworkModel {
  const tsnet = isTsnetDriver(n.Driver);
  const model: NetworkModel = {
    id: n.Id,
    name: n.Name,
    driver: n.Driver ?? '',
    scope: n.Scope ?? 'local',
    internal: !!n.Internal,
    ipv6: !!n.EnableIPv6,
    builtin: BUILTIN_NETWORK_NAMES.includes(n.Name),
    tsnet,
    bridge: networkBridge(n, status, tsnet),
    subnets: buildSubnets(n),
    options: { ...(n.Options ?? {}) },
    labels: { ...(n.Labels ?? {}) },
    endpointIds: [],
    created: n.Created,
    attachable: n.Attachable,
  };
  if (status) {
    model.bridgePresent = status.present;
    model.firewall = [...status.firewall];
    if (model.subnets.length === 0) {
      model.subnets = status.subnets.map((s) => ({ family: s.family, subnet: s.subnet, gateway: s.gateway, ipRange: s.ipRange }));
    }
  }
  const c = tsnet ? networkCluster(model.options, status, model.subnets, cluster) : undefined;
  if (c) model.cluster = c;
  return model;
}

function parsePortKey(key: string): { containerPort: number; proto: Proto } | undefined {
  const m = /^(\d+)\/(tcp|udp|sctp)$/.exec(key);
  return m ? { containerPort: Number(m[1]), proto: m[2] as Proto } : undefined;
}

function dockerPorts(c: DockerContainer): PortModel[] {
  const out: PortModel[] = [];
  for (const [key, bindings] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const parsed = parsePortKey(key);
    if (!parsed || !bindings) continue;
    for (const b of bindings) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      out.push({ proto: parsed.proto, hostIP: b.HostIp || '0.0.0.0', hostPort, containerPort: parsed.containerPort });
    }
  }
  return out;
}

function samePort(a: PortModel, b: PortModel): boolean {
  return a.proto === b.proto && a.hostIP === b.hostIP && a.hostPort === b.hostPort && a.containerPort === b.containerPort;
}

function portOrder(a: PortModel, b: PortModel): number {
  return a.containerPort - b.containerPort || a.proto.localeCompare(b.proto) || a.hostPort - b.hostPort;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name.localeCompare(b.name);
}

/** Finds the container a `container:<ref>` network mode points at (full ID, ID prefix or name). */
function resolveContainerRef(ref: string, containers: DockerContainer[]): string {
  const exact = containers.find((c) => c.Id === ref);
  if (exact) return exact.Id;
  const byContainerName = containers.find((c) => (c.Name ?? '').replace(/^\//, '') === ref);
  if (byContainerName) return byContainerName.Id;
  const prefix = /^[0-9a-f]{4,}$/.test(ref) ? containers.filter((c) => c.Id.startsWith(ref)) : [];
  return prefix.length === 1 ? prefix[0].Id : ref;
}

export function buildGraph(
  networks: DockerNetwork[],
  containers: DockerContainer[],
  tsnetStatus?: StatusReport,
  host: Partial<Omit<HostModel, 'tsnetStatus'>> = {},
): NetworkGraph {
  const statusByNetwork = new Map<string, NetworkStatus>();
  const statusByEndpoint = new Map<string, EndpointStatus>();
  for (const ns of tsnetStatus?.networks ?? []) {
    statusByNetwork.set(ns.id, ns);
    for (const ep of ns.endpoints) statusByEndpoint.set(ep.id, ep);
  }

  const networkModels = networks.map((n) => buildNetwork(n, statusByNetwork.get(n.Id), tsnetStatus?.cluster)).sort(byName);
  const networkById = new Map(networkModels.map((n) => [n.id, n]));
  const networkByName = new Map(networkModels.map((n) => [n.name, n]));

  const endpoints: EndpointModel[] = [];
  const containerModels: ContainerModel[] = [];

  for (const c of containers) {
    const networkMode = c.HostConfig?.NetworkMode ?? '';
    const sharesNamespaceWith = networkMode.startsWith('container:')
      ? resolveContainerRef(networkMode.slice('container:'.length), containers)
      : undefined;
    const running = !!c.State?.Running;
    const state = c.State?.Status ?? (running ? 'running' : 'unknown');
    const status = state === 'exited' && c.State?.ExitCode !== undefined ? `exited (${c.State.ExitCode})` : state;
    const model: ContainerModel = {
      id: c.Id,
      name: (c.Name ?? c.Id.slice(0, 12)).replace(/^\//, ''),
      image: c.Config?.Image ?? c.Image ?? '',
      state,
      status,
      networkMode,
      sharesNamespaceWith,
      namespaceId: c.Id,
      endpointIds: [],
      ports: dockerPorts(c),
      labels: { ...(c.Config?.Labels ?? {}) },
    };

    for (const [key, settings] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
      const network = (settings.NetworkID && networkById.get(settings.NetworkID)) || networkByName.get(key);
      if (!network) continue;
      const ep = buildEndpoint(c.Id, network, settings, statusByEndpoint);
      endpoints.push(ep);
      model.endpointIds.push(ep.id);
      network.endpointIds.push(ep.id);
      const epStatus = statusByEndpoint.get(ep.id);
      for (const p of epStatus?.ports ?? []) {
        const port: PortModel = { proto: p.proto, hostIP: p.hostIP, hostPort: p.hostPort, containerPort: p.containerPort, networkId: network.id, picked: p.picked };
        const existing = model.ports.find((q) => samePort(q, port));
        if (existing) Object.assign(existing, { networkId: port.networkId, picked: port.picked });
        else model.ports.push(port);
      }
    }
    model.ports.sort(portOrder);
    containerModels.push(model);
  }
  containerModels.sort(byName);

  const namespaces = buildNamespaces(containerModels, containers);
  const tsnetNetwork = networkModels.find((n) => n.tsnet);

  return {
    host: {
      engineVersion: host.engineVersion,
      tsnetStatus: !!tsnetStatus,
      tsnetVersion: tsnetStatus?.version ?? host.tsnetVersion,
      tsnetDriverName: host.tsnetDriverName ?? tsnetNetwork?.driver,
    },
    networks: networkModels,
    containers: containerModels,
    endpoints,
    namespaces,
  };
}

function buildEndpoint(
  containerId: string,
  network: NetworkModel,
  s: DockerEndpointSettings,
  statusByEndpoint: Map<string, EndpointStatus>,
): EndpointModel {
  const active = !!s.EndpointID;
  const id = s.EndpointID || `${containerId}/${network.id}`;
  const st = active ? statusByEndpoint.get(id) : undefined;
  const v4 = stripPrefixLength(st?.ipv4);
  const v6 = stripPrefixLength(st?.ipv6);
  return {
    id,
    networkId: network.id,
    containerId,
    ipv4: nonEmpty(s.IPAddress) ?? v4.address,
    ipv4PrefixLength: s.IPAddress ? s.IPPrefixLen : v4.prefixLength,
    ipv6: nonEmpty(s.GlobalIPv6Address) ?? v6.address,
    ipv6PrefixLength: s.GlobalIPv6Address ? s.GlobalIPv6PrefixLen : v6.prefixLength,
    mac: nonEmpty(s.MacAddress) ?? nonEmpty(st?.mac),
    gateway: nonEmpty(s.Gateway),
    ipv6Gateway: nonEmpty(s.IPv6Gateway),
    aliases: (s.Aliases ?? []).filter((a) => !containerId.startsWith(a)),
    hostVeth: st?.hostVeth,
    active,
  };
}

/** Groups containers by network namespace; `--network container:X` joins X's group (following chains). */
function buildNamespaces(models: ContainerModel[], raw: DockerContainer[]): NamespaceGroupModel[] {
  const byId = new Map(models.map((m) => [m.id, m]));
  const rootOf = (m: ContainerModel): string => {
    const seen = new Set<string>();
    let cur: ContainerModel | undefined = m;
    let id = m.id;
    while (cur?.sharesNamespaceWith && !seen.has(cur.id)) {
      seen.add(cur.id);
      id = cur.sharesNamespaceWith;
      cur = byId.get(id);
    }
    return id;
  };
  const groups = new Map<string, NamespaceGroupModel>();
  for (const m of models) {
    const owner = rootOf(m);
    m.namespaceId = owner;
    let g = groups.get(owner);
    if (!g) {
      const sandboxKey = raw.find((c) => c.Id === owner)?.NetworkSettings?.SandboxKey;
      g = { id: owner, ownerId: owner, memberIds: [], sandboxKey: nonEmpty(sandboxKey) };
      groups.set(owner, g);
    }
    g.memberIds.push(m.id);
  }
  for (const g of groups.values()) {
    g.memberIds.sort((a, b) => (a === g.ownerId ? -1 : b === g.ownerId ? 1 : byId.get(a)!.name.localeCompare(byId.get(b)!.name)));
  }
  const name = (g: NamespaceGroupModel) => byId.get(g.ownerId)?.name ?? g.ownerId;
  return [...groups.values()].sort((a, b) => b.memberIds.length - a.memberIds.length || name(a).localeCompare(name(b)));
}
