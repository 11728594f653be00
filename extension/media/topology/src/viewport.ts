/** Zoom (wheel, around the cursor) and pan (drag) of one <g> inside an <svg>. */
export interface View {
  x: number;
  y: number;
  k: number;
}

export const MIN_ZOOM = 0.01;
export const MAX_ZOOM = 4;
const clamp = (k: number) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, k));

export class Viewport {
  view: View = { x: 0, y: 0, k: 1 };
  /** True while (and right after) a drag moved the picture: the click that ends it is not a click. */
  dragged = false;
  private drag?: { px: number; py: number; x: number; y: number; id: number };

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly layer: SVGGElement,
    private readonly onChange: (view: View) => void,
  ) {
    svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015)));
    }, { passive: false });
    svg.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      this.dragged = false;
      this.drag = { px: e.clientX, py: e.clientY, x: this.view.x, y: this.view.y, id: e.pointerId };
    });
    svg.addEventListener('pointermove', (e) => {
      if (!this.drag || this.drag.id !== e.pointerId) return;
      const dx = e.clientX - this.drag.px;
      const dy = e.clientY - this.drag.py;
      if (!this.dragged && Math.hypot(dx, dy) < 4) return;
      if (!this.dragged) svg.setPointerCapture(e.pointerId);
      this.dragged = true;
      svg.classList.add('panning');
      this.set({ x: this.drag.x + dx, y: this.drag.y + dy, k: this.view.k });
    });
    const end = (e: PointerEvent) => {
      if (!this.drag || this.drag.id !== e.pointerId) return;
      this.drag = undefined;
      svg.classList.remove('panning');
      if (svg.hasPointerCapture(e.pointerId)) svg.releasePointerCapture(e.pointerId);
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
  }

  set(view: View): void {
    this.view = { x: view.x, y: view.y, k: clamp(view.k) };
    this.layer.setAttribute('transform', `translate(${this.view.x.toFixed(1)},${this.view.y.toFixed(1)}) scale(${this.view.k.toFixed(4)})`);
    this.onChange(this.view);
  }

  /** Zoom by factor keeping the screen point (sx, sy) fixed. */
  zoomAt(sx: number, sy: number, factor: number): void {
    const k = clamp(this.view.k * factor);
    const f = k / this.view.k;
    this.set({ x: sx - (sx - this.view.x) * f, y: sy - (sy - this.view.y) * f, k });
  }

  zoomCenter(factor: number): void {
    const r = this.svg.getBoundingClientRect();
    this.zoomAt(r.width / 2, r.height / 2, factor);
  }

  size(): { w: number; h: number } {
    const r = this.svg.getBoundingClientRect();
    return { w: r.width || 800, h: r.height || 600 };
  }

  /** Show the whole picture (never larger than 1:1). */
  fit(width: number, height: number, minZoom = MIN_ZOOM): void {
    const { w, h } = this.size();
    const k = clamp(Math.max(minZoom, Math.min(1, (w - 20) / Math.max(width, 1), (h - 20) / Math.max(height, 1))));
    this.set({ x: Math.max(10, (w - width * k) / 2), y: Math.max(10, (h - height * k) / 2), k });
  }

  /** Put picture point (px, py) at the centre of the screen. */
  centerOn(px: number, py: number, k = this.view.k): void {
    const { w, h } = this.size();
    this.set({ x: w / 2 - px * k, y: h / 2 - py * k, k });
  }

  /** Screen → picture coordinates. */
  toPicture(sx: number, sy: number): { x: number; y: number } {
    return { x: (sx - this.view.x) / this.view.k, y: (sy - this.view.y) / this.view.k };
  }
}
