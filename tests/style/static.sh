#!/bin/bash
# edgecd is one statically linked x86-64 executable.
set -euo pipefail
info=$(file -L "$EDGECD_BIN")
echo "$info"
grep -q 'ELF 64-bit' <<<"$info"
grep -q 'x86-64' <<<"$info"
grep -q 'statically linked' <<<"$info"
# ldd exits non-zero for a static file; its words are what count.
lddout=$(ldd "$EDGECD_BIN" 2>&1 || true)
echo "ldd: $lddout"
if grep -q '=>' <<<"$lddout"; then
    echo "ldd lists shared libraries" >&2
    exit 1
fi
grep -q 'not a dynamic executable' <<<"$lddout"
echo "size: $(stat -c %s "$EDGECD_BIN") bytes"
