// A virtual list: only the rows on screen (plus a small margin) exist in
// the document, positioned inside a spacer as tall as all rows together.
// Rows have one fixed height, so the visible range is arithmetic and a
// list of 500 apps or 2,000 resources costs the same to draw as one of 30.
// renderRow(item, index) returns a fresh element; rows are rebuilt only
// when the visible range or the items change.

import { h, clear } from './dom.js';

export class VirtualList {
  constructor({ rowHeight, renderRow, className = '', overscan = 6, label = '' }) {
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.overscan = overscan;
    this.items = [];
    this.first = -1;
    this.last = -1;
    this.inner = h('div.vlist-inner', { role: 'presentation' });
    this.el = h('div.vlist', { class: className, tabindex: '-1', role: 'list', 'aria-label': label }, this.inner);
    this.el.addEventListener('scroll', () => this.draw(), { passive: true });
    this.resizeObs = new ResizeObserver(() => this.draw());
    this.resizeObs.observe(this.el);
  }

  setItems(items) {
    this.items = items;
    this.first = -1;
    this.inner.style.height = `${items.length * this.rowHeight}px`;
    this.draw();
  }

  // Rows to draw: those in view, or (before layout) enough for a screen.
  range() {
    const viewH = this.el.clientHeight || window.innerHeight;
    const top = this.el.scrollTop;
    const first = Math.max(0, Math.floor(top / this.rowHeight) - this.overscan);
    const last = Math.min(this.items.length, Math.ceil((top + viewH) / this.rowHeight) + this.overscan);
    return [first, last];
  }

  draw() {
    const [first, last] = this.range();
    if (first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    // Rows are rebuilt when data changes (a live update every few
    // seconds): the row that had the focus gets it back, so a keyboard
    // user is not thrown out of the list.
    const active = document.activeElement;
    const focused = active && this.inner.contains(active) ? active.closest('.vrow') : null;
    const focusAt = focused ? Number(focused.dataset.vindex) : -1;
    const focusSub = focused ? [...focused.querySelectorAll('a, button')].indexOf(active) : -1;
    const frag = document.createDocumentFragment();
    let refocus = null;
    for (let i = first; i < last; i++) {
      const row = this.renderRow(this.items[i], i);
      row.style.transform = `translateY(${i * this.rowHeight}px)`;
      row.style.height = `${this.rowHeight}px`;
      row.classList.add('vrow');
      row.setAttribute('role', 'listitem');
      row.dataset.vindex = String(i);
      if (i === focusAt) refocus = row;
      frag.appendChild(row);
    }
    clear(this.inner).appendChild(frag);
    if (refocus) {
      const target = focusSub >= 0 ? refocus.querySelectorAll('a, button')[focusSub] : refocus;
      if (target) target.focus({ preventScroll: true });
    }
  }

  // Bring row i into view (keyboard navigation).
  scrollTo(i) {
    const top = i * this.rowHeight;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + this.rowHeight > this.el.scrollTop + this.el.clientHeight) {
      this.el.scrollTop = top + this.rowHeight - this.el.clientHeight;
    }
    this.draw();
  }

  destroy() { this.resizeObs.disconnect(); }
}
