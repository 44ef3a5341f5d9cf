// Building the page without HTML strings. Every text that comes from the
// API (names, annotations, messages, YAML) reaches the document through
// createTextNode or textContent, so markup in it is shown as text and can
// never run: nothing in the UI assigns innerHTML.

// h('div.row.active', {onclick, title, ...}, child, ...): an element. A
// child is a Node, a string (a text node), null/false (skipped) or an
// array of those. Attributes starting with "on" become listeners;
// "dataset" and "style" objects are applied property by property (the
// CSP allows style properties set from script, not style attributes).
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style') Object.assign(el.style, v);
      else if (k === 'class') el.className += (el.className ? ' ' : '') + v;
      else if (k === 'value' || k === 'checked') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A small status badge: the CSS class carries the colour, the text says it.
export function badge(status, kind) {
  const s = status || 'Unknown';
  return h('span.badge', { class: `st-${s.toLowerCase()}`, title: kind ? `${kind}: ${s}` : s },
    h('span.dot', { 'aria-hidden': 'true' }), s);
}

export function relTime(iso) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
