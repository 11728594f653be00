/** Text of the rows, descriptions and tooltips, kept in one place so both views say the same. */
import type { ContainerModel, EndpointModel, NetworkGraph, NetworkModel, PortModel } from '../docker/model-types';
import { isHttpPort } from '../commands/validate';

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

export function networkTooltip(n: NetworkModel, graph: NetworkGraph): string {
  const lines = [`**${n.name}**${n.builtin ? ' (built into Docker)' : ''}`, '', `- Driver: ${n.driver}${n.tsnet ? ' (tsnet)' : ''}`, `- Scope: ${n.scope}`, `- ID: \`${n.id.slice(0, 12)}\``];
  for (const s of n.subnets) {
    lines.push(`- IPv${s.family} subnet: ${s.subnet}${s.gateway ? `, gateway ${s.gateway}` : ''}${s.ipRange ? `, IP range ${s.ipRange}` : ''}`);
  }
  if (n.bridge) lines.push(`- Bridge: \`${n.bridge}\`${n.bridgePresent === false ? ' (missing in the kernel)' : ''}`);
  lines.push(`- Internal: ${n.internal ? 'yes' : 'no'} · IPv6: ${n.ipv6 ? 'yes' : 'no'}`);
  for (const [k, v] of Object.entries(n.options)) lines.push(`- Option \`${k}\` = \`${v}\``);
  for (const [k, v] of Object.entries(n.labels)) lines.push(`- Label \`${k}\` = \`${v}\``);
  if (n.firewall?.length) lines.push(`- Firewall: ${n.firewall.map((f) => `\`${f}\``).join(', ')}`);
  if (n.tsnet && !graph.host.tsnetStatus) lines.push('', '_tsnet driver status not reachable: bridge and veth names are derived, not read._');
  return lines.join('\n');
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

export function containerTooltip(c: ContainerModel, graph: NetworkGraph, ep?: EndpointModel): string {
  const lines = [`**${c.name}** (${c.status})`, '', `- Image: ${c.image}`, `- ID: \`${c.id.slice(0, 12)}\``, `- Network mode: ${c.networkMode}`];
  if (c.sharesNamespaceWith) {
    const owner = graph.containers.find((x) => x.id === c.sharesNamespaceWith);
    lines.push(`- Shares the network namespace of ${owner ? owner.name : c.sharesNamespaceWith.slice(0, 12)}`);
  }
  const eps = ep ? [ep] : graph.endpoints.filter((e) => e.containerId === c.id);
  for (const e of eps) {
    const n = graph.networks.find((x) => x.id === e.networkId);
    lines.push(`- On ${n?.name ?? e.networkId.slice(0, 12)}:${e.active === false ? ' (not running: no endpoint yet)' : ''}`);
    if (e.ipv4) lines.push(`  - IPv4 ${e.ipv4}${e.ipv4PrefixLength !== undefined ? '/' + e.ipv4PrefixLength : ''}${e.gateway ? ` via ${e.gateway}` : ''}`);
    if (e.ipv6) lines.push(`  - IPv6 ${e.ipv6}${e.ipv6PrefixLength !== undefined ? '/' + e.ipv6PrefixLength : ''}`);
    if (e.mac) lines.push(`  - MAC ${e.mac}`);
    if (e.hostVeth) lines.push(`  - Host-side veth \`${e.hostVeth}\``);
    if (e.aliases.length) lines.push(`  - Aliases: ${e.aliases.join(', ')}`);
  }
  for (const p of c.ports) lines.push(`- Port ${portLabel([p])}`);
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
