/** Text of the rows, descriptions and tooltips, kept in one place so both views say the same. */
import type { ContainerModel, EndpointModel, NamespaceGroupModel, NetworkGraph, NetworkModel, PortModel, RemoteHostModel } from '../docker/model-types';
import { isHttpPort } from '../docker/port-links';
import { mdCode, mdText } from './markdown';

export function subnetsText(n: NetworkModel): string {
  return n.subnets.map((s) => s.subnet).join(', ');
}

export function networkDescription(n: NetworkModel, graph: NetworkGraph): string {
  const parts = [n.tsnet ? `tsnet${n.bridge ? ` (${n.bridge})` : ''}` : n.driver];
  if (n.subnets.length > 0) parts.push(subnetsText(n));
  const count = new Set(graph.endpoints.filter((e) => e.networkId === n.id).map((e) => e.containerId)).size;
  parts.push(`${count} container${count === 1 ? '' : 's'}`);
  if (n.internal) parts.push('internal');
  return parts.join(' · ');
}

/** Markdown; every value that comes from Docker (names, labels, options...) is escaped. */
export function networkTooltip(n: NetworkModel, graph: NetworkGraph): string {
  const lines = [`**${mdText(n.name)}**${n.builtin ? ' (built into Docker)' : ''}`, '', `- Driver: ${mdText(n.driver)}${n.tsnet ? ' (tsnet)' : ''}`, `- Scope: ${mdText(n.scope)}`, `- ID: ${mdCode(n.id.slice(0, 12))}`];
  for (const s of n.subnets) {
    lines.push(`- IPv${s.family} subnet: ${mdText(s.subnet)}${s.gateway ? `, gateway ${mdText(s.gateway)}` : ''}${s.ipRange ? `, IP range ${mdText(s.ipRange)}` : ''}`);
  }
  if (n.bridge) lines.push(`- Bridge: ${mdCode(n.bridge)}${n.bridgePresent === false ? ' (missing in the kernel)' : ''}`);
  lines.push(`- Internal: ${n.internal ? 'yes' : 'no'} · IPv6: ${n.ipv6 ? 'yes' : 'no'}`);
  for (const [k, v] of Object.entries(n.options)) lines.push(`- Option ${mdCode(k)} = ${mdCode(String(v))}`);
  for (const [k, v] of Object.entries(n.labels)) lines.push(`- Label ${mdCode(k)} = ${mdCode(String(v))}`);
  if (n.firewall?.length) lines.push(`- Firewall: ${n.firewall.map((f) => mdCode(f)).join(', ')}`);
  if (n.cluster) {
    const c = n.cluster;
    lines.push(`- Multi-host: cluster ${mdCode(c.name)}, this host's VTEP ${mdCode(c.self)}${c.ownBlocks.length ? `, its blocks ${c.ownBlocks.map((b) => mdCode(b)).join(', ')}` : ''}`);
    lines.push(`- VXLAN link ${mdCode(c.vxlan.link)}: VNI ${c.vxlan.vni}, UDP ${c.vxlan.port}, MTU ${c.vxlan.mtu} · ${c.remoteHosts.length} remote host${c.remoteHosts.length === 1 ? '' : 's'}`);
    lines.push(`- etcd ${c.etcd.endpoints.map((e) => mdCode(e)).join(', ')}: ${c.etcd.healthy ? 'healthy' : `**not reachable**${c.etcd.lastError ? ` (${mdText(c.etcd.lastError)})` : ''}`}`);
  }
  if (n.tsnet && !graph.host.tsnetStatus) lines.push('', '_tsnet driver status not reachable: bridge and veth names are derived, not read._');
  return lines.join('\n');
}

/** "VTEP 172.30.250.12 · 10.60.0.64/26 · lease 3 s" */
export function remoteHostDescription(h: RemoteHostModel): string {
  return [`VTEP ${h.address}`, ...h.blocks.map((b) => (h.routes.includes(b) ? b : `${b} (no route)`)), `lease ${h.leaseAgeSeconds} s`].join(' · ');
}

export function remoteHostTooltip(h: RemoteHostModel, n: NetworkModel): string {
  return [
    `**${mdText(h.hostname || h.address)}**: remote host of ${mdText(n.name)}${n.cluster ? ` (cluster ${mdCode(n.cluster.name)})` : ''}`,
    '',
    `- VTEP (underlay) address: ${mdCode(h.address)}, MAC ${mdCode(h.vtepMac)}`,
    `- Blocks on this network: ${h.blocks.map((b) => mdCode(b)).join(', ')}`,
    `- Routed here over ${mdCode(n.cluster?.vxlan.link ?? 'VXLAN')}: ${h.routes.length ? h.routes.map((b) => mdCode(b)).join(', ') : 'none yet'}`,
    `- Lease renewed ${h.leaseAgeSeconds} s ago`,
  ].join('\n');
}

export function containerDescription(c: ContainerModel, ep?: EndpointModel): string {
  const parts: string[] = [];
  if (ep?.ipv4) parts.push(ep.ipv4);
  if (ep?.ipv6) parts.push(ep.ipv6);
  if (ep?.mac) parts.push(ep.mac);
  if (ep?.hostVeth) parts.push(`veth ${ep.hostVeth}`);
  parts.push(c.status);
  return parts.join(' · ');
}

/** Markdown; every value that comes from Docker is escaped. */
export function containerTooltip(c: ContainerModel, graph: NetworkGraph, ep?: EndpointModel): string {
  const lines = [`**${mdText(c.name)}** (${mdText(c.status)})`, '', `- Image: ${mdText(c.image)}`, `- ID: ${mdCode(c.id.slice(0, 12))}`, `- Network mode: ${mdText(c.networkMode)}`];
  if (c.sharesNamespaceWith) {
    const owner = graph.containers.find((x) => x.id === c.sharesNamespaceWith);
    lines.push(`- Shares the network namespace of ${mdText(owner ? owner.name : c.sharesNamespaceWith.slice(0, 12))}`);
  }
  const eps = ep ? [ep] : graph.endpoints.filter((e) => e.containerId === c.id);
  for (const e of eps) {
    const n = graph.networks.find((x) => x.id === e.networkId);
    lines.push(`- On ${mdText(n?.name ?? e.networkId.slice(0, 12))}:${e.active === false ? ' (not running: no endpoint yet)' : ''}`);
    if (e.ipv4) lines.push(`  - IPv4 ${mdText(e.ipv4)}${e.ipv4PrefixLength !== undefined ? '/' + e.ipv4PrefixLength : ''}${e.gateway ? ` via ${mdText(e.gateway)}` : ''}`);
    if (e.ipv6) lines.push(`  - IPv6 ${mdText(e.ipv6)}${e.ipv6PrefixLength !== undefined ? '/' + e.ipv6PrefixLength : ''}`);
    if (e.mac) lines.push(`  - MAC ${mdText(e.mac)}`);
    if (e.hostVeth) lines.push(`  - Host-side veth ${mdCode(e.hostVeth)}`);
    if (e.aliases.length) lines.push(`  - Aliases: ${e.aliases.map(mdText).join(', ')}`);
  }
  for (const p of c.ports) lines.push(`- Port ${mdText(portLabel([p]))}`);
  return lines.join('\n');
}

function hostPart(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** Groups the same port published on several host addresses (0.0.0.0 and :: usually) into one row. */
export function groupPorts(ports: PortModel[]): PortModel[][] {
  const groups = new Map<string, PortModel[]>();
  for (const p of ports) {
    const key = `${p.proto}/${p.hostPort}/${p.containerPort}/${p.networkId ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
}

export function portLabel(ports: PortModel[]): string {
  const p = ports[0];
  return `${hostPart(p.hostIP)}:${p.hostPort} → ${p.containerPort}/${p.proto}`;
}

export function portDescription(ports: PortModel[]): string {
  const parts: string[] = [];
  if (ports.length > 1) parts.push(`also ${ports.slice(1).map((p) => `${hostPart(p.hostIP)}:${p.hostPort}`).join(', ')}`);
  if (ports[0].picked) parts.push('port picked by tsnet');
  if (isHttpPort(ports[0])) parts.push('HTTP: click to open');
  return parts.join(' · ');
}

/** What every member of a namespace shares: the owner's networks, addresses and published ports. */
export function sharedFacts(group: NamespaceGroupModel, g: NetworkGraph): { addresses: string[]; ports: string[]; networks: string[] } {
  const eps = g.endpoints.filter((e) => e.containerId === group.ownerId);
  const owner = g.containers.find((c) => c.id === group.ownerId);
  return {
    networks: eps.map((e) => g.networks.find((n) => n.id === e.networkId)?.name ?? e.networkId.slice(0, 12)),
    addresses: eps.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => !!a)),
    ports: owner ? groupPorts(owner.ports).map(portLabel) : [],
  };
}

/** Markdown for a namespace row; every value that comes from Docker is escaped. */
export function namespaceTooltip(label: string, group: NamespaceGroupModel, g: NetworkGraph, shared: ReturnType<typeof sharedFacts>): string {
  const lines = [`**Network namespace of ${mdText(label)}**`, ''];
  if (group.sandboxKey) lines.push(`- Namespace: ${mdCode(group.sandboxKey)}`);
  lines.push(`- Members: ${group.memberIds.map((id) => mdText(g.containers.find((c) => c.id === id)?.name ?? id.slice(0, 12))).join(', ')}`);
  if (group.memberIds.length > 1) {
    lines.push('', 'All members share:', '- the same interfaces, addresses and routes', '- localhost (127.0.0.1 reaches every member)', '- the published ports of the owner');
  }
  if (shared.networks.length) lines.push(`- Networks: ${shared.networks.map(mdText).join(', ')}`);
  if (shared.addresses.length) lines.push(`- Addresses: ${shared.addresses.map(mdText).join(', ')}`);
  if (shared.ports.length) lines.push(`- Ports: ${shared.ports.map(mdText).join(', ')}`);
  return lines.join('\n');
}
