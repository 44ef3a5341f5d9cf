#!/bin/bash
# `edgecd admin export` and `import` as an operator moving a site between
# Argo CD and edgecd uses them:
#   - an `argocd admin export`-like stream (ConfigMaps, a Secret, an
#     AppProject, Applications with status and operation, an
#     ApplicationSet, a kubectl List) is imported: the three kinds are
#     registered, the others skipped by name, the server's fields dropped;
#   - export -> import into a fresh store -> export again is identical,
#     and PyYAML reads the export as the Kubernetes objects it should be;
#   - edgecd's own bookkeeping annotation (edgecd.io/parent) is not
#     exported, an operator's (edgecd.io/depends-on) is;
#   - malformed YAML, an invalid Application and a name given twice are
#     refused with a clear message and change nothing.
set -euo pipefail
tmp=${EDGECD_TEST_TMP:-/tmp}/admin-export.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
edgecd=${EDGECD_BIN:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

cat >argo.yaml <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: argocd-cm, namespace: argocd}
data: {timeout.reconciliation: 180s}
---
apiVersion: v1
kind: Secret
metadata: {name: argocd-secret, namespace: argocd}
data: {admin.password: eA==}
---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: shop, namespace: argocd, uid: 1b2c, resourceVersion: "42", generation: 2}
spec:
  sourceRepos: ['*']
  destinations: [{server: 'https://kubernetes.default.svc', namespace: '*'}]
status: {}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
  annotations:
    edgecd.io/depends-on: db
    kubectl.kubernetes.io/last-applied-configuration: '{}'
  creationTimestamp: "2024-01-01T00:00:00Z"
spec:
  project: shop
  source: {repoURL: 'https://git.example/shop.git', targetRevision: main, path: web}
  destination: {server: 'https://kubernetes.default.svc', namespace: shop}
  syncPolicy: {automated: {prune: true}}
status: {sync: {status: Synced}, health: {status: Healthy}}
operation: {sync: {revision: abc}}
---
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: envs, namespace: argocd}
spec:
  generators: [{list: {elements: [{env: a}, {env: b}]}}]
  template:
    metadata: {name: 'envs-{{env}}'}
    spec:
      project: default
      source: {repoURL: 'https://git.example/envs.git', targetRevision: main, path: '{{env}}'}
      destination: {server: 'https://kubernetes.default.svc', namespace: '{{env}}'}
---
apiVersion: v1
kind: List
items:
- apiVersion: argoproj.io/v1alpha1
  kind: Application
  metadata: {name: db, namespace: argocd}
  spec:
    project: shop
    source: {repoURL: 'https://git.example/shop.git', targetRevision: main, path: db}
    destination: {server: 'https://kubernetes.default.svc', namespace: shop}
Y

"$edgecd" admin import argo.yaml --data d1 >import.out || fail "import: $(cat import.out)"
cat import.out
grep -q '^Application web: created$' import.out || fail "web not created"
grep -q '^Application db: created$' import.out || fail "db (from the List) not created"
grep -q '^AppProject shop: created$' import.out || fail "shop not created"
grep -q '^ApplicationSet envs: created$' import.out || fail "envs not created"
grep -q 'skipped 2 document(s).*ConfigMap argocd/argocd-cm, Secret argocd/argocd-secret' import.out ||
    fail "skipped kinds not named"

# edgecd's own bookkeeping, as the engine writes it on an App of Apps child.
python3 - d1/state.db <<'P'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
m = json.loads(c.execute("select manifest from apps where name='db'").fetchone()[0])
m["metadata"].setdefault("annotations", {})["edgecd.io/parent"] = "root"
c.execute("update apps set manifest=? where name='db'", (json.dumps(m),))
c.commit()
P

"$edgecd" admin export --data d1 >e1.yaml || fail "export"
[ "$(tail -c1 e1.yaml | od -An -c | tr -d " ")" = "\\n" ] || fail "the export does not end with a newline"
! grep -q 'edgecd.io/parent' e1.yaml || fail "edgecd.io/parent exported"
grep -q 'edgecd.io/depends-on: db' e1.yaml || fail "the operator's depends-on annotation lost"
for f in status operation uid resourceVersion creationTimestamp last-applied; do
    ! grep -q "$f" e1.yaml || fail "$f exported"
done
python3 - e1.yaml <<'P' || fail "the export is not the expected Kubernetes objects"
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
got = [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in docs]
want = [("argoproj.io/v1alpha1", "AppProject", "shop"),
        ("argoproj.io/v1alpha1", "Application", "db"),
        ("argoproj.io/v1alpha1", "Application", "web"),
        ("argoproj.io/v1alpha1", "ApplicationSet", "envs")]
assert got == want, got
assert all(d["metadata"]["namespace"] == "argocd" for d in docs)
P

"$edgecd" admin import e1.yaml --data d2 >/dev/null || fail "import of the export"
"$edgecd" admin export --data d2 >e2.yaml || fail "second export"
cmp -s e1.yaml e2.yaml || { diff e1.yaml e2.yaml; fail "export -> import -> export differs"; }
"$edgecd" admin import e1.yaml --data d2 >again.out || fail "import again"
[ "$(grep -c ': unchanged$' again.out)" = 4 ] || fail "a second import changed something: $(cat again.out)"
echo "ok: round trip identical"

# With --config: the site's argocd-cm after the apps.
cat >site.yaml <<'Y'
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
settingsFile: argocd-cm.yaml
clusters: [{name: in-cluster}]
Y
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\ndata: {a: b}\n' >argocd-cm.yaml
"$edgecd" admin export --data d2 --config site.yaml >e3.yaml || fail "export --config"
[ "$(tail -n 6 e3.yaml | grep -c 'name: argocd-cm')" = 1 ] || fail "no argocd-cm at the end: $(cat e3.yaml)"

# Refusals change nothing.
refuse() { # FILE EXPECTED-MESSAGE
    local out
    out=$("$edgecd" admin import "$1" --data d2 2>&1) && fail "$1 imported"
    grep -q "$2" <<<"$out" || fail "$1: \"$out\" does not say \"$2\""
    "$edgecd" admin export --data d2 >after.yaml
    cmp -s e1.yaml after.yaml || fail "$1 changed the store"
    "$edgecd" admin import "$1" --data d3 >/dev/null 2>&1 && fail "$1 imported into d3"
    [ ! -e d3 ] || fail "$1 created a store"
}
printf 'apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web\n' >malformed.yaml
refuse malformed.yaml "malformed.yaml"
{ cat e1.yaml; printf -- '---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: broken}\nspec: {project: default}\n'; } >invalid.yaml
refuse invalid.yaml "broken"
app_db='apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: db}
spec:
  project: default
  source: {repoURL: "https://git.example/x.git", path: x}
  destination: {server: "https://kubernetes.default.svc", namespace: x}'
printf '%s\n---\n%s\n' "$app_db" "$app_db" >twice.yaml
refuse twice.yaml "twice"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n' >nothing.yaml
refuse nothing.yaml "no Application"
echo "ok: malformed, invalid, repeated and empty imports refused, nothing changed"
