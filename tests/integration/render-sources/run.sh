#!/bin/bash
# `edgecd render` from Git, as an operator uses it before pushing:
#   1. APP.yaml with three sources (a chart repo, a values repo with
#      `ref: values`, a repo of plain manifests with include/exclude):
#      the chart part must equal `helm template` with the same value file,
#      the directory part exactly the files the globs select.
#   2. --repo/--revision/--path: an older tag renders the older content;
#      --data keeps the mirrors for the next run.
#   3. Refusals: a $ref nobody provides, a $ref path leaving its
#      repository, duplicate refs, an object rendered by two sources, a
#      YAML error (file:line:column in the message).
set -euo pipefail
tmp=${EDGECD_TEST_TMP:-/tmp}/render-sources.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
helm=${EDGECD_HELM:-$(dirname "$EDGECD_KUBECTL")/helm}
diff_tool=${EDGECD_BINARY_DIR}/tests/integration/kustomize-parity/objset_diff
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
# edgecd's temporary folders go here, so the test sees only its own
mkdir -p "$tmp/t" && export TMPDIR=$tmp/t
export HOME=$tmp/home HELM_CACHE_HOME=$tmp/hc HELM_CONFIG_HOME=$tmp/hcfg HELM_DATA_HOME=$tmp/hd
git_commit() { # REPO MESSAGE
    git -C "$1" add -A && git -C "$1" -c user.name=t -c user.email=t@example.com commit -q -m "$2"
}
cm() { # NAME
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  k: v\n' "$1"
}

# the chart repository
mkdir -p charts && git -C charts init -q -b main
"$helm" create charts/web >/dev/null
git_commit charts chart
# the values repository (Argo CD's "values in another repo" pattern)
mkdir -p values/env && git -C values init -q -b main
printf 'replicaCount: 3\nservice:\n  port: 9090\n' >values/env/prod.yaml
git_commit values v1
# plain manifests, some in subfolders, a hidden one, a non-manifest
mkdir -p plain/m/base plain/m/extra plain/m/.hidden && git -C plain init -q -b main
cm top-a >plain/m/a.yaml
cm top-b >plain/m/b.yml
cm base-c >plain/m/base/c.yaml
cm extra-d >plain/m/extra/d.json.yaml
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"extra-e"},"data":{"k":"v"}}' >plain/m/extra/e.json
cm hidden >plain/m/.hidden/h.yaml
echo 'not a manifest' >plain/m/README.md
git_commit plain v1
git -C plain tag v1
cm top-a2 >plain/m/a2.yaml
git_commit plain v2

cat >app.yaml <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  sources:
  - repoURL: file://$tmp/charts
    path: web
    helm:
      valueFiles: [\$values/env/prod.yaml]
  - repoURL: $tmp/values
    targetRevision: main
    ref: values
  - repoURL: file://$tmp/plain
    path: m
    directory:
      recurse: true
      include: '{*.yaml,*.json}'
      exclude: 'extra/d*'
  destination: {server: https://kubernetes.default.svc, namespace: store}
Y
"$EDGECD_BIN" render app.yaml --helm "$helm" >got.yaml 2>err.txt || { cat err.txt; fail "edgecd render app.yaml"; }
(cd charts/web && "$helm" template shop . --namespace store --include-crds -f ../../values/env/prod.yaml) >want.yaml
echo --- >>want.yaml
for n in top-a top-a2 base-c extra-e; do cm "$n" >>want.yaml; echo --- >>want.yaml; done
mkdir -p wantdir && cp want.yaml wantdir/ && "$EDGECD_BIN" render wantdir --namespace store >want-ns.yaml
"$diff_tool" want-ns.yaml got.yaml || fail "three sources differ from helm template + the selected files"
grep -q "replicas: 3" got.yaml || fail "the \$values file was not applied"
echo "ok: chart + \$ref values + directory with include/exclude, equal to helm template and the globs"

# include/exclude on their own, through a local folder (same renderer)
cat >dir-app.yaml <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: d}
spec:
  source:
    repoURL: https://git.example.com/plain.git
    path: m
    directory: {recurse: true, exclude: '{base/*,*.json}'}
  destination: {server: https://kubernetes.default.svc, namespace: x}
Y
"$EDGECD_BIN" render plain --app dir-app.yaml >dir.yaml
names=$(grep -A1 '^metadata:' dir.yaml | sed -n 's/^  name: //p' | sort | tr '\n' ' ')
[ "$names" = "extra-d top-a top-a2 top-b " ] || fail "exclude selected: $names"
echo "ok: directory exclude with alternatives: $names"

# --repo at a tag: the older content, and --data keeps the mirror
"$EDGECD_BIN" render --repo "$tmp/plain" --revision v1 --path m --data "$tmp/data" >v1.yaml
grep -q "name: top-a$" v1.yaml || fail "--repo v1: top-a missing"
if grep -q "top-a2" v1.yaml; then fail "--repo v1 rendered the newer commit"; fi
"$EDGECD_BIN" render --repo "$tmp/plain" --path m --data "$tmp/data" >head.yaml
grep -q "top-a2" head.yaml || fail "--repo HEAD: top-a2 missing"
[ "$(ls "$tmp/data/mirrors" | wc -l)" = 1 ] || fail "--data: one mirror expected"
echo "ok: --repo --revision --path, mirrors kept under --data"
[ -z "$(ls "$TMPDIR")" ] || fail "temporary folders left behind: $(ls "$TMPDIR")"

refused() { # WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    if "$EDGECD_BIN" render "$@" >out.yaml 2>err.txt; then fail "$what: rendered"; fi
    grep -qF -- "$msg" err.txt || { cat err.txt; fail "$what: expected \"$msg\""; }
    [ ! -s out.yaml ] || fail "$what: printed objects"
    echo "ok: $what refused: $(cat err.txt)"
}
sed 's|\$values/env/prod.yaml|$nope/env/prod.yaml|' app.yaml >noref.yaml
refused "a \$ref no source provides" "no source of this Application has ref: nope" noref.yaml --helm "$helm"
sed 's|\$values/env/prod.yaml|$values/../../../../etc/passwd|' app.yaml >escape.yaml
refused "a \$ref path outside its repository" "spec.sources[0]" escape.yaml --helm "$helm"
sed 's|    ref: values|    ref: values\n  - repoURL: /x\n    ref: values|' app.yaml >dupref.yaml
refused "two sources with one ref" "spec.sources[2].ref: \"values\" is already the ref of spec.sources[1]" dupref.yaml
cat >twice.yaml <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: twice}
spec:
  sources:
  - {repoURL: $tmp/plain, path: m}
  - {repoURL: $tmp/plain, path: m, targetRevision: v1}
  destination: {server: https://kubernetes.default.svc, namespace: x}
Y
refused "an object from two sources" "ConfigMap x/top-a is rendered by both spec.sources[0] and spec.sources[1]" twice.yaml
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: [unclosed\n' >plain/m/bad.yaml
git_commit plain broken
refused "broken YAML" "m/bad.yaml:6:1: while parsing a flow sequence" --repo "file://$tmp/plain" --path m
refused "no source at all" "give one of DIR, APP.yaml and --repo URL" --path m
[ -z "$(ls "$TMPDIR")" ] || fail "temporary folders left behind: $(ls "$TMPDIR")"
echo "PASS"
