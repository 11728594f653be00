import * as vscode from 'vscode';
import type { GraphStore } from '../graph-store';
import type { NetworkGraph } from '../docker/model-types';
import { dockerErrorMessage } from '../docker/errors';

export interface CommandContext {
  store: GraphStore;
  log: vscode.OutputChannel;
}

/** The current graph, refreshed first; undefined (with the reason shown) when Docker cannot be read. */
export async function currentGraph(ctx: CommandContext): Promise<NetworkGraph | undefined> {
  await ctx.store.refresh();
  if (!ctx.store.graph || ctx.store.error) {
    void vscode.window.showErrorMessage(`tsnet: Docker is not reachable: ${ctx.store.error ?? 'no answer yet'}`);
    return undefined;
  }
  return ctx.store.graph;
}

/** Runs a Docker action with a progress notification; failures are shown in Docker's words. */
export async function runAction<T>(ctx: CommandContext, title: string, failure: string, action: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    const value = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `tsnet: ${title}` }, action);
    ctx.log.appendLine(`${title}: done`);
    return { ok: true, value };
  } catch (e) {
    const msg = dockerErrorMessage(e);
    ctx.log.appendLine(`${title}: failed: ${msg}`);
    void vscode.window.showErrorMessage(`tsnet: ${failure}: ${msg}`);
    return { ok: false };
  } finally {
    await ctx.store.refresh();
  }
}
