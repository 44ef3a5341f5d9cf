// One application: its status, the resource tree (the app, the resources
// it manages, and their live children such as ReplicaSets and Pods, read
// from /resource-tree and refreshed every few seconds while the view is
// open), a side panel per resource (live YAML, desired YAML, the diff with
// ignored fields marked, events, and pod logs), the sync dialog, history
// with rollback, events, refresh and hard refresh. The tree is flattened
// into rows of one height and drawn as a virtual list, so an application
// with 2,000 resources stays as quick as one with 20. Write controls are
// only drawn when /account/can-i says the user may use them.

import { h, clear, badge, relTime } from './dom.js';
import { get, post, del, enc, canI, streamLines, ApiError } from './api.js';
import { VirtualList } from './vlist.js';
import { dialog, confirmDialog, field, sidePanel, toast } from './dialog.js';
import { toYaml } from './yaml.js';
import { appProject, appSync, appHealth } from './apps.js';

const ROW_H = 36;
const REFRESH_MS = 3000;

const resKey = (r) => `${r.group || ''}/${r.kind}/${r.namespace || ''}/${r.name}`;
const KIND_ABBR = { Deployment: 'deploy', ReplicaSet: 'rs', Pod: 'pod', Service: 'svc', ConfigMap: 'cm', Secret: 'secret',
  Namespace: 'ns', StatefulSet: 'sts', DaemonSet: 'ds', Job: 'job', CronJob: 'cj', Ingress: 'ing',
  ServiceAccount: 'sa', PersistentVolumeClaim: 'pvc', Endpoints: 'ep', EndpointSlice: 'eps' };

// The tree as rows: managed resources at depth 1 (in Argo CD's kind
// order is not needed here: by kind then name), each followed by its
// live children, found through parentRefs. A child reachable twice is
// drawn once.
export function flattenTree(app, managed, treeNodes) {
  const byKey = new Map();
  for (const n of treeNodes) byKey.set(resKey(n), { ...n, children: [] });
  const roots = [];
  for (const r of managed) {
    const k = resKey(r);
    const node = byKey.get(k) || { group: r.group, kind: r.kind, namespace: r.namespace, name: r.name, children: [] };
    node.managed = r;
    byKey.set(k, node);
    roots.push(node);
  }
  const byUid = new Map();
  for (const n of byKey.values()) if (n.uid) byUid.set(n.uid, n);
  for (const n of byKey.values()) {
    if (n.managed) continue;
    for (const p of n.parentRefs || []) {
      const parent = (p.uid && byUid.get(p.uid)) || byKey.get(resKey(p));
      if (parent) { parent.children.push(n); break; }
    }
  }
  const cmp = (a, b) => (a.kind + a.name < b.kind + b.name ? -1 : a.kind + a.name > b.kind + b.name ? 1 : 0);
  roots.sort(cmp);
  const rows = [{ depth: 0, app: true, kind: 'Application', name: app.metadata.name }];
  const seen = new Set();
  const walk = (n, depth) => {
    const k = resKey(n);
    if (seen.has(k)) return;
    seen.add(k);
    rows.push({ ...n, depth });
    n.children.sort(cmp).forEach((c) => walk(c, depth + 1));
  };
  roots.forEach((n) => walk(n, 1));
  return rows;
}

export function appDetailView(main, name, { navigate }) {
  let app = null;
  let managedItems = null; // from /managed-resources, loaded on demand
  let treeNodes = [];
  let rows = [];
  let timer = null;
  let closed = false;
  let tab = 'tree';
  let filterText = '';
  let perms = { sync: false, del: false };
  let treeMissing = false;

  const title = h('h1.app-title', null, name);
  const statusLine = h('div.app-status');
  const info = h('dl.app-info');
  const actions = h('div.actions');
  const err = h('p.error', { role: 'alert' });
  const tabsEl = h('div.tabs', { role: 'tablist' });
  const content = h('div.tab-content');
  main.appendChild(h('section.app-detail', null,
    h('nav.crumbs', { 'aria-label': 'Breadcrumb' }, h('a', { href: '/applications', 'data-nav': true }, 'Applications'), ' / ', name),
    h('div.app-head', null, h('div', null, title, statusLine), actions), info, err, tabsEl, content));

  const filter = h('input.search', { type: 'search', placeholder: 'Filter resources by kind or name', 'aria-label': 'Filter resources',
    oninput: (e) => { filterText = e.target.value.toLowerCase(); drawTree(); } });
  const treeCount = h('span.count');
  const vl = new VirtualList({ rowHeight: ROW_H, label: 'Resources', className: 'tree', renderRow: treeRow });
  const treePane = h('div.tree-pane', null, h('div.toolbar', null, filter, h('span.spacer'), treeCount), vl.el);

  function treeRow(r) {
    const m = r.managed;
    const health = r.app ? appHealth(app) : (r.health && r.health.status) || (m && m.health && m.health.status) || '';
    const sync = r.app ? appSync(app) : m ? m.status : '';
    const row = h('button.tree-row', { type: 'button', dataset: { kind: r.kind, name: r.name, depth: String(r.depth) },
      onclick: () => (r.app ? null : openResource(r)) },
    h('span.indent', { 'aria-hidden': 'true' }),
    h('span.kind', { title: r.kind }, KIND_ABBR[r.kind] || r.kind.toLowerCase()),
    h('span.name', { title: r.name }, r.name),
    h('span.ns', null, r.namespace || ''),
    h('span.st', null, sync ? badge(sync, 'Sync') : null),
    h('span.st', null, health ? badge(health, 'Health') : null),
    h('span.info', null, (r.info || []).map((i) => `${i.name}: ${i.value}`).join(' · ')));
    row.firstChild.style.width = `${r.depth * 20}px`;
    return row;
  }

  function drawTree() {
    if (!app) return;
    const managed = (app.status && app.status.resources) || [];
    rows = flattenTree(app, managed, treeNodes);
    const shown = filterText ? rows.filter((r) => r.app || `${r.kind} ${r.name}`.toLowerCase().includes(filterText)) : rows;
    treeCount.textContent = `${rows.length - 1} resources${treeMissing ? ' (live children not available from this server)' : ''}`;
    vl.setItems(shown);
  }

  function drawHead() {
    const op = (app.status && app.status.operationState) || {};
    const src = app.spec.source || (app.spec.sources && app.spec.sources[0]) || {};
    const dst = app.spec.destination || {};
    clear(statusLine).append(badge(appSync(app), 'Sync'), badge(appHealth(app), 'Health'),
      op.phase ? h('span.op', { title: op.message || '' }, `Last sync: ${op.phase}${op.finishedAt ? ` ${relTime(op.finishedAt)}` : ''}`) : '');
    const rev = (app.status && app.status.sync && app.status.sync.revision) || '';
    const dd = (k, v, cls) => [h('dt', null, k), h('dd', { class: cls || '' }, v)];
    clear(info).append(...[
      dd('Project', appProject(app)),
      dd('Repository', src.repoURL || '', 'mono'),
      dd('Path', `${src.path || src.chart || ''} @ ${src.targetRevision || 'HEAD'}`, 'mono'),
      dd('Revision', rev.slice(0, 12), 'mono'),
      dd('Destination', `${dst.name || dst.server || ''} / ${dst.namespace || ''}`),
      op.message ? dd('Message', op.message) : [],
      (app.status.conditions || []).map((c) => dd(c.type, c.message, 'error')),
    ].flat(2));
  }

  function drawActions() {
    const btn = (text, fn, cls) => h('button.btn', { type: 'button', onclick: fn, class: cls || '' }, text);
    clear(actions).append(...[
      btn('Refresh', () => refresh('normal')),
      btn('Hard refresh', () => refresh('hard')),
      perms.sync ? btn('Sync', syncDialog, 'primary') : null,
      perms.del ? btn('Delete', deleteDialog, 'danger') : null,
    ].filter(Boolean));
  }

  function drawTabs() {
    const t = (id, text) => h('button.tab', { type: 'button', role: 'tab', 'aria-selected': String(tab === id), onclick: () => { tab = id; drawTabs(); drawContent(); } }, text);
    clear(tabsEl).append(t('tree', 'Resources'), t('history', 'History'), t('events', 'Events'));
  }

  async function drawContent() {
    clear(content);
    if (tab === 'tree') { content.appendChild(treePane); vl.draw(); drawTree(); return; }
    if (tab === 'history') return historyTab();
    if (tab === 'events') return eventsTab(content, `/applications/${enc(name)}/events`);
  }

  async function historyTab() {
    const box = h('div.history', null, 'Loading…');
    content.appendChild(box);
    try {
      const r = await get(`/applications/${enc(name)}/history`);
      const items = (r.items || []).slice().reverse();
      const current = app.status.sync.revision;
      clear(box).appendChild(items.length ? h('table.grid', null,
        h('thead', null, h('tr', null, ['ID', 'Revision', 'Deployed', 'Initiated by', ''].map((c) => h('th', null, c)))),
        h('tbody', null, items.map((it, i) => h('tr', { dataset: { id: String(it.id) } },
          h('td', null, String(it.id)),
          h('td.mono', { title: it.revision }, it.revision.slice(0, 12)),
          h('td', { title: it.deployedAt }, relTime(it.deployedAt)),
          h('td', null, it.initiatedBy || ''),
          h('td', null, perms.sync && !(i === 0 && it.revision === current)
            ? h('button.btn', { type: 'button', onclick: () => rollbackDialog(it) }, 'Rollback') : null))))) : h('p', null, 'No syncs yet.'));
    } catch (e) { clear(box).appendChild(h('p.error', null, e.message)); }
  }

  function rollbackDialog(it) {
    const prune = h('input', { type: 'checkbox' });
    dialog({
      title: `Roll back ${name}`,
      body: h('div', null, h('p', null, `Sync ${name} to revision ${it.revision.slice(0, 12)} (history entry ${it.id})? Automated sync must be off for the rollback to stay.`),
        h('label.check', null, prune, 'Prune resources that are not in that revision')),
      submitLabel: 'Rollback',
      onSubmit: async () => {
        await post(`/applications/${enc(name)}/rollback`, { id: it.id, prune: prune.checked });
        toast(`Rolling back ${name} to ${it.revision.slice(0, 12)}`);
        setTimeout(load, 500);
      },
    });
  }

  function syncDialog() {
    const prune = h('input', { type: 'checkbox', name: 'prune' });
    const dry = h('input', { type: 'checkbox', name: 'dryRun' });
    const oos = h('input', { type: 'checkbox', name: 'applyOutOfSyncOnly' });
    const managed = (app.status && app.status.resources) || [];
    const boxes = managed.map((r) => ({ r, box: h('input', { type: 'checkbox', checked: true, dataset: { res: `${r.kind}/${r.namespace || ''}/${r.name}` } }) }));
    const all = h('input', { type: 'checkbox', checked: true, name: 'all', onchange: (e) => boxes.forEach((b) => { b.box.checked = e.target.checked; }) });
    dialog({
      title: `Sync ${name}`,
      body: h('div.sync-form', null,
        h('label.check', null, prune, 'Prune (delete resources no longer in Git)'),
        h('label.check', null, dry, 'Dry run (check with the cluster, change nothing)'),
        h('label.check', null, oos, 'Apply out-of-sync resources only'),
        h('fieldset', null, h('legend', null, h('label.check', null, all, `Resources (${managed.length})`)),
          h('div.res-list', null, boxes.map(({ r, box }) => h('label.check', null, box, `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`, ' ', badge(r.status)))))),
      submitLabel: 'Synchronize',
      onSubmit: async () => {
        const body = { prune: prune.checked, dryRun: dry.checked };
        const chosen = boxes.filter((b) => b.box.checked).map(({ r }) => ({ group: r.group || '', kind: r.kind, name: r.name, namespace: r.namespace || '' }));
        if (!chosen.length && managed.length) throw new Error('select at least one resource');
        if (chosen.length !== managed.length) body.resources = chosen;
        if (oos.checked) body.syncOptions = { items: ['ApplyOutOfSyncOnly=true'] };
        await post(`/applications/${enc(name)}/sync`, body);
        toast(dry.checked ? `Dry run of ${name} started` : `Sync of ${name} started`);
        setTimeout(load, 500);
      },
    });
  }

  function deleteDialog() {
    const cascade = h('input', { type: 'checkbox', checked: true });
    dialog({
      title: `Delete ${name}`,
      body: h('div', null, h('p', null, `Delete the application ${name}?`), h('label.check', null, cascade, 'Also delete the resources it manages (cascade)')),
      submitLabel: 'Delete',
      danger: true,
      onSubmit: async () => {
        await del(`/applications/${enc(name)}${cascade.checked ? '' : '?cascade=false'}`);
        toast(`${name} deleted`);
        navigate('/applications');
      },
    });
  }

  async function refresh(kind) {
    try {
      app = await get(`/applications/${enc(name)}?refresh=${kind}`);
      toast(kind === 'hard' ? 'Hard refresh requested' : 'Refresh requested');
      drawAll();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function loadManaged() {
    try {
      managedItems = (await get(`/applications/${enc(name)}/managed-resources`)).items || [];
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      managedItems = null;
    }
    return managedItems;
  }

  // The side panel of one resource. Managed resources have desired state
  // and a diff; live children (a Pod of a ReplicaSet) have live state and
  // events only.
  async function openResource(r) {
    const id = `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
    const ptabs = h('div.tabs', { role: 'tablist' });
    const body = h('div.panel-body');
    const tabs = [['live', 'Live'], ['desired', 'Desired'], ['diff', 'Diff'], ['events', 'Events']];
    if (r.managed === undefined) tabs.splice(1, 2);
    if (r.kind === 'Pod') tabs.push(['logs', 'Logs']);
    let cur = tabs[0][0];
    let stopLogs = null;
    const panel = sidePanel(id, h('div', null, ptabs, body), () => { if (stopLogs) stopLogs(); });
    const draw = async () => {
      clear(ptabs).append(...tabs.map(([k, t]) => h('button.tab', { type: 'button', role: 'tab', 'aria-selected': String(cur === k), onclick: () => { cur = k; draw(); } }, t)));
      if (stopLogs) { stopLogs(); stopLogs = null; }
      clear(body).append('Loading…');
      try {
        if (cur === 'events') {
          clear(body);
          await eventsTab(body, `/applications/${enc(name)}/events?resourceName=${enc(r.name)}&resourceNamespace=${enc(r.namespace || '')}&resourceUID=${enc(r.uid || '')}`);
        } else if (cur === 'logs') {
          stopLogs = logsPane(clear(body), name, r);
        } else if (cur === 'live' && !r.managed) {
          const q = `namespace=${enc(r.namespace || '')}&resourceName=${enc(r.name)}&group=${enc(r.group || '')}&kind=${enc(r.kind)}&version=${enc(r.version || '')}`;
          const m = await get(`/applications/${enc(name)}/resource?${q}`);
          clear(body).appendChild(yamlBlock(m.manifest));
        } else {
          const items = managedItems || (await loadManaged());
          const it = items && items.find((x) => resKey(x) === resKey(r));
          if (cur === 'diff') clear(body).appendChild(it ? diffBlock(it.diff, it.ignoredPaths) : await appDiff(r));
          else if (!it) clear(body).appendChild(h('p', null, 'This server does not report resource states.'));
          else clear(body).appendChild(yamlBlock(cur === 'live' ? it.liveState : it.targetState));
        }
      } catch (e) {
        clear(body).appendChild(h('p.error', null, e.message));
      }
    };
    managedItems = null; // fresh states for each panel
    draw();
    return panel;
  }

  // Without /managed-resources: this object's part of the app's diff,
  // whose sections open with "--- desired/KIND/NAMESPACE/NAME".
  async function appDiff(r) {
    const d = await get(`/applications/${enc(name)}/diff`);
    return diffBlock(diffSection(d.diff || '', r), []);
  }

  async function load() {
    try {
      app = await get(`/applications/${enc(name)}`);
      err.textContent = '';
    } catch (e) {
      err.textContent = e.message;
      return;
    }
    try {
      treeNodes = (await get(`/applications/${enc(name)}/resource-tree`)).nodes || [];
      treeMissing = false;
    } catch (e) {
      treeNodes = [];
      treeMissing = e.status === 404 || e.status === 501;
    }
    if (closed) return;
    drawAll();
  }

  let permsFor = '';
  async function drawAll() {
    drawHead();
    const obj = `${appProject(app)}/${name}`;
    if (permsFor !== obj) {
      permsFor = obj;
      const [s, d] = await Promise.all([canI('applications', 'sync', obj), canI('applications', 'delete', obj)]);
      perms = { sync: s, del: d };
      drawActions();
      if (tab === 'history') drawContent();
    }
    if (tab === 'tree') drawTree();
  }

  drawTabs();
  drawActions();
  load().then(() => { if (!closed) drawContent(); });
  timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);

  return () => {
    closed = true;
    clearInterval(timer);
    vl.destroy();
  };
}

export function diffSection(diff, r) {
  const want = `/${r.kind}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
  const out = [];
  let keep = false;
  for (const l of diff.split('\n')) {
    if (l.startsWith('--- ')) keep = l.split(/\s/)[1].endsWith(want);
    if (keep) out.push(l);
  }
  return out.join('\n');
}

export function yamlBlock(jsonText) {
  let text = jsonText || '';
  try { text = toYaml(typeof jsonText === 'string' ? JSON.parse(jsonText) : jsonText); } catch { /* show as it came */ }
  return h('pre.code.yaml', { tabindex: '0' }, text);
}

// A unified diff, one line per element so each can be coloured, and the
// fields edgecd ignores for this resource (ignoreDifferences) listed and
// marked, so a difference there is not mistaken for drift.
export function diffBlock(diff, ignored) {
  const lines = (diff || '').split('\n');
  const pre = h('pre.code.diff', { tabindex: '0' });
  for (const l of lines) {
    const cls = l.startsWith('+++') || l.startsWith('---') ? 'hdr' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '';
    pre.appendChild(h('span.line', { class: cls }, l || ' '));
  }
  return h('div', null,
    ignored && ignored.length ? h('div.ignored', null, h('strong', null, 'Ignored fields: '),
      ignored.map((p) => h('span.tag.ignored-field', { title: 'ignored by ignoreDifferences' }, p, ' (ignored)'))) : null,
    diff ? pre : h('p', null, 'No difference: the live object matches Git.'));
}

async function eventsTab(box, path) {
  try {
    const r = await get(path);
    const items = r.items || [];
    box.appendChild(items.length ? h('table.grid.events', null,
      h('thead', null, h('tr', null, ['Time', 'Type', 'Reason', 'Message'].map((c) => h('th', null, c)))),
      h('tbody', null, items.map((e) => h('tr', { class: e.type === 'Warning' ? 'warn' : '' },
        h('td', { title: e.time || e.lastTimestamp || '' }, relTime(e.time || e.lastTimestamp || e.eventTime)),
        h('td', null, e.type || ''), h('td', null, e.reason || ''), h('td', null, e.message || '')))))
      : h('p', null, 'No events.'));
  } catch (e) { box.appendChild(h('p.error', null, e.message)); }
}

// Pod logs: the last N lines, optionally followed. Lines are kept to the
// last 5,000 so a chatty pod cannot grow the page without bound.
function logsPane(box, app, pod) {
  const container = h('input', { 'aria-label': 'Container', placeholder: 'container (default: first)', value: '' });
  const tail = h('input', { type: 'number', min: '1', max: '10000', value: '100', 'aria-label': 'Lines' });
  const follow = h('input', { type: 'checkbox', checked: true });
  const out = h('pre.code.logs', { tabindex: '0', 'aria-live': 'off' });
  const status = h('p.small');
  let ctl = null;
  const start = () => {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    clear(out);
    status.textContent = follow.checked ? 'Following…' : '';
    const q = `podName=${enc(pod.name)}&namespace=${enc(pod.namespace || '')}&container=${enc(container.value)}&tailLines=${enc(tail.value || '100')}&follow=${follow.checked}`;
    streamLines(`/applications/${enc(app)}/logs?${q}`, (m) => {
      const r = m.result || {};
      out.appendChild(document.createTextNode(`${r.content || ''}\n`));
      while (out.childNodes.length > 5000) out.removeChild(out.firstChild);
      if (out.scrollHeight - out.scrollTop - out.clientHeight < 80) out.scrollTop = out.scrollHeight;
    }, ctl.signal).then(() => { status.textContent = 'Stream ended.'; })
      .catch((e) => { if (e.name !== 'AbortError') status.textContent = e.message; });
  };
  box.appendChild(h('div', null,
    h('form.toolbar', { onsubmit: (e) => { e.preventDefault(); start(); } },
      container,
      h('label.check', null, 'Tail ', tail), h('label.check', null, follow, 'Follow'),
      h('button.btn', { type: 'submit' }, 'Show')),
    status, out));
  start();
  return () => { if (ctl) ctl.abort(); };
}
