#!/bin/bash
# Benchmark: a directory source of FILES files (ConfigMaps and Deployments,
# three objects per file, in 20 folders, committed to a Git repository)
# rendered ROUNDS times by `edgecd render` from the local folder and from
# Git (`--repo`, a fresh temporary mirror each time: clone + render), and
# by the reference, `kubectl apply --dry-run=client -R -f DIR -o yaml`
# (kubectl 1.35), which reads and prints the same files; it needs an API
# server for discovery, so it talks to kubesim, and nothing is written.
# (`kubectl kustomize` over a kustomization listing the 2,000 files takes
# minutes per build: it is not a fair reference for plain files.) One
# process per render for all. Prints objects per second and the ratios
# (edgecd / kubectl: below 1 is better).
# usage: tests/bench/render-dir.sh [BUILD_DIR] [FILES] [ROUNDS]   (default build/release, 2000, 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
files=${2:-2000}
rounds=${3:-3}
edgecd=$PWD/$build/appliance/edgecd
kubectl=$PWD/$build/tools/kubectl
[ -x "$edgecd" ] || { echo "build first: no $edgecd" >&2; exit 1; }
sh tests/tools/get-kubectl.sh "$PWD/$build/tools" >/dev/null
kubesim=$PWD/$build/tests/kubesim/kubesim
[ -x "$kubesim" ] || { echo "build first: no $kubesim" >&2; exit 1; }
tmp=$(mktemp -d)
"$kubesim" --listen 127.0.0.1:0 --dir "$tmp/sim" --no-workloads >"$tmp/sim.log" 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -f "$tmp/sim/kubeconfig" ] && break; sleep 0.1; done
kubectl="$kubectl --kubeconfig $tmp/sim/kubeconfig"

python3 - "$tmp/repo" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = "group-%02d" % (i % 20)
    os.makedirs(os.path.join(root, d), exist_ok=True)
    rel = "%s/app-%04d.yaml" % (d, i)
    with open(os.path.join(root, rel), "w") as f:
        f.write("""apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-%(i)d
  labels: {app: app-%(i)d, tier: backend}
data:
  color: blue
  size: "%(i)d"
  greeting: hello from app %(i)d
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: flags-%(i)d
data:
  feature.a: "true"
  feature.b: "false"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%(i)d
  labels: {app: app-%(i)d}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%(i)d}
  template:
    metadata:
      labels: {app: app-%(i)d}
    spec:
      containers:
        - name: app
          image: registry.local/app:1.%(i)d
          ports: [{containerPort: 8080}]
          env:
            - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings-%(i)d, key: color}}}
""" % {"i": i})
PY
git -C "$tmp/repo" init -q -b main
git -C "$tmp/repo" add -A
git -C "$tmp/repo" -c user.name=b -c user.email=b@example.com commit -q -m bench
objects=$("$edgecd" render "$tmp/repo" --recurse | grep -c '^kind:')
[ "$objects" = $((files * 3)) ] || { echo "rendered $objects objects, expected $((files * 3))" >&2; exit 1; }
kobjects=$($kubectl apply --dry-run=client -R -f "$tmp/repo" -o yaml | grep -c '^- apiVersion:')
[ "$kobjects" = "$objects" ] || { echo "kubectl apply --dry-run=client gave $kobjects objects" >&2; exit 1; }

now() { date +%s.%N; }
t0=$(now)
for _ in $(seq "$rounds"); do "$edgecd" render "$tmp/repo" --recurse >/dev/null; done
t1=$(now)
for _ in $(seq "$rounds"); do "$edgecd" render --repo "$tmp/repo" --recurse >/dev/null; done
t2=$(now)
for _ in $(seq "$rounds"); do $kubectl apply --dry-run=client -R -f "$tmp/repo" -o yaml >/dev/null; done
t3=$(now)
python3 - "$t0" "$t1" "$t2" "$t3" "$rounds" "$files" "$objects" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5]); rounds, files, objs = map(int, sys.argv[5:8])
local, git, kub = [(b - a) / rounds for a, b in ((t0, t1), (t1, t2), (t2, t3))]
print("directory render: %d files, %d objects, %d rounds (seconds per render)" % (files, objs, rounds))
print("  edgecd render DIR          %7.3f s  %9.0f objects/s" % (local, objs / local))
print("  edgecd render --repo (Git) %7.3f s  %9.0f objects/s" % (git, objs / git))
print("  kubectl apply --dry-run=client %7.3f s  %9.0f objects/s" % (kub, objs / kub))
print("  ratio local/kubectl %.3f, Git/kubectl %.3f" % (local / kub, git / kub))
PY
