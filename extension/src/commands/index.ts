import * as vscode from 'vscode';
import type { TreeNode } from '../tree/nodes';
import type { CommandContext } from './context';
import { createNetwork, pruneNetworks, removeNetwork } from './network-commands';
import { connectContainer, disconnectContainer, runInNamespace } from './container-commands';
import { copyAddress, inspect, InspectDocumentProvider, INSPECT_SCHEME, openPort } from './inspect';

export type { CommandContext } from './context';

/** Every command id the extension contributes, with its handler. package.json lists the same ids. */
export const COMMANDS: Record<string, (ctx: CommandContext, node?: TreeNode) => Promise<void>> = {
  'tsnet.refresh': (ctx) => (ctx.store.error ? ctx.store.reconnect() : ctx.store.refresh('all')),
  'tsnet.createNetwork': (ctx) => createNetwork(ctx),
  'tsnet.removeNetwork': removeNetwork,
  'tsnet.pruneNetworks': (ctx) => pruneNetworks(ctx),
  'tsnet.connectContainer': connectContainer,
  'tsnet.disconnectContainer': disconnectContainer,
  'tsnet.runInNamespace': runInNamespace,
  'tsnet.inspect': inspect,
  'tsnet.openPort': openPort,
  'tsnet.copyAddress': copyAddress,
};

export function registerCommands(context: vscode.ExtensionContext, ctx: CommandContext): void {
  for (const [id, handler] of Object.entries(COMMANDS)) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (node?: TreeNode) => {
        try {
          await handler(ctx, node && typeof node === 'object' && 'kind' in node ? node : undefined);
        } catch (e) {
          ctx.log.appendLine(`${id} failed: ${(e as Error).stack ?? e}`);
          void vscode.window.showErrorMessage(`tsnet: ${(e as Error).message}`);
        }
      }),
    );
  }
  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, new InspectDocumentProvider(ctx)));
}
