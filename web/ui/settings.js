// Settings: repositories (add, test the connection, remove), clusters
// (add from a kubeconfig, test, remove), projects (view, create from
// fields, delete), accounts (create, delete, change a password) and their
// API tokens (create, shown once; revoke). Every answer is shown as text;
// the server never returns a password, a token after creation, or a
// cluster credential, and the UI never asks for one back.

import { h, clear, badge, relTime } from './dom.js';
import { get, post, put, del, enc, canI } from './api.js';
import { dialog, confirmDialog, field, toast } from './dialog.js';

const PAGES = [
  ['repositories', 'Repositories'],
  ['clusters', 'Clusters'],
  ['projects', 'Projects'],
  ['accounts', 'Accounts and tokens'],
];

export function settingsView(main, page, { user }) {
  const body = h('div.settings-body');
  main.appendChild(h('section.settings', null,
    h('nav.side', { 'aria-label': 'Settings' }, PAGES.map(([k, t]) => h('a', { href: `/settings/${k}`, 'data-nav': true, class: k === page ? 'active' : '', 'aria-current': k === page ? 'page' : null }, t))),
    body));
  const pages = { repositories, clusters, projects, accounts };
  (pages[page] || notFound)(body, user);
  return () => {};
}

function notFound(body) { body.appendChild(h('p', null, 'No such settings page.')); }

// A table page: load() → rows; columns: [header, row => cell]; a create
// button when the user may create; per-row actions.
async function tablePage(body, { title, resource, load, columns, create, rowActions }) {
  const canCreate = create ? await canI(resource, 'create', '*') : false;
  const canDelete = await canI(resource, 'delete', '*');
  const canUpdate = await canI(resource, 'update', '*');
  const tbl = h('div', null, 'Loading…');
  const reload = async () => {
    try {
      const items = await load();
      clear(tbl).appendChild(items.length ? h('table.grid', null,
        h('thead', null, h('tr', null, columns.map(([c]) => h('th', null, c)), h('th', null, ''))),
        h('tbody', null, items.map((it) => h('tr', null, columns.map(([, f]) => h('td', null, f(it))),
          h('td.row-actions', null, rowActions ? rowActions(it, { canDelete, canUpdate, reload }) : null)))))
        : h('p', null, `No ${title.toLowerCase()} yet.`));
    } catch (e) { clear(tbl).appendChild(h('p.error', null, e.message)); }
  };
  body.appendChild(h('div.page-head', null, h('h1', null, title),
    canCreate ? h('button.btn.primary', { type: 'button', onclick: () => create(reload) }, `Add ${title.replace(/ies$/, 'y').replace(/s$/, '').toLowerCase()}`) : null));
  body.appendChild(tbl);
  reload();
}

const input = (attrs) => h('input', attrs);
const delBtn = (what, path, reload) => h('button.btn.danger', { type: 'button', onclick: () => confirmDialog(`Remove ${what}`, `Remove ${what}?`, 'Remove', async () => { await del(path); toast(`${what} removed`); reload(); }) }, 'Remove');

function repositories(body) {
  tablePage(body, {
    title: 'Repositories',
    resource: 'repositories',
    load: async () => (await get('/repositories')).items || [],
    columns: [
      ['Repository', (r) => h('span.mono', null, r.repo)],
      ['Type', (r) => r.type || 'git'],
      ['User', (r) => r.username || ''],
      ['Connection', (r) => (r.connectionState ? h('span', { title: r.connectionState.message || '' }, badge(r.connectionState.status)) : '')],
    ],
    rowActions: (r, { canDelete, reload }) => [
      h('button.btn', { type: 'button', onclick: async (e) => {
        e.target.disabled = true;
        try {
          const v = await post(`/repositories/${enc(r.repo)}/validate`);
          toast(`${r.repo}: ${v.status}${v.message ? ` — ${v.message}` : ''}`, v.status === 'Successful' ? 'info' : 'error');
        } catch (x) { toast(x.message, 'error'); }
        e.target.disabled = false;
        reload();
      } }, 'Test'),
      canDelete ? delBtn(r.repo, `/repositories/${enc(r.repo)}`, reload) : null,
    ],
    create: (reload) => {
      const repo = input({ required: true, placeholder: 'https://git.local/site.git', name: 'repo' });
      const user = input({ name: 'username', autocomplete: 'off' });
      const pass = input({ name: 'password', type: 'password', autocomplete: 'new-password' });
      const insecure = input({ type: 'checkbox' });
      dialog({
        title: 'Add repository',
        body: h('div', null, field('URL', repo), field('Username', user), field('Password', pass, 'stored encrypted on the appliance; never shown again'),
          h('label.check', null, insecure, 'Skip TLS verification')),
        submitLabel: 'Add',
        onSubmit: async () => {
          const b = { repo: repo.value, insecure: insecure.checked };
          if (user.value) b.username = user.value;
          if (pass.value) b.password = pass.value;
          await post('/repositories', b);
          reload();
        },
      });
    },
  });
}

function clusters(body) {
  tablePage(body, {
    title: 'Clusters',
    resource: 'clusters',
    load: async () => (await get('/clusters')).items || [],
    columns: [
      ['Name', (c) => c.name || ''],
      ['Server', (c) => h('span.mono', null, c.server || '')],
      ['Origin', (c) => (c.origin === 'config' ? h('span', { title: 'from the site config: edit it there' }, 'site config') : 'added')],
      ['Connection', (c) => {
        const s = c.connectionState || (c.info && c.info.connectionState);
        return s ? h('span', { title: s.message || '' }, badge(s.status)) : '';
      }],
    ],
    rowActions: (c, { canDelete, reload }) => [
      h('button.btn', { type: 'button', onclick: async () => {
        try {
          const v = await post(`/clusters/${enc(c.name)}/validate`);
          toast(`${c.name}: ${v.status || 'checked'}${v.message ? ` — ${v.message}` : ''}`, v.status === 'Successful' ? 'info' : 'error');
        } catch (x) { toast(x.message, 'error'); }
        reload();
      } }, 'Test'),
      canDelete && c.origin !== 'config' ? delBtn(c.name, `/clusters/${enc(c.name)}`, reload) : null,
    ],
    create: (reload) => {
      const name = input({ required: true, name: 'name', pattern: '[a-z0-9.\\-]+', title: 'lower-case letters, digits, - and .' });
      const kc = h('textarea', { required: true, rows: '10', name: 'kubeconfig', spellcheck: 'false' });
      const ctx = input({ name: 'context' });
      dialog({
        title: 'Add cluster',
        body: h('div', null, field('Name', name), field('Kubeconfig', kc, 'pasted text with the data inline (kubectl config view --minify --flatten); stored encrypted, never shown again'), field('Context', ctx, 'empty: the current context')),
        submitLabel: 'Add',
        onSubmit: async () => {
          const b = { name: name.value, kubeconfig: kc.value };
          if (ctx.value) b.context = ctx.value;
          await post('/clusters', b);
          reload();
        },
      });
    },
  });
}

function projects(body) {
  tablePage(body, {
    title: 'Projects',
    resource: 'projects',
    load: async () => (await get('/projects')).items || [],
    columns: [
      ['Name', (p) => p.metadata.name],
      ['Description', (p) => (p.spec && p.spec.description) || ''],
      ['Sources', (p) => ((p.spec && p.spec.sourceRepos) || []).join(', ')],
      ['Destinations', (p) => ((p.spec && p.spec.destinations) || []).map((d) => `${d.server || d.name || '*'} / ${d.namespace || '*'}`).join(', ')],
    ],
    rowActions: (p, { canDelete, reload }) => [
      canDelete && p.metadata.name !== 'default' ? delBtn(`project ${p.metadata.name}`, `/projects/${enc(p.metadata.name)}`, reload) : null,
    ],
    create: (reload) => {
      const name = input({ required: true, name: 'name' });
      const desc = input({ name: 'description' });
      const repos = input({ name: 'sourceRepos', value: '*' });
      const dest = input({ name: 'destinations', value: '*/*' });
      dialog({
        title: 'Add project',
        body: h('div', null, field('Name', name), field('Description', desc), field('Source repositories', repos, 'comma-separated; * for any'),
          field('Destinations', dest, 'comma-separated server/namespace pairs; * for any')),
        submitLabel: 'Add',
        onSubmit: async () => {
          const split = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
          await post('/projects', {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'AppProject',
            metadata: { name: name.value },
            spec: {
              description: desc.value,
              sourceRepos: split(repos.value),
              destinations: split(dest.value).map((d) => {
                const i = d.lastIndexOf('/');
                return { server: i < 0 ? d : d.slice(0, i), namespace: i < 0 ? '*' : d.slice(i + 1) };
              }),
            },
          });
          reload();
        },
      });
    },
  });
}

function accounts(body, user) {
  tablePage(body, {
    title: 'Accounts',
    resource: 'accounts',
    load: async () => (await get('/account')).items || [],
    columns: [
      ['Name', (a) => a.name],
      ['Enabled', (a) => (a.enabled === false ? 'no' : 'yes')],
      ['Roles', (a) => (a.roles || []).join(', ')],
      ['Capabilities', (a) => (a.capabilities || []).join(', ')],
      ['Tokens', (a) => h('ul.tokens', null, (a.tokens || []).map((t) => h('li', { dataset: { token: t.id } },
        h('span.mono', null, t.id), ` ${t.role || ''} · issued ${relTime(t.issuedAt)}${t.expiresAt ? ` · expires ${t.expiresAt}` : ''} `,
        h('button.btn.small', { type: 'button', onclick: (e) => revokeToken(a, t, e.target) }, 'Revoke'))))],
    ],
    rowActions: (a, { canDelete, canUpdate, reload }) => [
      (canUpdate || (user && a.name === user.username)) ? h('button.btn', { type: 'button', onclick: () => tokenDialog(a, reload) }, 'New token') : null,
      (canUpdate || (user && a.name === user.username)) ? h('button.btn', { type: 'button', onclick: () => passwordDialog(a, user) }, 'Password') : null,
      canDelete && a.name !== 'admin' ? delBtn(`account ${a.name}`, `/account/${enc(a.name)}`, reload) : null,
    ],
    create: (reload) => {
      const name = input({ required: true, name: 'name', autocomplete: 'off' });
      const pass = input({ required: true, type: 'password', name: 'password', autocomplete: 'new-password', minlength: '8' });
      const roles = input({ name: 'roles', value: 'role:readonly' });
      dialog({
        title: 'Add account',
        body: h('div', null, field('Name', name), field('Password', pass), field('Roles', roles, 'comma-separated, e.g. role:readonly, role:admin')),
        submitLabel: 'Add',
        onSubmit: async () => {
          await post('/account', { name: name.value, password: pass.value, roles: roles.value.split(',').map((x) => x.trim()).filter(Boolean) });
          reload();
        },
      });
    },
  });

  function revokeToken(a, t, btn) {
    confirmDialog('Revoke token', `Revoke token ${t.id} of ${a.name}? Programs using it stop working at once.`, 'Revoke', async () => {
      await del(`/account/${enc(a.name)}/token/${enc(t.id)}`);
      btn.closest('li').remove();
      toast('Token revoked');
    });
  }

  function tokenDialog(a, reload) {
    const id = input({ name: 'id', placeholder: 'optional name, e.g. ci' });
    const role = input({ name: 'role', value: (a.roles && a.roles[0]) || 'role:readonly', required: true });
    const days = input({ name: 'expires', type: 'number', min: '0', value: '90' });
    dialog({
      title: `New token for ${a.name}`,
      body: h('div', null, field('ID', id), field('Role', role, 'never more than the account may do'), field('Expires in days', days, '0: never')),
      submitLabel: 'Create',
      onSubmit: async () => {
        const b = { role: role.value };
        if (id.value) b.id = id.value;
        const d = Number(days.value);
        if (d > 0) b.expiresIn = Math.round(d * 86400);
        const r = await post(`/account/${enc(a.name)}/token`, b);
        reload();
        // Shown once: the appliance keeps only its hash.
        const out = h('input.mono', { readonly: true, value: r.token, 'aria-label': 'New token' });
        dialog({ title: 'Token created', body: h('div', null, h('p', null, 'Copy the token now; it is not shown again.'), out), submitLabel: 'Done', onSubmit: async () => {} });
        out.select();
      },
    });
  }

  function passwordDialog(a, me) {
    const cur = input({ type: 'password', name: 'currentPassword', autocomplete: 'current-password', required: true });
    const next = input({ type: 'password', name: 'newPassword', autocomplete: 'new-password', required: true, minlength: '8' });
    dialog({
      title: `Change the password of ${a.name}`,
      body: h('div', null, field(me && me.username === a.name ? 'Current password' : 'Your password', cur), field('New password', next)),
      submitLabel: 'Change',
      onSubmit: async () => {
        const b = { currentPassword: cur.value, newPassword: next.value };
        if (!me || me.username !== a.name) b.name = a.name;
        await put('/account/password', b);
        toast('Password changed');
      },
    });
  }
}
