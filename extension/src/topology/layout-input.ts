/**
 * The topology picture as data: NetworkGraph → an ELK layout graph plus, for every ELK element,
 * what to draw in it. Pure (no vscode, no DOM), so it runs in the webview and in mocha alike.
 *
 * Shape of the picture (direction RIGHT, layered):
 *   first layer  the host's side: one node per network bridge, one per published host address:port
 *                (the renderer draws the "host" frame around this layer)
 *   last layer   one node per network namespace; containers sharing it (a pod) are drawn inside it,
 *                each interface (eth0 …) and each published container port is a row with an ELK port
 *                on the namespace's west side
 *   edges        veth: bridge → interface row (label: host-side veth name when known);
 *                publish: host address:port → container port row
 *   multi-host   a tsnet.cluster network's bridge routes to the host's VXLAN link (one node, in the
 *                host frame, shared by every multi-host network); from it one VXLAN edge per remote
 *                host (last layer, outside the host frame: its name, VTEP address and its blocks)
 *
 * Stability: every list is sorted by a deterministic key and ELK keeps that input order (crossing
 * minimisation is off), so one container starting inserts one namespace in its network's group
 * instead of moving everything. Namespaces are ordered by the first network they attach to, host
 * ports by the namespace they lead to, which is also what keeps crossings few.
 */
import type { ElkExtendedEdge, ElkNode, ElkPort, LayoutOptions } from 'elkjs/lib/elk-api';
import type { ContainerModel, EndpointModel, NetworkGraph, NetworkModel, PortModel, RemoteHostModel } from '../docker/model-types';

/** What a click reveals in the tree: the same kinds the tree shows. */
export type RefKind = 'network' | 'container' | 'endpoint';
export interface ItemRef {
  kind: RefKind;
  id: string;
}

export interface TextRun {
  text: string;
  /** Relative to the owning node's top-left; y is the baseline. */
  x: number;
  y: number;
  cls: 'title' | 'body' | 'small';
}

/** A drawn (and usually clickable) rectangle inside a node, coordinates relative to the node. */
export interface Part {
  x: number;
  y: number;
  w: number;
  h: number;
  /** CSS classes of the rectangle (frame, bridge, container, iface, cport, hostport, stopped, tsnet, pod...). */
  cls: string;
  ref?: ItemRef;
  texts: TextRun[];
  /** Tooltip lines. */
  tip: string[];
  /** Lower-cased strings the search box matches against (names, id prefixes, addresses, ports). */
  search: string[];
}

export type NodeKind = 'network' | 'hostPort' | 'namespace' | 'vxlan' | 'remoteHost';

export interface NodeItem {
  kind: NodeKind;
  /** Outer frame first, then inner parts in drawing order. */
  parts: Part[];
  /** Networks this node belongs to (for the network filter and highlighting). */
  networkIds: string[];
}

/**
 * veth: a running endpoint's veth pair; attachment: a stopped container's network attachment;
 * route: a multi-host network's routes to remote blocks through the VXLAN link; tunnel: the VXLAN
 * tunnel from that link to one remote host.
 */
export type EdgeKind = 'veth' | 'attachment' | 'publish' | 'route' | 'tunnel';
export interface EdgeItem {
  kind: EdgeKind;
  ref?: ItemRef;
  tip: string[];
  search: string[];
  networkIds: string[];
}

export interface TopologyScene {
  /** Input for elk.layout(). */
  elk: ElkNode;
  nodes: Record<string, NodeItem>;
  edges: Record<string, EdgeItem>;
  host: { title: string; tip: string[] };
  /** Networks in display order (for the filter list), whatever the filter. */
  networks: { id: string; name: string; driver: string; tsnet: boolean }[];
  stats: { networks: number; namespaces: number; containers: number; endpoints: number; hostPorts: number; remoteHosts: number };
}

export interface SceneOptions {
  /** Show only these networks (and the namespaces attached to them). Empty or absent: everything. */
  networkIds?: readonly string[];
}

// Every text is monospace so widths are known without a DOM (the renderer uses the same font).
export const FONT = { title: 12, body: 11, small: 10 } as const;
const CHAR_W = 0.6; // monospace advance, in em
export function textWidth(text: string, cls: TextRun['cls']): number {
  return Math.ceil([...text].length * FONT[cls] * CHAR_W);
}

const PAD = 8;
const LINE = { title: 16, body: 14, small: 13 } as const;
const ROW_H = 20;
const MEMBER_GAP = 4;
const MIN_NODE_W = 150;
const PORT_SIZE = 6;

// ELK ids. Docker IDs are hex; names never appear in ids, so ids are unique and stable.
export const ids = {
  network: (networkId: string) => `net:${networkId}`,
  bridgePort: (networkId: string) => `net:${networkId}:out`,
  namespace: (nsId: string) => `ns:${nsId}`,
  iface: (endpointId: string) => `if:${endpointId}`,
  containerPort: (containerId: string, port: number, proto: string) => `cp:${containerId}:${port}/${proto}`,
  hostPort: (hostIP: string, hostPort: number, proto: string) => `hp:${hostIP}:${hostPort}/${proto}`,
  hostPortOut: (hostIP: string, hostPort: number, proto: string) => `hp:${hostIP}:${hostPort}/${proto}:out`,
  veth: (endpointId: string) => `veth:${endpointId}`,
  publish: (hostIP: string, hostPort: number, proto: string, containerId: string, containerPort: number) =>
    `pub:${hostIP}:${hostPort}/${proto}>${containerId}:${containerPort}`,
  vxlanDevice: (link: string) => `vx:${link}`,
  vxlanIn: (link: string) => `vx:${link}:in`,
  vxlanOut: (link: string) => `vx:${link}:out`,
  remoteHost: (address: string) => `rh:${address}`,
  remoteHostIn: (address: string) => `rh:${address}:in`,
  route: (networkId: string) => `route:${networkId}`,
  vxlan: (address: string) => `vxlan:${address}`,
};

export const ROOT_LAYOUT: LayoutOptions = {
  'elk.algorithm': 'layered',
  'elk.direction': 'RIGHT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.padding': '[top=44,left=24,bottom=24,right=24]',
  'elk.spacing.nodeNode': '14',
  'elk.spacing.edgeEdge': '6',
  'elk.spacing.edgeNode': '10',
  'elk.layered.spacing.nodeNodeBetweenLayers': '40',
  'elk.layered.spacing.edgeNodeBetweenLayers': '16',
  // The order within each layer is the input order (see buildScene, which gives each node a y in
  // that order): INTERACTIVE crossing minimisation just sorts by it. That keeps the picture stable
  // across updates and is what makes 500 containers lay out in about a second (ELK's model-order
  // and barycenter passes took minutes at that size; NONE does not keep the input order).
  'elk.layered.crossingMinimization.strategy': 'INTERACTIVE',
  'elk.layered.crossingMinimization.greedySwitch.type': 'OFF',
  'elk.omitNodeMicroLayout': 'true',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.edgeLabels.placement': 'CENTER',
  'elk.separateConnectedComponents': 'false',
};

/** "0.0.0.0:8080/tcp", "[::]:8080/tcp" */
export function hostAddress(hostIP: string, hostPort: number, proto: string): string {
  const ip = hostIP === '' ? '0.0.0.0' : hostIP;
  return `${ip.includes(':') ? `[${ip}]` : ip}:${hostPort}/${proto}`;
}

const short = (id: string) => id.slice(0, 12);
/** An image by digest reads as its first 12 hex; long names are cut. */
function shortImage(image: string): string {
  if (image.startsWith('sha256:')) return image.slice(7, 19);
  return image.length > 48 ? `${image.slice(0, 47)}…` : image;
}
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** eth2 < eth10 */
function naturalCmp(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
/** "10.0.0.2/24" from address and prefix length; an address that already has its prefix is kept. */
function withPrefix(addr: string | undefined, prefixLength: number | undefined): string | undefined {
  if (!addr) return undefined;
  return prefixLength !== undefined && !addr.includes('/') ? `${addr}/${prefixLength}` : addr;
}
const lower = (xs: (string | undefined)[]) => xs.filter((x): x is string => !!x).map((x) => x.toLowerCase());

/** Sort key of networks: user networks by name, Docker's predefined ones last. */
function sortNetworks(networks: NetworkModel[]): NetworkModel[] {
  return [...networks].sort((a, b) => Number(a.builtin) - Number(b.builtin) || cmp(a.name, b.name) || cmp(a.id, b.id));
}

function layoutNode(
  id: string,
  parts: Part[],
  options: LayoutOptions,
  ports: ElkPort[] = [],
): ElkNode {
  const frame = parts[0];
  return { id, width: frame.w, height: frame.h, layoutOptions: options, ports };
}

/** Lays out text lines top-down with PAD, returns the texts and the height used. */
function stackLines(lines: { text: string; cls: TextRun['cls'] }[], x0: number, y0: number): { texts: TextRun[]; height: number; width: number } {
  const texts: TextRun[] = [];
  let y = y0;
  let width = 0;
  for (const line of lines) {
    y += LINE[line.cls];
    texts.push({ text: line.text, x: x0, y: y - 4, cls: line.cls });
    width = Math.max(width, textWidth(line.text, line.cls));
  }
  return { texts, height: y - y0, width };
}

function networkNode(net: NetworkModel): { elk: ElkNode; item: NodeItem } {
  const lines: { text: string; cls: TextRun['cls'] }[] = [{ text: net.name, cls: 'title' }];
  const bridgeText = net.bridge ? `bridge ${net.bridge}${net.bridgePresent === false ? ' (missing!)' : ''}` : net.driver === 'host' ? 'host namespace' : net.driver === 'null' ? 'no network' : 'bridge unknown';
  lines.push({ text: `${bridgeText} · ${net.driver}${net.internal ? ' · internal' : ''}`, cls: 'small' });
  for (const s of net.subnets) lines.push({ text: `${s.subnet}${s.gateway ? ` gw ${s.gateway}` : ''}`, cls: 'body' });
  const stacked = stackLines(lines, PAD, PAD - 2);
  const w = Math.max(MIN_NODE_W, stacked.width + 2 * PAD);
  const h = stacked.height + PAD;
  const tip = [
    `network ${net.name}`,
    `id ${short(net.id)}`,
    `driver ${net.driver}${net.tsnet ? ' (tsnet)' : ''} · scope ${net.scope}`,
    net.bridge ? `bridge ${net.bridge}${net.bridgePresent === false ? ' (not in the kernel right now)' : ''}` : '',
    ...net.subnets.map((s) => `IPv${s.family} ${s.subnet}${s.gateway ? ` gateway ${s.gateway}` : ''}${s.ipRange ? ` range ${s.ipRange}` : ''}`),
    net.internal ? 'internal (no outside access)' : '',
    net.ipv6 ? 'IPv6 enabled' : '',
    `${net.endpointIds.length} endpoint(s)`,
    ...Object.entries(net.options).sort(([a], [b]) => cmp(a, b)).map(([k, v]) => `-o ${k}=${v}`),
    ...(net.firewall ?? []).map((f) => `firewall: ${f}`),
  ].filter(Boolean);
  const frame: Part = {
    x: 0,
    y: 0,
    w,
    h,
    cls: `frame bridge${net.tsnet ? ' tsnet' : ''}${net.builtin ? ' builtin' : ''}${net.bridgePresent === false ? ' missing' : ''}`,
    ref: { kind: 'network', id: net.id },
    texts: stacked.texts,
    tip,
    search: lower([net.name, net.id, net.bridge, ...net.subnets.flatMap((s) => [s.subnet, s.gateway])]),
  };
  const port: ElkPort = {
    id: ids.bridgePort(net.id),
    width: PORT_SIZE,
    height: PORT_SIZE,
    layoutOptions: { 'elk.port.side': 'EAST' },
  };
  const elk = layoutNode(
    ids.network(net.id),
    [frame],
    { 'elk.layered.layering.layerConstraint': 'FIRST', 'elk.portConstraints': 'FIXED_SIDE' },
    [port],
  );
  return { elk, item: { kind: 'network', parts: [frame], networkIds: [net.id] } };
}

interface NamespaceInput {
  nsId: string;
  members: ContainerModel[];
  endpoints: EndpointModel[];
  /** One row per (container, containerPort, proto). */
  ports: { container: ContainerModel; containerPort: number; proto: string; maps: PortModel[] }[];
  sandboxKey?: string;
}

function containerTip(c: ContainerModel, owner: ContainerModel | undefined): string[] {
  return [
    `container ${c.name}`,
    `id ${short(c.id)}`,
    `image ${c.image}`,
    `${c.state}${c.status ? ` · ${c.status}` : ''}`,
    `network mode ${c.networkMode}`,
    owner && owner.id !== c.id ? `shares the namespace of ${owner.name}` : '',
    ...c.ports.map((p) => `${hostAddress(p.hostIP, p.hostPort, p.proto)} → ${p.containerPort}/${p.proto}${p.picked ? ' (port picked by tsnet)' : ''}`),
  ].filter(Boolean);
}

function namespaceNode(
  ns: NamespaceInput,
  networkById: Map<string, NetworkModel>,
): { elk: ElkNode; item: NodeItem } {
  const owner = ns.members[0];
  const pod = ns.members.length > 1;
  const parts: Part[] = [];
  let y = PAD;
  let width = MIN_NODE_W;
  let headerTexts: TextRun[] = [];
  if (pod) {
    const header = stackLines([{ text: `pod · ${ns.members.length} containers share one namespace`, cls: 'small' }], PAD, y - 4);
    headerTexts = header.texts;
    width = Math.max(width, header.width + 2 * PAD);
    y += header.height;
  }
  // Member boxes (one even for a single container: the namespace then reads as that container).
  const memberParts: Part[] = [];
  for (const c of ns.members) {
    const lines = stackLines(
      [
        { text: c.name, cls: 'title' },
        { text: `${shortImage(c.image)} · ${c.state}`, cls: 'small' },
      ],
      PAD + (pod ? PAD : 0),
      y + (pod ? 1 : -2),
    );
    const part: Part = {
      x: pod ? PAD : 0,
      y,
      w: 0, // set below once the width is known
      h: lines.height + (pod ? 8 : 6),
      cls: `container ${c.state === 'running' ? 'running' : 'stopped'}${pod ? ' member' : ''}`,
      ref: { kind: 'container', id: c.id },
      texts: lines.texts,
      tip: containerTip(c, owner),
      search: lower([c.name, c.id, c.image]),
    };
    width = Math.max(width, lines.width + 2 * PAD + (pod ? 2 * PAD : 0));
    memberParts.push(part);
    y += part.h + (pod ? MEMBER_GAP : 0);
  }
  if (pod) y += MEMBER_GAP;
  const ports: ElkPort[] = [];
  const rowParts: Part[] = [];
  const addRow = (portId: string, text: string, sub: string, part: Omit<Part, 'x' | 'y' | 'w' | 'h' | 'texts'>) => {
    const texts: TextRun[] = [{ text, x: PAD, y: y + 14, cls: 'body' }];
    let rowW = textWidth(text, 'body') + 2 * PAD;
    if (sub) {
      texts.push({ text: sub, x: rowW, y: y + 14, cls: 'small' });
      rowW += textWidth(sub, 'small') + PAD;
    }
    width = Math.max(width, rowW);
    rowParts.push({ ...part, x: 0, y, w: 0, h: ROW_H, texts });
    ports.push({
      id: portId,
      width: PORT_SIZE,
      height: PORT_SIZE,
      x: -PORT_SIZE,
      y: y + (ROW_H - PORT_SIZE) / 2,
      layoutOptions: { 'elk.port.side': 'WEST' },
    });
    y += ROW_H;
  };
  for (const ep of ns.endpoints) {
    const net = networkById.get(ep.networkId);
    const addrs = [withPrefix(ep.ipv4, ep.ipv4PrefixLength), withPrefix(ep.ipv6, ep.ipv6PrefixLength)].filter(Boolean).join(' ');
    const inactive = ep.active === false;
    // Docker's own drivers do not say the interface's name inside the namespace: then the address leads.
    const label = [ep.ifname ?? (inactive ? '-' : ''), addrs || (inactive ? '(not running)' : '(no address)')].filter(Boolean).join(' ');
    addRow(ids.iface(ep.id), label, net ? net.name : short(ep.networkId), {
      cls: `iface${inactive ? ' inactive' : ''}`,
      ref: { kind: 'endpoint', id: ep.id },
      tip: [
        `interface ${ep.ifname ?? '?'} on ${net?.name ?? ep.networkId}`,
        inactive ? 'attached, container not running (no endpoint yet)' : `endpoint ${short(ep.id)}`,
        ep.ipv4 ? `IPv4 ${withPrefix(ep.ipv4, ep.ipv4PrefixLength)}${ep.gateway ? ` via ${ep.gateway}` : ''}` : '',
        ep.ipv6 ? `IPv6 ${withPrefix(ep.ipv6, ep.ipv6PrefixLength)}${ep.ipv6Gateway ? ` via ${ep.ipv6Gateway}` : ''}` : '',
        ep.mac ? `MAC ${ep.mac}` : '',
        ep.hostVeth ? `host-side veth ${ep.hostVeth}` : '',
        ep.aliases.length ? `aliases ${ep.aliases.join(', ')}` : '',
      ].filter(Boolean),
      search: lower([ep.ipv4, ep.ipv4?.split('/')[0], ep.ipv6, ep.ipv6?.split('/')[0], ep.mac, ep.hostVeth, ep.id, ...ep.aliases]),
    });
  }
  for (const p of ns.ports) {
    addRow(
      ids.containerPort(p.container.id, p.containerPort, p.proto),
      `${p.containerPort}/${p.proto}`,
      pod ? p.container.name : 'published',
      {
        cls: 'cport',
        ref: { kind: 'container', id: p.container.id },
        tip: [
          `port ${p.containerPort}/${p.proto} of ${p.container.name}`,
          ...p.maps.map((m) => `published on ${hostAddress(m.hostIP, m.hostPort, m.proto)}${m.picked ? ' (picked by tsnet)' : ''}`),
        ],
        search: lower([`${p.containerPort}/${p.proto}`, String(p.containerPort), ...p.maps.map((m) => String(m.hostPort))]),
      },
    );
  }
  const h = y + PAD / 2;
  for (const m of memberParts) m.w = width - (pod ? 2 * PAD : 0);
  for (const r of rowParts) r.w = width;
  const networkIds = [...new Set(ns.endpoints.map((e) => e.networkId))];
  const frame: Part = {
    x: 0,
    y: 0,
    w: width,
    h,
    cls: `frame namespace${pod ? ' pod' : ''}${ns.members.every((m) => m.state !== 'running') ? ' stopped' : ''}`,
    ref: { kind: 'container', id: owner.id },
    texts: headerTexts,
    tip: [
      pod ? `network namespace shared by ${ns.members.map((m) => m.name).join(', ')}` : `network namespace of ${owner.name}`,
      ns.sandboxKey ? `sandbox ${ns.sandboxKey}` : '',
      `${ns.endpoints.length} interface(s), ${ns.ports.length} published port(s)`,
    ].filter(Boolean),
    search: [],
  };
  parts.push(frame, ...memberParts, ...rowParts);
  const elk = layoutNode(
    ids.namespace(ns.nsId),
    parts,
    { 'elk.layered.layering.layerConstraint': 'LAST', 'elk.portConstraints': 'FIXED_POS' },
    ports,
  );
  return { elk, item: { kind: 'namespace', parts, networkIds } };
}

/** The multi-host part of the picture for the shown networks: the VXLAN link, the remote hosts, their edges. */
function clusterItems(networks: NetworkModel[]): { hostSide: ElkNode[]; remote: ElkNode[]; elkEdges: ElkExtendedEdge[]; nodes: Record<string, NodeItem>; edges: Record<string, EdgeItem> } {
  const out = { hostSide: [] as ElkNode[], remote: [] as ElkNode[], elkEdges: [] as ElkExtendedEdge[], nodes: {} as Record<string, NodeItem>, edges: {} as Record<string, EdgeItem> };
  const multi = networks.filter((n) => n.cluster);
  if (!multi.length) return out;
  const first = multi[0].cluster!;
  const vx = first.vxlan;
  // The VXLAN link: one per host, every multi-host network routes through it.
  const vxLines = stackLines(
    [
      { text: `VXLAN ${vx.link}`, cls: 'title' },
      { text: `VNI ${vx.vni} · UDP ${vx.port} · MTU ${vx.mtu}`, cls: 'small' },
      { text: `VTEP ${first.self}`, cls: 'body' },
    ],
    PAD,
    PAD - 2,
  );
  const vxFrame: Part = {
    x: 0,
    y: 0,
    w: Math.max(MIN_NODE_W, vxLines.width + 2 * PAD),
    h: vxLines.height + PAD,
    cls: `frame vxlan${first.etcd.healthy ? '' : ' etcd-down'}`,
    texts: vxLines.texts,
    tip: [
      `VXLAN link ${vx.link} of this host (VTEP ${first.self})`,
      `VNI ${vx.vni}, UDP port ${vx.port}, container MTU ${vx.mtu}`,
      `multi-host networks: ${multi.map((n) => `${n.name} (cluster ${n.cluster!.name})`).join(', ')}`,
      `etcd ${first.etcd.endpoints.join(', ')}: ${first.etcd.healthy ? 'healthy' : `not reachable${first.etcd.lastError ? ` (${first.etcd.lastError})` : ''}; the kernel keeps its routes`}`,
    ],
    search: lower([vx.link, first.self, 'vxlan']),
  };
  const vxId = ids.vxlanDevice(vx.link);
  out.nodes[vxId] = { kind: 'vxlan', parts: [vxFrame], networkIds: multi.map((n) => n.id) };
  out.hostSide.push({
    id: vxId,
    width: vxFrame.w,
    height: vxFrame.h,
    layoutOptions: { 'elk.portConstraints': 'FIXED_SIDE' },
    ports: [
      { id: ids.vxlanIn(vx.link), width: PORT_SIZE, height: PORT_SIZE, layoutOptions: { 'elk.port.side': 'WEST' } },
      { id: ids.vxlanOut(vx.link), width: PORT_SIZE, height: PORT_SIZE, layoutOptions: { 'elk.port.side': 'EAST' } },
    ],
  });
  // Remote hosts, each once even when several networks reach it.
  const hosts = new Map<string, { host: RemoteHostModel; nets: { net: NetworkModel; host: RemoteHostModel }[] }>();
  for (const net of multi) {
    const c = net.cluster!;
    const id = ids.route(net.id);
    out.elkEdges.push({ id, sources: [ids.bridgePort(net.id)], targets: [ids.vxlanIn(vx.link)] });
    const routes = c.remoteHosts.flatMap((h) => h.routes.map((r) => `${r} via ${h.address}`));
    out.edges[id] = {
      kind: 'route',
      ref: { kind: 'network', id: net.id },
      tip: [
        `${net.name} (cluster ${c.name}) routes to ${c.remoteHosts.length} remote host(s) through ${vx.link}`,
        c.ownBlocks.length ? `this host's blocks: ${c.ownBlocks.join(', ')}` : 'this host owns no block yet',
        ...(routes.length ? routes.map((r) => `route ${r}`) : ['no route to a remote block yet']),
      ],
      search: lower([net.name, c.name, ...c.ownBlocks]),
      networkIds: [net.id],
    };
    for (const h of c.remoteHosts) {
      const entry = hosts.get(h.address) ?? { host: h, nets: [] };
      entry.nets.push({ net, host: h });
      hosts.set(h.address, entry);
    }
  }
  for (const { host, nets } of [...hosts.values()].sort((a, b) => cmp(a.host.hostname, b.host.hostname) || cmp(a.host.address, b.host.address))) {
    const several = nets.length > 1;
    const blockLines = nets.flatMap(({ net, host: h }) =>
      h.blocks.map((b) => ({ text: `${b}${several ? ` ${net.name}` : ''}${h.routes.includes(b) ? '' : ' (no route)'}`, cls: 'body' as const })),
    );
    const lines = stackLines([{ text: host.hostname || host.address, cls: 'title' }, { text: `remote host · VTEP ${host.address}`, cls: 'small' }, ...blockLines], PAD, PAD - 2);
    const frame: Part = {
      x: 0,
      y: 0,
      w: Math.max(MIN_NODE_W, lines.width + 2 * PAD),
      h: lines.height + PAD,
      cls: 'frame remotehost',
      texts: lines.texts,
      tip: [
        `remote host ${host.hostname} (VTEP ${host.address}, MAC ${host.vtepMac})`,
        `lease renewed ${host.leaseAgeSeconds} s ago`,
        ...nets.map(({ net, host: h }) => `on ${net.name}: blocks ${h.blocks.join(', ')}${h.routes.length < h.blocks.length ? ` (routed here: ${h.routes.join(', ') || 'none yet'})` : ''}`),
      ],
      search: lower([host.hostname, host.address, ...nets.flatMap((x) => x.host.blocks)]),
    };
    const id = ids.remoteHost(host.address);
    const networkIds = nets.map((x) => x.net.id);
    out.nodes[id] = { kind: 'remoteHost', parts: [frame], networkIds };
    out.remote.push({
      id,
      width: frame.w,
      height: frame.h,
      layoutOptions: { 'elk.layered.layering.layerConstraint': 'LAST', 'elk.portConstraints': 'FIXED_SIDE' },
      ports: [{ id: ids.remoteHostIn(host.address), width: PORT_SIZE, height: PORT_SIZE, layoutOptions: { 'elk.port.side': 'WEST' } }],
    });
    const edgeId = ids.vxlan(host.address);
    const label = host.address;
    out.elkEdges.push({
      id: edgeId,
      sources: [ids.vxlanOut(vx.link)],
      targets: [ids.remoteHostIn(host.address)],
      labels: [{ id: `${edgeId}:label`, text: label, width: textWidth(label, 'small') + 4, height: LINE.small }],
    });
    out.edges[edgeId] = {
      kind: 'tunnel',
      tip: [
        `VXLAN tunnel ${vx.link} ⇄ ${host.hostname} (${first.self} → ${host.address}, VNI ${vx.vni}, UDP ${vx.port})`,
        ...nets.map(({ net, host: h }) => `${net.name}: ${h.routes.length ? `routes ${h.routes.join(', ')}` : 'no route yet'}`),
      ],
      search: lower([host.hostname, host.address]),
      networkIds,
    };
  }
  return out;
}

/** NetworkGraph → what to lay out and draw. Deterministic: same graph, same scene. */
export function buildScene(graph: NetworkGraph, options: SceneOptions = {}): TopologyScene {
  const allNetworks = sortNetworks(graph.networks);
  const filter = options.networkIds && options.networkIds.length ? new Set(options.networkIds) : undefined;
  const networks = filter ? allNetworks.filter((n) => filter.has(n.id)) : allNetworks;
  const networkOrder = new Map(networks.map((n, i) => [n.id, i]));
  const networkById = new Map(graph.networks.map((n) => [n.id, n]));
  const containerById = new Map(graph.containers.map((c) => [c.id, c]));
  const nsInfo = new Map(graph.namespaces.map((n) => [n.id, n]));

  // Endpoints drawn: those on a shown network whose container is known.
  const endpoints = graph.endpoints.filter((e) => networkOrder.has(e.networkId) && containerById.has(e.containerId));

  // Namespace groups: by the container's namespaceId (a container alone is a group of one).
  const groups = new Map<string, ContainerModel[]>();
  for (const c of graph.containers) {
    const key = c.namespaceId || c.id;
    const list = groups.get(key) ?? [];
    list.push(c);
    groups.set(key, list);
  }
  const endpointsByNs = new Map<string, EndpointModel[]>();
  for (const e of endpoints) {
    const c = containerById.get(e.containerId)!;
    const key = c.namespaceId || c.id;
    const list = endpointsByNs.get(key) ?? [];
    list.push(e);
    endpointsByNs.set(key, list);
  }

  const nsInputs: (NamespaceInput & { order: number; name: string })[] = [];
  for (const [nsId, containers] of groups) {
    const nsEndpoints = endpointsByNs.get(nsId) ?? [];
    if (filter && nsEndpoints.length === 0) continue;
    const ownerId = nsInfo.get(nsId)?.ownerId;
    const members = [...containers].sort(
      (a, b) => Number(b.id === ownerId) - Number(a.id === ownerId) || Number(!!a.sharesNamespaceWith) - Number(!!b.sharesNamespaceWith) || cmp(a.name, b.name) || cmp(a.id, b.id),
    );
    nsEndpoints.sort(
      (a, b) => naturalCmp(a.ifname ?? '~', b.ifname ?? '~') || networkOrder.get(a.networkId)! - networkOrder.get(b.networkId)! || cmp(a.id, b.id),
    );
    const portRows = new Map<string, NamespaceInput['ports'][number]>();
    for (const c of members) {
      for (const p of c.ports) {
        if (filter && p.networkId && !filter.has(p.networkId)) continue;
        const key = `${c.id}:${p.containerPort}/${p.proto}`;
        const row = portRows.get(key) ?? { container: c, containerPort: p.containerPort, proto: p.proto, maps: [] };
        row.maps.push(p);
        portRows.set(key, row);
      }
    }
    const ports = [...portRows.values()].sort(
      (a, b) => members.indexOf(a.container) - members.indexOf(b.container) || a.containerPort - b.containerPort || cmp(a.proto, b.proto),
    );
    for (const row of ports) row.maps.sort((a, b) => cmp(a.hostIP, b.hostIP) || a.hostPort - b.hostPort);
    const order = nsEndpoints.length ? Math.min(...nsEndpoints.map((e) => networkOrder.get(e.networkId)!)) : Number.MAX_SAFE_INTEGER;
    nsInputs.push({ nsId, members, endpoints: nsEndpoints, ports, sandboxKey: nsInfo.get(nsId)?.sandboxKey, order, name: members[0].name });
  }
  nsInputs.sort((a, b) => a.order - b.order || cmp(a.name, b.name) || cmp(a.nsId, b.nsId));

  const nodes: Record<string, NodeItem> = {};
  const edges: Record<string, EdgeItem> = {};
  const elkNodes: ElkNode[] = [];
  const elkEdges: ElkExtendedEdge[] = [];

  for (const net of networks) {
    const { elk, item } = networkNode(net);
    nodes[elk.id] = item;
    elkNodes.push(elk);
  }

  // Host ports, in the order of the namespaces they lead to (few crossings, stable).
  const hostPorts = new Map<string, { ip: string; port: number; proto: string; targets: { ns: NamespaceInput; c: ContainerModel; p: PortModel }[] }>();
  const nsElks: ElkNode[] = [];
  let hostPortCount = 0;
  for (const ns of nsInputs) {
    const { elk, item } = namespaceNode(ns, networkById);
    nodes[elk.id] = item;
    nsElks.push(elk);
    for (const row of ns.ports) {
      for (const m of row.maps) {
        const ip = m.hostIP === '' ? '0.0.0.0' : m.hostIP;
        const key = ids.hostPort(ip, m.hostPort, m.proto);
        const hp = hostPorts.get(key) ?? { ip, port: m.hostPort, proto: m.proto, targets: [] };
        hp.targets.push({ ns, c: row.container, p: m });
        hostPorts.set(key, hp);
      }
    }
  }
  for (const [key, hp] of hostPorts) {
    hostPortCount++;
    const text = hostAddress(hp.ip, hp.port, hp.proto);
    const w = Math.max(90, textWidth(text, 'body') + 2 * PAD);
    const frame: Part = {
      x: 0,
      y: 0,
      w,
      h: ROW_H + 2,
      cls: 'frame hostport',
      ref: { kind: 'container', id: hp.targets[0].c.id },
      texts: [{ text, x: PAD, y: 15, cls: 'body' }],
      tip: [`host ${text}`, ...hp.targets.map((t) => `→ ${t.c.name} ${t.p.containerPort}/${t.p.proto}${t.p.picked ? ' (picked by tsnet)' : ''}`)],
      search: lower([text, `${hp.ip}:${hp.port}`, String(hp.port)]),
    };
    const networkIds = [...new Set(hp.targets.flatMap((t) => t.ns.endpoints.map((e) => e.networkId)))];
    nodes[key] = { kind: 'hostPort', parts: [frame], networkIds };
    elkNodes.push({
      id: key,
      width: w,
      height: frame.h,
      layoutOptions: { 'elk.layered.layering.layerConstraint': 'FIRST', 'elk.portConstraints': 'FIXED_SIDE' },
      ports: [{ id: ids.hostPortOut(hp.ip, hp.port, hp.proto), width: PORT_SIZE, height: PORT_SIZE, layoutOptions: { 'elk.port.side': 'EAST' } }],
    });
    for (const t of hp.targets) {
      const edgeId = ids.publish(hp.ip, hp.port, hp.proto, t.c.id, t.p.containerPort);
      if (edges[edgeId]) continue;
      elkEdges.push({ id: edgeId, sources: [ids.hostPortOut(hp.ip, hp.port, hp.proto)], targets: [ids.containerPort(t.c.id, t.p.containerPort, t.p.proto)] });
      edges[edgeId] = {
        kind: 'publish',
        ref: { kind: 'container', id: t.c.id },
        tip: [`${text} → ${t.c.name} ${t.p.containerPort}/${t.p.proto}`],
        search: lower([text, t.c.name]),
        networkIds,
      };
    }
  }
  // The multi-host part: the VXLAN link after the host ports, remote hosts after the namespaces.
  const cluster = clusterItems(networks);
  Object.assign(nodes, cluster.nodes);
  Object.assign(edges, cluster.edges);
  elkNodes.push(...cluster.hostSide);
  elkEdges.push(...cluster.elkEdges);
  // Host ports are placed among the bridges in the first layer; keep them after the bridges.
  elkNodes.push(...nsElks, ...cluster.remote);

  for (const ns of nsInputs) {
    for (const ep of ns.endpoints) {
      const net = networkById.get(ep.networkId)!;
      const id = ids.veth(ep.id);
      const inactive = ep.active === false;
      const label = ep.hostVeth;
      elkEdges.push({
        id,
        sources: [ids.bridgePort(ep.networkId)],
        targets: [ids.iface(ep.id)],
        labels: label ? [{ id: `${id}:label`, text: label, width: textWidth(label, 'small') + 4, height: LINE.small }] : [],
      });
      edges[id] = {
        kind: inactive ? 'attachment' : 'veth',
        ref: { kind: 'endpoint', id: ep.id },
        tip: [
          inactive
            ? `${ns.members[0].name} is attached to ${net.name} but not running: no veth pair yet`
            : `veth pair: ${ep.hostVeth ?? '(host side unknown)'} on ${net.bridge ?? net.name} ⇄ ${ep.ifname ?? '?'} in ${ns.members[0].name}`,
        ],
        search: lower([ep.hostVeth]),
        networkIds: [ep.networkId],
      };
    }
  }
  elkEdges.sort((a, b) => cmp(a.id, b.id));
  // Positions that only carry the order (INTERACTIVE crossing minimisation sorts each layer by y).
  let hostY = 0;
  let nsY = 0;
  for (const node of elkNodes) {
    const inNamespaces = nodes[node.id].kind === 'namespace' || nodes[node.id].kind === 'remoteHost';
    node.x = inNamespaces ? 1000 : 0;
    node.y = inNamespaces ? nsY : hostY;
    if (inNamespaces) nsY += (node.height ?? 0) + 10;
    else hostY += (node.height ?? 0) + 10;
  }

  const host = graph.host;
  const hostTitle = `host${host.engineVersion ? ` · Docker ${host.engineVersion}` : ''}${host.tsnetStatus ? ` · tsnet ${host.tsnetVersion ?? ''}`.trimEnd() : ''}`;
  return {
    elk: { id: 'root', layoutOptions: ROOT_LAYOUT, children: elkNodes, edges: elkEdges },
    nodes,
    edges,
    host: {
      title: hostTitle,
      tip: [
        hostTitle,
        host.tsnetStatus ? `tsnet driver status reachable${host.tsnetDriverName ? ` (-d ${host.tsnetDriverName})` : ''}` : 'tsnet driver status not reachable',
      ],
    },
    networks: allNetworks.map((n) => ({ id: n.id, name: n.name, driver: n.driver, tsnet: n.tsnet })),
    stats: {
      networks: networks.length,
      namespaces: nsInputs.length,
      containers: nsInputs.reduce((s, n) => s + n.members.length, 0),
      endpoints: endpoints.length,
      hostPorts: hostPortCount,
      remoteHosts: cluster.remote.length,
    },
  };
}
