#!/bin/sh
# Build everything and run every test, twice: the release build (the
# static edgecd binary) and an AddressSanitizer + UndefinedBehaviorSanitizer
# build. Installs what it needs with apt-get on a fresh Debian 12 machine
# (as root). This is the README's test command and what CI runs.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
sh tests/tools/install-packages.sh

deps="$top/build/deps"
jobs=2

echo "== release build"
cmake -S . -B build/release -DEDGECD_DEPS_DIR="$deps" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j$jobs
(cd build/release && ctest -j$jobs --output-on-failure --timeout 600)

echo "== sanitizer build (ASan + UBSan)"
cmake -S . -B build/asan -DEDGECD_DEPS_DIR="$deps" -DEDGECD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j$jobs
(cd build/asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest -j$jobs --output-on-failure --timeout 900 -LE style)
