/**
 * The topology webview panel on the extension host side: HTML with a strict CSP, the graph sent
 * on every change, and the webview's requests (reveal, context actions, export) turned into the
 * same commands the tree runs.
 */
import * as vscode from 'vscode';
import type { NetworkGraph } from '../docker/model-types';
import type { FromWebview, ToWebview } from './protocol';
import { isActionCommand, isItemRef } from './protocol';
import { nodeForRef } from './refs';
import { escapeHtml } from './html-escape';
import { TrafficSampler } from './traffic';

export const VIEW_TYPE = 'tsnet.topology';
const MEDIA = ['media', 'topology'];

export class TopologyPanel {
  static current: TopologyPanel | undefined;
  /** The last picture the webview reported (tests read it through tsnet.topology.lastRender). */
  lastRender: Extract<FromWebview, { type: 'rendered' }> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly traffic: TrafficSampler | undefined;

  static show(context: vscode.ExtensionContext, getGraph: () => NetworkGraph | undefined, statusSocket?: () => string): TopologyPanel {
    if (TopologyPanel.current) {
      TopologyPanel.current.panel.reveal();
      return TopologyPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'tsnet: Topology', vscode.ViewColumn.Active, TopologyPanel.options(context));
    return (TopologyPanel.current = new TopologyPanel(panel, context, getGraph, statusSocket));
  }

  static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, ...MEDIA)],
    };
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly getGraph: () => NetworkGraph | undefined,
    statusSocket?: () => string,
  ) {
    TopologyPanel.current = this;
    // Live traffic while the picture is visible (the status API's link counters, every 2 s).
    this.traffic = statusSocket ? new TrafficSampler(statusSocket, getGraph, (links) => void this.post({ type: 'traffic', links })) : undefined;
    // A ThemeIcon here needs VS Code 1.90+; engines.vscode is ^1.85.0.
    panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'icon.png');
    panel.webview.options = TopologyPanel.options(context);
    panel.webview.html = html(panel.webview, context.extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => this.syncTraffic()),
      panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m)),
    );
  }

  update(graph: NetworkGraph | undefined, error?: string): void {
    void this.post({ type: 'graph', graph, error });
  }

  private post(m: ToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(m);
  }

  private async onMessage(m: FromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.update(this.getGraph());
        this.syncTraffic();
        return;
      case 'rendered':
        this.lastRender = m;
        return;
      case 'reveal':
        if (!isItemRef(m.ref)) return;
        // The tree's own command; ignore its absence (older builds) or a stale id.
        await Promise.resolve(vscode.commands.executeCommand('tsnet.revealInTree', m.ref)).catch(() => undefined);
        return;
      case 'action':
        return this.runAction(m.command, m.ref);
      case 'export':
        return this.save(m.format, m.data);
      case 'error':
        void vscode.window.showErrorMessage(`tsnet topology: ${m.message.split('\n')[0]}`);
        return;
    }
  }

  private async runAction(command: unknown, ref: unknown): Promise<void> {
    if (!isActionCommand(command) || !isItemRef(ref)) return;
    const graph = this.getGraph();
    const node = graph && nodeForRef(graph, ref);
    if (!node) {
      void vscode.window.showWarningMessage('tsnet: that item is gone; the picture will update.');
      return;
    }
    await vscode.commands.executeCommand(command, node);
  }

  private async save(format: 'svg' | 'png', data: string): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `topology-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.${format}`;
    const uri = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: format === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
      title: `Save the topology as ${format.toUpperCase()}`,
    });
    if (!uri) return;
    const bytes = format === 'svg' ? Buffer.from(data, 'utf8') : Buffer.from(data, 'base64');
    await vscode.workspace.fs.writeFile(uri, bytes);
    void vscode.window.showInformationMessage(`tsnet: topology saved to ${uri.fsPath}`);
  }

  private syncTraffic(): void {
    if (!this.traffic) return;
    if (this.panel.visible) this.traffic.start();
    else this.traffic.stop();
  }

  dispose(): void {
    this.traffic?.stop();
    if (TopologyPanel.current === this) TopologyPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars.charAt(Math.floor(Math.random() * chars.length));
  return s;
}

function html(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...MEDIA, 'dist', 'webview.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...MEDIA, 'topology.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource} 'nonce-${n}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${n}'`,
    // ELK's layout worker, started from a blob: URL of the bundle's own copy (media/topology/src/main.ts).
    'worker-src blob:',
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(css.toString())}">
<title>tsnet: Topology</title>
</head>
<body>
<div id="app"></div>
<script nonce="${n}" src="${escapeHtml(script.toString())}"></script>
</body>
</html>`;
}
