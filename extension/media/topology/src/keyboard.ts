/**
 * Keyboard use of the picture: one tab stop (roving tabindex) for the whole picture; inside it Tab
 * and Shift+Tab walk every node and edge in reading order (leaving the picture at either end), the
 * arrow keys move to the nearest item in that direction, Home/End to the first/last, Enter (or
 * Shift+F10 / the context-menu key) opens the item's context actions, Space reveals it in the tree.
 * The focused item is scrolled into view and its details shown as the tooltip.
 */
export interface KeyboardHooks {
  /** Bring an item into view (picture coordinates are the viewport's business). */
  ensureVisible(el: SVGGElement): void;
  openMenu(el: SVGGElement): void;
  reveal(el: SVGGElement): void;
  showTip(el: SVGGElement): void;
  hideTip(): void;
}

const FOCUSABLE = '[tabindex]';
type Dir = 'left' | 'right' | 'up' | 'down';
const ARROWS: Record<string, Dir> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };

/** The key an item keeps across redraws (the picture is re-rendered on every change). */
function itemKey(el: Element): string | undefined {
  return el.getAttribute('data-part') ?? el.getAttribute('data-edge-id') ?? undefined;
}

function centre(el: Element): { x: number; y: number } {
  const r = el.getBoundingClientRect();
  return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
}

/** Nodes and edges sorted top-to-bottom, left-to-right as drawn now. */
function readingOrder(items: SVGGElement[]): SVGGElement[] {
  const at = new Map(items.map((el) => [el, centre(el)]));
  return [...items].sort((a, b) => {
    const p = at.get(a)!;
    const q = at.get(b)!;
    return Math.abs(p.y - q.y) > 6 ? p.y - q.y : p.x - q.x;
  });
}

/** The item nearest to `from` in direction `dir` (within a 60° cone either side), if any. */
export function nearestInDirection(from: { x: number; y: number }, candidates: { x: number; y: number }[], dir: Dir): number {
  let best = -1;
  let bestScore = Infinity;
  candidates.forEach((c, i) => {
    const dx = c.x - from.x;
    const dy = c.y - from.y;
    const along = dir === 'right' ? dx : dir === 'left' ? -dx : dir === 'down' ? dy : -dy;
    const across = Math.abs(dir === 'left' || dir === 'right' ? dy : dx);
    if (along <= 1 || across > along * 1.8) return;
    const score = along + 2 * across;
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}

export class KeyboardNav {
  private currentKey: string | undefined;

  constructor(private readonly layer: SVGGElement, private readonly hooks: KeyboardHooks) {
    // Chromium makes the SVG group itself a tab stop; only the items are.
    layer.setAttribute('tabindex', '-1');
    layer.addEventListener('keydown', (e) => this.onKey(e));
    layer.addEventListener('focusin', (e) => {
      const el = (e.target as Element).closest<SVGGElement>(FOCUSABLE);
      if (!el || el === this.layer) return;
      this.makeCurrent(el);
      hooks.showTip(el);
    });
    layer.addEventListener('focusout', () => hooks.hideTip());
  }

  private items(): SVGGElement[] {
    return Array.from(this.layer.querySelectorAll<SVGGElement>(FOCUSABLE));
  }

  /** After a redraw: the same item keeps the tab stop (and focus, if it had it); else the first. */
  afterRender(hadFocus: boolean): void {
    const items = this.items();
    if (!items.length) return;
    const again = this.currentKey ? items.find((el) => itemKey(el) === this.currentKey) : undefined;
    const target = again ?? readingOrder(items)[0];
    this.makeCurrent(target);
    if (hadFocus) target.focus({ preventScroll: true });
  }

  /** Whether focus is inside the picture (checked before a redraw replaces the elements). */
  hasFocus(): boolean {
    return this.layer.contains(document.activeElement);
  }

  private makeCurrent(el: SVGGElement): void {
    for (const other of Array.from(this.layer.querySelectorAll<SVGGElement>('[tabindex="0"]'))) if (other !== el) other.setAttribute('tabindex', '-1');
    el.setAttribute('tabindex', '0');
    this.currentKey = itemKey(el);
  }

  private move(to: SVGGElement | undefined): void {
    if (!to) return;
    this.makeCurrent(to);
    this.hooks.ensureVisible(to);
    to.focus({ preventScroll: true });
  }

  private onKey(e: KeyboardEvent): void {
    const el = (e.target as Element).closest<SVGGElement>(FOCUSABLE);
    if (!el || el === this.layer) return;
    const dir = ARROWS[e.key];
    if (dir) {
      e.preventDefault();
      e.stopPropagation();
      const others = this.items().filter((x) => x !== el);
      const i = nearestInDirection(centre(el), others.map(centre), dir);
      this.move(others[i]);
    } else if (e.key === 'Tab') {
      const order = readingOrder(this.items());
      const i = order.indexOf(el) + (e.shiftKey ? -1 : 1);
      if (i < 0 || i >= order.length) return; // leave the picture
      e.preventDefault();
      this.move(order[i]);
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const order = readingOrder(this.items());
      this.move(e.key === 'Home' ? order[0] : order[order.length - 1]);
    } else if (e.key === 'Enter' || e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      e.preventDefault();
      e.stopPropagation();
      this.hooks.openMenu(el);
    } else if (e.key === ' ') {
      e.preventDefault();
      this.hooks.reveal(el);
    }
  }
}
