#!/bin/bash
# `edgecd version` names edgecd and every linked library with a version
# read at run time.
set -euo pipefail
out=$("$EDGECD_BIN" version)
echo "$out"
for lib in '^edgecd [0-9]' 'mbed TLS 2\.28' 'libyaml 0\.' 'jansson 2\.' 'libgit2 1\.5' \
    'SQLite 3\.' 'CivetWeb 1\.15' 'Lua 5\.4' 'zlib 1\.'; do
    grep -qE "$lib" <<<"$out" || { echo "missing: $lib" >&2; exit 1; }
done
