#!/bin/bash
# `edgecd admin health` as an operator uses it: objects from a file (as
# `kubectl get -o yaml` gives them), with and without an argocd-cm, the
# answer a YAML stream; bad input is one clear line and a non-zero exit.
set -euo pipefail
tmp=${EDGECD_TEST_TMP:-/tmp}/admin-health.$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
edgecd=${EDGECD_BIN:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$tmp"

cat >objects.yaml <<'Y'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 3}
spec: {replicas: 3}
status: {observedGeneration: 3, replicas: 3, updatedReplicas: 3, availableReplicas: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop}
spec: {restartPolicy: Always}
status:
  phase: Running
  containerStatuses:
  - name: main
    state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s restarting failed container=main}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
status: {conditions: [{type: Suspended, status: "True"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: web-tls, namespace: shop}
status:
  conditions:
  - {type: Ready, status: "False", message: Issuing certificate as Secret does not exist}
---
apiVersion: example.com/v1
kind: Escape
metadata: {name: e}
---
apiVersion: example.com/v1
kind: Spin
metadata: {name: s}
Y

# Built-in checks only.
# What both runs say of the Pod, the Job and the ConfigMap.
cat >same.yaml <<'Y'
object: Pod shop/web-1
status: Degraded
message: back-off 40s restarting failed container=main
---
object: batch/Job shop/migrate
status: Suspended
message: ""
aggregateAs: Healthy
---
object: ConfigMap shop/settings
message: no health check for this kind (Argo CD shows none)
---
Y
"$edgecd" admin health --file objects.yaml >out.yaml
{ cat <<'Y'
object: apps/Deployment shop/web
status: Progressing
message: 'Waiting for rollout to finish: 1 of 3 updated replicas are available...'
---
Y
cat same.yaml - <<'Y'
object: cert-manager.io/Certificate shop/web-tls
message: no health check for this kind (Argo CD shows none)
---
object: example.com/Escape e
message: no health check for this kind (Argo CD shows none)
---
object: example.com/Spin s
message: no health check for this kind (Argo CD shows none)
Y
} >want.yaml
diff -u want.yaml out.yaml || fail "built-in health differs"

# An argocd-cm as Argo CD has it: both key forms, other settings, a
# script that tries to escape, one that never ends.
cat >argocd-cm.yaml <<'Y'
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  url: https://argocd.example.com
  resource.customizations.health.cert-manager.io_Certificate: |
    hs = {}
    if obj.status ~= nil and obj.status.conditions ~= nil then
      for i, condition in ipairs(obj.status.conditions) do
        if condition.type == "Ready" and condition.status == "False" then
          hs.status = "Degraded"
          hs.message = condition.message
          return hs
        end
      end
    end
    hs.status = "Progressing"
    hs.message = "Waiting for certificate"
    return hs
  resource.customizations.useOpenLibs.cert-manager.io_Certificate: "true"
  resource.customizations: |
    example.com/Escape:
      health.lua: |
        os.execute("touch ESCAPED")
        return {status = "Healthy"}
    example.com/Spin:
      health.lua: |
        while true do pcall(function() while true do end end) end
    apps/Deployment:
      health.lua: |
        hs = {status = "Healthy", message = "custom: " .. obj.metadata.name}
        return hs
Y
"$edgecd" admin health --file objects.yaml --settings argocd-cm.yaml >out.yaml
{ cat <<'Y'
object: apps/Deployment shop/web
status: Healthy
message: 'custom: web'
---
Y
cat same.yaml - <<'Y'
object: cert-manager.io/Certificate shop/web-tls
status: Degraded
message: Issuing certificate as Secret does not exist
---
object: example.com/Escape e
status: Unknown
message: 'example.com/Escape health.lua:1: attempt to call a nil value (field ''execute'')'
---
object: example.com/Spin s
status: Unknown
message: instruction limit of 10000000 exceeded
Y
} >want.yaml
diff -u want.yaml out.yaml || fail "health with argocd-cm differs"
[ ! -e ESCAPED ] || fail "a script ran a command"

# JSON input works as well (kubectl get -o json).
printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"lb"},"spec":{"type":"LoadBalancer"}}' >svc.json
"$edgecd" admin health --file svc.json >out.yaml
grep -qx 'status: Progressing' out.yaml || fail "LoadBalancer without ingress: $(cat out.yaml)"

# Refusals: one line on stderr naming what and where, non-zero exit.
expect_fail() { # CODE MESSAGE ARGS...
    local code=$1 msg=$2 rc=0
    shift 2
    "$edgecd" admin health "$@" >out.txt 2>err.txt || rc=$?
    [ "$rc" = "$code" ] || fail "$*: exit $rc, expected $code ($(cat err.txt))"
    grep -qF -- "$msg" err.txt || fail "$*: stderr \"$(cat err.txt)\" lacks \"$msg\""
    [ ! -s out.txt ] || fail "$*: printed something on failure"
}
expect_fail 2 "usage: edgecd admin health" 
expect_fail 2 "usage: edgecd admin health" --file objects.yaml extra
expect_fail 1 "edgecd: missing.yaml" --file missing.yaml
printf 'kind: [\n' >broken.yaml
expect_fail 1 "edgecd: broken.yaml:2:1:" --file broken.yaml
printf -- '- just\n- a list\n' >list.yaml
expect_fail 1 "edgecd: list.yaml: document 1: not a Kubernetes object" --file list.yaml
printf '' >empty.yaml
expect_fail 1 "edgecd: empty.yaml: no objects" --file empty.yaml
cat >bad-cm.yaml <<'Y'
apiVersion: v1
kind: ConfigMap
data:
  resource.customizations.useOpenLibs.apps_Deployment: "perhaps"
Y
expect_fail 1 "edgecd: bad-cm.yaml:4: resource.customizations.useOpenLibs.apps_Deployment: must be true or false" \
    --file objects.yaml --settings bad-cm.yaml
cat >bad-lua.yaml <<'Y'
apiVersion: v1
kind: ConfigMap
data:
  resource.customizations.health.apps_Deployment: |
    hs = {}
    if obj.status then
      hs.status = "Healthy"
    return hs
Y
expect_fail 1 "edgecd: bad-lua.yaml:9: resource.customizations.health.apps_Deployment: script line 5: 'end' expected" \
    --file objects.yaml --settings bad-lua.yaml
expect_fail 1 "edgecd: nope.yaml" --file objects.yaml --settings nope.yaml
echo "admin-health: ok"
