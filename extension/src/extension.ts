/**
 * Entry point: one Docker client and graph store, two tree views over the graph, the commands,
 * and the topology webview (src/topology) fed with the same graph.
 */
import * as vscode from 'vscode';
import { DockerClient } from './docker/client';
import { GraphStore } from './graph-store';
import { NetworksTreeProvider, SHOW_BUILTIN_SETTING } from './tree/networks-tree';
import { NamespacesTreeProvider } from './tree/namespaces-tree';
import { registerCommands } from './commands';
import { registerTopology } from './topology';
import type { NetworkGraph } from './docker/model-types';
import { setTsnetDriverNames } from './docker/model';
import { resolveEndpoint } from './docker/endpoint';
import * as fs from 'fs';
import { DEFAULT_STATUS_SOCKET } from '@tsnet/shared';
import type { TreeNode } from './tree/nodes';
import { TrafficSampler } from './topology/traffic';
import { followVisibility } from './tree/traffic-rows';

const STATUS_SOCKET_SETTING = 'statusSocket';
const DRIVER_NAMES_SETTING = 'driverNames';
const DOCKER_HOST_SETTING = 'dockerHost';

/** What tsnet.revealInTree takes (the topology's ItemRef). */
export interface RevealRef {
  kind: 'network' | 'container' | 'endpoint';
  id: string;
}

/**
 * Selects the row of a network, container or endpoint: the Networks view for networks and
 * attachments (a container: its first attachment), the Namespaces view for a container with no
 * attachment of its own (it joined another's namespace) or whose networks are hidden.
 */
async function revealInTree(
  ref: RevealRef | undefined,
  v: { store: GraphStore; networks: NetworksTreeProvider; namespaces: NamespacesTreeProvider; networksView: vscode.TreeView<TreeNode>; namespacesView: vscode.TreeView<TreeNode> },
): Promise<boolean> {
  if (!ref || typeof ref.id !== 'string' || !['network', 'container', 'endpoint'].includes(ref.kind)) return false;
  if (!v.store.graph) await v.store.refresh();
  const inNetworks = v.networks.nodeFor(ref);
  if (inNetworks) {
    await v.networksView.reveal(inNetworks, { select: true, focus: true, expand: ref.kind === 'network' ? true : undefined });
    return true;
  }
  const containerId = ref.kind === 'endpoint' ? v.store.graph?.endpoints.find((e) => e.id === ref.id)?.containerId : ref.kind === 'container' ? ref.id : undefined;
  const inNamespaces = containerId ? v.namespaces.nodeFor(containerId) : undefined;
  if (inNamespaces) {
    await v.namespacesView.reveal(inNamespaces, { select: true, focus: true });
    return true;
  }
  void vscode.window.showInformationMessage(vscode.l10n.t('tsnet: that {0} is not in the views (gone, or a hidden built-in network).', ref.kind));
  return false;
}

/** Which welcome text fits why Docker could not be read (package.json viewsWelcome, `tsnet.dockerProblem`). */
export function dockerProblem(error: string): 'no-socket' | 'permission' | 'refused' | 'endpoint' | 'other' {
  if (/Docker context|not a URL the extension accepts|has no docker endpoint/.test(error)) return 'endpoint';
  if (/ENOENT/.test(error)) return 'no-socket';
  if (/EACCES|permission denied/i.test(error)) return 'permission';
  if (/ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT|did not answer/.test(error)) return 'refused';
  return 'other';
}

/** What activate returns: used by the in-VS Code test suite (src/test/electron). */
export interface TsnetExtensionApi {
  getGraph(): NetworkGraph | undefined;
  refresh(): Promise<void>;
  networksTree: NetworksTreeProvider;
  namespacesTree: NamespacesTreeProvider;
}

export function activate(context: vscode.ExtensionContext): TsnetExtensionApi {
  const log = vscode.window.createOutputChannel('tsnet');
  const config = () => vscode.workspace.getConfiguration('tsnet');
  const applyDriverNames = () => setTsnetDriverNames(config().get<string[]>(DRIVER_NAMES_SETTING, ['tsnet']));
  applyDriverNames();
  const readEndpoint = () =>
    resolveEndpoint({
      setting: config().get<string>(DOCKER_HOST_SETTING),
      env: process.env,
      readFile: (f) => {
        try {
          return fs.readFileSync(f, 'utf8');
        } catch {
          return undefined;
        }
      },
    });
  const store = new GraphStore(new DockerClient(), log, () => config().get<string>(STATUS_SOCKET_SETTING) || DEFAULT_STATUS_SOCKET, readEndpoint);
  const networks = new NetworksTreeProvider(store);
  const namespaces = new NamespacesTreeProvider(store);
  const networksView = vscode.window.createTreeView('tsnet.networks', { treeDataProvider: networks, showCollapseAll: true });
  const namespacesView = vscode.window.createTreeView('tsnet.namespaces', { treeDataProvider: namespaces, showCollapseAll: true });
  const statusSocket = () => config().get<string>(STATUS_SOCKET_SETTING) || DEFAULT_STATUS_SOCKET;
  // Live traffic on the Networks rows: the topology's sampler (GET /links every 2 s), only while the view is visible.
  const treeTraffic = new TrafficSampler(statusSocket, () => store.graph, (rates) => networks.showTraffic(rates), () => networks.showTraffic({}));
  const syncTreeTraffic = () => followVisibility(networksView.visible, treeTraffic, () => networks.showTraffic({}));

  const updateViews = () => {
    networks.refresh();
    namespaces.refresh();
    const g = store.graph;
    const engine = store.client.endpoint?.label;
    void vscode.commands.executeCommand('setContext', 'tsnet.dockerState', store.error ? 'unreachable' : g ? 'connected' : 'connecting');
    void vscode.commands.executeCommand('setContext', 'tsnet.dockerProblem', store.error ? dockerProblem(store.error) : undefined);
    networksView.description = store.error
      ? vscode.l10n.t('{0}: not reachable', engine ?? 'Docker')
      : g
        ? [engine, `Docker ${g.host.engineVersion ?? ''}`.trim(), g.host.tsnetStatus ? `tsnet ${g.host.tsnetVersion ?? ''}`.trim() : g.host.tsnetDriverName ? 'tsnet (no status)' : undefined].filter(Boolean).join(' · ')
        : engine;
    // No TreeView.message while unreachable: VS Code shows the welcome content (with Retry) only without one.
    if (store.error) log.appendLine(vscode.l10n.t('Docker at {0} is not reachable: {1}', store.client.endpoint?.host ?? vscode.l10n.t('the configured endpoint'), store.error));
  };
  context.subscriptions.push(
    log,
    store,
    networksView,
    namespacesView,
    networksView.onDidChangeVisibility(syncTreeTraffic),
    { dispose: () => treeTraffic.stop() },
    store.onDidChangeState(updateViews),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`tsnet.${SHOW_BUILTIN_SETTING}`)) networks.refresh();
      if (e.affectsConfiguration(`tsnet.${DRIVER_NAMES_SETTING}`)) applyDriverNames();
      if (e.affectsConfiguration(`tsnet.${DOCKER_HOST_SETTING}`)) void store.reconnect();
      else if (e.affectsConfiguration(`tsnet.${DRIVER_NAMES_SETTING}`) || e.affectsConfiguration(`tsnet.${STATUS_SOCKET_SETTING}`)) void store.refresh('all');
    }),
    vscode.commands.registerCommand('tsnet.showLog', () => log.show(true)),
    vscode.commands.registerCommand('tsnet.revealInTree', (ref?: RevealRef) => revealInTree(ref, { store, networks, namespaces, networksView, namespacesView })),
  );

  registerCommands(context, { store, log });
  registerTopology(context, () => store.graph, store.onDidChange, statusSocket, () => store.client.endpoint);
  store.start();
  updateViews();
  syncTreeTraffic();
  return { getGraph: () => store.graph, refresh: () => store.refresh(), networksTree: networks, namespacesTree: namespaces };
}

export function deactivate(): void {}
