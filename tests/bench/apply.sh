#!/bin/bash
# Benchmark: server-side apply of N objects (mixed ConfigMaps, Deployments
# and Services across 10 namespaces) into one kubesim, with edgecd's
# Kubernetes client (the kubeclient tool: one process, 4 applies at once
# over the client's per-cluster connection pool, as independent objects of
# one sync wave can be) and with the reference, real kubectl 1.35
# (`kubectl apply --server-side -f DIR`), then the same again unchanged.
# Prints wall times and ratios (edgecd / kubectl: below 1 is better).
# usage: tests/bench/apply.sh [BUILD_DIR] [N]   (default build/release, 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-1000}
export EDGECD_TEST_TMP=$PWD/$build/test-tmp EDGECD_BIN=$PWD/$build/appliance/edgecd
export EDGECD_KUBESIM=$PWD/$build/tests/kubesim/kubesim EDGECD_KUBECTL=$PWD/$build/tools/kubectl
kubeclient=$PWD/$build/tests/integration/conformance/kubeclient
[ -x "$kubeclient" ] || { echo "build first: no $kubeclient" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools"
mkdir -p "$EDGECD_TEST_TMP"
. tests/e2e/lib.sh

now() { date +%s.%N; }
# The API path alone: no simulated controllers acting on the objects (they
# would cost both clients the same, and grow with every pass).
e2e_start_kubesim --no-workloads

# One folder of N objects per client, the same objects in different
# namespaces: e-0..e-9 for edgecd, k-0..k-9 for kubectl.
gen() { # PREFIX DIR
    python3 - "$1" "$2" "$n" <<'PY'
import os, sys
prefix, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
docs = []
for i in range(n):
    ns = "%s-%d" % (prefix, i % 10)
    kind = i % 3
    if kind == 0:
        docs.append("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%04d\n  namespace: %s\n"
                    "  labels: {app.kubernetes.io/name: bench}\ndata:\n  index: \"%d\"\n"
                    "  text: some configuration value for item %d\n" % (i, ns, i, i))
    elif kind == 1:
        docs.append("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-%04d\n  namespace: %s\n"
                    "spec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web-%04d}\n  template:\n"
                    "    metadata:\n      labels: {app: web-%04d}\n    spec:\n      containers:\n"
                    "        - name: web\n          image: nginx:1.27\n          ports:\n"
                    "            - containerPort: 80\n          env:\n            - {name: INDEX, value: \"%d\"}\n"
                    % (i, ns, i, i, i))
    else:
        docs.append("apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%04d\n  namespace: %s\n"
                    "spec:\n  selector: {app: web-%04d}\n  ports:\n    - {name: http, port: 80, targetPort: 80}\n"
                    % (i, ns, i))
open(os.path.join(out, "objects.yaml"), "w").write("---\n".join(docs))
open(os.path.join(out, "..", prefix + "-namespaces.yaml"), "w").write("---\n".join(
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s-%d\n" % (prefix, j) for j in range(10)))
PY
}
gen e "$work/e"
gen k "$work/k"
$KUBECTL apply --server-side -f "$work/e-namespaces.yaml" >/dev/null
$KUBECTL apply --server-side -f "$work/k-namespaces.yaml" >/dev/null

run_timed() { # prints seconds
    local t0 t1
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    echo "$t1 - $t0" | bc -l
}
kc_apply() { $KUBECTL --cache-dir "$work/kcache" apply --server-side -f "$work/k"; }
ec_apply() { "$kubeclient" "$work/sim/kubeconfig" apply --parallel 4 "$work/e/objects.yaml"; }

# edgecd one request at a time as well, into its own namespaces (s-*).
gen s "$work/s"
$KUBECTL apply --server-side -f "$work/s-namespaces.yaml" >/dev/null
es_apply() { "$kubeclient" "$work/sim/kubeconfig" apply "$work/s/objects.yaml"; }

k_first=$(run_timed kc_apply)
e_first=$(run_timed ec_apply)
s_first=$(run_timed es_apply)
k_again=$(run_timed kc_apply)
e_again=$(run_timed ec_apply)
s_again=$(run_timed es_apply)

# Both must have stored every object.
[ "$($KUBECTL get cm,deploy,svc -A -o name | grep -c .)" -ge $((3 * n)) ] ||
    fail "not every object was stored"

printf '\nserver-side apply of %d objects (ConfigMaps, Deployments, Services in 10 namespaces) into kubesim\n' "$n"
printf '%-34s %10s %10s %8s\n' "measure" "edgecd" "kubectl" "ratio"
row() { printf '%-34s %9.2fs %9.2fs %8.2f\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)"; }
row "apply (create), 4 at once" "$e_first" "$k_first"
row "re-apply unchanged, 4 at once" "$e_again" "$k_again"
row "apply (create), 1 at a time" "$s_first" "$k_first"
row "re-apply unchanged, 1 at a time" "$s_again" "$k_again"
