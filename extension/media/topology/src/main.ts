/**
 * The topology webview: receives the NetworkGraph, lays it out with ELK (in a Web Worker of this
 * page, off the extension host and off the page's main thread), draws SVG, and handles filter, search, zoom/pan, tooltips, click-to-reveal,
 * context actions and export. Also runs in a plain page (benchmark) where there is no VS Code API:
 * then `window.tsnetTopology.render(graph)` drives it.
 */
import ELK from 'elkjs/lib/elk-api.js';
import elkWorkerSource from 'elk-worker-source';
import type { ElkNode } from 'elkjs/lib/elk-api';
import type { NetworkGraph } from '../../../src/docker/model-types';
import { buildScene, type ItemRef, type TopologyScene } from '../../../src/topology/layout-input';
import { ACTIONS, type ActionCommand, type FromWebview, type ToWebview } from '../../../src/topology/protocol';
import { standaloneSvg, svgToPngBase64 } from './export';
import { escapeHtml } from '../../../src/topology/html-escape';
import { renderScene, SVG_DEFS, type Rendered } from './render';
import { SVG_CSS } from './svg-style';
import { Viewport, type View } from './viewport';
import { KeyboardNav } from './keyboard';
import { applyTraffic } from './traffic';
import type { LinkRate } from '../../../src/topology/link-rates';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  filter: string[];
  search: string;
  view?: View;
}

const vscode: VsCodeApi =
  typeof acquireVsCodeApi === 'function'
    ? acquireVsCodeApi()
    : { postMessage: (m) => window.dispatchEvent(new CustomEvent('tsnet-topology', { detail: m })), getState: () => undefined, setState: () => undefined };
const post = (m: FromWebview) => vscode.postMessage(m);

const saved = (vscode.getState() as SavedState | undefined) ?? { filter: [], search: '' };
let graph: NetworkGraph | undefined;
let graphError: string | undefined;
let filter: string[] = saved.filter ?? [];
let search = saved.search ?? '';
let scene: TopologyScene | undefined;
let rendered: Rendered | undefined;
let matches: Element[] = [];
let current = -1;
let layoutSeq = 0;
let firstPicture = true;
/** The last live-traffic rates (link name → rate), re-applied after each redraw. */
let traffic: Record<string, LinkRate> = {};
// The layout runs in a Web Worker (the engine's source is in this bundle; a blob: URL needs no
// fetch and no second file), so a 500-container layout never blocks scrolling or input.
const elkWorkerUrl = URL.createObjectURL(new Blob([elkWorkerSource], { type: 'text/javascript' }));
const elk = new ELK({ workerUrl: elkWorkerUrl, workerFactory: (url) => new Worker(url ?? elkWorkerUrl, { name: 'tsnet-elk' }) });

// ---------------------------------------------------------------- page
const nonce = (document.querySelector('script[nonce]') as HTMLScriptElement | null)?.nonce ?? '';
const style = document.createElement('style');
if (nonce) style.nonce = nonce;
style.textContent = SVG_CSS;
document.head.appendChild(style);

const app = document.getElementById('app') ?? document.body.appendChild(document.createElement('div'));
app.id = 'app';
app.innerHTML = `
<div class="toolbar" role="toolbar">
  <div class="filter">
    <button id="filter-button" title="Show only some networks">Networks: all ▾</button>
    <div id="filter-panel" class="panel" hidden>
      <div class="panel-actions"><button id="filter-all">Show all</button></div>
      <div id="filter-list"></div>
    </div>
  </div>
  <input id="search" type="search" placeholder="Search container, address, port…" spellcheck="false" aria-label="Search">
  <span id="search-count" class="muted"></span>
  <span class="spacer"></span>
  <button id="zoom-out" title="Zoom out">−</button>
  <button id="zoom-reset" title="Actual size">1:1</button>
  <button id="zoom-in" title="Zoom in">+</button>
  <button id="zoom-fit" title="Fit to window">Fit</button>
  <button id="export-svg" title="Save the picture as SVG">SVG</button>
  <button id="export-png" title="Save the picture as PNG">PNG</button>
</div>
<div id="status" class="muted" role="status" aria-live="polite">Waiting for Docker…</div>
<div id="canvas">
  <svg id="topology" class="topology" xmlns="http://www.w3.org/2000/svg" role="group" aria-label="Network topology: Tab to enter, arrow keys between neighbours, Enter for actions, Space to reveal in the tree">${SVG_DEFS}<g id="viewport"></g></svg>
  <div id="empty" class="empty" hidden></div>
</div>
<div id="tooltip" class="tooltip" hidden></div>
<div id="menu" class="menu" role="menu" hidden></div>`;

const $ = <T extends Element>(id: string) => document.getElementById(id) as unknown as T;
const svg = $<SVGSVGElement>('topology');
const layer = $<SVGGElement>('viewport');
const statusEl = $<HTMLElement>('status');
const searchEl = $<HTMLInputElement>('search');
const countEl = $<HTMLElement>('search-count');
const tooltip = $<HTMLElement>('tooltip');
const menu = $<HTMLElement>('menu');
const emptyEl = $<HTMLElement>('empty');
const filterPanel = $<HTMLElement>('filter-panel');
const filterButton = $<HTMLButtonElement>('filter-button');
const filterList = $<HTMLElement>('filter-list');

/** VS Code's high-contrast themes (body class): the picture switches to the theme's contrast colours. */
const syncContrast = () => svg.classList.toggle('hc', /vscode-high-contrast/.test(document.body.className));
syncContrast();
new MutationObserver(syncContrast).observe(document.body, { attributes: true, attributeFilter: ['class'] });

const saveState = () => vscode.setState({ filter, search, view: viewport?.view } satisfies SavedState);
const viewport: Viewport = new Viewport(svg, layer, () => {
  hideTooltip();
  saveState();
});
if (saved.view) viewport.set(saved.view);
searchEl.value = search;

// ---------------------------------------------------------------- layout + render
let pending: ReturnType<typeof setTimeout> | undefined;
/** Graph updates come in bursts (docker events): lay out once per burst, well within a second. */
function scheduleLayout(delay = 80): void {
  if (pending) clearTimeout(pending);
  pending = setTimeout(() => {
    pending = undefined;
    void relayout().catch((e: Error) => post({ type: 'error', message: e.stack ?? String(e) }));
  }, delay);
}

const nextPaint = () => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r())));

async function relayout(): Promise<{ layoutMs: number; renderMs: number } | undefined> {
  const seq = ++layoutSeq;
  if (!graph) {
    layer.innerHTML = '';
    rendered = undefined;
    showEmpty(graphError ? `Docker is not reachable: ${graphError}` : 'Waiting for Docker…');
    return undefined;
  }
  const t0 = performance.now();
  const nextScene = buildScene(graph, { networkIds: filter });
  updateFilterList(nextScene);
  const laid: ElkNode = await elk.layout(nextScene.elk);
  if (seq !== layoutSeq) return undefined; // a newer graph arrived meanwhile
  const t1 = performance.now();
  const anchor = firstPicture ? undefined : pickAnchor();
  scene = nextScene;
  indexPorts(nextScene);
  rendered = renderScene(nextScene, laid);
  const hadFocus = keyboard.hasFocus();
  layer.innerHTML = rendered.svg;
  keyboard.afterRender(hadFocus);
  applyTraffic(layer, graph, traffic);
  svg.dataset.nodes = String(rendered.nodeCount);
  svg.dataset.edges = String(rendered.edgeCount);
  showEmpty(rendered.nodeCount ? '' : filter.length ? 'No network matches the filter.' : 'No networks.');
  if (firstPicture) {
    firstPicture = false;
    if (!saved.view) viewport.fit(rendered.width, rendered.height, 0.5);
  } else if (anchor) {
    // Keep what the user was looking at in place: shift the view by how far that node moved.
    const b = rendered.boxes.get(anchor.id);
    if (b) viewport.set({ ...viewport.view, x: viewport.view.x - (b.x - anchor.x) * viewport.view.k, y: viewport.view.y - (b.y - anchor.y) * viewport.view.k });
  }
  applySearch(false);
  await nextPaint();
  const t2 = performance.now();
  const s = nextScene.stats;
  statusEl.textContent =
    `${s.networks} network(s) · ${s.namespaces} namespace(s) · ${s.containers} container(s) · ${s.hostPorts} published port(s)` +
    `${filter.length ? ' · filtered' : ''} · laid out in ${Math.round(t1 - t0)} ms, drawn in ${Math.round(t2 - t1)} ms`;
  svg.dataset.ready = String(seq);
  post({ type: 'rendered', layoutMs: t1 - t0, renderMs: t2 - t1, nodes: rendered.nodeCount, edges: rendered.edgeCount });
  return { layoutMs: t1 - t0, renderMs: t2 - t1 };
}

/** The node nearest the centre of the screen, with its position before the update. */
function pickAnchor(): { id: string; x: number; y: number } | undefined {
  if (!rendered) return undefined;
  const { w, h } = viewport.size();
  const c = viewport.toPicture(w / 2, h / 2);
  let best: { id: string; x: number; y: number } | undefined;
  let bestD = Infinity;
  for (const [id, b] of rendered.boxes) {
    const d = Math.hypot(b.x + b.w / 2 - c.x, b.y + b.h / 2 - c.y);
    if (d < bestD) {
      bestD = d;
      best = { id, x: b.x, y: b.y };
    }
  }
  return best;
}

function showEmpty(text: string): void {
  emptyEl.hidden = !text;
  emptyEl.textContent = text;
}

// ---------------------------------------------------------------- filter
function updateFilterList(s: TopologyScene): void {
  const known = new Set(s.networks.map((n) => n.id));
  filter = filter.filter((id) => known.has(id));
  filterButton.textContent = `Networks: ${filter.length ? `${filter.length} of ${s.networks.length}` : 'all'} ▾`;
  const html = s.networks
    .map(
      (n) =>
        `<label><input type="checkbox" data-network-id="${escapeHtml(n.id)}"${filter.includes(n.id) ? ' checked' : ''}> ${escapeHtml(n.name)} <span class="muted">${escapeHtml(n.driver)}</span></label>`,
    )
    .join('');
  if (filterList.innerHTML !== html) filterList.innerHTML = html;
}
filterButton.addEventListener('click', () => (filterPanel.hidden = !filterPanel.hidden));
filterList.addEventListener('change', () => {
  filter = Array.from(filterList.querySelectorAll<HTMLInputElement>('input[data-network-id]')).filter((i) => i.checked).map((i) => i.dataset.networkId!);
  saveState();
  scheduleLayout(0);
});
$<HTMLButtonElement>('filter-all').addEventListener('click', () => {
  filter = [];
  saveState();
  scheduleLayout(0);
});

// ---------------------------------------------------------------- search
function applySearch(moveToFirst: boolean): void {
  for (const el of Array.from(layer.querySelectorAll('.match, .current, .hit-node, .hit-edge'))) el.classList.remove('match', 'current', 'hit-node', 'hit-edge');
  matches = [];
  current = -1;
  const q = search.trim().toLowerCase();
  svg.classList.toggle('searching', !!q && !!scene);
  if (!q || !scene) {
    countEl.textContent = '';
    return;
  }
  for (const [id, item] of Object.entries(scene.nodes)) {
    item.parts.forEach((part, i) => {
      if (!part.search.some((s) => s.includes(q)) && !part.texts.some((t) => t.text.toLowerCase().includes(q))) return;
      const el = layer.querySelector(`[data-part="${CSS.escape(`${id}#${i}`)}"]`);
      if (!el) return;
      el.classList.add('match');
      el.closest('.node')?.classList.add('hit-node');
      matches.push(el);
    });
  }
  for (const [id, item] of Object.entries(scene.edges)) {
    if (!item.search.some((s) => s.includes(q))) continue;
    const el = layer.querySelector(`[data-edge-id="${CSS.escape(id)}"]`);
    el?.classList.add('hit-edge');
  }
  // Edges touching a hit stay lit, so a searched container shows its links.
  const hitNodes = new Set(Array.from(layer.querySelectorAll('.hit-node')).map((el) => el.getAttribute('data-node-id')));
  for (const el of Array.from(layer.querySelectorAll<SVGGElement>('.edge'))) {
    const source = portOwner.get(el.dataset.source ?? '');
    const target = portOwner.get(el.dataset.target ?? '');
    if (hitNodes.has(source ?? null) || hitNodes.has(target ?? null)) el.classList.add('hit-edge');
  }
  countEl.textContent = matches.length ? `${matches.length} match${matches.length === 1 ? '' : 'es'}` : 'no match';
  // A redraw (live update) keeps the match the user had stepped to.
  const again = moveToFirst ? -1 : matches.findIndex((el) => el.getAttribute('data-part') === currentKey);
  if (again >= 0) {
    current = again;
    matches[current].classList.add('current');
    countEl.textContent = `${current + 1} of ${matches.length}`;
  } else if (moveToFirst && matches.length) step(1);
}
/** data-part of the match stepped to, across redraws. */
let currentKey: string | undefined;

/** ELK port id → id of the node that has the port. */
const portOwner = new Map<string, string>();
function indexPorts(s: TopologyScene): void {
  portOwner.clear();
  for (const c of s.elk.children ?? []) for (const p of c.ports ?? []) portOwner.set(p.id, c.id);
}

function step(dir: 1 | -1): void {
  if (!matches.length) return;
  matches[current]?.classList.remove('current');
  current = (current + dir + matches.length) % matches.length;
  const el = matches[current];
  el.classList.add('current');
  currentKey = el.getAttribute('data-part') ?? undefined;
  const nodeId = el.closest('.node')?.getAttribute('data-node-id');
  const b = nodeId ? rendered?.boxes.get(nodeId) : undefined;
  if (b) viewport.centerOn(b.x + b.w / 2, b.y + b.h / 2, Math.max(viewport.view.k, 0.8));
  countEl.textContent = `${current + 1} of ${matches.length}`;
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
searchEl.addEventListener('input', () => {
  if (searchTimer) clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    search = searchEl.value;
    saveState();
    applySearch(true);
  }, 120);
});
searchEl.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    if (searchTimer) {
      clearTimeout(searchTimer);
      searchTimer = undefined;
      search = searchEl.value;
        applySearch(false);
    }
    step(e.shiftKey ? -1 : 1);
  } else if (e.key === 'Escape') {
    searchEl.value = search = '';
    saveState();
    applySearch(false);
  }
});

// ---------------------------------------------------------------- tooltips, click, context menu
function tipOf(target: Element): string[] | undefined {
  if (!scene) return undefined;
  const part = target.closest<SVGGElement>('[data-part]');
  if (part) {
    const [id, i] = splitPart(part.dataset.part!);
    return scene.nodes[id]?.parts[i]?.tip;
  }
  const edge = target.closest<SVGGElement>('[data-edge-id]');
  if (edge) return scene.edges[edge.dataset.edgeId!]?.tip;
  if (target.closest('[data-node-id="host"]')) return scene.host.tip;
  return undefined;
}
function splitPart(key: string): [string, number] {
  const at = key.lastIndexOf('#');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

function hideTooltip(): void {
  tooltip.hidden = true;
}
svg.addEventListener('mousemove', (e) => {
  if (viewport.dragged && e.buttons) return hideTooltip();
  const tip = tipOf(e.target as Element);
  if (!tip?.length) return hideTooltip();
  tooltip.textContent = tip.join('\n');
  tooltip.hidden = false;
  const x = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 4);
  const y = e.clientY + 16 + tooltip.offsetHeight > window.innerHeight ? e.clientY - tooltip.offsetHeight - 8 : e.clientY + 16;
  tooltip.style.left = `${Math.max(0, x)}px`;
  tooltip.style.top = `${Math.max(0, y)}px`;
});
svg.addEventListener('mouseleave', hideTooltip);

function refOf(target: Element): { ref: ItemRef; el: Element } | undefined {
  const el = target.closest<SVGGElement>('[data-ref-kind]');
  if (!el) return undefined;
  return { ref: { kind: el.dataset.refKind as ItemRef['kind'], id: el.dataset.refId! }, el };
}

svg.addEventListener('click', (e) => {
  closeMenu();
  filterPanel.hidden = true;
  if (viewport.dragged) {
    viewport.dragged = false;
    return;
  }
  const hit = refOf(e.target as Element);
  for (const el of Array.from(layer.querySelectorAll('.selected'))) el.classList.remove('selected');
  if (!hit) return;
  hit.el.classList.add('selected');
  post({ type: 'reveal', ref: hit.ref });
});

/** Where keyboard focus goes back to when the menu closes (the item it was opened for). */
let menuOrigin: SVGGElement | undefined;

function openMenu(ref: ItemRef | undefined, x: number, y: number, origin?: SVGGElement): void {
  const items = ref
    ? (Object.entries(ACTIONS) as [ActionCommand, (typeof ACTIONS)[ActionCommand]][]).filter(([, a]) => (a.kinds as readonly string[]).includes(ref.kind))
    : [];
  menu.innerHTML = items.length
    ? items.map(([command, a]) => `<button role="menuitem" data-command="${escapeHtml(command)}">${escapeHtml(a.title)}</button>`).join('')
    : '<button role="menuitem" disabled>No actions for this item</button>';
  menu.dataset.refKind = ref?.kind ?? '';
  menu.dataset.refId = ref?.id ?? '';
  menu.hidden = false;
  menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - menu.offsetWidth - 4))}px`;
  menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - menu.offsetHeight - 4))}px`;
  hideTooltip();
  menuOrigin = origin;
  if (origin) menu.querySelector<HTMLButtonElement>('button')?.focus();
}

svg.addEventListener('contextmenu', (e) => {
  const hit = refOf(e.target as Element);
  if (!hit) return closeMenu();
  e.preventDefault();
  e.stopPropagation();
  openMenu(hit.ref, e.clientX, e.clientY);
});
menu.addEventListener('click', (e) => {
  const button = (e.target as Element).closest<HTMLButtonElement>('button[data-command]');
  if (!button || !menu.dataset.refKind) return;
  post({ type: 'action', command: button.dataset.command as ActionCommand, ref: { kind: menu.dataset.refKind as ItemRef['kind'], id: menu.dataset.refId! } });
  closeMenu();
});
menu.addEventListener('keydown', (e) => {
  const buttons = Array.from(menu.querySelectorAll<HTMLButtonElement>('button'));
  const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    buttons[(i + (e.key === 'ArrowDown' ? 1 : -1) + buttons.length) % buttons.length]?.focus();
  } else if (e.key === 'Escape' || e.key === 'Tab') {
    e.preventDefault();
    closeMenu();
  }
});
function closeMenu(): void {
  if (menu.hidden) return;
  menu.hidden = true;
  const back = menuOrigin;
  menuOrigin = undefined;
  if (back?.isConnected) back.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- keyboard
const keyboard = new KeyboardNav(layer, {
  ensureVisible(el) {
    const r = el.getBoundingClientRect();
    const c = svg.getBoundingClientRect();
    if (r.left >= c.left && r.right <= c.right && r.top >= c.top && r.bottom <= c.bottom) return;
    const p = viewport.toPicture(r.left + r.width / 2 - c.left, r.top + r.height / 2 - c.top);
    viewport.centerOn(p.x, p.y);
  },
  openMenu(el) {
    const r = el.getBoundingClientRect();
    const hit = refOf(el);
    openMenu(hit?.ref, r.left + Math.min(r.width, 40), r.bottom, el);
  },
  reveal(el) {
    const hit = refOf(el);
    for (const x of Array.from(layer.querySelectorAll('.selected'))) x.classList.remove('selected');
    if (!hit) return;
    hit.el.classList.add('selected');
    post({ type: 'reveal', ref: hit.ref });
  },
  showTip(el) {
    const tip = tipOf(el);
    if (!tip?.length) return hideTooltip();
    tooltip.textContent = tip.join('\n');
    tooltip.hidden = false;
    const r = el.getBoundingClientRect();
    tooltip.style.left = `${Math.max(0, Math.min(r.left, window.innerWidth - tooltip.offsetWidth - 4))}px`;
    tooltip.style.top = `${r.bottom + 6 + tooltip.offsetHeight > window.innerHeight ? Math.max(0, r.top - tooltip.offsetHeight - 6) : r.bottom + 6}px`;
  },
  hideTip: hideTooltip,
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    closeMenu();
    filterPanel.hidden = true;
  }
  if (document.activeElement === searchEl || menu.contains(document.activeElement)) return;
  if (e.key === '+' || e.key === '=') viewport.zoomCenter(1.25);
  else if (e.key === '-') viewport.zoomCenter(0.8);
  else if (e.key === '0') fit();
  else if (e.key === '/' ) {
    e.preventDefault();
    searchEl.focus();
  }
});

// ---------------------------------------------------------------- toolbar
function fit(): void {
  if (rendered) viewport.fit(rendered.width, rendered.height);
}
$<HTMLButtonElement>('zoom-in').addEventListener('click', () => viewport.zoomCenter(1.25));
$<HTMLButtonElement>('zoom-out').addEventListener('click', () => viewport.zoomCenter(0.8));
$<HTMLButtonElement>('zoom-reset').addEventListener('click', () => viewport.set({ ...viewport.view, k: 1 }));
$<HTMLButtonElement>('zoom-fit').addEventListener('click', fit);
$<HTMLButtonElement>('export-svg').addEventListener('click', () => {
  if (!rendered) return;
  post({ type: 'export', format: 'svg', data: standaloneSvg(rendered.svg, rendered.width, rendered.height) });
});
$<HTMLButtonElement>('export-png').addEventListener('click', () => {
  if (!rendered) return;
  const r = rendered;
  svgToPngBase64(standaloneSvg(r.svg, r.width, r.height), r.width, r.height)
    .then((data) => post({ type: 'export', format: 'png', data }))
    .catch((e: Error) => post({ type: 'error', message: `PNG export failed: ${e.message}` }));
});

// ---------------------------------------------------------------- messages
window.addEventListener('message', (e: MessageEvent<ToWebview>) => {
  const m = e.data;
  if (m?.type === 'graph') {
    graph = m.graph;
    graphError = m.error;
    scheduleLayout();
  } else if (m?.type === 'relayout') {
    scheduleLayout(0);
  } else if (m?.type === 'traffic') {
    traffic = m.links;
    if (rendered) applyTraffic(layer, graph, traffic);
  }
});

/** For the benchmark page (no extension host): render a graph now and report the times. */
(window as unknown as { tsnetTopology: unknown }).tsnetTopology = {
  async render(g: NetworkGraph) {
    graph = g;
    firstPicture = true;
    return relayout();
  },
};

post({ type: 'ready' });
