/**
 * The topology picture: command `tsnet.showTopology` opens a webview (panel.ts) that draws the
 * NetworkGraph laid out with ELK (layout-input.ts, webview/). Also `tsnet.openShell`, one of the
 * picture's context actions: a terminal running `docker exec -it <id> sh`.
 */
import * as vscode from 'vscode';
import type { ContainerModel, NetworkGraph } from '../docker/model-types';
import { TopologyPanel, VIEW_TYPE } from './panel';
import { cliEnv, type DockerEndpoint } from '../docker/endpoint';

export function registerTopology(
  context: vscode.ExtensionContext,
  getGraph: () => NetworkGraph | undefined,
  onDidChange: vscode.Event<NetworkGraph>,
  statusSocket?: () => string,
  endpoint?: () => DockerEndpoint | undefined,
): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('tsnet.showTopology', () => {
      TopologyPanel.show(context, getGraph, statusSocket);
    }),
    vscode.commands.registerCommand('tsnet.openShell', (node?: unknown) => openShell(getGraph, node, endpoint?.())),
    // For tests: what the open picture last drew (counts and times), undefined when no picture is open.
    vscode.commands.registerCommand('tsnet.topology.lastRender', () => TopologyPanel.current?.lastRender),
    onDidChange((graph) => TopologyPanel.current?.update(graph)),
    vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
      async deserializeWebviewPanel(panel: vscode.WebviewPanel) {
        new TopologyPanel(panel, context, getGraph, statusSocket);
      },
    }),
    { dispose: () => TopologyPanel.current?.dispose() },
  );
}

/** The container a tree node or picture item stands for (container rows, namespace rows). */
function containerOf(node: unknown): ContainerModel | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as { kind?: string; container?: ContainerModel; owner?: ContainerModel };
  if (n.container) return n.container;
  if (n.kind === 'namespace') return n.owner;
  return undefined;
}

async function openShell(getGraph: () => NetworkGraph | undefined, node?: unknown, endpoint?: DockerEndpoint): Promise<void> {
  let container = containerOf(node);
  if (!container) {
    const running = (getGraph()?.containers ?? []).filter((c) => c.state === 'running').sort((a, b) => a.name.localeCompare(b.name));
    if (!running.length) {
      void vscode.window.showInformationMessage('tsnet: no running container to open a shell in.');
      return;
    }
    const pick = await vscode.window.showQuickPick(
      running.map((c) => ({ label: c.name, description: c.image, container: c })),
      { title: 'Open a shell in container', placeHolder: 'Container' },
    );
    container = pick?.container;
  }
  if (!container) return;
  if (container.state !== 'running') {
    void vscode.window.showWarningMessage(`tsnet: ${container.name} is not running (${container.state}).`);
    return;
  }
  const terminal = vscode.window.createTerminal({
    name: `sh: ${container.name}`,
    shellPath: 'docker',
    shellArgs: ['exec', '-it', container.id, 'sh'],
    env: cliEnv(endpoint),
    iconPath: new vscode.ThemeIcon('terminal'),
  });
  terminal.show();
}
