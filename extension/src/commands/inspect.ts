/** Inspect as a read-only JSON document, open an HTTP port in the browser, copy an address. */
import * as vscode from 'vscode';
import type { TreeNode } from '../tree/nodes';
import { currentGraph, type CommandContext } from './context';
import { dockerErrorMessage } from '../docker/errors';
import { isHttpPort, portUrl } from '../docker/port-links';
import { pickContainer, pickNetwork } from './input';

export const INSPECT_SCHEME = 'tsnet-inspect';

/** Serves `tsnet-inspect:/network/<name>.json?<id>` documents; virtual documents are read-only. */
export class InspectDocumentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly ctx: CommandContext) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const kind = uri.path.split('/')[1];
    const id = uri.query;
    try {
      const data = kind === 'network' ? await this.ctx.store.client.inspectNetwork(id) : await this.ctx.store.client.inspectContainer(id);
      return JSON.stringify(data, null, 2) + '\n';
    } catch (e) {
      return JSON.stringify({ error: dockerErrorMessage(e) }, null, 2) + '\n';
    }
  }
}

export async function inspect(ctx: CommandContext, node?: TreeNode): Promise<void> {
  let target: { kind: 'network' | 'container'; id: string; name: string } | undefined;
  if (node?.kind === 'network') target = { kind: 'network', id: node.network.id, name: node.network.name };
  else if (node?.kind === 'container') target = { kind: 'container', id: node.container.id, name: node.container.name };
  else if (node?.kind === 'namespace' && node.owner) target = { kind: 'container', id: node.owner.id, name: node.owner.name };
  else {
    const graph = await currentGraph(ctx);
    if (!graph) return;
    const what = await vscode.window.showQuickPick(['Network', 'Container'], { placeHolder: 'Inspect a network or a container?' });
    if (what === 'Network') {
      const n = await pickNetwork(graph, 'Network to inspect', () => true);
      if (n) target = { kind: 'network', id: n.id, name: n.name };
    } else if (what === 'Container') {
      const c = await pickContainer(graph, 'Container to inspect', () => true);
      if (c) target = { kind: 'container', id: c.id, name: c.name };
    }
  }
  if (!target) return;
  const uri = vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${target.kind}/${target.name}.json`, query: target.id });
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.languages.setTextDocumentLanguage(doc, 'json');
  await vscode.window.showTextDocument(doc, { preview: true });
}

export async function openPort(ctx: CommandContext, node?: TreeNode): Promise<void> {
  if (node?.kind !== 'port') return;
  const p = node.ports.find((x) => x.hostIP === '0.0.0.0' || x.hostIP === '127.0.0.1') ?? node.ports[0];
  if (!isHttpPort(p)) {
    void vscode.window.showInformationMessage(`tsnet: ${p.containerPort}/${p.proto} does not look like HTTP.`);
    return;
  }
  const url = portUrl(p, ctx.store.client.dockerHost);
  ctx.log.appendLine(`open ${url}`);
  await vscode.env.openExternal(vscode.Uri.parse(url));
}

export async function copyAddress(_ctx: CommandContext, node?: TreeNode): Promise<void> {
  if (node?.kind !== 'address') return;
  await vscode.env.clipboard.writeText(node.address);
  void vscode.window.setStatusBarMessage(`Copied ${node.address}`, 2000);
}
