/** Messages between the topology webview and the extension host (both directions). */
import type { NetworkGraph } from '../docker/model-types';
import type { ItemRef } from './layout-input';
import type { LinkRate } from './link-rates';

/** Context actions the picture offers; each runs a command the tree runs too (tsnet.openShell is the topology's own). */
export const ACTIONS = {
  'tsnet.connectContainer': { title: 'Connect to network…', kinds: ['network', 'container'] },
  'tsnet.disconnectContainer': { title: 'Disconnect from this network', kinds: ['endpoint'] },
  'tsnet.openShell': { title: 'Open shell', kinds: ['container', 'endpoint'] },
  'tsnet.runInNamespace': { title: "Run a container in this namespace…", kinds: ['container'] },
  'tsnet.removeNetwork': { title: 'Remove network…', kinds: ['network'] },
  'tsnet.inspect': { title: 'Inspect', kinds: ['network', 'container', 'endpoint'] },
} as const satisfies Record<string, { title: string; kinds: readonly ItemRef['kind'][] }>;
export type ActionCommand = keyof typeof ACTIONS;

/** A context action the picture offers: an own key of ACTIONS (never an inherited name such as `constructor`). */
export function isActionCommand(command: unknown): command is ActionCommand {
  return typeof command === 'string' && Object.prototype.hasOwnProperty.call(ACTIONS, command);
}

const REF_KINDS: readonly string[] = ['network', 'container', 'endpoint'];

/** A well-formed ItemRef from the webview (a message is untrusted input). */
export function isItemRef(ref: unknown): ref is ItemRef {
  const r = ref as { kind?: unknown; id?: unknown } | null;
  return typeof r === 'object' && r !== null && typeof r.kind === 'string' && REF_KINDS.includes(r.kind) && typeof r.id === 'string';
}

export type ToWebview =
  | { type: 'graph'; graph: NetworkGraph | undefined; error?: string }
  /** Re-run layout+render and answer with 'rendered' (tests, benchmark). */
  | { type: 'relayout' }
  /** Live traffic: rates per host link name (bridges, host-side veths) over the last interval. */
  | { type: 'traffic'; links: Record<string, LinkRate> };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'reveal'; ref: ItemRef }
  | { type: 'action'; command: ActionCommand; ref: ItemRef }
  | { type: 'export'; format: 'svg' | 'png'; /** SVG text, or PNG as base64 */ data: string }
  | { type: 'rendered'; layoutMs: number; renderMs: number; nodes: number; edges: number }
  | { type: 'error'; message: string };
