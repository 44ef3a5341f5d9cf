// The one way the UI talks to edgecd: same-origin fetches to /api/v1 with
// the session cookie (HttpOnly: the script never sees it). Writes carry
// the CSRF token the session handed out at login. A 401 anywhere means
// the session is gone: the app goes back to the login page.

let csrf = '';
let onUnauthorized = () => {};

export function setCsrf(token) { csrf = token || ''; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export class ApiError extends Error {
  constructor(status, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter; // seconds, from a 429's Retry-After
  }
}

export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach the appliance: ${e.message}`);
  }
  if (res.status === 401 && !opts.noRedirect) onUnauthorized();
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const msg = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg, Number(res.headers.get('Retry-After')) || 0);
  }
  return data;
}

export const get = (p, o) => api('GET', p, undefined, o);
export const post = (p, b, o) => api('POST', p, b === undefined ? {} : b, o);
export const put = (p, b) => api('PUT', p, b);
export const del = (p) => api('DELETE', p);

export const enc = encodeURIComponent;

// can-i answers, cached per page load: they only decide which controls
// are shown; the server checks every request again.
const canCache = new Map();
export async function canI(resource, action, object) {
  const k = `${resource}/${action}/${object}`;
  if (!canCache.has(k)) {
    canCache.set(k, get(`/account/can-i/${enc(resource)}/${enc(action)}/${enc(object)}`, { noRedirect: true })
      .then((r) => r && r.value === 'yes')
      // A server without per-user permissions (no can-i route) shows every
      // control; a failure of any other kind shows none.
      .catch((e) => e.status === 404));
  }
  return canCache.get(k);
}
export function forgetPermissions() { canCache.clear(); }

// Reads a stream of newline-separated JSON objects (pod logs), calling
// onItem for each until the stream ends or signal aborts.
export async function streamLines(path, onItem, signal) {
  const res = await fetch(`/api/v1${path}`, { credentials: 'same-origin', signal });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try { msg = (await res.json()).error || msg; } catch { /* keep the status */ }
    throw new ApiError(res.status, msg);
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let rest = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += dec.decode(value, { stream: true });
    let i;
    while ((i = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, i).trim();
      rest = rest.slice(i + 1);
      if (line) {
        try { onItem(JSON.parse(line)); } catch { /* a torn line: skip */ }
      }
    }
  }
}
