// The application list: tiles or a table, filtered by project, sync
// status, health and a search over names, kept live by the server's event
// stream (/api/v1/stream/applications; polling every 5 s if the stream
// cannot be opened). Both layouts are virtual lists, so 500 applications
// draw only the rows on screen. Filters live in the address (?sync=...),
// so a filtered list can be bookmarked.

import { h, badge, relTime } from './dom.js';
import { get } from './api.js';
import { VirtualList } from './vlist.js';

const SYNC = ['Synced', 'OutOfSync', 'Unknown'];
const HEALTH = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'];
const TILE_W = 300;
const TILE_ROW_H = 132;
const TABLE_ROW_H = 40;

export const appProject = (a) => (a.spec && a.spec.project) || 'default';
export const appSync = (a) => (a.status && a.status.sync && a.status.sync.status) || 'Unknown';
export const appHealth = (a) => (a.status && a.status.health && a.status.health.status) || 'Unknown';
function appSource(a) {
  const s = (a.spec && (a.spec.source || (a.spec.sources && a.spec.sources[0]))) || {};
  return [s.repoURL || '', s.path || s.chart || '', s.targetRevision || 'HEAD'];
}
function appDest(a) {
  const d = (a.spec && a.spec.destination) || {};
  return `${d.name || d.server || ''}${d.namespace ? ` / ${d.namespace}` : ''}`;
}

export function appListView(main, { navigate }) {
  const params = new URLSearchParams(location.search);
  const state = {
    apps: new Map(),
    q: params.get('q') || '',
    proj: params.get('proj') || '',
    sync: params.get('sync') || '',
    health: params.get('health') || '',
    view: params.get('view') || localStorage.getItem('edgecd-list-view') || 'tiles',
  };
  let stream = null;
  let poll = null;
  let frame = 0;
  let closed = false;

  const select = (label, key, values) => h('select', {
    'aria-label': label,
    onchange: (e) => { state[key] = e.target.value; update(); },
  }, h('option', { value: '' }, `${label}: all`), values.map((v) => h('option', { value: v, selected: state[key] === v }, v)));
  const search = h('input.search', { type: 'search', placeholder: 'Search applications', 'aria-label': 'Search applications', value: state.q,
    oninput: (e) => { state.q = e.target.value; update(); } });
  const projSel = h('select', { 'aria-label': 'Project', onchange: (e) => { state.proj = e.target.value; update(); } });
  const viewBtn = (v, text) => h('button.btn', { type: 'button', 'aria-pressed': String(state.view === v), dataset: { view: v },
    onclick: () => { state.view = v; localStorage.setItem('edgecd-list-view', v); layout(); update(); } }, text);
  const count = h('span.count', { 'aria-live': 'polite' });
  const status = h('p.error', { role: 'alert' });
  const body = h('div.list-body');
  main.appendChild(h('section.apps', null,
    h('div.toolbar', null, search, projSel, select('Sync', 'sync', SYNC), select('Health', 'health', HEALTH),
      h('span.spacer'), count, h('div.seg', { role: 'group', 'aria-label': 'Layout' }, viewBtn('tiles', 'Tiles'), viewBtn('table', 'Table'))),
    status, body));

  const tableHead = h('div.trow.thead', { role: 'row' },
    ['Name', 'Project', 'Sync', 'Health', 'Source', 'Destination', 'Last sync'].map((c) => h('span', { role: 'columnheader' }, c)));
  let cols = 1;
  const vl = new VirtualList({
    rowHeight: TABLE_ROW_H,
    label: 'Applications',
    renderRow: (item) => (state.view === 'table' ? tableRow(item) : tileRow(item)),
  });
  body.appendChild(vl.el);

  function tableRow(a) {
    const [repo, path, rev] = appSource(a);
    const name = a.metadata.name;
    return h('a.trow.app-row', { href: `/applications/${encodeURIComponent(name)}`, 'data-nav': true, dataset: { app: name } },
      h('span.name', { title: name }, name),
      h('span', null, appProject(a)),
      h('span', null, badge(appSync(a), 'Sync')),
      h('span', null, badge(appHealth(a), 'Health')),
      h('span.mono', { title: `${repo} ${path} @ ${rev}` }, `${path} @ ${rev}`),
      h('span', null, appDest(a)),
      h('span', null, relTime(a.status && a.status.operationState && a.status.operationState.finishedAt)));
  }

  function tile(a) {
    const [repo, path, rev] = appSource(a);
    const name = a.metadata.name;
    return h('a.tile.app-row', { href: `/applications/${encodeURIComponent(name)}`, 'data-nav': true, dataset: { app: name } },
      h('div.tile-head', null, h('span.name', { title: name }, name), h('span.proj', null, appProject(a))),
      h('div.tile-status', null, badge(appSync(a), 'Sync'), badge(appHealth(a), 'Health')),
      h('div.mono.small', { title: repo }, repo),
      h('div.small', null, `${path} @ ${rev} → ${appDest(a)}`));
  }

  function tileRow(group) {
    const row = h('div.tile-row');
    row.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
    group.forEach((a) => row.appendChild(tile(a)));
    return row;
  }

  function layout() {
    vl.rowHeight = state.view === 'table' ? TABLE_ROW_H : TILE_ROW_H;
    vl.el.classList.toggle('table', state.view === 'table');
    if (state.view === 'table') body.insertBefore(tableHead, vl.el);
    else tableHead.remove();
    main.querySelectorAll('.seg button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.view === state.view)));
  }

  function filtered() {
    const q = state.q.trim().toLowerCase();
    return [...state.apps.values()].filter((a) => (!state.proj || appProject(a) === state.proj) &&
      (!state.sync || appSync(a) === state.sync) &&
      (!state.health || appHealth(a) === state.health) &&
      (!q || a.metadata.name.toLowerCase().includes(q) || appSource(a)[0].toLowerCase().includes(q)))
      .sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : x.metadata.name > y.metadata.name ? 1 : 0));
  }

  function update() {
    const p = new URLSearchParams();
    for (const k of ['q', 'proj', 'sync', 'health']) if (state[k]) p.set(k, state[k]);
    const qs = p.toString();
    history.replaceState(null, '', `/applications${qs ? `?${qs}` : ''}`);
    const projects = [...new Set([...state.apps.values()].map(appProject))].sort();
    const cur = [...projSel.options].map((o) => o.value).join('\n');
    if (cur !== ['', ...projects].join('\n')) {
      projSel.replaceChildren(h('option', { value: '' }, 'Project: all'),
        projects.map((v) => h('option', { value: v, selected: state.proj === v }, v)));
    }
    const list = filtered();
    count.textContent = `${list.length} of ${state.apps.size} applications`;
    if (state.view === 'table') {
      vl.setItems(list);
    } else {
      cols = Math.max(1, Math.floor((vl.el.clientWidth || window.innerWidth) / TILE_W));
      const groups = [];
      for (let i = 0; i < list.length; i += cols) groups.push(list.slice(i, i + cols));
      vl.setItems(groups);
    }
  }

  // Redraws after stream events are batched into one per frame.
  function schedule() {
    if (!frame) frame = requestAnimationFrame(() => { frame = 0; update(); });
  }

  let lastWidth = 0;
  const ro = new ResizeObserver(() => {
    const w = vl.el.clientWidth;
    if (state.view === 'tiles' && w && Math.floor(w / TILE_W) !== Math.floor(lastWidth / TILE_W)) schedule();
    lastWidth = w;
  });
  ro.observe(vl.el);

  async function load() {
    try {
      const r = await get('/applications');
      state.apps = new Map((r.items || []).map((a) => [a.metadata.name, a]));
      status.textContent = '';
      update();
    } catch (e) {
      status.textContent = e.message;
    }
  }

  function startPolling() {
    if (!poll && !closed) poll = setInterval(load, 5000);
  }

  function openStream() {
    stream = new EventSource('/api/v1/stream/applications');
    stream.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data).result; } catch { return; }
      if (!m || !m.application || !m.application.metadata) return;
      if (m.type === 'DELETED') state.apps.delete(m.application.metadata.name);
      else state.apps.set(m.application.metadata.name, m.application);
      schedule();
    };
    stream.onerror = () => {
      // EventSource retries by itself; once it gives up (CLOSED), poll.
      if (stream.readyState === EventSource.CLOSED) {
        stream = null;
        startPolling();
      }
    };
    stream.onopen = () => { if (poll) { clearInterval(poll); poll = null; load(); } };
  }

  layout();
  load().then(() => { if (!closed) openStream(); });

  // Arrow keys move between rows of the list.
  vl.el.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const rows = [...vl.el.querySelectorAll('.app-row')];
    const i = rows.indexOf(document.activeElement);
    const step = state.view === 'table' ? 1 : cols;
    const next = rows[i + (e.key === 'ArrowDown' ? step : -step)];
    if (next) { e.preventDefault(); next.focus(); next.scrollIntoView({ block: 'nearest' }); }
  });

  return () => {
    closed = true;
    if (stream) stream.close();
    if (poll) clearInterval(poll);
    if (frame) cancelAnimationFrame(frame);
    ro.disconnect();
    vl.destroy();
  };
}
