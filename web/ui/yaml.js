// JSON → YAML for display. Kubernetes objects are JSON trees of strings,
// numbers, booleans, null, arrays and objects; this prints them the way
// kubectl does (block style, two-space indent, "- " for list items),
// quoting a string whenever plain YAML would read it as something else.

const PLAIN = /^[A-Za-z0-9_./][A-Za-z0-9_./ :@+=,-]*$/;
const SPECIAL = /^(true|false|yes|no|on|off|y|n|null|~|[-+]?\.(inf|nan)|[-+]?\.?[0-9].*)$/i;

export function scalar(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  if (s !== '' && PLAIN.test(s) && !SPECIAL.test(s) && !/: |:$| #|^- /.test(s) && s.trim() === s) return s;
  return JSON.stringify(s);
}

function key(k) {
  return scalar(k);
}

function isEmpty(v) {
  return (Array.isArray(v) && v.length === 0) ||
    (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

function block(v, indent, out) {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    for (const item of v) {
      if (item && typeof item === 'object' && !isEmpty(item)) {
        const sub = [];
        block(item, indent + 2, sub);
        // the first line of the item goes after "- "
        out.push(`${pad}- ${sub[0].slice(indent + 2)}`, ...sub.slice(1));
      } else {
        out.push(`${pad}- ${inline(item, indent + 2)}`);
      }
    }
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    if (val && typeof val === 'object' && !isEmpty(val)) {
      out.push(`${pad}${key(k)}:`);
      block(val, Array.isArray(val) ? indent : indent + 2, out);
    } else {
      out.push(`${pad}${key(k)}: ${inline(val, indent + 2)}`);
    }
  }
}

function inline(v, indent) {
  if (Array.isArray(v)) return '[]';
  if (v && typeof v === 'object') return '{}';
  if (typeof v === 'string' && v.includes('\n')) {
    const pad = ' '.repeat(indent);
    const chomp = v.endsWith('\n') ? '' : '-';
    const body = v.replace(/\n$/, '').split('\n').map((l) => (l ? pad + l : '')).join('\n');
    if (/^\s/.test(v)) return JSON.stringify(v);
    return `|${chomp}\n${body}`;
  }
  return scalar(v);
}

export function toYaml(v) {
  if (v === null || typeof v !== 'object') return `${scalar(v)}\n`;
  if (isEmpty(v)) return Array.isArray(v) ? '[]\n' : '{}\n';
  const out = [];
  block(v, 0, out);
  return `${out.join('\n')}\n`;
}
