/**
 * Placeholder for the topology webview (owned by another engineer, who replaces this file).
 * The extension calls registerTopology once at activation with the current graph and its changes.
 */
import type * as vscode from 'vscode';
import type { NetworkGraph } from '../docker/model-types';

export function registerTopology(
  _context: vscode.ExtensionContext,
  _getGraph: () => NetworkGraph | undefined,
  _onDidChange: vscode.Event<NetworkGraph>,
): void {}
