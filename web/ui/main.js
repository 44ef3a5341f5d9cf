// edgecd's web UI: the page shell (header, navigation, theme), the login
// page and a client-side router over the History API. Each view is a
// function that fills the main element and returns a cleanup function
// (closing its stream, timers and panels) that runs when the route
// changes. The server answers index.html for every such address, so a
// reload or a bookmark lands on the same view.

import { h, clear } from './dom.js';
import { get, post, del, setCsrf, setUnauthorizedHandler, forgetPermissions, ApiError } from './api.js';
import { appListView } from './apps.js';
import { appDetailView } from './app.js';
import { settingsView } from './settings.js';

const root = document.getElementById('app');
let user = null;
let cleanup = null;

// Theme: the system's choice unless the user picked one with the toggle
// (kept in localStorage; it holds no data).
function applyTheme() {
  const pick = localStorage.getItem('edgecd-theme');
  const dark = pick ? pick === 'dark' : window.matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}
window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
applyTheme();

export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

// Links inside the app change the route without a page load.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => route());
setUnauthorizedHandler(() => {
  if (location.pathname !== '/login') {
    user = null;
    navigate(`/login?next=${encodeURIComponent(location.pathname)}`, true);
  }
});

function header() {
  const themeBtn = h('button.btn.icon', {
    type: 'button',
    title: 'Switch light/dark theme',
    'aria-label': 'Switch light/dark theme',
    onclick: () => {
      const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      localStorage.setItem('edgecd-theme', next);
      applyTheme();
    },
  }, '◐');
  const path = location.pathname;
  const link = (href, text, active) => h('a', { href, 'data-nav': true, class: active ? 'active' : '', 'aria-current': active ? 'page' : null }, text);
  return h('header.top', null,
    h('a.brand', { href: '/applications', 'data-nav': true }, 'edgecd'),
    h('nav', { 'aria-label': 'Main' },
      link('/applications', 'Applications', path === '/' || path.startsWith('/applications')),
      link('/settings/repositories', 'Settings', path.startsWith('/settings'))),
    h('span.spacer'),
    user && user.username ? h('span.user', { title: (user.roles || []).join(', ') }, user.username) : null,
    themeBtn,
    user && user.session ? h('button.btn', { type: 'button', onclick: logout }, 'Log out') : null);
}

async function logout() {
  try { await del('/session'); } catch { /* gone already */ }
  user = null;
  setCsrf('');
  forgetPermissions();
  navigate('/login', true);
}

function loginView(main) {
  const name = h('input', { name: 'username', autocomplete: 'username', required: true, id: 'login-username' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, id: 'login-password' });
  const err = h('p.error', { role: 'alert' });
  const btn = h('button.btn.primary', { type: 'submit' }, 'Sign in');
  const form = h('form.login', {
    onsubmit: async (e) => {
      e.preventDefault();
      btn.disabled = true;
      err.textContent = '';
      try {
        const r = await post('/session', { username: name.value, password: pass.value }, { noRedirect: true });
        setCsrf(r.csrfToken);
        forgetPermissions();
        user = null;
        const next = new URLSearchParams(location.search).get('next');
        navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/applications', true);
      } catch (x) {
        // Throttled: say how long, and keep the button off until then.
        const wait = x.status === 429 ? x.retryAfter || 1 : 0;
        err.textContent = wait ? `Too many attempts: try again in ${wait} s.` : x.message;
        err.dataset.retryAfter = String(wait);
        setTimeout(() => { btn.disabled = false; }, wait * 1000);
        pass.select();
      }
    },
  },
  h('h1', null, 'edgecd'),
  h('label.field', null, h('span', null, 'Username'), name),
  h('label.field', null, h('span', null, 'Password'), pass),
  err, btn);
  main.appendChild(h('div.login-wrap', null, form));
  name.focus();
}

// Who is signed in. A server without sessions (a proxy that adds the API
// token) has no userinfo route: the UI then runs without a user name.
async function loadUser() {
  try {
    const u = await get('/session/userinfo', { noRedirect: true });
    if (!u || !u.loggedIn) return null;
    setCsrf(u.csrfToken);
    return { ...u, session: true };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { username: '', roles: [], session: false };
    return null;
  }
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* the view is gone anyway */ } cleanup = null; }
  document.querySelectorAll('.panel, .backdrop').forEach((x) => x.remove());
  const path = location.pathname;
  clear(root);
  if (path === '/login') {
    root.appendChild(header());
    const main = h('main', { id: 'main' });
    root.appendChild(main);
    loginView(main);
    document.title = 'Sign in · edgecd';
    return;
  }
  if (!user) {
    user = await loadUser();
    if (!user) {
      navigate(`/login?next=${encodeURIComponent(path)}`, true);
      return;
    }
  }
  clear(root);
  root.appendChild(header());
  const main = h('main', { id: 'main' });
  root.appendChild(main);
  let m;
  if (path === '/' || path === '/applications') {
    document.title = 'Applications · edgecd';
    cleanup = appListView(main, { navigate });
  } else if ((m = path.match(/^\/applications\/([^/]+)$/))) {
    const name = decodeURIComponent(m[1]);
    document.title = `${name} · edgecd`;
    cleanup = appDetailView(main, name, { navigate });
  } else if ((m = path.match(/^\/settings(?:\/([a-z]+))?$/))) {
    document.title = 'Settings · edgecd';
    cleanup = settingsView(main, m[1] || 'repositories', { navigate, user });
  } else {
    main.appendChild(h('div.empty', null, h('h1', null, 'Not found'),
      h('p', null, 'No page at this address. '), h('a', { href: '/applications', 'data-nav': true }, 'Applications')));
  }
}

route();
