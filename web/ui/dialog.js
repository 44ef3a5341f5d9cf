// Modal dialogs and the side panel. A dialog keeps focus inside itself
// (Tab wraps), Escape closes it, Enter in a field submits it, and focus
// returns to the control that opened it.

import { h } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function trapFocus(box, e) {
  if (e.key !== 'Tab') return;
  const els = [...box.querySelectorAll(FOCUSABLE)].filter((x) => x.offsetParent !== null);
  if (!els.length) return;
  const first = els[0];
  const last = els[els.length - 1];
  if (e.shiftKey && document.activeElement === first) { last.focus(); e.preventDefault(); }
  else if (!e.shiftKey && document.activeElement === last) { first.focus(); e.preventDefault(); }
}

// dialog({title, body: Node, submitLabel, onSubmit: async () => {}}):
// onSubmit may throw; its message is shown in the dialog and it stays open.
export function dialog({ title, body, submitLabel = 'OK', onSubmit, danger = false }) {
  const opener = document.activeElement;
  const err = h('p.error', { role: 'alert' });
  const submit = h('button.btn.primary', { type: 'submit', class: danger ? 'danger' : '' }, submitLabel);
  const cancel = h('button.btn', { type: 'button', onclick: () => close() }, 'Cancel');
  const form = h('form.dialog', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
    h('h2', null, title), body, err, h('div.actions', null, cancel, onSubmit ? submit : null));
  const backdrop = h('div.backdrop', null, form);
  function close() {
    backdrop.remove();
    document.removeEventListener('keydown', onKey, true);
    if (opener && opener.focus) opener.focus();
  }
  function onKey(e) {
    if (e.key === 'Escape') { e.preventDefault(); close(); }
    trapFocus(form, e);
  }
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!onSubmit) return close();
    submit.disabled = true;
    err.textContent = '';
    try {
      await onSubmit();
      close();
    } catch (x) {
      err.textContent = x.message;
      submit.disabled = false;
    }
  });
  document.addEventListener('keydown', onKey, true);
  document.body.appendChild(backdrop);
  const first = form.querySelector('input, select, textarea') || submit;
  first.focus();
  return { close };
}

export function confirmDialog(title, text, label, action) {
  return dialog({ title, body: h('p', null, text), submitLabel: label, onSubmit: action, danger: true });
}

// A labelled form field: field('Name', input).
export function field(label, control, hint) {
  return h('label.field', null, h('span', null, label), control, hint ? h('small', null, hint) : null);
}

// The side panel over the right part of the page (resource details).
export function sidePanel(title, content, onClose) {
  const opener = document.activeElement;
  const closeBtn = h('button.btn.icon', { type: 'button', 'aria-label': 'Close panel', onclick: () => close() }, '✕');
  const panel = h('aside.panel', { role: 'dialog', 'aria-label': title },
    h('header', null, h('h2', null, title), closeBtn), content);
  function close() {
    panel.remove();
    document.removeEventListener('keydown', onKey, true);
    if (onClose) onClose();
    if (opener && opener.focus && document.contains(opener)) opener.focus();
  }
  function onKey(e) {
    if (e.key === 'Escape' && !document.querySelector('.backdrop')) { e.preventDefault(); close(); }
  }
  document.addEventListener('keydown', onKey, true);
  document.body.appendChild(panel);
  closeBtn.focus();
  return { close, panel };
}

// Toasts stack in one fixed column, newest at the bottom, so two at
// once never cover each other.
export function toast(text, kind = 'info') {
  let stack = document.querySelector('.toasts');
  if (!stack) document.body.appendChild(stack = h('div.toasts'));
  const t = h('div.toast', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, text);
  stack.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}
