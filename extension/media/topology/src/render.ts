/**
 * Laid-out scene → SVG markup. Plain strings (one innerHTML) because 500 containers are ~10 000
 * elements. Every node, part and edge carries data-* attributes: the webview's interactions and
 * the UI test read the picture through them.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api';
import { escapeHtml } from '../../../src/topology/html-escape';
import { textWidth, type NodeItem, type Part, type TopologyScene } from '../../../src/topology/layout-input';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Rendered {
  svg: string;
  width: number;
  height: number;
  /** Absolute box of every node (for fit/centre/search). */
  boxes: Map<string, Box>;
  nodeCount: number;
  edgeCount: number;
}

const esc = escapeHtml;
const n = (v: number | undefined) => String(Math.round((v ?? 0) * 10) / 10);

/** A distinct, stable colour per network (by its position in the sorted network list). */
export function networkColors(scene: TopologyScene): Map<string, string> {
  const colors = new Map<string, string>();
  scene.networks.forEach((net, i) => colors.set(net.id, `hsl(${Math.round((i * 137.508) % 360)}, 55%, 52%)`));
  return colors;
}

/** Words a screen reader says for a kind of item (aria-roledescription). */
const ROLE_WORDS: Record<string, string> = { network: 'network', container: 'container', endpoint: 'interface', hostPort: 'published port', namespace: 'namespace', veth: 'veth link', publish: 'port mapping', attachment: 'attachment', vxlan: 'VXLAN link', remoteHost: 'remote host', route: 'route to remote hosts', tunnel: 'VXLAN tunnel' };

/**
 * Keyboard and screen-reader attributes of a focusable item: one tab stop for the whole picture
 * (roving tabindex, main.ts moves it), a label from the item's tooltip lines.
 */
function a11y(kind: string, tip: string[], fallback: string): string {
  const label = (tip.length ? tip : [fallback]).join('; ');
  return ` tabindex="-1" role="button" aria-roledescription="${esc(ROLE_WORDS[kind] ?? kind)}" aria-label="${esc(label)}"`;
}

function partMarkup(nodeId: string, index: number, part: Part, nodeKind: string, stroke?: string): string {
  const ref = part.ref ? ` data-ref-kind="${esc(part.ref.kind)}" data-ref-id="${esc(part.ref.id)}"` : '';
  // Every item with an action, and every node's frame, is reachable by keyboard.
  const focus = part.ref || index === 0 ? a11y(part.ref?.kind ?? nodeKind, part.tip, part.texts.map((t) => t.text).join(' ')) : '';
  const strokeAttr = stroke ? ` stroke="${esc(stroke)}"` : '';
  let s = `<g class="part ${esc(part.cls)}" data-part="${esc(nodeId)}#${index}"${ref}${focus}>`;
  s += `<rect x="${n(part.x)}" y="${n(part.y)}" width="${n(part.w)}" height="${n(part.h)}" rx="${part.cls.includes('frame') ? 4 : 2}"${strokeAttr}/>`;
  for (const t of part.texts) s += `<text class="${esc(t.cls)}" x="${n(t.x)}" y="${n(t.y)}">${esc(t.text)}</text>`;
  return s + '</g>';
}

function nodeMarkup(id: string, item: NodeItem, box: Box, colors: Map<string, string>): string {
  const stroke = item.kind === 'network' ? colors.get(item.networkIds[0]) : undefined;
  let s = `<g class="node ${esc(item.kind)}" data-node-id="${esc(id)}" data-kind="${esc(item.kind)}" data-networks="${esc(item.networkIds.join(' '))}" transform="translate(${n(box.x)},${n(box.y)})">`;
  item.parts.forEach((part, i) => {
    s += partMarkup(id, i, part, item.kind, i === 0 ? stroke : undefined);
  });
  if (item.kind === 'network' && stroke) s += `<rect class="bridge-bar" x="0" y="0" width="4" height="${n(box.h)}" fill="${esc(stroke)}"/>`;
  return s + '</g>';
}

function edgePath(edge: ElkExtendedEdge): string {
  let d = '';
  for (const sec of edge.sections ?? []) {
    d += `M${n(sec.startPoint.x)} ${n(sec.startPoint.y)}`;
    for (const b of sec.bendPoints ?? []) d += `L${n(b.x)} ${n(b.y)}`;
    d += `L${n(sec.endPoint.x)} ${n(sec.endPoint.y)}`;
  }
  return d;
}

export function renderScene(scene: TopologyScene, laid: ElkNode): Rendered {
  const colors = networkColors(scene);
  const boxes = new Map<string, Box>();
  for (const c of laid.children ?? []) boxes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
  const width = Math.ceil(laid.width ?? 0);
  const height = Math.ceil(laid.height ?? 0);

  let out = '';
  // The host frame: everything in the host's own namespace (bridges, host ports, the VXLAN link).
  let hx1 = Infinity, hy1 = Infinity, hx2 = -Infinity, hy2 = -Infinity;
  for (const [id, item] of Object.entries(scene.nodes)) {
    if (item.kind === 'namespace' || item.kind === 'remoteHost') continue;
    const b = boxes.get(id);
    if (!b) continue;
    hx1 = Math.min(hx1, b.x); hy1 = Math.min(hy1, b.y); hx2 = Math.max(hx2, b.x + b.w); hy2 = Math.max(hy2, b.y + b.h);
  }
  if (hx1 === Infinity) { hx1 = 24; hy1 = 44; hx2 = 224; hy2 = 84; }
  const hostW = Math.max(hx2 - hx1 + 24, textWidth(scene.host.title, 'title') + 20);
  out += `<g class="host" data-node-id="host" data-kind="host"><rect class="host-frame" x="${n(hx1 - 12)}" y="${n(hy1 - 30)}" width="${n(hostW)}" height="${n(hy2 - hy1 + 42)}" rx="6"/>`;
  out += `<text class="host-title" x="${n(hx1 - 4)}" y="${n(hy1 - 12)}">${esc(scene.host.title)}</text></g>`;

  out += '<g class="edges">';
  let edgeCount = 0;
  for (const edge of laid.edges ?? []) {
    const item = scene.edges[edge.id];
    if (!item) continue;
    edgeCount++;
    const stroke = item.kind === 'publish' ? '' : colors.get(item.networkIds[0]) ?? '';
    const ref = item.ref ? ` data-ref-kind="${esc(item.ref.kind)}" data-ref-id="${esc(item.ref.id)}"` : '';
    out += `<g class="edge ${esc(item.kind)}" data-edge-id="${esc(edge.id)}" data-kind="${esc(item.kind)}" data-source="${esc(edge.sources[0])}" data-target="${esc(edge.targets[0])}" data-networks="${esc(item.networkIds.join(' '))}"${ref}${a11y(item.kind, item.tip, item.kind)}>`;
    const d = edgePath(edge);
    out += `<path class="hit" d="${d}"/><path class="line" d="${d}"${stroke ? ` stroke="${esc(stroke)}"` : ''}${item.kind === 'publish' ? ' marker-end="url(#arrow)"' : ''}/>`;
    for (const l of edge.labels ?? []) {
      out += `<text class="edge-label" x="${n((l.x ?? 0) + 2)}" y="${n((l.y ?? 0) + (l.height ?? 12) - 3)}">${esc(l.text ?? '')}</text>`;
    }
    out += '</g>';
  }
  out += '</g><g class="nodes">';
  let nodeCount = 0;
  for (const c of laid.children ?? []) {
    const item = scene.nodes[c.id];
    if (!item) continue;
    nodeCount++;
    out += nodeMarkup(c.id, item, boxes.get(c.id)!, colors);
  }
  out += '</g>';
  return { svg: out, width, height, boxes, nodeCount, edgeCount };
}

/** The <defs> every picture needs (arrow head of published ports). */
export const SVG_DEFS =
  '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path class="arrow-head" d="M0 0L10 5L0 10z"/></marker></defs>';
