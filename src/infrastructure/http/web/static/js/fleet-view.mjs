/**
 * The fleet as a table or as cards, keyed by worker id, windowed: only the workers
 * in (and just around) the viewport have elements, so a fleet of thousands costs
 * what a screenful costs. Rows have a fixed height; a spacer keeps the scroll height
 * of the whole list.
 *
 * A change repaints only the affected worker's element (if it is on screen), at the
 * next animation frame, writing only the parts whose value changed. The order is
 * recomputed only when a change moves a worker in the sort order or in or out of the
 * filter. `naive: true` renders every worker and re-renders everything on every
 * change: the benchmark's baseline.
 */

import { matches, NO_FILTER, sortKey, visibleWorkers } from './filters.mjs';
import { createItem, paintIdle, paintItem, paintScheduled } from './paint.mjs';

const PITCH = { table: 50, cards: 214 };  // px per row of items (fixed, see app.css)
const CARD_MIN_WIDTH = 280;
const CARD_GAP = 12;
const OVERSCAN = 8;  // rows rendered beyond each edge of the viewport

export class FleetView {
  constructor({ fleet, table, rows, cards, empty, rowTemplate, cardTemplate, role, now, naive = false,
    stats = { paints: 0, paintMs: 0 }, nextAction = () => '' }) {
    Object.assign(this, { fleet, table, rows, cards, empty, role, now, naive, stats, nextAction });
    this.templates = { table: rowTemplate.content.firstElementChild,
      cards: cardTemplate.content.firstElementChild };
    this.layout = 'table';
    this.filter = NO_FILTER;
    this.sort = { key: 'name', descending: false };
    this.order = [];  // ids shown, in order
    this.keys = new Map();  // id -> sort key, for the ids in `order`
    this.range = [0, 0];  // indices of `order` that have elements
    this.items = new Map();  // id -> element and its painted parts
    this.counting = new Set();  // ids whose element shows a countdown
    this.dirty = new Set();
    this.frame = 0;
    this.scrollFrame = 0;
    this.onPainted = () => {};
    const onScroll = () => { this.scrollFrame ||= requestAnimationFrame(() => this._scrolled()); };
    addEventListener('scroll', onScroll, { passive: true });
    addEventListener('resize', onScroll);
  }

  get parent() {
    return this.layout === 'table' ? this.rows : this.cards;
  }

  setLayout(layout) {
    this.layout = layout;
    this.table.hidden = layout !== 'table';
    this.cards.hidden = layout !== 'cards';
    this.renderAll();
  }

  setFilter(filter) {
    this.filter = filter;
    this.renderAll();
  }

  setSort(sort) {
    this.sort = sort;
    this.renderAll();
  }

  /** Order and render afresh (start, resync, filter, sort or layout). */
  renderAll() {
    const started = performance.now();
    this.items.clear();
    this.counting.clear();
    this.dirty.clear();
    this.rows.replaceChildren();
    this.cards.replaceChildren();
    this._order();
    this._render(this.now());
    this._painted(started);
  }

  /** These workers changed: repaint them at the next frame. */
  changed(ids) {
    if (this.naive) {
      this.renderAll();
      return;
    }
    for (const id of ids) this.dirty.add(id);
    this.frame ||= requestAnimationFrame(() => this.flush());
  }

  flush() {
    const started = performance.now();
    this.frame = 0;
    const now = this.now();
    if ([...this.dirty].some((id) => this._moved(id))) {
      this._order();
      this._render(now);
    }
    for (const id of this.dirty) {
      const item = this.items.get(id);
      const w = this.fleet.get(id);
      if (item !== undefined && w !== undefined) this._paint(item, w, now);
    }
    this.dirty.clear();
    this._painted(started);
  }

  /** Once a second: move the countdowns on screen on (and the schedules' lines). */
  tick() {
    const now = this.now();
    for (const id of this.counting) {
      const item = this.items.get(id);
      const w = this.fleet.get(id);
      if (item !== undefined && w !== undefined && !paintIdle(item, w, now)) this.counting.delete(id);
    }
    this.schedulesChanged(now);
  }

  /** Repaint the next scheduled action of the workers on screen (a schedule changed). */
  schedulesChanged(now = this.now()) {
    for (const [id, item] of this.items) {
      const w = this.fleet.get(id);
      if (w !== undefined && (w.schedule || item.painted.scheduled)) {
        paintScheduled(item, this.nextAction(w, now));
      }
    }
  }

  /** Whether a change moves the worker: in or out of the filter, or in the sort order. */
  _moved(id) {
    const w = this.fleet.get(id);
    const show = w !== undefined && matches(w, this.filter);
    if (show !== this.keys.has(id)) return true;
    return show && sortKey(w, this.sort) !== this.keys.get(id);
  }

  _order() {
    const list = visibleWorkers(this.fleet.all(), this.filter, this.sort);
    this.order = list.map((w) => w.id);
    this.keys = new Map(list.map((w) => [w.id, sortKey(w, this.sort)]));
  }

  _scrolled() {
    this.scrollFrame = 0;
    if (this.naive) return;
    const [first, last] = this._visibleRange();
    if (first !== this.range[0] || last !== this.range[1]) this._render(this.now());
  }

  _columns() {
    if (this.layout === 'table') return 1;
    const width = this.cards.clientWidth || innerWidth;
    return Math.max(1, Math.floor((width + CARD_GAP) / (CARD_MIN_WIDTH + CARD_GAP)));
  }

  /** Indices of `order` to render: the viewport's rows and `OVERSCAN` rows around. */
  _visibleRange() {
    if (this.naive) return [0, this.order.length];
    const columns = this._columns();
    const pitch = PITCH[this.layout];
    const top = this.parent.getBoundingClientRect().top;
    const firstRow = Math.max(0, Math.floor(-top / pitch) - OVERSCAN);
    const lastRow = Math.max(0, Math.ceil((innerHeight - top) / pitch) + OVERSCAN);
    return [Math.min(this.order.length, firstRow * columns), Math.min(this.order.length, lastRow * columns)];
  }

  /** Give the workers in range elements, in order; drop the others'. */
  _render(now) {
    this.range = this._visibleRange();
    const [first, last] = this.range;
    const wanted = new Set(this.order.slice(first, last));
    for (const [id, item] of this.items) {
      if (wanted.has(id)) continue;
      item.el.remove();
      this.items.delete(id);
      this.counting.delete(id);
    }
    const parent = this.parent;
    let cursor = parent.firstElementChild;
    for (let index = first; index < last; index += 1) {
      const item = this.items.get(this.order[index]) ?? this._create(this.order[index], now);
      item.el.setAttribute('aria-rowindex', String(index + 2));  // the header row is 1
      if (item.el === cursor) cursor = cursor.nextElementSibling;
      else parent.insertBefore(item.el, cursor);
    }
    this._spacer(first);
    this._empty();
  }

  _spacer(first) {
    const columns = this._columns();
    const pitch = this.naive ? 0 : PITCH[this.layout];
    this.parent.style.setProperty('--columns', String(columns));
    this.parent.style.paddingTop = `${(first / columns) * pitch}px`;
    this.parent.style.height = pitch ? `${Math.ceil(this.order.length / columns) * pitch}px` : '';
    this.table.setAttribute('aria-rowcount', String(this.order.length + 1));
  }

  _create(id, now) {
    const item = createItem(this.templates[this.layout], id);
    this._paint(item, this.fleet.get(id), now);
    this.items.set(id, item);
    return item;
  }

  _paint(item, w, now) {
    paintItem(item, w, this.role, now);
    paintScheduled(item, this.nextAction(w, now));
    if (w.idle_detection_enabled && w.auto_pause_due_at) this.counting.add(w.id);
    else this.counting.delete(w.id);
  }

  _painted(started) {
    this.stats.paints += 1;
    this.stats.paintMs += performance.now() - started;
    this.onPainted();
  }

  _empty() {
    const none = this.order.length === 0;
    this.empty.hidden = !none || !this.fleet.ready;
    if (none) {
      const any = this.fleet.workers.size > 0;
      this.empty.textContent = any ? 'No worker matches these filters.' : 'No workers yet.';
    }
  }
}
