#!/bin/bash
# A chart made by `helm create` (plus a CRD and a value file) rendered by
# `edgecd render --app` with valueFiles, values, valuesObject, parameters,
# releaseName, namespace and skipCrds, compared as an object set with
# `helm template` run directly with the same inputs. Then the refusals: a
# value file outside the repository, helm missing, a chart that runs past
# the time limit. helm comes from the tools fixture (get-kubectl.sh).
set -euo pipefail
tmp=${EDGECD_TEST_TMP:-/tmp}/render-helm.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
helm=$(dirname "$EDGECD_KUBECTL")/helm
diff_tool=${EDGECD_BINARY_DIR}/tests/integration/kustomize-parity/objset_diff
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"
export HOME=$tmp/home HELM_CACHE_HOME=$tmp/hc HELM_CONFIG_HOME=$tmp/hcfg HELM_DATA_HOME=$tmp/hd
# edgecd makes helm's work folder under TMPDIR: this test's own
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR"

mkdir -p repo/charts-src
"$helm" create repo/web >/dev/null
mkdir -p repo/web/crds repo/env
cat >repo/web/crds/widget.yaml <<'Y'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
Y
printf 'replicaCount: 2\nservice:\n  port: 8080\n' >repo/env/prod.yaml
printf 'image:\n  tag: "1.27"\n' >repo/web/values-site.yaml

app() { # NAME SKIPCRDS
    cat <<Y
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: $1}
spec:
  source:
    repoURL: https://git.example.com/site.git
    path: web
    helm:
      releaseName: shop
      namespace: store
      skipCrds: $2
      valueFiles: [values-site.yaml, ../env/prod.yaml]
      values: |
        podAnnotations: {from: values}
      valuesObject:
        podLabels: {from: valuesObject}
      parameters:
      - {name: serviceAccount.name, value: shop-sa}
      - {name: podAnnotations.build, value: "42", forceString: true}
  destination: {server: https://kubernetes.default.svc, namespace: store}
Y
}
app shop false >app.yaml
"$EDGECD_BIN" render repo --app app.yaml --helm "$helm" >got.yaml 2>err.txt || { cat err.txt; fail "edgecd render --app"; }
printf 'podLabels: {from: valuesObject}\n' >inline.yaml
(cd repo/web && "$helm" template shop . --namespace store --include-crds -f values-site.yaml -f ../env/prod.yaml \
    -f ../../inline.yaml --set serviceAccount.name=shop-sa --set-string podAnnotations.build=42) >want.yaml
# helm leaves metadata.namespace to the apply (-n); edgecd fills the
# destination namespace in: compare with it filled in on helm's side too
mkdir -p wantdir && cp want.yaml wantdir/ && "$EDGECD_BIN" render wantdir --namespace store >want-ns.yaml
"$diff_tool" want-ns.yaml got.yaml || fail "edgecd and helm template differ"
grep -q "kind: CustomResourceDefinition" got.yaml || fail "CRD missing without skipCrds"
grep -q "replicas: 2" got.yaml || fail "valueFiles not applied"
grep -q 'build: "42"' got.yaml || fail "forceString parameter not applied"
echo "ok: helm chart with valueFiles, valuesObject, parameters, releaseName, namespace"

app shop true >app-skip.yaml
"$EDGECD_BIN" render repo --app app-skip.yaml --helm "$helm" >skip.yaml
if grep -q "kind: CustomResourceDefinition" skip.yaml; then fail "skipCrds ignored"; fi
echo "ok: skipCrds leaves the CRD out"

# a chart archive in the repository (value files relative to its folder),
# and an umbrella chart whose dependency is an archive under charts/
mkdir -p repo/packaged repo/umbrella/charts
"$helm" package repo/web -d repo/packaged >/dev/null
cp repo/packaged/web-0.1.0.tgz repo/umbrella/charts/
cat >repo/umbrella/Chart.yaml <<'Y'
apiVersion: v2
name: umbrella
version: 1.0.0
dependencies:
- {name: web, version: 0.1.0}
Y
printf 'web:\n  replicaCount: 3\n' >repo/umbrella/values.yaml
cat >archive.yaml <<'Y'
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  source:
    repoURL: https://git.example.com/site.git
    path: packaged/web-0.1.0.tgz
    helm: {valueFiles: [../env/prod.yaml]}
  destination: {server: https://kubernetes.default.svc, namespace: store}
Y
"$EDGECD_BIN" render repo --app archive.yaml --helm "$helm" >got-archive.yaml 2>err.txt || { cat err.txt; fail "render of a chart archive"; }
mkdir -p want-archive
"$helm" template shop repo/packaged/web-0.1.0.tgz --namespace store --include-crds -f repo/env/prod.yaml >want-archive/a.yaml
"$EDGECD_BIN" render want-archive --namespace store >want-archive.yaml
"$diff_tool" want-archive.yaml got-archive.yaml || fail "chart archive: edgecd and helm template differ"
grep -q "replicas: 2" got-archive.yaml || fail "chart archive: value file next to it not applied"
echo "ok: a chart archive (.tgz) in the repository"
"$EDGECD_BIN" render repo --path umbrella --name shop --namespace store --helm "$helm" >got-umbrella.yaml 2>err.txt ||
    { cat err.txt; fail "render of a chart with an archived dependency"; }
mkdir -p want-umbrella
"$helm" template shop repo/umbrella --namespace store --include-crds >want-umbrella/a.yaml
"$EDGECD_BIN" render want-umbrella --namespace store >want-umbrella.yaml
"$diff_tool" want-umbrella.yaml got-umbrella.yaml || fail "umbrella chart: edgecd and helm template differ"
grep -q "replicas: 3" got-umbrella.yaml || fail "umbrella chart: subchart values not applied"
echo "ok: a chart whose dependency is an archive under charts/"

refused() { # WHAT MESSAGE ARGS...
    local what=$1 msg=$2
    shift 2
    if "$EDGECD_BIN" render "$@" >out.yaml 2>err.txt; then fail "$what: rendered"; fi
    grep -qF -- "$msg" err.txt || { cat err.txt; fail "$what: expected \"$msg\""; }
    [ ! -s out.yaml ] || fail "$what: printed objects"
    echo "ok: $what refused: $(head -c 150 err.txt)"
}
sed 's|valueFiles: \[values-site.yaml, ../env/prod.yaml\]|valueFiles: [../../../etc/passwd]|' app.yaml >escape.yaml
refused "a value file outside the repository" "path leads outside the source's root" repo --app escape.yaml --helm "$helm"
refused "helm missing" "cannot be run" repo --app app.yaml --helm "$tmp/no-helm"
sed 's|valueFiles: \[values-site.yaml, ../env/prod.yaml\]|valueFiles: [$values/env/prod.yaml]|' app.yaml >ref.yaml
refused "a \$ref value file without ref sources" "no source of this Application has ref: values" repo --app ref.yaml --helm "$helm"

# a chart that would run for a long time is stopped at the limit
"$helm" create repo/slow >/dev/null
printf '{{- range $i := until 200000000 }}{{ end }}\n' >repo/slow/templates/slow.yaml
start=$SECONDS
refused "a chart past the time limit" "ran longer than 2 s and was stopped" repo --path slow --helm "$helm" --helm-timeout 2
[ $((SECONDS - start)) -le 10 ] || fail "the time limit did not stop helm"
[ -z "$(ls -A "$TMPDIR")" ] || fail "helm's work folder was left behind: $(ls "$TMPDIR")"
echo "PASS"
