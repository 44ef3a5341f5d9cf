#!/bin/bash
# The web UI in a real browser: Debian's chromium, headless, driven by
# playwright-core (npm) from ui.js, against `edgecd serve` over HTTPS,
# kubesim and a Git repository made with real git. What a user does and
# sees is checked (see ui.js); screenshots of the main views are saved in
# $EDGECD_TEST_TMP/ui.<pid>/screenshots.
#
# The site: app "shop" (manual sync: a ConfigMap whose annotation holds
# markup, and a Deployment), app "big" with 2,000 ConfigMaps, and 500
# small apps "bulk-NNN" for the list's scrolling.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

chromium=${EDGECD_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || true
fi
if [ ! -x "$chromium" ]; then
    echo "SKIP: chromium is not installed and could not be installed (tests/tools/install-packages.sh installs it)"
    exit 77
fi

e2e_start_kubesim
repo=$work/repo
mkdir -p "$repo/shop" "$repo/big" "$repo/bulk"
cat >"$repo/shop/configmap.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  annotations:
    note: "<img src=x onerror=window.__xss=1><b>bold</b>"
data:
  color: blue
YAML
cat >"$repo/shop/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.local/web:1.0
YAML
for i in $(seq -w 1 2000); do
    printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%s\ndata:\n  n: "%s"\n' "$i" "$i"
done >"$repo/big/all.yaml"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bulk\ndata:\n  a: b\n' >"$repo/bulk/cm.yaml"
git -C "$repo" init -q -b main
e2e_commit "$repo" "site"

app_doc() { # NAME PATH NAMESPACE
    cat <<YAML
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $1
spec:
  project: default
  source:
    repoURL: file://$repo
    targetRevision: main
    path: $2
  destination:
    server: https://kubernetes.default.svc
    namespace: $3
  syncPolicy:
    syncOptions: [CreateNamespace=true]
YAML
}
# A browser opens six connections to one server at a page load, and
# Chromium adds backup sockets while a TLS handshake is slow (as on a
# loaded test machine); a reload also leaves the old page's event stream
# counted until the server next writes to it. With the default
# per-address limit of 8 the browser then sees resets on module loads, so
# the test raises it (see maxConnectionsPerAddress in the README).
{
    e2e_site_settings 'maxConnectionsPerAddress: 32'
    app_doc shop shop shop
    app_doc big big big
    for i in $(seq -w 1 500); do app_doc "bulk-$i" bulk "bulk-$i"; done
} >"$work/site.yaml"
e2e_start_serve

wait_for 60 "shop compared" app_field shop "o['status']['sync']['status']" OutOfSync

# The admin's first password, when this server has accounts.
admin_password=""
for f in "$work"/data/*admin*password* "$work"/data/keys/*admin*password*; do
    [ -f "$f" ] && admin_password=$(head -n 1 "$f") && break
done

mkdir -p "$work/screenshots"
export EDGECD_UI_REPO=$repo EDGECD_UI_OUT=$work/screenshots EDGECD_UI_CHROMIUM=$chromium
export EDGECD_UI_ADMIN_PASSWORD=$admin_password EDGECD_UI_KUBECTL="$KUBECTL"
export EDGECD_UI_KUBECONFIG=$work/sim/kubeconfig
node "$(dirname "$0")/ui.js" || fail "browser test failed (screenshots in $work/screenshots)"
echo "screenshots: $work/screenshots"
echo "e2e ui: all checks passed"
