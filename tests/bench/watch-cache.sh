#!/bin/bash
# Benchmark: memory of the watch cache per managed object, against kubesim.
# Builds and runs tests/bench/watch-cache.c, which applies N managed objects
# (ConfigMaps, Deployments, Services across 10 namespaces) and N/2
# unmanaged ones, fills a watch cache and prints resident memory and heap
# growth per object next to the objects' average compact JSON size.
# usage: tests/bench/watch-cache.sh [BUILD_DIR] [N]   (default build/release, 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-1000}
cmake --build "$build" -j2 --target bench_watch_cache kubesim >/dev/null
export EDGECD_TEST_TMP=$PWD/$build/test-tmp EDGECD_KUBESIM=$PWD/$build/tests/kubesim/kubesim
mkdir -p "$EDGECD_TEST_TMP"
"$build/tests/bench/bench_watch_cache" "$n"
