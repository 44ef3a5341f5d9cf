#!/bin/bash
# End to end through `edgecd serve` and kubesim with real git and helm 4.1:
#   1. A Helm app whose chart is in one repository and whose value file
#      comes from another (`ref: values`, "$values/..."), next to a
#      multi-source directory app: both deploy.
#   2. Passes at unchanged commits render nothing: the log shows cache
#      hits or settled passes, and no second render.
#   3. A commit to the values repository renders again and reaches the
#      cluster.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
helm=${EDGECD_HELM:-$(dirname "$EDGECD_KUBECTL")/helm}

e2e_start_kubesim
mkdir -p "$work/charts/web/templates" "$work/values/env" "$work/plain/a" "$work/more/b"
cat >"$work/charts/web/Chart.yaml" <<'Y'
apiVersion: v2
name: web
version: 0.1.0
Y
cat >"$work/charts/web/values.yaml" <<'Y'
replicas: 1
color: blue
Y
cat >"$work/charts/web/templates/all.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  color: {{ .Values.color | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.local/web:1.0
Y
printf 'replicas: 2\ncolor: green\n' >"$work/values/env/site.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-plain}\n' >"$work/plain/a/cm.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-more}\n' >"$work/more/b/cm.yaml"
for r in charts values plain more; do git -C "$work/$r" init -q -b main; e2e_commit "$work/$r" first; done

cat >"$work/site.yaml" <<YAML
apiVersion: edgecd.io/v1alpha1
kind: SiteConfig
listen: 127.0.0.1:0
pollSeconds: 1
pollJitterSeconds: 0
logLevel: debug
helmBinary: $helm
renderCacheEntries: 8
clusters:
  - kubeconfig: $work/sim/kubeconfig
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  sources:
    - repoURL: file://$work/charts
      path: web
      helm:
        releaseName: shop
        valueFiles: [\$values/env/site.yaml]
    - repoURL: file://$work/values
      targetRevision: main
      ref: values
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: both}
spec:
  sources:
    - {repoURL: file://$work/plain, path: a}
    - {repoURL: file://$work/more, path: b}
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  syncPolicy:
    automated: {prune: true}
    syncOptions: [CreateNamespace=true]
YAML
e2e_start_serve

echo "== 1. a Helm app with \$ref values and a two-source directory app deploy"
wait_for 30 "helm deployment with 2 replicas" kube_field "deployment shop-web -n shop" "o['spec']['replicas']" 2
wait_for 10 "value file applied" kube_field "configmap shop-settings -n shop" "o['data']['color']" green
wait_for 10 "first source of both" $KUBECTL get configmap from-plain -n shop
wait_for 10 "second source of both" $KUBECTL get configmap from-more -n shop
revs="$(git -C "$work/plain" rev-parse HEAD),$(git -C "$work/more" rev-parse HEAD)"
wait_for 10 "both synced at both commits" app_field both "o['status']['sync']['revision']" "$revs"
check_json "$(app_json shop)" "o['status']['sync']['status']" Synced

echo "== 2. unchanged sources are not rendered again"
# (a pass takes the cache, or finds the app settled and renders nothing)
for a in shop both; do
    wait_for 15 "passes without a render for $a" bash -c \
        "[ \$(grep -cE 'app $a: render cache hit|reconciled $a in [0-9.]+s \\(settled' '$work/serve.log') -ge 2 ]"
done
[ "$(grep -c 'app shop: rendered ' "$work/serve.log")" = 1 ] || fail "shop rendered more than once at one commit"
[ "$(grep -c 'app both: rendered ' "$work/serve.log")" = 1 ] || fail "both rendered more than once at one commit"

echo "== 3. a new commit of the values repository renders again"
printf 'replicas: 3\ncolor: green\n' >"$work/values/env/site.yaml"
e2e_commit "$work/values" "three"
wait_for 15 "3 replicas" kube_field "deployment shop-web -n shop" "o['spec']['replicas']" 3
[ "$(grep -c 'app shop: rendered ' "$work/serve.log")" = 2 ] || fail "shop not rendered exactly once more"
echo PASS
