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

/** What activate returns: used by the in-VS Code test suite (src/test/electron). */
export interface TsnetExtensionApi {
  getGraph(): NetworkGraph | undefined;
  refresh(): Promise<void>;
  networksTree: NetworksTreeProvider;
  namespacesTree: NamespacesTreeProvider;
}

export function activate(context: vscode.ExtensionContext): TsnetExtensionApi {
  const log = vscode.window.createOutputChannel('tsnet');
  const statusSocket = vscode.workspace.getConfiguration('tsnet').get<string>('statusSocket') || undefined;
  const store = new GraphStore(new DockerClient(), log, statusSocket);
  const networks = new NetworksTreeProvider(store);
  const namespaces = new NamespacesTreeProvider(store);
  const networksView = vscode.window.createTreeView('tsnet.networks', { treeDataProvider: networks, showCollapseAll: true });
  const namespacesView = vscode.window.createTreeView('tsnet.namespaces', { treeDataProvider: namespaces, showCollapseAll: true });

  const updateViews = () => {
    networks.refresh();
    namespaces.refresh();
    const g = store.graph;
    networksView.description = store.error
      ? 'Docker not reachable'
      : g
        ? [`Docker ${g.host.engineVersion ?? ''}`.trim(), g.host.tsnetStatus ? `tsnet ${g.host.tsnetVersion ?? ''}`.trim() : g.host.tsnetDriverName ? 'tsnet (no status)' : undefined].filter(Boolean).join(' · ')
        : undefined;
  };
  context.subscriptions.push(
    log,
    store,
    networksView,
    namespacesView,
    store.onDidChangeState(updateViews),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`tsnet.${SHOW_BUILTIN_SETTING}`)) networks.refresh();
    }),
  );

  registerCommands(context, { store, log });
  registerTopology(context, () => store.graph, store.onDidChange);
  store.start();
  log.appendLine(`tsnet: watching Docker at ${process.env.DOCKER_HOST ?? 'the default socket'}`);
  return { getGraph: () => store.graph, refresh: () => store.refresh(), networksTree: networks, namespacesTree: namespaces };
}

export function deactivate(): void {}
