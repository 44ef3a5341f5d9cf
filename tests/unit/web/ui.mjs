// Tests for web/ui's functions that need no browser: toYaml
// (web/ui/yaml.js), flattenTree and diffSection (web/ui/app.js). Run by
// Node; each check prints what it expected when it fails.
import assert from 'node:assert/strict';
import { toYaml } from '../../../web/ui/yaml.js';
import { flattenTree, diffSection } from '../../../web/ui/app.js';

let failed = 0;
function test(name, fn) {
  try { fn(); console.log(`ok   ${name}`); } catch (e) { failed++; console.log(`FAIL ${name}\n${e.message}`); }
}

test('yaml_objects_lists_and_scalars', () => {
  assert.equal(toYaml({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' }, annotations: {} },
    data: { replicas: '3', enabled: 'true', empty: '', color: 'blue', n: 5, off: false, nothing: null },
    list: [1, 'two', { a: 1, b: [] }, [3, 4]],
  }), [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: web',
    '  labels:',
    '    app.kubernetes.io/name: web',
    '  annotations: {}',
    'data:',
    '  replicas: "3"',
    '  enabled: "true"',
    '  empty: ""',
    '  color: blue',
    // YAML 1.1 readers take n and off as booleans, keys too
    '  "n": 5',
    '  "off": false',
    '  nothing: null',
    'list:',
    '- 1',
    '- two',
    '- a: 1',
    '  b: []',
    '- - 3',
    '  - 4',
    ''].join('\n'));
});

test('yaml_quotes_what_plain_yaml_would_misread', () => {
  const y = toYaml({ a: 'yes', b: '1.5', c: 'key: value', d: '- x', e: ' lead', f: '#x', g: '<b>x</b>', h: '~', i: '0x1F', j: 'a #b' });
  for (const line of ['a: "yes"', 'b: "1.5"', 'c: "key: value"', 'd: "- x"', 'e: " lead"', 'f: "#x"', 'g: "<b>x</b>"', 'h: "~"', 'i: "0x1F"', 'j: "a #b"']) {
    assert.ok(y.includes(`${line}\n`), `missing ${line} in\n${y}`);
  }
});

test('yaml_multiline_strings_as_blocks', () => {
  assert.equal(toYaml({ s: 'line 1\nline 2\n' }), 's: |\n  line 1\n  line 2\n');
  assert.equal(toYaml({ s: 'a\nb' }), 's: |-\n  a\n  b\n');
  assert.equal(toYaml({ l: ['x\ny\n'] }), 'l:\n- |\n  x\n  y\n');
  assert.equal(toYaml('top'), 'top\n');
  assert.equal(toYaml([]), '[]\n');
});

test('tree_managed_resources_then_their_children', () => {
  const app = { metadata: { name: 'shop' } };
  const managed = [
    { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', status: 'Synced' },
    { group: '', kind: 'ConfigMap', namespace: 'shop', name: 'cfg', status: 'OutOfSync' },
  ];
  const nodes = [
    { group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'd1' },
    { group: 'apps', kind: 'ReplicaSet', namespace: 'shop', name: 'web-1', uid: 'r1', parentRefs: [{ group: 'apps', kind: 'Deployment', namespace: 'shop', name: 'web', uid: 'd1' }] },
    { group: '', kind: 'Pod', namespace: 'shop', name: 'web-1-b', uid: 'p2', parentRefs: [{ kind: 'ReplicaSet', namespace: 'shop', name: 'web-1', uid: 'r1' }] },
    { group: '', kind: 'Pod', namespace: 'shop', name: 'web-1-a', uid: 'p1', parentRefs: [{ kind: 'ReplicaSet', namespace: 'shop', name: 'web-1', uid: 'r1' }] },
    { group: '', kind: 'Pod', namespace: 'other', name: 'orphan', uid: 'x', parentRefs: [{ kind: 'ReplicaSet', name: 'gone', uid: 'nope' }] },
  ];
  const rows = flattenTree(app, managed, nodes);
  assert.deepEqual(rows.map((r) => `${r.depth} ${r.kind} ${r.name}`), [
    '0 Application shop',
    '1 ConfigMap cfg',
    '1 Deployment web',
    '2 ReplicaSet web-1',
    '3 Pod web-1-a',
    '3 Pod web-1-b',
  ]);
  assert.equal(rows[1].managed.status, 'OutOfSync');
  assert.equal(rows[2].uid, 'd1');
});

test('diff_section_of_one_object', () => {
  const diff = ['--- desired/ConfigMap/shop/cfg', '+++ live/ConfigMap/shop/cfg', '@@ -1 +1 @@', '-a', '+b',
    '--- desired/ConfigMap/shop/cfg2', '+++ live/ConfigMap/shop/cfg2', '-c',
    '--- desired/Namespace/shop', '+++ live/Namespace/shop (missing)', '-x'].join('\n');
  assert.equal(diffSection(diff, { kind: 'ConfigMap', namespace: 'shop', name: 'cfg' }),
    '--- desired/ConfigMap/shop/cfg\n+++ live/ConfigMap/shop/cfg\n@@ -1 +1 @@\n-a\n+b');
  assert.equal(diffSection(diff, { kind: 'Namespace', namespace: '', name: 'shop' }),
    '--- desired/Namespace/shop\n+++ live/Namespace/shop (missing)\n-x');
  assert.equal(diffSection(diff, { kind: 'Secret', namespace: 'shop', name: 'cfg' }), '');
});

console.log(`${5 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
