#!/bin/sh
# Install, with apt-get, every Debian package the build and the tests need,
# when any is missing. Runs as root on a fresh Debian 12 machine.
set -eu
pkgs="build-essential cmake pkg-config dpkg-dev git file unzip openssl curl bc python3
ca-certificates libmbedtls-dev libyaml-dev libjansson-dev libsqlite3-dev
liblua5.4-dev libhttp-parser-dev zlib1g-dev clang clang-format
libclang-rt-14-dev nodejs npm lighttpd wrk chromium"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
# Node and npm may come from elsewhere than Debian; either is fine.
if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=$(echo "$missing" | tr ' ' '\n' | grep -vx 'nodejs\|npm' | tr '\n' ' ')
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-packages.sh: missing packages:$missing (run as root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
fi
