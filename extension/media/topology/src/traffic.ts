/**
 * Live traffic on the drawn picture: each veth edge (host-side veth the driver reports) gets a
 * thickness and a "rate" label from its link's rate, each bridge a rate line; drops/errors mark
 * the item. Applied to the existing SVG (no new layout); re-applied after every redraw.
 * data-rate-bps / data-rate-pps carry the numbers (tests, screen readers via aria-label).
 */
import type { NetworkGraph } from '../../../src/docker/model-types';
import { ids } from '../../../src/topology/layout-input';
import { hasTrouble, isActive, rateSummary as rateText, type LinkRate } from '../../../src/topology/link-rates';

const SVG_NS = 'http://www.w3.org/2000/svg';

function mark(el: Element, r: LinkRate | undefined): boolean {
  const active = isActive(r);
  el.classList.toggle('traffic', active);
  el.classList.toggle('drops', hasTrouble(r));
  if (active && r) {
    el.setAttribute('data-rate-bps', String(Math.round(r.rxBps + r.txBps)));
    el.setAttribute('data-rate-pps', String(Math.round(r.rxPps + r.txPps)));
  } else {
    el.removeAttribute('data-rate-bps');
    el.removeAttribute('data-rate-pps');
  }
  const base = el.getAttribute('data-label') ?? el.getAttribute('aria-label') ?? '';
  if (!el.hasAttribute('data-label')) el.setAttribute('data-label', base);
  el.setAttribute('aria-label', active && r ? `${base}; traffic ${rateText(r)}` : base);
  return active || hasTrouble(r);
}

function label(el: Element, at: { x: number; y: number } | undefined, text: string | undefined): void {
  let t = el.querySelector<SVGTextElement>(':scope > text.rate');
  if (!text || !at) {
    t?.remove();
    return;
  }
  if (!t) {
    t = document.createElementNS(SVG_NS, 'text');
    t.setAttribute('class', 'rate');
    el.appendChild(t);
  }
  t.setAttribute('x', String(Math.round(at.x)));
  t.setAttribute('y', String(Math.round(at.y)));
  t.textContent = text;
}

export function applyTraffic(layer: SVGGElement, graph: NetworkGraph | undefined, links: Record<string, LinkRate>): void {
  if (!graph) return;
  for (const ep of graph.endpoints) {
    if (!ep.hostVeth) continue;
    const el = layer.querySelector(`[data-edge-id="${CSS.escape(ids.veth(ep.id))}"]`);
    if (!el) continue;
    const r = Object.prototype.hasOwnProperty.call(links, ep.hostVeth) ? links[ep.hostVeth] : undefined;
    const shown = mark(el, r);
    const line = el.querySelector<SVGPathElement>('.line');
    if (line) {
      // Thickness grows with the log of the rate: 1.5 px idle, about 7 px at 100 MB/s.
      line.style.strokeWidth = isActive(r) && r ? String(1.5 + Math.max(0, Math.log10(r.rxBps + r.txBps + 1) - 2)) : '';
    }
    let mid: { x: number; y: number } | undefined;
    if (shown && line) {
      const p = line.getPointAtLength(line.getTotalLength() / 2);
      mid = { x: p.x + 4, y: p.y - 4 };
    }
    label(el, mid, shown && r ? rateText(r) : undefined);
  }
  // Bridges, and the VXLAN link multi-host networks route through (one for all of them).
  const frames = new Map<string, string>();
  for (const n of graph.networks) {
    if (n.bridge) frames.set(ids.network(n.id), n.bridge);
    if (n.cluster) frames.set(ids.vxlanDevice(n.cluster.vxlan.link), n.cluster.vxlan.link);
  }
  for (const [nodeId, link] of frames) {
    const node = layer.querySelector(`[data-node-id="${CSS.escape(nodeId)}"]`);
    const frame = node?.querySelector('[data-part$="#0"]');
    if (!node || !frame) continue;
    const r = Object.prototype.hasOwnProperty.call(links, link) ? links[link] : undefined;
    const shown = mark(frame, r);
    const rect = frame.querySelector('rect');
    const at = rect ? { x: Number(rect.getAttribute('x')) + 8, y: Number(rect.getAttribute('y')) + Number(rect.getAttribute('height')) + 12 } : undefined;
    label(frame, at, shown && r ? rateText(r) : undefined);
  }
}
