#!/bin/sh
# The demo: build edgecd and kubesim, start kubesim (a Kubernetes API
# server double) on 127.0.0.1:6443, make a sample Git repository with real
# git, and run `edgecd serve` bootstrapped from it, in the foreground.
# Ctrl-C stops everything. Installs what it needs (as root, Debian 12).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
sh tests/tools/install-packages.sh
cmake -S . -B build/release -DEDGECD_DEPS_DIR="$top/build/deps" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j2 --target edgecd kubesim

demo="$top/build/demo"
rm -rf "$demo/kubesim" "$demo/repo"
mkdir -p "$demo/kubesim"

build/release/tests/kubesim/kubesim --listen 127.0.0.1:6443 --dir "$demo/kubesim" \
    >"$demo/kubesim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null' EXIT INT TERM
i=0
while [ ! -f "$demo/kubesim/kubeconfig" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then
        echo "kubesim did not start; see $demo/kubesim.log" >&2
        exit 1
    fi
    sleep 0.1
done

cp -r tests/demo/repo "$demo/repo"
git -C "$demo/repo" init -q -b main
git -C "$demo/repo" add -A
git -C "$demo/repo" -c user.name=edgecd-demo -c user.email=demo@edgecd.invalid \
    commit -q -m "Sample site: a namespace, a config map, a deployment and a service"

sed -e "s|@KUBECONFIG@|$demo/kubesim/kubeconfig|" -e "s|@REPO@|file://$demo/repo|" \
    tests/demo/site.yaml.in >"$demo/site.yaml"

cat <<EOT

edgecd demo
  UI:         https://127.0.0.1:8080/ (self-signed; its fingerprint is printed below)
              user admin, password in $demo/data/admin-password (made on the first start)
  API:        https://127.0.0.1:8080/api/v1
  CLI:        export EDGECD_DATA=$demo/data   (the token and the certificate to trust)
  try:        build/release/appliance/edgecd app list
              build/release/appliance/edgecd app get guestbook
              curl --cacert $demo/data/keys/tls.crt -H "Authorization: Bearer \$(cat $demo/data/keys/api-token)" https://127.0.0.1:8080/api/v1/applications
  cluster:    kubectl --kubeconfig $demo/kubesim/kubeconfig get cm,deploy,svc -n guestbook
  Git:        edit $demo/repo, commit, and watch it reach the cluster within 10 s

EOT
build/release/appliance/edgecd serve --data "$demo/data" --config "$demo/site.yaml"
