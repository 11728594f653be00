/**
 * The Namespaces view: containers grouped by network namespace. A container started with
 * `--network container:X` is shown inside X's group ("pod"), with what the members share.
 */
import * as vscode from 'vscode';
import type { GraphStore } from '../graph-store';
import type { ContainerModel, NetworkGraph } from '../docker/model-types';
import type { TreeNode } from './nodes';
import { containerTooltip, namespaceTooltip, sharedFacts } from './format';
import { messageItem, messageNodes } from './networks-tree';

export class NamespacesTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly store: GraphStore) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: TreeNode): TreeNode[] {
    const msg = messageNodes(this.store);
    if (msg) return node ? [] : msg;
    const g = this.store.graph as NetworkGraph;
    if (!node) {
      if (g.namespaces.length === 0) return [{ kind: 'message', text: 'No containers' }];
      return g.namespaces.map((group) => ({ kind: 'namespace', group, owner: g.containers.find((c) => c.id === group.ownerId) }));
    }
    if (node.kind === 'namespace') {
      return node.group.memberIds
        .map((id) => g.containers.find((c) => c.id === id))
        .filter((c): c is ContainerModel => !!c)
        .map((container) => ({ kind: 'container', container, parent: node }));
    }
    return [];
  }

  getParent(node: TreeNode): TreeNode | undefined {
    const g = this.store.graph;
    if (!g || node.kind !== 'container') return undefined;
    if (node.parent) return node.parent;
    const group = g.namespaces.find((x) => x.memberIds.includes(node.container.id));
    return group && { kind: 'namespace', group, owner: g.containers.find((c) => c.id === group.ownerId) };
  }

  /** The member row of a container (in its namespace group). */
  nodeFor(containerId: string): TreeNode | undefined {
    const g = this.store.graph;
    const container = g?.containers.find((c) => c.id === containerId);
    const group = g?.namespaces.find((x) => x.memberIds.includes(containerId));
    if (!g || !container || !group) return undefined;
    return { kind: 'container', container, parent: { kind: 'namespace', group, owner: g.containers.find((c) => c.id === group.ownerId) } };
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const g = this.store.graph as NetworkGraph;
    if (node.kind === 'message') return messageItem(node);
    if (node.kind === 'namespace') {
      const { group, owner } = node;
      const shared = sharedFacts(group, g);
      const label = owner ? owner.name : `${group.ownerId.slice(0, 12)} (missing)`;
      const item = new vscode.TreeItem(label, group.memberIds.length > 1 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `namespace:${group.id}`;
      const n = group.memberIds.length;
      item.description = [
        n > 1 ? `pod of ${n} containers` : '1 container',
        owner && ['host', 'none'].includes(owner.networkMode) ? `--network ${owner.networkMode}` : undefined,
        shared.addresses.join(', ') || undefined,
      ].filter(Boolean).join(' · ');
      item.tooltip = new vscode.MarkdownString(namespaceTooltip(label, group, g, shared));
      item.iconPath = new vscode.ThemeIcon(n > 1 ? 'symbol-namespace' : 'symbol-field');
      item.contextValue = 'namespace';
      return item;
    }
    if (node.kind === 'container') {
      const c = node.container;
      const item = new vscode.TreeItem(c.name, vscode.TreeItemCollapsibleState.None);
      item.id = `ns-member:${c.id}`;
      const ownerName = c.sharesNamespaceWith ? g.containers.find((x) => x.id === c.sharesNamespaceWith)?.name ?? c.sharesNamespaceWith.slice(0, 12) : undefined;
      item.description = [ownerName ? `joined via --network container:${ownerName}` : 'owner', c.status].join(' · ');
      item.tooltip = new vscode.MarkdownString(containerTooltip(c, g));
      item.iconPath = new vscode.ThemeIcon(c.state === 'running' ? 'vm-running' : 'vm-outline');
      item.contextValue = `container-${c.state === 'running' ? 'running' : 'stopped'}`;
      return item;
    }
    return new vscode.TreeItem('');
  }
}
