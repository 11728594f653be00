/**
 * The Networks view: network → containers (addresses, MAC, veth, state) → addresses and port maps.
 * A multi-host network also lists its remote hosts (VTEP address, blocks, lease age).
 * Docker's built-in networks are hidden when `tsnet.showBuiltinNetworks` is off. Network and
 * attachment rows carry their link's live traffic (showTraffic) while the view is visible.
 */
import * as vscode from 'vscode';
import type { GraphStore } from '../graph-store';
import type { NetworkGraph } from '../docker/model-types';
import { isHttpPort } from '../docker/port-links';
import type { TreeNode } from './nodes';
import {
  remoteHostDescription,
  remoteHostTooltip,
  containerDescription,
  containerTooltip,
  groupPorts,
  networkDescription,
  networkTooltip,
  portDescription,
  portLabel,
} from './format';
import { TreeTraffic, type RowTraffic } from './traffic-rows';
import type { LinkRate } from '../topology/link-rates';

export const SHOW_BUILTIN_SETTING = 'showBuiltinNetworks';

/** No rows while Docker is unreachable: the views' welcome content (package.json viewsWelcome) shows, with Retry. */
export function messageNodes(store: GraphStore): TreeNode[] | undefined {
  if (store.error) return [];
  if (!store.graph) return [{ kind: 'message', text: 'Reading Docker…' }];
  return undefined;
}

export function messageItem(node: Extract<TreeNode, { kind: 'message' }>): vscode.TreeItem {
  const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
  item.description = node.detail;
  item.tooltip = node.detail;
  item.iconPath = new vscode.ThemeIcon(node.detail ? 'warning' : 'loading~spin');
  item.contextValue = 'message';
  return item;
}

/** The rate goes first: it is what changes, and a narrow side bar cuts the end of a description. */
function withTraffic(description: string, t: RowTraffic | undefined): string {
  return t ? `${t.description} · ${description}` : description;
}

function withTrafficTooltip(tooltip: string, t: RowTraffic | undefined): string {
  return t ? `${tooltip}\n\n${t.tooltip}` : tooltip;
}

/** Drops or errors on the row's link colour its icon like an error. */
function trafficIcon(icon: string, t: RowTraffic | undefined): vscode.ThemeIcon {
  return t?.trouble ? new vscode.ThemeIcon(icon, new vscode.ThemeColor('list.errorForeground')) : new vscode.ThemeIcon(icon);
}

export class NetworksTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed = new vscode.EventEmitter<TreeNode | TreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly traffic = new TreeTraffic<TreeNode>();

  constructor(private readonly store: GraphStore) {}

  refresh(): void {
    this.traffic.forgetRows();
    this.changed.fire(undefined);
  }

  /** A sample's rates (link name → rate; {} for none known): re-renders only the rows whose traffic text changed. */
  showTraffic(rates: Record<string, LinkRate>): void {
    const rows = this.traffic.update(rates);
    if (rows.length) this.changed.fire(rows);
  }

  private showBuiltin(): boolean {
    return vscode.workspace.getConfiguration('tsnet').get<boolean>(SHOW_BUILTIN_SETTING, true);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    const msg = messageNodes(this.store);
    if (msg) return node ? [] : msg;
    const g = this.store.graph as NetworkGraph;
    if (!node) {
      const nets = g.networks.filter((n) => this.showBuiltin() || !n.builtin);
      if (nets.length === 0) return [{ kind: 'message', text: 'No networks', detail: 'Create one with the + button' }];
      return nets.map((network) => this.traffic.track(network.bridge, { kind: 'network', network }));
    }
    if (node.kind === 'network') {
      const containers: TreeNode[] = g.endpoints
        .filter((e) => e.networkId === node.network.id)
        .map((endpoint) => ({ endpoint, container: g.containers.find((c) => c.id === endpoint.containerId)! }))
        .filter((x) => x.container)
        .sort((a, b) => a.container.name.localeCompare(b.container.name))
        .map(({ endpoint, container }) => this.traffic.track(endpoint.hostVeth, { kind: 'container', container, endpoint, network: node.network }));
      const remote: TreeNode[] = (node.network.cluster?.remoteHosts ?? []).map((host) => ({ kind: 'remoteHost', host, network: node.network }));
      return [...containers, ...remote];
    }
    if (node.kind === 'container' && node.network) {
      const out: TreeNode[] = [];
      const ep = node.endpoint;
      if (ep?.ipv4) out.push({ kind: 'address', family: 4, address: ep.ipv4, prefixLength: ep.ipv4PrefixLength, gateway: ep.gateway, container: node.container, network: node.network });
      if (ep?.ipv6) out.push({ kind: 'address', family: 6, address: ep.ipv6, prefixLength: ep.ipv6PrefixLength, gateway: ep.ipv6Gateway, container: node.container, network: node.network });
      const ports = node.container.ports.filter((p) => !p.networkId || p.networkId === node.network!.id);
      for (const group of groupPorts(ports)) out.push({ kind: 'port', ports: group, container: node.container, network: node.network });
      return out;
    }
    return [];
  }

  /** The row above `node` (TreeView.reveal walks up with it); matched to rows by their ids. */
  getParent(node: TreeNode): TreeNode | undefined {
    const g = this.store.graph;
    if (!g) return undefined;
    const networkNode = (id: string | undefined): TreeNode | undefined => {
      const network = g.networks.find((n) => n.id === id);
      return network && { kind: 'network', network };
    };
    const containerNode = (containerId: string, networkId: string | undefined): TreeNode | undefined => {
      const network = g.networks.find((n) => n.id === networkId);
      const endpoint = g.endpoints.find((e) => e.containerId === containerId && e.networkId === networkId);
      const container = g.containers.find((c) => c.id === containerId);
      return network && endpoint && container ? { kind: 'container', container, endpoint, network } : undefined;
    };
    switch (node.kind) {
      case 'container':
        return networkNode(node.network?.id);
      case 'remoteHost':
        return networkNode(node.network.id);
      case 'address':
        return containerNode(node.container.id, node.network.id);
      case 'port':
        return containerNode(node.container.id, node.network?.id ?? node.ports[0]?.networkId);
      default:
        return undefined;
    }
  }

  /** The row that stands for a network, a container (its first attachment) or an endpoint; undefined when not shown. */
  nodeFor(ref: { kind: 'network' | 'container' | 'endpoint'; id: string }): TreeNode | undefined {
    const g = this.store.graph;
    if (!g) return undefined;
    const shown = (networkId: string) => {
      const n = g.networks.find((x) => x.id === networkId);
      return n && (this.showBuiltin() || !n.builtin) ? n : undefined;
    };
    if (ref.kind === 'network') {
      const network = shown(ref.id);
      return network && { kind: 'network', network };
    }
    const endpoint = ref.kind === 'endpoint'
      ? g.endpoints.find((e) => e.id === ref.id)
      : g.endpoints.filter((e) => e.containerId === ref.id && shown(e.networkId)).sort((a, b) => Number(b.active !== false) - Number(a.active !== false))[0];
    const network = endpoint && shown(endpoint.networkId);
    const container = endpoint && g.containers.find((c) => c.id === endpoint.containerId);
    return network && container && endpoint ? { kind: 'container', container, endpoint, network } : undefined;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const g = this.store.graph as NetworkGraph;
    switch (node.kind) {
      case 'message':
        return messageItem(node);
      case 'network': {
        const n = node.network;
        // The id carries whether there are children: VS Code keeps a row's collapsible state by id,
        // so a network that gains its first container gets a fresh, expanded row.
        const hasChildren = g.endpoints.some((e) => e.networkId === n.id) || !!n.cluster?.remoteHosts.length;
        const item = new vscode.TreeItem(n.name, hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `network:${n.id}${hasChildren ? '' : ':empty'}`;
        const t = this.traffic.of(n.bridge);
        item.description = withTraffic(networkDescription(n, g), t);
        item.tooltip = new vscode.MarkdownString(withTrafficTooltip(networkTooltip(n, g), t));
        item.iconPath = trafficIcon(n.tsnet ? 'rocket' : n.builtin ? 'lock' : 'type-hierarchy-sub', t);
        item.contextValue = n.builtin ? 'network-builtin' : 'network';
        return item;
      }
      case 'container': {
        const c = node.container;
        const hasChildren = !!(node.endpoint?.ipv4 || node.endpoint?.ipv6 || c.ports.length);
        const item = new vscode.TreeItem(c.name, hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
        item.id = `network:${node.network?.id}/container:${c.id}${hasChildren ? '' : ':empty'}`;
        const t = this.traffic.of(node.endpoint?.hostVeth);
        item.description = withTraffic(containerDescription(c, node.endpoint), t);
        item.tooltip = new vscode.MarkdownString(withTrafficTooltip(containerTooltip(c, g, node.endpoint), t));
        item.iconPath = trafficIcon(c.state === 'running' ? 'vm-running' : 'vm-outline', t);
        item.contextValue = `container-attached-${c.state === 'running' ? 'running' : 'stopped'}`;
        return item;
      }
      case 'remoteHost': {
        const h = node.host;
        const item = new vscode.TreeItem(h.hostname || h.address, vscode.TreeItemCollapsibleState.None);
        item.id = `network:${node.network.id}/host:${h.address}`;
        item.description = remoteHostDescription(h);
        item.tooltip = new vscode.MarkdownString(remoteHostTooltip(h, node.network));
        item.iconPath = new vscode.ThemeIcon('remote');
        item.contextValue = 'remote-host';
        return item;
      }
      case 'address': {
        const item = new vscode.TreeItem(`${node.address}${node.prefixLength !== undefined ? '/' + node.prefixLength : ''}`, vscode.TreeItemCollapsibleState.None);
        item.id = `network:${node.network.id}/container:${node.container.id}/ipv${node.family}`;
        item.description = `IPv${node.family}${node.gateway ? ` · gateway ${node.gateway}` : ''}`;
        item.tooltip = `IPv${node.family} address of ${node.container.name} on ${node.network.name}`;
        item.iconPath = new vscode.ThemeIcon('location');
        item.contextValue = 'address';
        return item;
      }
      case 'port': {
        const item = new vscode.TreeItem(portLabel(node.ports), vscode.TreeItemCollapsibleState.None);
        const p = node.ports[0];
        item.id = `container:${node.container.id}/port:${p.proto}/${p.hostPort}/${p.containerPort}/${p.networkId ?? ''}`;
        item.description = portDescription(node.ports);
        item.tooltip = `${node.ports.map((x) => `${x.hostIP}:${x.hostPort}`).join(', ')} on the host → ${p.containerPort}/${p.proto} in ${node.container.name}`;
        item.iconPath = new vscode.ThemeIcon(isHttpPort(p) ? 'link-external' : 'plug');
        item.contextValue = isHttpPort(p) ? 'port-http' : 'port';
        if (isHttpPort(p)) item.command = { command: 'tsnet.openPort', title: 'Open in Browser', arguments: [node] };
        return item;
      }
      default:
        return new vscode.TreeItem('');
    }
  }
}
